#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Prepare the kernel source tree in the cache directory:
#  1. unpack Debian's linux-source-7.2 once and commit it as "pristine";
#  2. build the wanted tree (pristine + overlay + patches/) in a temporary
#     git index, without touching the work tree;
#  3. move the work tree to that tree with a two-tree checkout, which rewrites
#     only the files that differ and deletes files an earlier overlay added.
# Step 3 keeps make's timestamps meaningful: unchanged files are not touched,
# so the next build is incremental.
. "$(dirname "$0")/lib.sh"

git_src() {
	git -C "$SRC" -c user.name=dmabuf-ic -c user.email=dmabuf-ic@localhost \
		-c core.autocrlf=false -c advice.detachedHead=false "$@"
}

unpack_pristine() {
	[ -r "$KERNEL_TARBALL" ] || die "$KERNEL_TARBALL missing: run scripts/deps.sh (make deps)"
	local version
	version=$(cat "$KERNEL_TARBALL.origin" 2>/dev/null) || version=unknown
	if [ -d "$SRC/.git" ] && [ "$(cat "$CACHE/pristine-version" 2>/dev/null)" = "$version" ] &&
		git_src rev-parse -q --verify refs/tags/pristine >/dev/null; then
		return 0
	fi
	stage "unpacking $version into $SRC (once)"
	rm -rf "$SRC" "$OBJ" "$CACHE/unpack"
	mkdir -p "$CACHE/unpack"
	tar -xf "$KERNEL_TARBALL" -C "$CACHE/unpack" || die "cannot unpack $KERNEL_TARBALL"
	mv "$CACHE/unpack/$KERNEL_DIR" "$SRC"
	rmdir "$CACHE/unpack"
	git_src init -q
	git_src add -A -f .
	git_src commit -q -m "pristine $version"
	git_src tag pristine
	echo "$version" >"$CACHE/pristine-version"
}

# The commit message of a patch file: its Subject line, then the text up to
# the "---" line that starts the diff.
patch_message() {
	sed -n -e '1,/^---$/{' -e 's/^Subject: \(\[PATCH[^]]*\] \)\{0,1\}//p' -e '}' "$1" | head -n 1
	echo
	sed -n '/^Subject: /,/^---$/p' "$1" | sed -e '1d' -e '$d' | sed -e '/./,$!d'
}

# Build the series "pristine + overlay commit + one commit per patch" in a
# temporary index, without touching the work tree; print the last commit.
wanted_series() {
	local index=$CACHE/overlay.index dir file blob mode patch err commit tree
	rm -f "$index"
	export GIT_INDEX_FILE=$index
	git_src read-tree pristine
	for dir in $OVERLAY_DIRS; do
		[ -d "$REPO/$dir" ] || continue
		while IFS= read -r -d '' file; do
			blob=$(git_src hash-object -w -- "$REPO/$file")
			mode=100644
			[ -x "$REPO/$file" ] && mode=100755
			git_src update-index --add --cacheinfo "$mode,$blob,$file"
		done < <(cd "$REPO" && find "$dir" -type f -print0 | sort -z)
	done
	commit=$(git_src rev-parse pristine)
	tree=$(git_src write-tree)
	if [ "$tree" != "$(git_src rev-parse 'pristine^{tree}')" ]; then
		commit=$(printf '%s\n\n%s\n' "dmabuf-interconnect: add the new files" \
			"The files that the project adds under: $OVERLAY_DIRS." | fmt -w 72 |
			git_src commit-tree "$tree" -p "$commit")
	fi
	for patch in "$REPO"/patches/*.patch; do
		[ -e "$patch" ] || continue
		if ! err=$(git_src apply --cached --whitespace=nowarn "$patch" 2>&1); then
			unset GIT_INDEX_FILE
			die "patches/$(basename "$patch") no longer applies: $(echo "$err" | head -n 1)"
		fi
		commit=$(patch_message "$patch" | git_src commit-tree "$(git_src write-tree)" -p "$commit")
	done
	unset GIT_INDEX_FILE
	rm -f "$index"
	echo "$commit"
}

mkdir -p "$CACHE"
unpack_pristine
stage "applying overlay and patches/"
series=$(wanted_series)
tree=$(git_src rev-parse "$series^{tree}")
# Throw away anything edited by hand in the cache tree, then switch trees.
git_src reset -q --hard HEAD
git_src clean -q -f -d -x
if [ "$(git_src rev-parse 'HEAD^{tree}')" != "$tree" ]; then
	git_src read-tree -m -u HEAD "$tree"
	echo "    kernel tree updated: $(git_src diff --stat HEAD "$tree" | tail -n 1)"
else
	echo "    kernel tree already up to date"
fi
git_src update-ref HEAD "$series"
