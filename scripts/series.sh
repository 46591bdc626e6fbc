#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The upstream patch series, generated from the repository (the new files
# and patches/), never edited by hand:
#
#   scripts/series.sh           write series/ (commit it with the change)
#   scripts/series.sh --check   generate into the cache and fail if series/
#                               is stale; the lint stage runs this
#   scripts/series.sh --build   also build the kernel after every patch,
#                               then the modular configuration
#
# Every mode builds the series as commits on pristine 7.2 in a temporary
# index of the cache's kernel tree, from the descriptions in
# scripts/series/NN-* (the series) and scripts/series/test-env/NN-* (the
# patches that only this project's test environment needs, kept out of
# the series), checks that together they end at exactly the tree that
# scripts/tree.sh builds and that every new file and every patch is
# claimed, writes them with git format-patch, applies them to pristine with
# git am in a scratch clone, runs get_maintainer.pl there for the cover
# letter, kernel-doc on what they touch, checkpatch --strict on each, and
# rustfmt on every Rust file as each patch leaves it.
#
# A description is a commit message (subject line, blank line, body), a
# line "---", then one claim per line, applied in order:
#   new PATH             the repository's file PATH, as it is
#   patch NNNN [PATH..]  patches/NNNN-*.patch, or only its diffs of PATH..
#   final PATH           PATH as scripts/tree.sh's tree has it: the diffs
#                        of PATH of every patch not claimed before
#   sed PATH SCRIPT      GNU sed -E SCRIPT on PATH as the step has it (a
#                        partial state that a later step completes); a
#                        script that changes nothing fails
#   entry PATH FILE      insert the MAINTAINERS entry FILE (repository
#                        path) at its sorted place in PATH
# Adding a file to the series is one line: "new PATH" in the patch it
# belongs to. An unclaimed file or patch fails, naming it.
. "$(dirname "$0")/lib.sh"

mode=write
case "${1:-}" in
--check) mode=check ;;
--build) mode=build ;;
"") ;;
*) die "usage: $0 [--check|--build]" ;;
esac

DESC=$REPO/scripts/series
OUT=$REPO/series
[ "$mode" = write ] || OUT=$CACHE/series-check
WORK=$CACHE/series-work
AM=$CACHE/series-am
INDEX=$CACHE/series.index
# Fixed identity and date: the same repository gives the same series/.
export GIT_AUTHOR_NAME=${DMABUF_IC_SERIES_AUTHOR_NAME:-dmabuf-interconnect}
export GIT_AUTHOR_EMAIL=${DMABUF_IC_SERIES_AUTHOR_EMAIL:-dmabuf-ic@localhost}
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
export GIT_AUTHOR_DATE="2026-01-01T00:00:00+0000" GIT_COMMITTER_DATE="2026-01-01T00:00:00+0000"

git_src() {
	git -C "$SRC" -c core.autocrlf=false -c advice.detachedHead=false "$@"
}
[ -d "$SRC/.git" ] && git_src rev-parse -q --verify refs/tags/pristine >/dev/null ||
	die "no kernel tree with a pristine tag in $SRC: run scripts/tree.sh first"

