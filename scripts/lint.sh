#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Style checks on what this project changes in the kernel tree:
#  - rustfmt: every Rust file of the tree is formatted (make rustfmtcheck);
#  - rustdoc: the Rust documentation builds without a warning (make rustdoc);
#  - checkpatch: the series "pristine..HEAD" of the cache tree is clean;
#  - series: series/ is what scripts/series.sh generates from the
#    repository, every file is in a patch, the series applies to pristine
#    7.2 with git am, kernel-doc and checkpatch --strict are clean;
#  - docs: the rst documents build with Sphinx and kernel-doc (docs.sh);
#  - the dmabuf-ic tool: cargo fmt and clippy clean.
# Clippy runs with every build (scripts/build.sh). Prints one line per check:
# "lint: NAME ok" or "lint: NAME FAILED"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"

stage "lint: rustfmt, rustdoc and checkpatch"
status=0
if make "${KMAKE_ARGS[@]}" rustfmtcheck >"$LOGS/rustfmt.log" 2>&1; then
	echo "lint: rustfmt ok"
else
	head -n 40 "$LOGS/rustfmt.log"
	echo "lint: rustfmt FAILED"
	status=1
fi

if make "${KMAKE_ARGS[@]}" rustdoc >"$LOGS/rustdoc.log" 2>&1 &&
	! grep -qE '^(warning|error)' "$LOGS/rustdoc.log"; then
	echo "lint: rustdoc ok"
else
	grep -E -A8 '^(warning|error)' "$LOGS/rustdoc.log" | head -n 40
	echo "lint: rustdoc FAILED"
	status=1
fi

series=$CACHE/series
rm -rf "$series"
git -C "$SRC" format-patch -q -o "$series" pristine..HEAD
# FILE_PATH_CHANGES asks whether MAINTAINERS needs an entry: it will, when
# the series is posted. The generated commits carry no Signed-off-by: whoever
# posts the series signs it off.
# Debian's python3 has the modules (ply, git) that checkpatch's SPDX check needs.
if (cd "$SRC" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --no-summary --terse --show-types \
	--ignore FILE_PATH_CHANGES,GIT_COMMIT_ID,MISSING_SIGN_OFF "$series"/*.patch) >"$LOGS/checkpatch.log" 2>&1; then
	echo "lint: checkpatch ok"
else
	head -n 40 "$LOGS/checkpatch.log"
	echo "lint: checkpatch FAILED"
	status=1
fi
if "$REPO/scripts/series.sh" --check; then
	echo "lint: series ok"
else
	echo "lint: series FAILED"
	status=1
fi
if "$REPO/scripts/docs.sh"; then
	echo "lint: docs ok"
else
	echo "lint: docs FAILED"
	status=1
fi

# The userspace tool: rustfmt and clippy (warnings fail), against the
# installed uAPI headers its build checks its structures with.
cargo=$(command -v cargo || echo "$CARGO_BIN/cargo")
tool=(--manifest-path "$REPO/tools/dmabuf-ic/Cargo.toml")
if "$cargo" fmt "${tool[@]}" --check >"$LOGS/tool-fmt.log" 2>&1; then
	echo "lint: tool-rustfmt ok"
else
	head -n 40 "$LOGS/tool-fmt.log"
	echo "lint: tool-rustfmt FAILED"
	status=1
fi
if env DMABUF_IC_KHDR="$OBJ/usr/include" CARGO_TARGET_DIR="$CACHE/tool-target" \
	"$cargo" clippy "${tool[@]}" --locked --all-targets -- -D warnings >"$LOGS/tool-clippy.log" 2>&1; then
	echo "lint: tool-clippy ok"
else
	grep -E -A8 '^(warning|error)' "$LOGS/tool-clippy.log" | head -n 40
	echo "lint: tool-clippy FAILED"
	status=1
fi
exit $status
