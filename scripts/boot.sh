#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the test kernel in QEMU (TCG) and run one list of the guest:
#   boot.sh RUN [kunit]
# RUN is a list of scripts/guest (mock, iommu, lazy, demo, bench, vmm),
# inject-warn, inject-hang or inject-lockup. The "mock" guest, which runs
# iommufd's selftests on iommufd's test mock, has no vIOMMU; every other
# guest has QEMU's intel-iommu, in strict mode with caching mode, except
# "lazy" (non-strict, no caching mode). All have edu and ivshmem; all but "bench" two more ivshmem
# devices for ivshmem-devmem. The "vmm" guest also has an NVMe controller,
# and its initramfs carries QEMU 11 (scripts/qemu11.sh), which passes edu,
# ivshmem and the NVMe controller through to a VM of its own.
# KUnit runs at boot only when the second argument is "kunit". The kernel
# console goes to $LOGS/console-RUN.log, the guest's results to
# $LOGS/results-RUN.log.
# A guest that does not power off in time, or whose kernel reports that it
# is stuck (a hard or soft lockup, an RCU stall, a hung task: the run has
# failed then, and the state worth seeing is the one at the report, not
# minutes later), is stopped, in the second case once its console has been
# quiet for 6 s after the report: first described through
# QEMU's monitor (scripts/hang_state.py: each vCPU's function and interrupt
# flag and, with a vIOMMU, its invalidation queue), in $LOGS/hang-RUN.txt
# and on stderr. Then it gets NMIs, through the monitor too: its kernel
# panics on one (unknown_nmi_panic) and prints every task's stack and the
# locks held (panic_sys_info), so that a hang leaves evidence in the
# console log; then it is killed. The NMI is sent again every 10 s
# meanwhile, as one can be lost: x86 merges NMIs that arrive together, and
# swallows one that it takes for the second half of a back-to-back pair
# (arch/x86/kernel/nmi.c), and then nothing panics.
. "$(dirname "$0")/lib.sh"

mode=${1:-mock}
kunit=0
[ "${2:-}" = kunit ] && kunit=1
timeout=${DMABUF_IC_GUEST_TIMEOUT:-1200}
# DMABUF_IC_KERNEL boots another kernel with the same initramfs (pristine
# 7.2, say, to compare; its tests of this project's interfaces then fail).
kernel=${DMABUF_IC_KERNEL:-$OBJ/arch/x86/boot/bzImage}
initrd=$INITRAMFS/initramfs.cpio.gz
console=$LOGS/console-$mode.log
results=$LOGS/results-$mode.log
[ -f "$kernel" ] || die "no kernel image: run scripts/build.sh first"
[ -f "$initrd" ] || die "no initramfs: run scripts/initramfs.sh first"
nvme=()
if [ "$mode" = vmm ]; then
	[ -f "$INITRAMFS/vmm.cpio.gz" ] || die "no QEMU 11 for the vmm guest: run scripts/qemu11.sh first"
	# Linux unpacks concatenated archives one after the other.
	cat "$initrd" "$INITRAMFS/vmm.cpio.gz" >"$INITRAMFS/initramfs-vmm.cpio.gz"
	initrd=$INITRAMFS/initramfs-vmm.cpio.gz
	# No guest driver claims it (no block layer): QEMU 11 takes it.
	nvme=(-device nvme,serial=dmabufic)
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (make deps)"

# ivshmem's BAR2 is backed by this host file, so the host can see what
# peer-to-peer DMA wrote into the BAR.
ivshmem=$CACHE/ivshmem-$mode.bin
ivshmem_size=4M
# The benchmark maps BAR ranges up to 1 GiB, and runs under -icount
# shift=0: guest time then advances by one nanosecond per guest
# instruction, so its timings are instruction counts, repeatable whatever
# else the host does. One vCPU: with two, icount's round robin can leave
# the idle one's timers unserved while the other runs a long ioctl, and
# RCU reports a stall that is QEMU's, not the kernel's.
icount=()
smp=2
if [ "$mode" = bench ]; then
	ivshmem_size=1G
	icount=(-icount shift=0)
	smp=1
	# scripts/bench.sh boots several kernels (project and pristine 7.2,
	# debug and production configs): which one, and logs of its own.
	kernel=${DMABUF_IC_BENCH_KERNEL:-$kernel}
	if [ -n "${DMABUF_IC_BENCH_TAG:-}" ]; then
		console=$LOGS/console-bench-$DMABUF_IC_BENCH_TAG.log
		results=$LOGS/results-bench-$DMABUF_IC_BENCH_TAG.log
	fi
	# scripts/bench_profile.sh: a TCG plugin that counts the instructions
	# the guest executes (scripts/profile/insn_count.c), with its arguments.
	if [ -n "${DMABUF_IC_BENCH_PLUGIN:-}" ]; then
		icount+=(-plugin "$DMABUF_IC_BENCH_PLUGIN")
	fi
