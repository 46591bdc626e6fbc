#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# dma-domain.sh VENDOR:DEVICE TYPE: check that the IOMMU group of the PCI
# device VENDOR:DEVICE (as sysfs spells them: 0x1234:0x11e8) has the default
# domain TYPE (DMA: strict, DMA-FQ: lazy, with the flush queue), as sysfs
# says in /sys/kernel/iommu_groups/N/type. A guest list runs it as a
# "setup" line: the guest's tests of revoke through the DMA API mean what
# they say only in the mode the guest was booted for.
id=$1
want=$2
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor"):$(cat "$d/device")" = "$id" ]; then
		dev=$d
		break
	fi
done
if [ -z "${dev:-}" ]; then
	echo "dma-domain.sh: no PCI device $id"
	exit 1
fi
group=$(readlink "$dev/iommu_group")
if [ -z "$group" ]; then
	echo "dma-domain.sh: $(basename "$dev") ($id) is in no IOMMU group"
	exit 1
fi
type=$(cat "$dev/iommu_group/type")
echo "$(basename "$dev") ($id): IOMMU group $(basename "$group"), default domain $type" \
	"(kernel command line: $(cat /proc/cmdline))"
dmesg | grep -E 'DMA domain TLB invalidation policy|IOMMU batching' | sed 's/^/dmesg: /'
if [ "$type" != "$want" ]; then
	echo "dma-domain.sh: the default domain is $type, not $want"
	exit 1
fi