# The tree scripts/tree.sh builds: pristine + the new files + every patch.
expected_tree() {
	local file blob mode patch
	rm -f "$INDEX"
	GIT_INDEX_FILE=$INDEX git_src read-tree pristine
	while IFS= read -r file; do
		blob=$(git_src hash-object -w -- "$REPO/$file")
		mode=100644
		[ -x "$REPO/$file" ] && mode=100755
		GIT_INDEX_FILE=$INDEX git_src update-index --add --cacheinfo "$mode,$blob,$file"
	done < <(new_files)
	for patch in "$REPO"/patches/*.patch; do
		GIT_INDEX_FILE=$INDEX git_src apply --cached --whitespace=nowarn "$patch" ||
			die "patches/$(basename "$patch") does not apply (scripts/tree.sh fails too)"
	done
	GIT_INDEX_FILE=$INDEX git_src write-tree
	rm -f "$INDEX"
}

new_files() {
	local dir
	for dir in $OVERLAY_DIRS; do
		[ -d "$REPO/$dir" ] && (cd "$REPO" && find "$dir" -type f)
	done | LC_ALL=C sort
}

# The paths a patch file changes.
patch_paths() {
	sed -n 's|^diff --git a/\(.*\) b/.*$|\1|p' "$1"
}

patch_file() {
	local f
	f=$(ls "$REPO"/patches/"$1"-*.patch 2>/dev/null | head -n 1)
	[ -n "$f" ] || die "$CUR: no patches/$1-*.patch"
	echo "$f"
}

# Replace PATH in the index by the content of stdin.
set_blob() {
	local path=$1 mode=${2:-} blob
	blob=$(git_src hash-object -w --stdin)
	if [ -z "$mode" ]; then
		mode=$(GIT_INDEX_FILE=$INDEX git_src ls-files -s -- "$path" | cut -d' ' -f1)
		mode=${mode:-100644}
	fi
	GIT_INDEX_FILE=$INDEX git_src update-index --add --cacheinfo "$mode,$blob,$path"
}

# The content of PATH in the index.
get_blob() {
	local sha
	sha=$(GIT_INDEX_FILE=$INDEX git_src ls-files -s -- "$1" | cut -d' ' -f2)
	[ -n "$sha" ] || die "$CUR: $1 is not in the tree at this step"
	git_src cat-file blob "$sha"
}

# entry_insert ENTRY AUTHOR: MAINTAINERS on stdin, ENTRY (its @AUTHOR@
# replaced) inserted right after the entry with the greatest title below
# its own (the file is sorted only roughly, so "before the first greater
# title" can land far away).
entry_insert() {
	awk -v entry="$1" -v author="$2" '
		BEGIN {
			while ((getline line < entry) > 0) {
				sub(/@AUTHOR@/, author, line)
				text = text line "\n"
			}
			split(text, first, "\n"); title = toupper(first[1])
		}
		{ lines[NR] = $0 }
		END {
			# Titles: after the first entry, a line after a blank line and
			# before a "X:<tab>" line.
			for (i = 2; i < NR; i++) {
				if (lines[i] == "3C59X NETWORK DRIVER") started = 1
				if (!started || lines[i] == "" || lines[i - 1] != "" ||
				    lines[i + 1] !~ /^[A-Z]:\t/)
					continue
				t = toupper(lines[i]); n++; tl[n] = i
				if (t < title && (best == "" || t > best)) { best = t; bi = n }
			}
			if (!bi || bi == n) { print "entry_insert: no place for " first[1] > "/dev/stderr"; exit 1 }
			at = tl[bi + 1]
			for (i = 1; i <= NR; i++) {
				if (i == at) printf "%s\n", text
				print lines[i]
			}
		}'
}

SERIES_ONLY=()          # paths that only the series changes (MAINTAINERS)
declare -A CLAIMED=()   # "new:PATH" or "patch:NAME:PATH" -> the step
# apply_claims DESCFILE: apply the claims of one description to the index.
apply_claims() {
	local desc=$1 op path rest f p err name before
	local -a paths=() includes=()
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		case "$line" in \#*) continue ;; esac
		op=${line%% *}
		rest=${line#* }
		case "$op" in
		new)
			path=$rest
			[ -f "$REPO/$path" ] || die "$CUR: new $path: no such file in the repository"
			f=100644
			[ -x "$REPO/$path" ] && f=100755
			set_blob "$path" "$f" <"$REPO/$path"
			CLAIMED["new:$path"]=$CUR
			;;
		patch)
			read -r -a paths <<<"$rest"
			name=${paths[0]}
			paths=("${paths[@]:1}")
			f=$(patch_file "$name")
			[ ${#paths[@]} -gt 0 ] || mapfile -t paths < <(patch_paths "$f")
			includes=()
			for p in "${paths[@]}"; do
				patch_paths "$f" | grep -qxF "$p" || die "$CUR: patches/$(basename "$f") does not change $p"
				[ -z "${CLAIMED["patch:$name:$p"]:-}" ] ||
					die "$CUR: $p of patches/$(basename "$f") is claimed twice (also ${CLAIMED["patch:$name:$p"]})"
				CLAIMED["patch:$name:$p"]=$CUR
				includes+=("--include=$p")
			done
			if ! err=$(GIT_INDEX_FILE=$INDEX git_src apply --cached --whitespace=nowarn \
				"${includes[@]}" "$f" 2>&1) &&
				! err=$(GIT_INDEX_FILE=$INDEX git_src apply --cached --3way --whitespace=nowarn \
					"${includes[@]}" "$f" 2>&1); then
				die "$CUR: patches/$(basename "$f") ${paths[*]} does not apply here: $(echo "$err" | grep -m1 -i 'error\|conflict')"
			fi
			;;
		final)
			path=$rest
			f=$(git_src rev-parse -q --verify "$want:$path") ||
				die "$CUR: final $path: not in the tree of scripts/tree.sh"
			git_src cat-file blob "$f" | set_blob "$path"
			for f in "$REPO"/patches/*.patch; do
				patch_paths "$f" | grep -qxF "$path" || continue
				name=$(basename "$f")
				name=${name%%-*}
				[ -n "${CLAIMED["patch:$name:$path"]:-}" ] || CLAIMED["patch:$name:$path"]=$CUR
			done
			;;
		sed)
			path=${rest%% *}
			rest=${rest#* }
			# A script that changes nothing no longer matches the file
			# (someone changed the lines it cuts out): fail here rather
			# than let the patch carry what it should not.
			before=$(GIT_INDEX_FILE=$INDEX git_src ls-files -s -- "$path" | cut -d' ' -f2)
			get_blob "$path" | sed -E -e "$rest" | set_blob "$path" ||
				die "$CUR: sed on $path failed"
			[ "$(GIT_INDEX_FILE=$INDEX git_src ls-files -s -- "$path" | cut -d' ' -f2)" != "$before" ] ||
				die "$CUR: sed on $path changes nothing: its script no longer matches the file ($rest)"
			;;
		entry)
			read -r path f <<<"$rest"
			[ -f "$REPO/$f" ] || die "$CUR: entry $f: no such file"
			SERIES_ONLY+=("$path")
			get_blob "$path" | entry_insert "$REPO/$f" "$GIT_AUTHOR_NAME <$GIT_AUTHOR_EMAIL>" | set_blob "$path" ||
				die "$CUR: cannot insert $f into $path"
			;;
		*) die "$CUR: unknown claim: $line" ;;
		esac
	done < <(sed -n '/^---$/,$p' "$desc" | sed 1d)
}

# The commit message: everything before the "---" line.
message() {
	sed '/^---$/,$d' "$1"
}

# build_commits DIR PARENT: one commit per description DIR/[0-9]*, on
# PARENT; prints the commits, one a line.
build_commits() {
	local dir=$1 parent=$2 desc commit f
	for desc in "$dir"/[0-9]*; do
		[ -f "$desc" ] || continue
		CUR=${desc#"$DESC"/}
		apply_claims "$desc"
		commit=$(message "$desc" | git_src commit-tree \
			"$(GIT_INDEX_FILE=$INDEX git_src write-tree)" -p "$parent")
		# rustfmt on every Rust file as this patch leaves it (partial
		# states included; the lint stage checks the final tree).
		git_src diff-tree --no-commit-id --name-only --diff-filter=AM -r "$parent" "$commit" -- '*.rs' |
			while IFS= read -r f; do
				git_src show "$commit:$f" | /usr/bin/rustfmt --edition 2021 \
					--config-path "$SRC/.rustfmt.toml" --check >"$CACHE/series-rustfmt.log" 2>&1 || true
				# rustfmt --check on stdin exits 0 with a diff: its output counts.
				if [ -s "$CACHE/series-rustfmt.log" ]; then
					head -n 20 "$CACHE/series-rustfmt.log" >&2
					die "$CUR: $f is not rustfmt-clean at this patch"
				fi
			done || exit 1
		parent=$commit
		echo "$parent"
	done
}

stage "series: generating the patch series from the repository"
want=$(expected_tree)
rm -f "$INDEX"
GIT_INDEX_FILE=$INDEX git_src read-tree pristine
CUR=
# Not in a subshell: the claims are recorded in CLAIMED.
mkdir -p "$CACHE"
build_commits "$DESC" "$(git_src rev-parse pristine)" >"$CACHE/series.commits"
mapfile -t series <"$CACHE/series.commits"
[ ${#series[@]} -gt 0 ] || die "no descriptions in scripts/series/"
last=${series[-1]}
build_commits "$DESC/test-env" "$last" >"$CACHE/series.commits"
mapfile -t testenv <"$CACHE/series.commits"
end=$last
[ ${#testenv[@]} -eq 0 ] || end=${testenv[-1]}
rm -f "$INDEX" "$CACHE/series.commits"

# Everything the repository adds must be in a patch.
unclaimed=()
while IFS= read -r file; do
	[ -n "${CLAIMED["new:$file"]:-}" ] || unclaimed+=("$file")
done < <(new_files)
for f in "$REPO"/patches/*.patch; do
	name=$(basename "$f")
	name=${name%%-*}
	while IFS= read -r p; do
		[ -n "${CLAIMED["patch:$name:$p"]:-}" ] || unclaimed+=("patches/$(basename "$f") ($p)")
	done < <(patch_paths "$f")
done
if [ ${#unclaimed[@]} -gt 0 ]; then
	printf '    not in any patch of the series: %s\n' "${unclaimed[@]}" >&2
	die "unclaimed files: add a \"new PATH\" or \"patch NNNN\" line to a description in scripts/series/ (see scripts/series.sh)"
fi
excl=()
for p in "${SERIES_ONLY[@]}"; do excl+=(":(exclude)$p"); done
if ! git_src diff --quiet "$end" "$want" -- . "${excl[@]}"; then
	git_src diff --stat "$end" "$want" -- . "${excl[@]}" | sed 's/^/    differs: /' >&2
	die "the series does not end at the tree scripts/tree.sh builds"
fi
echo "    ${#series[@]} patches and ${#testenv[@]} test-environment patches, ending at the tree of scripts/tree.sh"

# The patch files: format-patch of the series and of the test-environment
# set, then the cover letter once git am and get_maintainer.pl ran.
rm -rf "$WORK"
mkdir -p "$WORK/test-env"
fp() {
	git_src -c format.useAutoBase=false -c format.signOff=false -c diff.noprefix=false \
		format-patch -q --zero-commit --no-signature --no-binary "$@"
}
fp --cover-letter -o "$WORK" "pristine..$last"
[ ${#testenv[@]} -eq 0 ] ||
	fp --subject-prefix="PATCH test-env" -o "$WORK/test-env" "$last..$end"
cover=$(ls "$WORK"/0000-*.patch)

# git am onto pristine in a scratch clone of the cache's tree.
stage "series: a scratch clone at pristine 7.2"
rm -rf "$AM"
git clone -q --shared --no-checkout "$SRC" "$AM" 2>/dev/null
gam() { git -C "$AM" -c user.name=series -c user.email=series@localhost -c advice.detachedHead=false "$@"; }
gam checkout -q pristine
# kernel-doc output depends only on a file's content: cached by blob, so
# that only files changed since the last run cost time.
kdoc() {
	local rev=$1 f blob
	mkdir -p "$CACHE/kdoc-cache"
	git_src diff --name-only pristine "$end" -- '*.c' '*.h' | while IFS= read -r f; do
		blob=$(git_src rev-parse -q --verify "$rev:$f") || continue
		[ -f "$CACHE/kdoc-cache/$blob" ] ||
			{ (cd "$AM" && ./scripts/kernel-doc -none -Wall "$f" >"$CACHE/kdoc-cache/$blob.tmp" 2>&1) || true
			  mv "$CACHE/kdoc-cache/$blob.tmp" "$CACHE/kdoc-cache/$blob"; }
		sed -E 's/:[0-9]+ /: /' "$CACHE/kdoc-cache/$blob"
	done | LC_ALL=C sort -u
}
kdoc_before=$(kdoc pristine)
stage "series: git am"
n=0
for p in "$WORK"/0[0-9][0-9][0-9]-*.patch "$WORK"/test-env/*.patch; do
	[ "$p" != "$cover" ] || continue
	n=$((n + 1))
	if ! gam am -q --keep-cr "$p" >"$CACHE/series-am.log" 2>&1; then
		sed 's/^/    /' "$CACHE/series-am.log" | head -n 20 >&2
		gam am --abort >/dev/null 2>&1 || true
		die "git am: ${p#"$WORK"/} does not apply to pristine 7.2 after the patches before it"
	fi
	[ "$p" != "$WORK/$(basename "$(ls "$WORK"/0[0-9][0-9][0-9]-*.patch | tail -n 1)")" ] ||
		amlast=$(gam rev-parse HEAD)
done
[ "$(gam rev-parse 'HEAD^{tree}')" = "$(git_src rev-parse "$end^{tree}")" ] ||
	die "git am of the series gives another tree than the generated commits"
echo "    git am: $n patches apply to pristine 7.2"

# kernel-doc: no new warning in a C file or header the series touches.
kdoc_new=$(comm -13 <(echo "$kdoc_before") <(kdoc "$end"))
if [ -n "$kdoc_new" ]; then
	echo "$kdoc_new" | sed 's/^/    /' >&2
	die "kernel-doc -Wall: new warnings in the files the series touches"
fi
echo "    kernel-doc -Wall: no new warning in the C files and headers the series touches"

stage "series: get_maintainer.pl"
# get_maintainer.pl, in the tree with the series (and its MAINTAINERS entry).
gm=$(cd "$AM" && gam checkout -q "$amlast" && PATH=/usr/bin:$PATH ./scripts/get_maintainer.pl \
	--no-git --no-git-fallback "$WORK"/0[0-9][0-9][0-9]-*.patch 2>/dev/null | grep -v '^0000') ||
	die "get_maintainer.pl failed"
[ -n "$gm" ] || die "get_maintainer.pl found nobody"

# The cover letter: scripts/series/cover.txt with @BENCH@ and
# @GET_MAINTAINER@ filled in, in place of format-patch's placeholders.
bench_tables() {
	local f seen=" " any=
	for f in $(cd "$REPO" && ls -d $(sed -n 's/^bench: //p' "$DESC/cover.txt") 2>/dev/null); do
		case "$seen" in *" $f "*) continue ;; esac
		seen="$seen$f "
		any=1
		printf '%s:\n\n' "$f"
		cat "$REPO/$f"
		echo
	done
	[ -n "$any" ] || echo "(no benchmark results in bench/ when the series was generated)"
}
python3 - "$cover" "$DESC/cover.txt" <(bench_tables) <(echo "$gm") <<'PY'
import sys
cover, tmpl, bench, gm = sys.argv[1:]
text = open(tmpl).read().split("\n---\n", 1)[1]
lines = [l for l in text.splitlines(True) if not l.startswith("bench: ")]
text = "".join(lines).strip("\n")
subject, body = text.split("\n", 1)
body = body.strip("\n").replace("@BENCH@", open(bench).read().rstrip("\n"))
body = body.replace("@GET_MAINTAINER@", open(gm).read().rstrip("\n"))
c = open(cover).read()
c = c.replace("*** SUBJECT HERE ***", subject.strip()).replace("*** BLURB HERE ***", body)
open(cover, "w").write(c)
PY
cat >"$WORK/test-env/README" <<'EOF'
NOT PART OF THE SERIES. These patches apply on top of the series (git am
after ../0001-*.patch ...). They are what this project's test environment
(Debian's linux-source-7.2 tree, QEMU TCG guests with KASAN, lockdep and
kmemleak) needs besides the series; scripts/series/test-env/ says why
each one is here. Generated by scripts/series.sh; do not edit.
EOF

# checkpatch --strict on every patch but the cover letter. Whoever posts
# the series adds their Signed-off-by (MISSING_SIGN_OFF); MAINTAINERS gets
# its entry in the last patch, so the ones before it add files without
# (FILE_PATH_CHANGES). scripts/series/checkpatch.allow waives one message
# type in one file, each with its reason; any other message fails.
stage "series: checkpatch --strict"
(cd "$SRC" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict --no-summary --terse \
	--show-types --ignore FILE_PATH_CHANGES,MISSING_SIGN_OFF \
	$(ls "$WORK"/0[0-9][0-9][0-9]-*.patch "$WORK"/test-env/*.patch | grep -v '/0000-')) \
	>"$LOGS/series-checkpatch.log" 2>&1 || true
if ! python3 - "$LOGS/series-checkpatch.log" "$DESC/checkpatch.allow" <<'PY'
import re, sys
log, allow = sys.argv[1:]
waive = set()
for line in open(allow):
    line = line.split("#", 1)[0].split()
    if len(line) >= 2:
        waive.add((line[0], line[1]))
paths = {}
def path_at(patch, lineno):
    if patch not in paths:
        paths[patch] = [l[6:].rstrip("\n") if l.startswith("+++ b/") else None
                        for l in open(patch, errors="replace")]
    for p in reversed(paths[patch][:lineno]):
        if p:
            return p
    return "?"
bad = waived = 0
for line in open(log):
    m = re.match(r"(\S+\.patch):(\d+): (\w+):(\w+):", line)
    if m and (m.group(4), path_at(m.group(1), int(m.group(2)))) in waive:
        waived += 1
        continue
    if line.strip():
        bad += 1
        print("    " + line.rstrip().replace(m.group(1), m.group(1).rsplit("/", 1)[1]) if m else "    " + line.rstrip())
print(f"    checkpatch --strict: {bad} messages, {waived} waived by scripts/series/checkpatch.allow")
sys.exit(1 if bad else 0)
PY
then
	die "checkpatch --strict is not clean (full log: $LOGS/series-checkpatch.log)"
fi

if [ "$mode" = write ]; then
	rm -rf "$OUT"
	cp -r "$WORK" "$OUT"
	echo "    wrote series/ ($(ls "$OUT"/*.patch | wc -l) files, test-env/ $(ls "$OUT"/test-env/*.patch | wc -l))"
else
	if ! diff -r -q "$REPO/series" "$WORK" >"$CACHE/series-diff.log" 2>&1; then
		sed 's/^/    /' "$CACHE/series-diff.log" | head -n 20 >&2
		die "series/ is not what the repository generates: run scripts/series.sh and commit series/"
	fi
	echo "    series/ is up to date"
fi
rm -rf "$AM"
[ "$mode" = build ] || exit 0

# The per-patch build, in the cache's own tree and build directory, so
# that each step recompiles only what it changes: check out the tree of
# each patch in $SRC (a two-tree checkout, as scripts/tree.sh does), build
# vmlinux with the configuration of scripts/config.sh as scripts/build.sh
# does (any Rust warning fails), then the modular configuration at the end
# of the series. The cache's tree and .config are put back on any exit.
if [ "$(cat "$CACHE/series-built" 2>/dev/null)" = "$(git_src rev-parse "$last^{tree}")" ] &&
	[ "${DMABUF_IC_SERIES_REBUILD:-0}" = 0 ]; then
	echo "    this series was built patch by patch in this cache already (DMABUF_IC_SERIES_REBUILD=1 builds it again)"
	exit 0
fi
# The test configuration as the repository's fragment makes it now: a
# .config older than a new symbol of the fragment would leave the code
# behind that symbol unbuilt at every patch.
"$REPO/scripts/config.sh" >"$LOGS/series-config.log" 2>&1 ||
	die "scripts/config.sh failed (see $LOGS/series-config.log)"
cp "$OBJ/.config" "$CACHE/series-config.saved"
restore() {
	local rc=$?
	cp "$CACHE/series-config.saved" "$OBJ/.config"
	"$REPO/scripts/tree.sh" >"$LOGS/series-restore.log" 2>&1 ||
		{ echo "error: scripts/tree.sh could not put the tree back (see $LOGS/series-restore.log)" >&2; rc=1; }
	exit $rc
}
trap restore EXIT
checkout() {
	git_src reset -q --hard HEAD
	git_src read-tree -m -u HEAD "$1"
	git_src update-ref HEAD "$1"
}
stage "series: building the kernel after each of the ${#series[@]} patches"
total=$(date +%s)
i=0
for c in "${series[@]}"; do
	i=$((i + 1))
	subject=$(git_src log -1 --format=%s "$c")
	name=$(printf '%04d: %s' "$i" "$subject")
	# DMABUF_IC_SERIES_FROM=N: start at patch N (after fixing patch N).
	if [ "$i" -lt "${DMABUF_IC_SERIES_FROM:-1}" ]; then
		echo "    $name: skipped (DMABUF_IC_SERIES_FROM)"
		continue
	fi
	# A patch that changes only selftests, documentation or MAINTAINERS
	# changes nothing the kernel build reads.
	if ! git_src diff-tree --no-commit-id --name-only -r "$c" |
		grep -qvE '^(tools/testing/|Documentation/|MAINTAINERS$)'; then
		echo "    $name: changes no kernel source, nothing to build"
		continue
	fi
	checkout "$c"
	cp "$CACHE/series-config.saved" "$OBJ/.config"
	before=$(date +%s)
	log=$LOGS/series-build-$(printf '%04d' "$i").log
	# vmlinux: compiled and linked (modpost, kallsyms) as bzImage is, but
	# not compressed.
	if ! make "${KMAKE_ARGS[@]}" -j"$JOBS" vmlinux >"$log" 2>&1; then
		grep -E 'error|Error' "$log" | head -n 15 >&2 || tail -n 15 "$log" >&2
		die "patch $name does not build (full log: $log)"
	fi
	if grep -E '^(warning|error)(\[|:)' "$log" | grep -v objtool >/dev/null; then
		grep -E -A8 '^(warning|error)(\[|:)' "$log" | head -n 30 >&2
		die "patch $name builds with Rust warnings (full log: $log)"
	fi
	echo "    $name: built in $(($(date +%s) - before)) s"
done
echo "    every patch builds: $(($(date +%s) - total)) s for ${#series[@]} patches"
before=$(date +%s)
"$REPO/scripts/modules.sh" || die "the modular configuration does not build at the end of the series"
echo "    the modular build at the end of the series: $(($(date +%s) - before)) s"
# Remember what was built, for scripts/test.sh (see there).
[ "${DMABUF_IC_SERIES_FROM:-1}" != 1 ] || git_src rev-parse "$last^{tree}" >"$CACHE/series-built"
