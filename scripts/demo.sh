#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The main job: build the patched kernel, boot it in QEMU and show, in the
# guest, what the subsystem offers, then peer-to-peer DMA from QEMU's edu
# into ivshmem's BAR through a VFIO dma-buf mapped by iommufd, its revoke,
# and mapping again; and into a buffer of ivshmem-devmem, the GPU-like
# exporter, through iommufd without VFIO.
. "$(dirname "$0")/lib.sh"

"$REPO/scripts/deps.sh"
"$REPO/scripts/tree.sh"
"$REPO/scripts/config.sh"
"$REPO/scripts/build.sh"
"$REPO/scripts/initramfs.sh"
"$REPO/scripts/boot.sh" demo kunit

stage "what the guest reported"
awk '/^@@@ begin demo/{on=1; next} /^@@@ end demo/{on=0} on' "$LOGS/results-demo.log" |
	tr -d '\r' | sed 's/^/    /'
# ivshmem's BAR2 is this host file: edu's last peer-to-peer DMA (2048 bytes
# of 0x77) must be in it.
stage "checking, on the host, the memory behind ivshmem's BAR2"
bar_file=$CACHE/ivshmem-demo.bin
if begins_with "$bar_file" 77; then
	echo "    $bar_file begins with 2048 bytes of 0x77: the DMA reached the BAR's memory"
else
	echo "    FAILED: $bar_file does not hold edu's last DMA"
	exit 1
fi
# ivshmem-devmem's exporter is the last ivshmem device (devmem2): edu's
# DMA into its first buffer (2048 bytes of 0x5c) must be in its file.
stage "checking, on the host, the memory behind ivshmem-devmem's exporter"
devmem_file=$CACHE/devmem2-demo.bin
if begins_with "$devmem_file" 5c; then
	echo "    $devmem_file begins with 2048 bytes of 0x5c: the DMA reached the device memory"
else
	echo "    FAILED: $devmem_file does not hold edu's DMA into the ivshmem-devmem buffer"
	exit 1
fi
stage "checking the guest's kernel log"
python3 "$REPO/scripts/results.py" --mode demo --quiet "$LOGS/results-demo.log" "$LOGS/console-demo.log"
