#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A real VMM on this kernel: QEMU 11 (Debian unstable's, scripts/qemu11.sh)
# passes edu, ivshmem and an NVMe controller through to a VM with iommufd
# (-object iommufd, vfio-pci's iommufd=). QEMU exports every mmappable BAR
# as a dma-buf and maps it into its IOAS with IOMMU_IOAS_MAP_FILE; the VM's
# firmware (scripts/guest/payload) places the BARs, has edu DMA into
# ivshmem's BAR at its guest physical address, then turns ivshmem's memory
# decoding off and on again. At each "payload: wait ..." line the VM waits
# for a byte on its serial port while this script checks the kernel's side.
# Prints TAP; the host then checks ivshmem's memory (scripts/test.sh).
. "${0%/*}/lib.sh"

QEMU=/qemu11/qemu-system-x86_64.sh
# TCG inside TCG: QEMU starts in about 10 s here, and each step of the VM
# takes a few; the limits leave room for a slower machine.
START_TIMEOUT=${VMM_START_TIMEOUT:-300}
STEP_TIMEOUT=${VMM_STEP_TIMEOUT:-120}

edu=$(bdf_of 0x1234 0x11e8)
ivshmem=$(bdf_of 0x1af4 0x1110)
nvme=$(bdf_of 0x1b36 0x0010)
echo "1..12"
echo "# QEMU $(cat /qemu11/version): edu $edu, ivshmem $ivshmem, NVMe $nvme"
for dev in "$edu" "$ivshmem" "$nvme"; do
	bind_vfio "$dev" || echo "# $dev did not bind to vfio-pci"
done

# wait_line FILE PATTERN SECONDS: until a line of FILE has PATTERN.
wait_line() {
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le "$3" ] || { echo "no \"$2\" after $3 s in $1:"; cat "$1"; return 1; }
		if [ -n "${qpid:-}" ] && ! kill -0 "$qpid" 2>/dev/null && [ "$1" = /tmp/payload.log ]; then
			echo "QEMU exited:"
			cat /tmp/qemu.out /tmp/payload.log
			return 1
		fi
		sleep 1
	done
}
# go: let the VM's firmware go on.
go() { printf g >/tmp/serial.in; }

mkfifo /tmp/serial.in /tmp/serial.out
# The VM: QEMU's "pc" machine without BIOS or defaults; vapic off (its
# option ROM is in QEMU's data files, which the guest does not carry).
$QEMU -machine pc -accel tcg -m 32M -nodefaults -no-user-config -display none \
	-global apic-common.vapic=off -bios /tests/payload.bin \
	-object iommufd,id=iommufd0 \
	-device "vfio-pci,host=$edu,iommufd=iommufd0" \
	-device "vfio-pci,host=$ivshmem,iommufd=iommufd0" \
	-device "vfio-pci,host=$nvme,iommufd=iommufd0" \
	-chardev pipe,id=com1,path=/tmp/serial -serial chardev:com1 \
	-device isa-debug-exit,iobase=0xf4,iosize=1 \
	>/tmp/qemu.out 2>&1 &
qpid=$!
cat /tmp/serial.out >/tmp/payload.log &
catpid=$!

# 1. QEMU starts and exports its BARs as dma-bufs. One BAR cannot be: the
# 256-byte BAR 0 of ivshmem, smaller than a page, which no dma-buf can
# describe (EINVAL, on pristine 7.2 too); QEMU says so and maps it through
# its mmap (IOMMU_IOAS_MAP, EFAULT for a BAR: no P2P to ivshmem's registers).
t_started() {
	wait_line /tmp/payload.log "payload: bars" "$START_TIMEOUT" || return 1
	lacks "dma-buf not supported" /tmp/qemu.out || return 1
	grep "dma-buf unavailable" /tmp/qemu.out | grep -v "$ivshmem BAR 0:" >/tmp/unavailable.out
	lacks . /tmp/unavailable.out
}
check "QEMU 11 starts the VM: no \"dma-buf not supported\", every BAR of a page or more exported" t_started

# 2. Peer-to-peer DMA between two passed-through devices.
t_p2p() {
	wait_line /tmp/payload.log "payload: wait mapped" "$STEP_TIMEOUT" &&
		has "payload: edu id ok" /tmp/payload.log &&
		has "payload: p2p ok" /tmp/payload.log
}
check "P2P in the VM: edu's DMA lands in ivshmem's BAR at its guest physical address" t_p2p

