/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ivshmem-devmem: the memory BAR of QEMU's ivshmem-plain device (PCI
 * 1af4:1110, BAR 2) driven as the device memory of a GPU-like device.
 *
 * Every bound device gets a misc device /dev/ivshmem-devmemN. Userspace
 * allocates buffers in the device's memory and gets one dma-buf per buffer.
 * A buffer's dma-buf offers, in this order, the driver's private
 * interconnect (other devices of this driver reach the memory through the
 * exporter's BAR mapping), a list of physical ranges (IOMMU importers such
 * as iommufd) and a peer-to-peer scatter-gather table (DMA-API importers).
 *
 * A buffer is identified by a handle, valid in the open file that
 * allocated it. Freeing the handle does not free the memory while the
 * buffer's dma-buf exists: the memory goes back to the device when both the
 * handle and the dma-buf are gone.
 *
 * Errors common to every command: ENOTTY for an unknown command, EFAULT for
 * an unreadable or unwritable argument, EINVAL for non-zero reserved fields
 * or unknown flags, ENODEV once the device is unbound (the file stays open
 * but can do nothing), ENOENT for an unknown handle.
 */
#ifndef _UAPI_LINUX_IVSHMEM_DEVMEM_H
#define _UAPI_LINUX_IVSHMEM_DEVMEM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IVSHMEM_DEVMEM_IOCTL_BASE 0xB9

/**
 * struct ivshmem_devmem_info - what the device is
 * @bdf: the PCI address of the device, as in sysfs ("0000:00:04.0")
 * @mem_size: bytes of device memory (the size of BAR 2)
 * @mem_free: bytes not allocated
 * @nr_buffers: buffers whose memory is allocated
 * @flags: %IVSHMEM_DEVMEM_IN_RESET while the device is held in reset
 */
struct ivshmem_devmem_info {
	char bdf[32];
	__u64 mem_size;
	__u64 mem_free;
	__u32 nr_buffers;
	__u32 flags;
};

#define IVSHMEM_DEVMEM_IN_RESET (1U << 0)

/**
 * struct ivshmem_devmem_alloc - allocate a buffer and export it
 * @size: bytes; a non-zero multiple of the page size, at most the device's
 *	memory. EINVAL otherwise; ENOSPC if no free range of that size is left
 * @flags: 0
 * @handle: out: the buffer's handle
 * @fd: out: the buffer's dma-buf, close-on-exec
 * @reserved: 0
 * @offset: out: where the buffer starts in the device's memory
 *
 * EBUSY while the device is held in reset.
 */
struct ivshmem_devmem_alloc {
	__u64 size;
	__u32 flags;
	__u32 handle;
	__s32 fd;
	__u32 reserved;
	__u64 offset;
};

/**
 * struct ivshmem_devmem_free - drop a buffer's handle
 * @handle: the buffer
 * @reserved: 0
 *
 * EBUSY if an importer has the buffer mapped (the handle stays valid).
 * Otherwise the handle is gone; the memory returns to the device once the
 * buffer's dma-buf is released too.
 */
struct ivshmem_devmem_free {
	__u32 handle;
	__u32 reserved;
};

/**
 * struct ivshmem_devmem_rw - read or write a buffer through the driver's
 *	mapping of the device memory
 * @handle: the buffer
 * @flags: %IVSHMEM_DEVMEM_RW_WRITE to write, 0 to read
 * @offset: where in the buffer; a multiple of 4
 * @len: bytes; a non-zero multiple of 4, at most %IVSHMEM_DEVMEM_RW_MAX,
 *	and @offset + @len within the buffer (EINVAL otherwise)
 * @data: the user memory to copy to or from
 *
 * EBUSY while the device is held in reset.
 */
struct ivshmem_devmem_rw {
	__u32 handle;
	__u32 flags;
	__u64 offset;
	__u64 len;
	__u64 data;
};

#define IVSHMEM_DEVMEM_RW_WRITE (1U << 0)
#define IVSHMEM_DEVMEM_RW_MAX (1U << 20)

