#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# An exact profile, in guest instructions per kernel function, of revoking
# 1024 imports (revoke), of mapping and unmapping 2 MiB with
# IOMMU_IOAS_MAP_FILE (map), or of the unmap alone (unmap), for the kernels
# that scripts/bench.sh built:
#   bench_profile.sh [revoke|map|unmap] [debug|production] [project|pristine]
# The bench guest runs with the QEMU plugin scripts/profile/insn_count.c,
# which counts every instruction the guest executes between the gates that
# bench.c's profile modes set around each measured part;
# scripts/bench_profile.py turns the counts into instructions per
# measured part and kernel function, in $LOGS/profile-WHAT-CONFIG-KERNEL.txt.
# Compare two of them with: scripts/bench_profile.py diff A B
. "$(dirname "$0")/lib.sh"

what=${1:-revoke}
config=${2:-debug}
kernel=${3:-project}
case "$what" in revoke | map | unmap) ;; *) die "unknown profile $what (revoke, map, unmap)" ;; esac
case "$config-$kernel" in
debug-project) obj=$OBJ ;;
debug-pristine) obj=$CACHE/build-pristine-debug ;;
production-project) obj=$CACHE/build-production ;;
production-pristine) obj=$CACHE/build-pristine-production ;;
*) die "usage: bench_profile.sh [revoke|map|unmap] [debug|production] [project|pristine]" ;;
esac
[ -f "$obj/System.map" ] || die "no $obj/System.map: run scripts/bench.sh first"
# The bench program of the current tree.
"$REPO/scripts/initramfs.sh"

plugin=$CACHE/insn_count.so
stage "building the QEMU plugin"
gcc -Wall -Wextra -Werror -Wno-unused-parameter -O2 -shared -fPIC -fvisibility=hidden \
	-o "$plugin" "$REPO/scripts/profile/insn_count.c"
# The kernel handlers of the two gates of bench.c's profile_gate().
addr_of() {
	local a
	a=$(awk -v s="$1" '$3 == s { print $1 }' "$obj/System.map")
	[ -n "$a" ] || die "$1 not in $obj/System.map"
	echo "0x$a"
}
begin=$(addr_of __x64_sys_getcpu)
end=$(addr_of __x64_sys_sched_get_priority_max)

tag=profile-$what-$config-$kernel
counts=$LOGS/$tag.counts
rm -f "$counts"
lazy=
[ "$config" = production ] && lazy=1
DMABUF_IC_BENCH_KERNEL=$obj/arch/x86/boot/bzImage DMABUF_IC_BENCH_TAG=$tag \
	DMABUF_IC_BENCH_LAZY=$lazy \
	DMABUF_IC_BENCH_PLUGIN="$plugin,begin=$begin,end=$end,out=$counts" \
	DMABUF_IC_GUEST_CMDLINE="dmabuf_ic.bench=profile-$what" "$REPO/scripts/boot.sh" bench
python3 "$REPO/scripts/results.py" --mode demo --no-kunit --quiet \
	$([ "$config" = production ] && echo --no-kmemleak) \
	"$LOGS/results-bench-$tag.log" "$LOGS/console-bench-$tag.log" >/dev/null ||
	die "the profiled guest failed: $LOGS/console-bench-$tag.log"
[ -s "$counts" ] || die "the plugin wrote no counts ($LOGS/qemu-bench.log)"
python3 "$REPO/scripts/bench_profile.py" flat "$counts" "$obj/System.map" >"$LOGS/$tag.txt"
head -n 40 "$LOGS/$tag.txt"
