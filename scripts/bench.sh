#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark: build and boot the "bench" guest (intel-iommu, edu, and an
# ivshmem with a 1 GiB BAR2, under QEMU's -icount shift=0 so that guest time
# counts guest instructions), run tools/testing/selftests/
# dmabuf-interconnect/bench.c there, and turn its output into CSV files,
# Markdown tables and an SVG plot:
#   bench.sh [OUT_DIR]      (default: bench/ in the repository)
# A benchmark, not a test: it fails only if the run breaks or the guest's
# kernel log has a report.
. "$(dirname "$0")/lib.sh"

out=${1:-$REPO/bench}
for step in deps tree config build initramfs; do
	"$REPO/scripts/$step.sh"
done
"$REPO/scripts/boot.sh" bench
stage "checking the bench guest's kernel log"
python3 "$REPO/scripts/results.py" --mode demo --no-kunit --quiet \
	"$LOGS/results-bench.log" "$LOGS/console-bench.log"
stage "writing $out"
python3 "$REPO/scripts/bench_report.py" "$LOGS/results-bench.log" "$out"
