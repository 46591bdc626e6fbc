#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The main job's guest side: show what the running kernel offers.
echo "kernel: $(uname -r)"
echo
echo "Rust dma-buf and interconnect tests (KUnit, run at boot):"
dmesg | sed -n 's/^\[[ 0-9.]*\] *//p' | grep -E '^ *(not )?ok [0-9]+ rust_doctest_kernel_dma_buf' |
	sed 's/^ */  /'
echo
echo "iommufd: $([ -c /dev/iommu ] && echo "/dev/iommu present" || echo "missing")"
echo "VFIO:    $([ -c /dev/vfio/vfio ] && echo "/dev/vfio/vfio present" || echo "missing")"
echo
echo "PCI devices for the peer-to-peer demo:"
for dev in /sys/bus/pci/devices/*; do
	id="$(cat "$dev/vendor"):$(cat "$dev/device")"
	case "$id" in
	0x1234:0x11e8) what="edu (DMA engine)" ;;
	0x1af4:0x1110) what="ivshmem-plain (BAR2 backed by a host file)" ;;
	*) continue ;;
	esac
	group=$(basename "$(readlink "$dev/iommu_group")" 2>/dev/null)
	echo "  $(basename "$dev")  $what, IOMMU group ${group:-none}"
done
echo
echo "Peer-to-peer DMA through the IOMMU, with a VFIO dma-buf imported by iommufd:"
if ./p2p_dma -v >/tmp/p2p.out 2>&1; then
	grep -v '^\(#\|ok \|not ok\|TAP\|1\.\.\)' /tmp/p2p.out | sed 's/^/  /'
	echo "  result: passed"
else
	sed 's/^/  /' /tmp/p2p.out
	echo "  result: FAILED"
	exit 1
fi
