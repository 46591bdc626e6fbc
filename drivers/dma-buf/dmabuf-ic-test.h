/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Interface of the dma-buf interconnect test module (/dev/dmabuf_ic_test),
 * shared with its kselftests. Test infrastructure, not a stable uAPI.
 *
 * Every open of the device is a context. A context exports buffers (each
 * backed by pages of memory, offering the interconnects it is told to, in
 * that order) and imports buffers through attachments that accept the
 * interconnects it is told to, or through classic attachments that use
 * mainline's dma-buf API only. Closing the context detaches its
 * attachments and revokes its exported buffers for good, as a driver does
 * when its device goes away.
 *
 * Errors common to every command: ENOTTY for an unknown command, EFAULT
 * for an unreadable argument, EINVAL for unknown flags or operations,
 * unknown interconnect types, and duplicate or empty type lists. Opening
 * the device fails with EAGAIN while the module is still initialising.
 */
#ifndef _DMABUF_IC_TEST_H
#define _DMABUF_IC_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Interconnect types, as named in offer and accept lists. */
enum dmabuf_ic_test_type {
	DMABUF_IC_TEST_SGT = 1,		/* DMA-mapped scatter-gather table */
	DMABUF_IC_TEST_PHYS_LIST = 2,	/* list of physical ranges */
	DMABUF_IC_TEST_LINK = 3,	/* the module's private interconnect */
};

#define DMABUF_IC_TEST_MAX_TYPES 4
#define DMABUF_IC_TEST_MAX_PAGES 1024
#define DMABUF_IC_TEST_MAX_ATTACHMENTS 256

/* The buffer may be revoked; only importers that honour invalidation. */
#define DMABUF_IC_TEST_EXPORT_REVOCABLE 0x1U
/* The SGT offer is peer-to-peer MMIO: importers must allow P2P. */
#define DMABUF_IC_TEST_EXPORT_SGT_P2P 0x2U
/* One physical range per page, even where pages happen to be contiguous. */
#define DMABUF_IC_TEST_EXPORT_SPLIT_RANGES 0x4U

/**
 * struct dmabuf_ic_test_export - DMABUF_IC_TEST_EXPORT
 * @flags: DMABUF_IC_TEST_EXPORT_*
 * @nr_offers: entries used in @offers, 1 to DMABUF_IC_TEST_MAX_TYPES
 * @offers: enum dmabuf_ic_test_type, in the exporter's order of preference
 * @link_id: the link the buffer sits on, for a DMABUF_IC_TEST_LINK offer;
 *	the private interconnect matches importers on the same link
 * @nr_pages: size of the buffer in pages, 1 to DMABUF_IC_TEST_MAX_PAGES
 *
 * Returns the new dma-buf file descriptor (O_CLOEXEC).
 */
struct dmabuf_ic_test_export {
	__u32 flags;
	__u32 nr_offers;
	__u32 offers[DMABUF_IC_TEST_MAX_TYPES];
	__u32 link_id;
	__u32 nr_pages;
};

/* Operations of struct dmabuf_ic_test_revoke. */
enum dmabuf_ic_test_revoke_op {
	DMABUF_IC_TEST_OP_UNREVOKE = 0,	/* ENODEV once revoked for good */
	DMABUF_IC_TEST_OP_REVOKE = 1,
	DMABUF_IC_TEST_OP_REVOKE_PERMANENTLY = 2,
};

/**
 * struct dmabuf_ic_test_revoke - DMABUF_IC_TEST_REVOKE
 * @fd: a dma-buf exported by this module (EBADF if not open, EINVAL if not
 *	a dma-buf or exported by someone else)
 * @op: enum dmabuf_ic_test_revoke_op
 *
 * Revoking returns when every importer was invalidated and every mapping
 * of the buffer is gone.
 */
struct dmabuf_ic_test_revoke {
	__s32 fd;
	__u32 op;
};

/* The importer stops all access when invalidated. */
#define DMABUF_IC_TEST_ATTACH_INVALIDATE 0x1U
/* The importer's device may reach peer-to-peer MMIO through SGT. */
#define DMABUF_IC_TEST_ATTACH_SGT_P2P 0x2U
/* The importer maps for the PCI device @pci_dev, not for the test device. */
#define DMABUF_IC_TEST_ATTACH_PCI_DEV 0x4U
/*
 * A classic importer: it knows nothing of interconnects and uses mainline's
 * dma-buf API only. It attaches with dma_buf_dynamic_attach(), whose
 * dma_buf_attach_ops have allow_peer2peer set with
 * DMABUF_IC_TEST_ATTACH_SGT_P2P and an invalidate_mappings callback with
 * DMABUF_IC_TEST_ATTACH_INVALIDATE (without it the importer is pinned, as
 * an importer without the callback is); it maps with
 * dma_buf_map_attachment() under the reservation lock and unmaps with
 * dma_buf_unmap_attachment(). Its invalidate_mappings unmaps before it
 * returns and counts the invalidation. It works with buffers of any
 * exporter (VFIO's too), which decides alone whether to take it: the
 * framework's exporters serve it from their DMABUF_IC_TEST_SGT offer.
 * Its accept list must be DMABUF_IC_TEST_SGT alone, and @negotiated says
 * DMABUF_IC_TEST_SGT. A pinned one that holds a mapping of a buffer makes
 * a revoke of that buffer, and closing the context that exported it, wait
 * until it unmaps: mainline lets exporters wait for such importers.
 */
#define DMABUF_IC_TEST_ATTACH_CLASSIC 0x8U
/*
 * The importer may accept DMABUF_IC_TEST_PHYS_LIST: it only reads the
 * physical ranges back (DMABUF_IC_TEST_MAP), maps them for no CPU and hands
 * them to no device. Without this flag the importer is an ordinary one,
 * which the framework does not trust with physical addresses: accepting
 * DMABUF_IC_TEST_PHYS_LIST fails with EPERM.
 */