/**
 * struct ivshmem_devmem_reset - reset the device
 * @flags: %IVSHMEM_DEVMEM_RESET_ENTER, %IVSHMEM_DEVMEM_RESET_EXIT, or 0 for
 *	both in one call
 * @reserved: 0
 *
 * Entering reset revokes every buffer of the device: when the call returns
 * no importer reaches the memory, and mapping a buffer fails with ENODEV.
 * Leaving it lets importers map again; nothing is mapped again by itself.
 * Entering twice or leaving a device that is not in reset fails with
 * EALREADY.
 */
struct ivshmem_devmem_reset {
	__u32 flags;
	__u32 reserved;
};

#define IVSHMEM_DEVMEM_RESET_ENTER (1U << 0)
#define IVSHMEM_DEVMEM_RESET_EXIT (1U << 1)

/**
 * struct ivshmem_devmem_import - import a dma-buf of another device (or of
 *	this one) through the driver's private interconnect
 * @fd: the dma-buf (EBADF if it is not open, EINVAL if it is no dma-buf)
 * @handle: in: 0; out: the import's handle
 *
 * EOPNOTSUPP if the buffer does not offer the interconnect (it is not a
 * buffer of this driver), ENODEV if it is revoked for good.
 */
struct ivshmem_devmem_import {
	__s32 fd;
	__u32 handle;
};

/**
 * struct ivshmem_devmem_copy - copy from an imported buffer into a buffer
 *	of this device, by the CPU through both devices' memory mappings
 * @import: the import's handle
 * @handle: the destination buffer
 * @src_offset: where in the imported buffer; a multiple of 4
 * @dst_offset: where in the destination; a multiple of 4
 * @len: bytes; as for &struct ivshmem_devmem_rw
 *
 * Maps the import if it is not mapped (after a revoke it is not: the copy
 * maps it again once the exporter allows it). ENODEV while the imported
 * buffer is revoked.
 */
struct ivshmem_devmem_copy {
	__u32 import;
	__u32 handle;
	__u64 src_offset;
	__u64 dst_offset;
	__u64 len;
};

/**
 * struct ivshmem_devmem_unimport - detach an import
 * @handle: the import's handle
 * @reserved: 0
 */
struct ivshmem_devmem_unimport {
	__u32 handle;
	__u32 reserved;
};

#define IVSHMEM_DEVMEM_INFO \
	_IOR(IVSHMEM_DEVMEM_IOCTL_BASE, 0x00, struct ivshmem_devmem_info)
#define IVSHMEM_DEVMEM_ALLOC \
	_IOWR(IVSHMEM_DEVMEM_IOCTL_BASE, 0x01, struct ivshmem_devmem_alloc)
#define IVSHMEM_DEVMEM_FREE \
	_IOW(IVSHMEM_DEVMEM_IOCTL_BASE, 0x02, struct ivshmem_devmem_free)
#define IVSHMEM_DEVMEM_RW \
	_IOW(IVSHMEM_DEVMEM_IOCTL_BASE, 0x03, struct ivshmem_devmem_rw)
#define IVSHMEM_DEVMEM_RESET \
	_IOW(IVSHMEM_DEVMEM_IOCTL_BASE, 0x04, struct ivshmem_devmem_reset)
#define IVSHMEM_DEVMEM_IMPORT \
	_IOWR(IVSHMEM_DEVMEM_IOCTL_BASE, 0x05, struct ivshmem_devmem_import)
#define IVSHMEM_DEVMEM_COPY \
	_IOW(IVSHMEM_DEVMEM_IOCTL_BASE, 0x06, struct ivshmem_devmem_copy)
#define IVSHMEM_DEVMEM_UNIMPORT \
	_IOW(IVSHMEM_DEVMEM_IOCTL_BASE, 0x07, struct ivshmem_devmem_unimport)

#endif /* _UAPI_LINUX_IVSHMEM_DEVMEM_H */
