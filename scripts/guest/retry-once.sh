#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# retry-once.sh PROGRAM: run a kselftest program; if it fails, show its
# output as TAP comments (so it is kept but not counted) and run it again.
# The second run's TAP is what counts: a failure that repeats still fails.
# Only for upstream tests with a known nondeterministic failure; each use in
# a list says why.
out=/tmp/retry-once.$$
"$@" >"$out" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
	cat "$out"
else
	sed 's/^/# first attempt: /' "$out"
	echo "# first attempt of $* exited $rc; running it again"
	"$@" 2>&1
	rc=$?
fi
rm -f "$out"
exit "$rc"