# QEMU's dma-bufs, from /proc: "FD SIZE EXPORTER" lines.
qemu_buffers() {
	for f in /proc/"$qpid"/fdinfo/*; do
		exp=$(sed -n 's/^exp_name:[[:space:]]*//p' "$f" 2>/dev/null)
		[ -n "$exp" ] || continue
		echo "${f##*/} $(sed -n 's/^size:[[:space:]]*//p' "$f") $exp"
	done
}
qemu_buffers >/tmp/buffers.txt
sed 's/^/# QEMU holds dma-buf (fd size exporter): /' /tmp/buffers.txt
# bar_size BDF N: the size of BAR N, from sysfs.
bar_size() {
	set -- $(sed -n "$(($2 + 1))p" "/sys/bus/pci/devices/$1/resource")
	echo $(($2 - $1 + 1))
}
fd_of_size() { awk -v s="$1" '$2 == s { print $1; exit }' /tmp/buffers.txt; }
shm_fd=$(fd_of_size "$(bar_size "$ivshmem" 2)")
nvme_fd=$(fd_of_size "$(bar_size "$nvme" 0)")
# section FD FILE: the part of `dmabuf-ic buffers` output about fd FD.
section() { awk -v fd="fd $1:" '/^fd [0-9]+:/ { on = ($1 " " $2 == fd) } on' "$2"; }
# shm_state FILE: `dmabuf-ic buffers` of QEMU into FILE, the part about
# its buffer of ivshmem's BAR into /tmp/shm.txt, shown.
shm_state() {
	dmabuf-ic buffers "$qpid" >"$1" || { cat "$1"; return 1; }
	section "$shm_fd" "$1" >/tmp/shm.txt
	cat /tmp/shm.txt
}
# iommufd's attachments carry the name of its device, /dev/iommu.
IMPORTED="imported by iommu through phys-list, mapped"

t_imported() {
	[ -n "$shm_fd" ] || { echo "QEMU holds no dma-buf of ivshmem's BAR 2"; return 1; }
	shm_state /tmp/b-mapped.txt && has "$IMPORTED" /tmp/shm.txt && lacks revoked /tmp/shm.txt
}
check "iommufd imports QEMU's dma-buf of ivshmem's BAR through phys-list (dmabuf-ic buffers)" t_imported

# 3. NVMe's BAR 0 holds its MSI-X table. QEMU 11 asks one range per
# mmappable area of the BAR; 7.2's vfio-pci lets the MSI-X table be mapped
# (VFIO_REGION_INFO_CAP_MSIX_MAPPABLE), so QEMU keeps one area: the whole
# BAR, one range, and puts its MSI-X emulation above it in the VM's address
# space. Its memory listener then maps the parts of the BAR around the
# table: two IOMMU_IOAS_MAP_FILE of one dma-buf at two offsets, which share
# the one attachment of QEMU's iommufd context to that buffer.
t_nvme() {
	[ -n "$nvme_fd" ] || { echo "QEMU holds no dma-buf of the whole of NVMe's BAR 0"; return 1; }
	section "$nvme_fd" /tmp/b-mapped.txt >/tmp/nvme.txt
	cat /tmp/nvme.txt
	[ "$(grep -c "$IMPORTED" /tmp/nvme.txt)" = 1 ]
}
check "NVMe's BAR 0 (MSI-X table inside): one dma-buf of the whole BAR, imported once" t_nvme

# 4. Memory decoding off and on again, with a VMM-style follower: a second
# holder of QEMU's buffer (dmabuf-ic follow) keeps its own IOMMU mapping in
# step with the revoke events.
dmabuf-ic follow "$qpid" "${shm_fd:-0}" --events 2 --timeout "$STEP_TIMEOUT" >/tmp/follow.out 2>&1 &
fpid=$!
t_follow_mapped() { wait_line /tmp/follow.out "mapped at IOVA" 60; }
check "dmabuf-ic follow maps QEMU's buffer into an IOAS of its own" t_follow_mapped
go
t_off() {
	wait_line /tmp/payload.log "payload: wait memory-off" "$STEP_TIMEOUT" &&
		shm_state /tmp/b-off.txt && has "revoked" /tmp/shm.txt && lacks "mapped" /tmp/shm.txt
}
check "memory off: QEMU's buffer is revoked, nothing maps it" t_off
t_follow_revoked() { wait_line /tmp/follow.out "revoked: unmapped" 60; }
check "memory off: the revoke event reached the follower, which unmapped" t_follow_revoked
go
t_on() {
	wait_line /tmp/payload.log "payload: wait memory-on" "$STEP_TIMEOUT" &&
		shm_state /tmp/b-on.txt && lacks "revoked" /tmp/shm.txt && has "$IMPORTED" /tmp/shm.txt
}
check "memory on: allowed again, QEMU has mapped the BAR again itself" t_on
t_follow_again() { wait_line /tmp/follow.out "allowed again: mapped" 60 && wait "$fpid"; }
check "memory on: the event reached the follower, which mapped again and ended" t_follow_again
go
t_blocked() {
	wait_line /tmp/payload.log "payload: done" "$STEP_TIMEOUT" &&
		has "payload: blocked ok" /tmp/payload.log
}
check "edu's DMA while memory was off did not land" t_blocked
check "P2P after memory on: QEMU's new mapping works" has "payload: p2p after re-enable ok" /tmp/payload.log
t_exit() {
	i=0
	while kill -0 "$qpid" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le "$STEP_TIMEOUT" ] || { echo "QEMU still runs after $STEP_TIMEOUT s"; return 1; }
		sleep 1
	done
	wait "$qpid"
	rc=$?
	[ "$rc" = 1 ] || { echo "QEMU exited with $rc (1: the VM's checks passed)"; return 1; }
}
check "QEMU exits through isa-debug-exit with the VM's checks passed" t_exit
kill "$qpid" "$catpid" "$fpid" 2>/dev/null
sed 's/^/# VM: /' /tmp/payload.log
sed 's/^/# QEMU: /' /tmp/qemu.out
sed 's/^/# follow: /' /tmp/follow.out
[ "$failed" = 0 ]
