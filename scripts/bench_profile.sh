#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A flat profile of revoking 1024 imports (revoke) or of mapping and
# unmapping 2 MiB with IOMMU_IOAS_MAP_FILE (map), taken from the host
# through QEMU's gdbstub (scripts/bench_profile.py), for the kernels that
# scripts/bench.sh built:
#   bench_profile.sh [revoke|map] [debug|production] [project|pristine]
# Writes $LOGS/profile-WHAT-CONFIG-KERNEL.txt. Run scripts/bench.sh first.
. "$(dirname "$0")/lib.sh"

what=${1:-revoke}
config=${2:-debug}
kernel=${3:-project}
case "$what" in revoke | map) ;; *) die "unknown profile $what (revoke, map)" ;; esac
case "$config-$kernel" in
debug-project) obj=$OBJ ;;
debug-pristine) obj=$CACHE/build-pristine-debug ;;
production-project) obj=$CACHE/build-production ;;
production-pristine) obj=$CACHE/build-pristine-production ;;
*) die "usage: bench_profile.sh [revoke|map] [debug|production] [project|pristine]" ;;
esac
[ -f "$obj/System.map" ] || die "no $obj/System.map: run scripts/bench.sh first"
tag=profile-$what-$config-$kernel
port=$((20000 + RANDOM % 10000))
out=$LOGS/$tag.txt
lazy=
[ "$config" = production ] && lazy=1
python3 "$REPO/scripts/bench_profile.py" "$port" "$LOGS/results-bench-$tag.log" \
	"$obj/System.map" "$out" &
sampler=$!
DMABUF_IC_BENCH_KERNEL=$obj/arch/x86/boot/bzImage DMABUF_IC_BENCH_TAG=$tag \
	DMABUF_IC_BENCH_LAZY=$lazy DMABUF_IC_BENCH_GDB_PORT=$port \
	DMABUF_IC_GUEST_CMDLINE="dmabuf_ic.bench=profile-$what" "$REPO/scripts/boot.sh" bench
wait "$sampler"
head -n 40 "$out"