fi
rm -f "$ivshmem"
truncate -s "$ivshmem_size" "$ivshmem"
# Two more ivshmem devices, after the first (which VFIO takes), for the
# ivshmem-devmem driver: the GPU-like exporter and a peer that imports
# through its private interconnect. The host can read their memory too.
devmem=()
if [ "$mode" != bench ]; then
	for i in 1 2; do
		file=$CACHE/devmem$i-$mode.bin
		rm -f "$file"
		truncate -s 4M "$file"
		devmem+=(-object "memory-backend-file,id=devmem$i,share=on,mem-path=$file,size=4M"
			-device "ivshmem-plain,memdev=devmem$i")
	done
fi
monitor=$LOGS/monitor-$mode.sock
hang_state=$LOGS/hang-$mode.txt
rm -f "$console" "$results" "$monitor" "$hang_state"
mkdir -p "$LOGS"

cmdline="console=ttyS0 log_buf_len=32M panic=-1 kunit.enable=$kunit dmabuf_ic.run=$mode"
# Nothing in these guests sends an NMI but boot.sh at the timeout.
cmdline="$cmdline unknown_nmi_panic panic_sys_info=tasks,blocked_tasks,locks"
# scripts/soak.sh: longer stress and fuzzing.
[ -n "${DMABUF_IC_SOAK_SECONDS:-}" ] && cmdline="$cmdline dmabuf_ic.seconds=$DMABUF_IC_SOAK_SECONDS"
iommu=()
if [ "$mode" = lazy ]; then
	# The lazy guest: the DMA API's domains use the flush queue (DMA-FQ),
	# so an IOVA the DMA API unmaps may stay in the IOTLB until a deferred
	# flush; revoke must end access anyway. Linux forces strict mode on a
	# vIOMMU with caching mode (drivers/iommu/intel/iommu.c, "IOMMU
	# batching disallowed due to virtualization"): caching mode off. QEMU's
	# own devices need no caching mode; a host device assigned to the
	# guest would.
	iommu=(-device intel-iommu,intremap=on,caching-mode=off)
	cmdline="$cmdline intel_iommu=on iommu.strict=0"
elif [ "$mode" != mock ]; then
	iommu=(-device intel-iommu,intremap=on,caching-mode=on)
	# Strict: an IOVA the DMA API unmaps is flushed from the IOTLB before
	# the unmap returns, so a revoked scatter-gather mapping blocks DMA at
	# once (lazy mode would leave it reachable until the next flush; the
	# lazy guest tests that revoke ends access there too).
	cmdline="$cmdline intel_iommu=on iommu.strict=1"
fi
# The bench's production runs flush the DMA API's IOTLB lazily, as distros
# ship: without caching mode, which would force strict mode (see "lazy").
if [ "$mode" = bench ] && [ -n "${DMABUF_IC_BENCH_LAZY:-}" ]; then
	iommu=(-device intel-iommu,intremap=on,caching-mode=off)
	cmdline="$cmdline iommu.strict=0"
fi
# Mainline's vfio_dma_mapping_test, in the iommu list, maps a 1 GiB huge
# page, reserved at boot (the list gives it back after that test). It needs
# an aligned GiB that nothing uses: in a 2 GiB guest the kernel sits in the
# first, QEMU loads the initramfs at the top of the second. With 4 GiB, q35
# puts the last two above 4 GiB; early allocations (the 32 MiB log buffer)
# come from the top one, and the page from the other.
mem=2G
if [ "$mode" = iommu ]; then
	mem=4G
	cmdline="$cmdline hugepagesz=1G hugepages=1"
fi

# Extra kernel parameters, last so that they override the ones above, for
# mutation checks of the tests themselves (initcall_blacklist=vfio_pci_init:
# no vfio-pci driver, every VFIO test must then fail; iommu.strict=1 in the
# lazy guest: its domain check must then fail).
[ -n "${DMABUF_IC_GUEST_CMDLINE:-}" ] && cmdline="$cmdline $DMABUF_IC_GUEST_CMDLINE"

