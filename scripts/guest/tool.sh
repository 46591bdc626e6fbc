#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The dmabuf-ic tool in the iommu guest, as an operator runs it: its
# reports against what the kernel should say, and its errors and exit
# codes. Prints TAP.
. "${0%/*}/lib.sh"

edu=$(bdf_of 0x1234 0x11e8)
ivshmem=$(bdf_of 0x1af4 0x1110)
rng=$(bdf_of 0x1af4 0x1044)
echo "1..15"
unbind "$edu"
bind_vfio "$ivshmem"
bind_vfio "$rng"

t_iommufd() {
	dmabuf-ic --json iommufd >/tmp/iommufd.json &&
		has '"map-file"' /tmp/iommufd.json && has '"revoke"' /tmp/iommufd.json &&
		has '"phys-list"' /tmp/iommufd.json
}
t_devices() {
	dmabuf-ic devices >/tmp/devices.txt &&
		has "^$ivshmem 1af4:1110 driver vfio-pci .*exports BARs as dma-bufs" /tmp/devices.txt &&
		has "  BAR2 0x400000 bytes" /tmp/devices.txt
}
t_devices_unbound() {
	dmabuf-ic devices >/tmp/devices.txt && lacks "^$edu" /tmp/devices.txt
}
t_inspect_ivshmem() {
	dmabuf-ic --json inspect "$ivshmem" --bar 2 --length 0x2000 >/tmp/inspect.json &&
		tr -d ' \n' </tmp/inspect.json >/tmp/i.json &&
		has '"offers":\[{"interconnect":"phys-list","peer_to_peer":false},{"interconnect":"sgt","peer_to_peer":true}\]' /tmp/i.json &&
		has '"map_file":{"importable":true,"interconnect":"phys-list"}' /tmp/i.json &&
		has '"state":\["negotiates","revocable"\]' /tmp/i.json
}
t_inspect_small_bar() {
	dmabuf-ic inspect "$rng" --bar 4 >/tmp/rng.txt &&
		has "offer 1: phys-list" /tmp/rng.txt && has "offer 2: sgt" /tmp/rng.txt &&
		lacks "offer 3" /tmp/rng.txt
}
t_not_bound() {
	status 3 dmabuf-ic inspect "$edu" && has driver_override /tmp/status.out
}
t_beyond_bar() {
	status 1 dmabuf-ic inspect "$ivshmem" --bar 2 --offset 0x400000 && has EINVAL /tmp/status.out
}
# Without the feature, the ioctl is unknown (ENOTTY): /dev/null stands in
# for /dev/iommu.
t_no_feature() {
	mount --bind /dev/null /dev/iommu || return 1
	status 4 dmabuf-ic iommufd
	r=$?
	umount /dev/iommu
	[ "$r" = 0 ] && has ENOTTY /tmp/status.out
}
t_demo() {
	dmabuf-ic --json demo >/tmp/demo.json &&
		tr -d ' \n' </tmp/demo.json >/tmp/d.json &&
		[ "$(grep -o '"ok":true' /tmp/d.json | wc -l)" = 3 ] &&
		has '"step":"map-again"' /tmp/d.json && lacks '"ok":false' /tmp/d.json &&
		has '"revoked"' /tmp/d.json
}

check "iommufd: imports dma-bufs through phys-list, honours revoke" t_iommufd
check "devices: ivshmem exports dma-bufs, with its 4 MiB BAR2" t_devices
check "devices: edu, not bound to vfio-pci, is not listed" t_devices_unbound
check "inspect ivshmem BAR2: phys-list, then P2P sgt; iommufd would use phys-list" t_inspect_ivshmem
check "inspect virtio-rng's 16 KiB BAR4: phys-list, then sgt, as every BAR on 7.2" t_inspect_small_bar
check "no such device: exit 3" status 3 dmabuf-ic inspect 0000:00:1f.6
check "edu not bound to vfio-pci: exit 3, says how to bind" t_not_bound
check "a range beyond the BAR: exit 1 with EINVAL" t_beyond_bar
check "a missing BAR: exit 1" status 1 dmabuf-ic inspect "$ivshmem" --bar 5
check "bad usage: exit 2" status 2 dmabuf-ic frobnicate
check "a kernel without the dma-buf import (ENOTTY): exit 4" t_no_feature
# buffers and follow against QEMU 11: scripts/guest/vmm.sh. Here, their
# answers for processes without dma-bufs.
t_buffers_none() {
	dmabuf-ic buffers $$ >/tmp/buffers.txt && has "holds no dma-buf" /tmp/buffers.txt
}
check "buffers of a process without dma-bufs: says so" t_buffers_none
check "buffers of no such process: exit 3" status 3 dmabuf-ic buffers 4194304
check "follow of a file that is no dma-buf: exit 3" status 3 dmabuf-ic follow $$ 0
bind_vfio "$edu"
check "demo: peer-to-peer DMA, revoke, blocked, map again" t_demo
[ "$failed" = 0 ]
