#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Style checks on what this project changes in the kernel tree:
#  - rustfmt: every Rust file of the tree is formatted (make rustfmtcheck);
#  - rustdoc: the Rust documentation builds without a warning (make rustdoc);
#  - checkpatch: the series "pristine..HEAD" of the cache tree is clean.
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
exit $status