stage "booting the $mode guest (QEMU TCG, timeout ${timeout}s)"
qemu_args=(
	# The CPU says AMD family 17h: Linux then lets peer-to-peer DMA
	# between devices on the root bus go through the host bridge, as
	# QEMU does; for other CPUs it wants a whitelisted host bridge.
	# Without 5-level paging: with it, 7.2 can report a false KASAN
	# "wild-memory-access" at boot when an interrupt lands while
	# identify_boot_cpu() has cleared the boot CPU's feature bits (LA57
	# among them, which KASAN's idea of the address space follows);
	# seen twice under load, in pristine code, at 0.005 s.
	-machine q35 -accel tcg -cpu max,family=23,la57=off -smp "$smp" -m "$mem"
	"${iommu[@]}" "${icount[@]}"
	# edu's DMA engine masks addresses to 28 bits by default; DMA API
	# mappings for a driverless device sit just below 4 GiB.
	-device edu,dma_mask=0xffffffff
	-object "memory-backend-file,id=ivshmem,share=on,mem-path=$ivshmem,size=$ivshmem_size"
	-device ivshmem-plain,memdev=ivshmem
	# A PCIe device with FLR and power management, behind its own root
	# port (so a bus reset reaches it alone): the VFIO revoke tests reset
	# it and put it in D3. No guest driver claims it. The port says 5 GT/s:
	# for a faster port Linux waits, after a bus reset, for "Data Link
	# Layer Link Active", which QEMU's root port does not report, and the
	# reset fails with ENOTTY.
	-device pcie-root-port,id=rp1,chassis=1,x-speed=5
	-device virtio-rng-pci,bus=rp1,disable-legacy=on
	"${devmem[@]}" "${nvme[@]}"
	-kernel "$kernel" -initrd "$initrd"
	-append "$cmdline"
	-display none -monitor "unix:$monitor,server=on,wait=off" -nic none -no-reboot
	-serial "file:$console" -serial "file:$results"
)
qemu-system-x86_64 "${qemu_args[@]}" >"$LOGS/qemu-$mode.log" 2>&1 &
qemu=$!
started=$SECONDS
# Set once the guest is being stopped: when, why, and the word that tells
# scripts/results.py which of the two reasons it was.
stopped=
why=
marker=
# The first report that the kernel is stuck and when boot.sh saw it; the
# console's size at the last look, and since when it has not grown.
report=
reported=
last_size=
quiet_since=$SECONDS
# The first lines of the kernel's reports that it is stuck (the same
# reports fail the run in scripts/results.py).
stuck='Watchdog detected hard LOCKUP|BUG: soft lockup|rcu: INFO: rcu_[a-z]+ (self-)?detected stall|INFO: task .* blocked for more than'
nmi_sent=
# send_nmi: one NMI to every vCPU, through QEMU's monitor.
send_nmi() {
	nmi_sent=$SECONDS
	python3 - "$monitor" <<'PY' || echo "error: could not reach QEMU's monitor" >&2
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"nmi\n")
s.recv(4096)
PY
}
# stop_guest MARKER WHY: describe the guest through QEMU's monitor, then
# NMI it.
stop_guest() {
	stopped=$SECONDS
	marker=$1
	why=$2
	echo "error: the guest $why: NMI, then kill" >&2
	# q35 puts intel-iommu's registers at 0xfed90000; the kernel's
	# System.map sits at the top of its build tree.
	local state_args=() map=${kernel%/arch/x86/boot/bzImage}/System.map
	[ "${#iommu[@]}" -gt 0 ] && state_args+=(--vtd 0xfed90000)
	[ -f "$map" ] && state_args+=(--system-map "$map")
	python3 "$REPO/scripts/hang_state.py" "$monitor" "${state_args[@]}" >"$hang_state" 2>&1 || true
	sed 's/^/    /' "$hang_state" >&2
	send_nmi
}
# Progress: report each test program as the guest starts it.
seen=0
while kill -0 "$qemu" 2>/dev/null; do
	sleep 2
	if [ -z "$stopped" ]; then
		if [ $((SECONDS - started)) -ge "$timeout" ]; then
			stop_guest guest-timeout "did not finish within ${timeout}s"
		elif [ -z "$report" ] &&
			report=$(grep -a -m 1 -o -E "($stuck).*" "$console" 2>/dev/null); then
			reported=$SECONDS
			report=${report%$'\r'}
		fi
		# Once the console has been quiet for 6 s after the report (the
		# rest of the report, and what follows it), or 30 s after it at
		# most: the NMI lands in a settled guest, as it does at a timeout.
		size=$(stat -c %s "$console" 2>/dev/null || echo 0)
		if [ "$size" != "$last_size" ]; then
			last_size=$size
			quiet_since=$SECONDS
		fi
		if [ -n "$report" ] && [ -z "$stopped" ] &&
			{ [ $((SECONDS - quiet_since)) -ge 6 ] && [ $((SECONDS - reported)) -ge 6 ] ||
				[ $((SECONDS - reported)) -ge 30 ]; }; then
			stop_guest guest-stuck "reported that it is stuck (\"$report\")"
		fi
	elif [ $((SECONDS - nmi_sent)) -ge 10 ] && kill -0 "$qemu" 2>/dev/null; then
		send_nmi
	fi
	# The panic's dump of every task takes a while under TCG.
	if [ -n "$stopped" ] && [ $((SECONDS - stopped)) -ge 120 ]; then
		kill "$qemu" 2>/dev/null || true
		sleep 5
		kill -9 "$qemu" 2>/dev/null || true
	fi
	[ -f "$results" ] || continue
	mapfile -t begins < <(grep -a '^@@@ begin ' "$results" | tr -d '\r')
	while [ "$seen" -lt "${#begins[@]}" ]; do
		name=${begins[$seen]#@@@ begin }
		case "$name" in
		kmemleak | dmesg) stage "guest: collecting the $name report" ;;
		*) stage "guest: running $name" ;;
		esac
		seen=$((seen + 1))
	done
done
rc=0
wait "$qemu" || rc=$?
rm -f "$monitor"
if [ -n "$stopped" ]; then
	echo "error: the guest $why (stacks, if any: $console)" >&2
	echo "$marker" >>"$results"
elif [ "$rc" -ne 0 ]; then
	echo "error: QEMU exited with status $rc: $(tail -n 3 "$LOGS/qemu-$mode.log")" >&2
fi
stage "guest finished"
exit 0
