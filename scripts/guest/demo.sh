#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The main job's guest side: what the running kernel offers, shown with the
# dmabuf-ic tool as an operator would run it, then peer-to-peer DMA.
echo "kernel: $(uname -r)"
echo
echo "Rust dma-buf and interconnect tests (KUnit, run at boot):"
dmesg | sed -n 's/^\[[ 0-9.]*\] *//p' | grep -E '^ *(not )?ok [0-9]+ rust_doctest_kernel_dma_buf' |
	sed 's/^ */  /'
echo
. "${0%/*}/lib.sh"
edu=$(bdf_of 0x1234 0x11e8)
ivshmem=$(bdf_of 0x1af4 0x1110)
fail() {
	echo "  result: FAILED"
	exit 1
}
for dev in "$edu" "$ivshmem"; do
	# ivshmem-devmem binds every ivshmem: the first one goes to VFIO.
	drv=$(readlink "/sys/bus/pci/devices/$dev/driver" 2>/dev/null)
	if [ -n "$drv" ]; then
		echo "# echo $dev > /sys/bus/pci/drivers/${drv##*/}/unbind"
		echo "$dev" >"/sys/bus/pci/devices/$dev/driver/unbind"
	fi
	echo "# echo vfio-pci > /sys/bus/pci/devices/$dev/driver_override; echo $dev > /sys/bus/pci/drivers_probe"
	echo vfio-pci >"/sys/bus/pci/devices/$dev/driver_override"
	echo "$dev" >/sys/bus/pci/drivers_probe
done
echo
echo "# dmabuf-ic devices"
dmabuf-ic devices | sed 's/^/  /' || fail
echo
echo "# dmabuf-ic iommufd"
dmabuf-ic iommufd | sed 's/^/  /' || fail
echo
echo "# dmabuf-ic inspect $ivshmem --bar 2 --length 0x400000"
dmabuf-ic inspect "$ivshmem" --bar 2 --length 0x400000 | sed 's/^/  /' || fail
echo
echo "The scatter-gather offer, for importers that use the DMA API (the test"
echo "module imports for a driverless edu, which copies within ivshmem's BAR):"
if ./p2p_dma -v -t sgt_p2p_dma >/tmp/sgt.out 2>&1; then
	grep -v '^\(#\|ok \|not ok\|TAP\|1\.\.\)' /tmp/sgt.out | sed 's/^/  /'
else
	sed 's/^/  /' /tmp/sgt.out
	fail
fi
echo
echo "ivshmem-devmem, a GPU-like exporter written in Rust, drives the two other"
echo "ivshmem devices; its buffers go to iommufd without VFIO:"
if ./devmem -v -t negotiation_and_iommufd_p2p >/tmp/devmem.out 2>&1; then
	grep -v '^\(#\|ok \|not ok\|TAP\|1\.\.\)' /tmp/devmem.out | sed 's/^/  /'
else
	sed 's/^/  /' /tmp/devmem.out
	fail
fi
echo
echo "# echo vfio-pci > /sys/bus/pci/devices/$edu/driver_override; echo $edu > /sys/bus/pci/drivers_probe"
echo vfio-pci >"/sys/bus/pci/devices/$edu/driver_override"
echo "$edu" >/sys/bus/pci/drivers_probe
echo "# dmabuf-ic demo"
dmabuf-ic demo >/tmp/demo.out 2>&1
rc=$?
sed 's/^/  /' /tmp/demo.out
[ "$rc" = 0 ] || fail
echo "  result: passed"