#define DMABUF_IC_TEST_ATTACH_PHYS_READER 0x10U

/**
 * struct dmabuf_ic_test_attach - DMABUF_IC_TEST_ATTACH
 * @fd: any dma-buf (EBADF if not open, EINVAL if not a dma-buf)
 * @flags: DMABUF_IC_TEST_ATTACH_*
 * @nr_accepts: entries used in @accepts, 1 to DMABUF_IC_TEST_MAX_TYPES
 * @accepts: enum dmabuf_ic_test_type the importer can use
 * @link_id: the importer's link, for a DMABUF_IC_TEST_LINK entry
 * @id: out: the attachment's id in this context
 * @negotiated: out: the negotiated enum dmabuf_ic_test_type
 * @pci_dev: with DMABUF_IC_TEST_ATTACH_PCI_DEV, the importer's device:
 *	PCI domain << 16 | bus << 8 | devfn (ENODEV if there is none). The
 *	test then drives that device's DMA itself, through sysfs.
 *
 * EOPNOTSUPP when no interconnect suits both sides, or when the buffer is
 * revocable and the importer does not honour invalidation; ENODEV when the
 * buffer is revoked for good; ENOSPC past DMABUF_IC_TEST_MAX_ATTACHMENTS.
 * A classic importer gets whatever the exporter's attach returns: from this
 * module's exporter, EOPNOTSUPP when the buffer does not offer
 * DMABUF_IC_TEST_SGT, offers it peer-to-peer and the importer does not
 * allow that, or is revocable and the importer is pinned; ENODEV while the
 * buffer is revoked. EINVAL when a classic importer's accept list is not
 * DMABUF_IC_TEST_SGT alone.
 */
struct dmabuf_ic_test_attach {
	__s32 fd;
	__u32 flags;
	__u32 nr_accepts;
	__u32 accepts[DMABUF_IC_TEST_MAX_TYPES];
	__u32 link_id;
	__u32 id;
	__u32 negotiated;
	__u32 pci_dev;
};

/**
 * struct dmabuf_ic_test_map - DMABUF_IC_TEST_MAP
 * @id: an attachment of this context (ENOENT if none)
 * @nr_segments: out: physical ranges, DMA segments or link mappings
 * @length: out: bytes mapped, the buffer's size
 * @addr: out: where the first segment starts: its physical address for
 *	DMABUF_IC_TEST_PHYS_LIST, its DMA address for DMABUF_IC_TEST_SGT,
 *	0 for DMABUF_IC_TEST_LINK
 *
 * EBUSY if already mapped, ENODEV while the buffer is revoked; whatever the
 * exporter's mapping returns (EREMOTEIO: the device cannot reach the
 * exporter's MMIO peer-to-peer). A classic importer maps for bidirectional
 * DMA and reports its table's DMA segments.
 */
struct dmabuf_ic_test_map {
	__u32 id;
	__u32 nr_segments;
	__u64 length;
	__u64 addr;
};

/**
 * struct dmabuf_ic_test_status - DMABUF_IC_TEST_STATUS
 * @id: an attachment of this context (ENOENT if none)
 * @negotiated: out: enum dmabuf_ic_test_type
 * @mapped: out: 1 while mapped
 * @invalidations: out: how often the exporter invalidated the attachment
 *
 * A mapping ends when the importer is invalidated: @mapped is 0 once a
 * revoke returned, for classic importers with DMABUF_IC_TEST_ATTACH_INVALIDATE
 * too.
 */
struct dmabuf_ic_test_status {
	__u32 id;
	__u32 negotiated;
	__u32 mapped;
	__u32 invalidations;
};

/**
 * struct dmabuf_ic_test_buf_status - DMABUF_IC_TEST_BUF_STATUS
 * @fd: a dma-buf exported by this module (EBADF, EINVAL as for revoke)
 * @revoked: out: enum dmabuf_ic_test_revoke_op of the current state
 * @attachments: out: attachments of the buffer, by any importer
 * @mappings: out: mappings that importers hold, classic importers included
 */
struct dmabuf_ic_test_buf_status {
	__s32 fd;
	__u32 revoked;
	__u32 attachments;
	__u32 mappings;
};

#define DMABUF_IC_TEST_IOC 0xdb
#define DMABUF_IC_TEST_EXPORT	  _IOW(DMABUF_IC_TEST_IOC, 1, struct dmabuf_ic_test_export)
#define DMABUF_IC_TEST_REVOKE	  _IOW(DMABUF_IC_TEST_IOC, 2, struct dmabuf_ic_test_revoke)
#define DMABUF_IC_TEST_ATTACH	  _IOWR(DMABUF_IC_TEST_IOC, 3, struct dmabuf_ic_test_attach)
/* DETACH and UNMAP take the attachment id; UNMAP: ENOENT if not mapped. */
#define DMABUF_IC_TEST_DETACH	  _IOW(DMABUF_IC_TEST_IOC, 4, __u32)
#define DMABUF_IC_TEST_MAP	  _IOWR(DMABUF_IC_TEST_IOC, 5, struct dmabuf_ic_test_map)
#define DMABUF_IC_TEST_UNMAP	  _IOW(DMABUF_IC_TEST_IOC, 6, __u32)
#define DMABUF_IC_TEST_STATUS	  _IOWR(DMABUF_IC_TEST_IOC, 7, struct dmabuf_ic_test_status)
#define DMABUF_IC_TEST_BUF_STATUS _IOWR(DMABUF_IC_TEST_IOC, 8, struct dmabuf_ic_test_buf_status)

#endif /* _DMABUF_IC_TEST_H */
