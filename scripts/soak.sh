#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The long form of the reliability tests: the mock and iommu guests run
# their lists with the stress test and the fuzzer going SECONDS each
# (default 300, at most TIMED_TEST_MAX_SECONDS of
# tools/testing/selftests/dmabuf-interconnect/timed.h, which fits their
# timeout) instead of 10, and are judged as in scripts/test.sh:
#   soak.sh [SECONDS]
. "$(dirname "$0")/lib.sh"

seconds=${1:-300}
max=$(awk '$1 == "#define" && $2 == "TIMED_TEST_MAX_SECONDS" { print $3 }' \
	"$REPO/tools/testing/selftests/dmabuf-interconnect/timed.h")
case "$seconds" in
'' | *[!0-9]*) die "SECONDS must be a number of seconds, 1 to $max" ;;
esac
[ "$seconds" -ge 1 ] && [ "$seconds" -le "$max" ] || die "SECONDS must be 1 to $max (timed.h)"
for step in deps tree config build initramfs; do
	"$REPO/scripts/$step.sh"
done
status=0
for run in mock iommu; do
	DMABUF_IC_SOAK_SECONDS=$seconds DMABUF_IC_GUEST_TIMEOUT=$((1200 + 4 * seconds)) \
		"$REPO/scripts/boot.sh" "$run"
	stage "judging the $run guest"
	python3 "$REPO/scripts/results.py" --mode test --no-kunit \
		"$LOGS/results-$run.log" "$LOGS/console-$run.log" || status=1
	grep -a -h -E 'operations|distinct' "$LOGS/results-$run.log" | sed 's/^#/   /'
done
exit $status
