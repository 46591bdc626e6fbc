/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DMA-buf interconnect negotiation, for exporters and importers in C.
 *
 * An exporter offers a buffer through an ordered list of interconnects
 * (ways to reach its memory); an importer attaches with the list of
 * interconnects it can use. The first offer the importer accepts, and
 * whose match agrees, is negotiated for the attachment's lifetime. The
 * framework is written in Rust (rust/kernel/dma_buf/); these functions
 * are its C face, with the same rules as the Rust traits.
 *
 * Classic importers, which attach with dma_buf_dynamic_attach() and map
 * with dma_buf_map_attachment(), keep working: they negotiate as an
 * importer that accepts dma_buf_ic_sgt only, peer-to-peer capable if they
 * set allow_peer2peer, honouring invalidation if they implement
 * invalidate_mappings. A buffer that does not offer dma_buf_ic_sgt to them
 * refuses the attach with EOPNOTSUPP.
 */
#ifndef __LINUX_DMA_BUF_INTERCONNECT_H
#define __LINUX_DMA_BUF_INTERCONNECT_H

#include <linux/dma-direction.h>
#include <linux/errno.h>
#include <linux/types.h>

struct device;
struct dma_buf;
struct dma_buf_attachment;
struct module;
struct sg_table;

/**
 * struct dma_buf_ic_type - an interconnect
 * @name: the interconnect's name, for logs and discovery
 * @match: optional; tells whether an exporter's offer and an importer's
 *	acceptance of this interconnect can work together. Both values are
 *	the @data of their &struct dma_buf_ic_entry, whose meaning the driver
 *	that defines the interconnect decides. NULL means they always can.
 *
 * An interconnect is identified by the address of its object: a driver
 * defines a private interconnect as one static object of this type. The
 * built-in ones are dma_buf_ic_sgt and dma_buf_ic_phys_list.
 */
struct dma_buf_ic_type {
	const char *name;
	bool (*match)(u64 offer, u64 accept);
};

/*
 * The DMA-mapped scatter-gather table. Entry data: for an offer,
 * DMA_BUF_IC_SGT_P2P if the memory is PCI MMIO (of the export's @provider,
 * if it names one: importers whose device cannot reach it by peer-to-peer
 * DMA, as pci_p2pdma_distance() tells, then skip this offer at
 * negotiation); for an acceptance, DMA_BUF_IC_SGT_P2P if the importer's
 * device can reach PCI MMIO.
 */
extern const struct dma_buf_ic_type *const dma_buf_ic_sgt;
#define DMA_BUF_IC_SGT_P2P 1ULL

/*
 * The list of physical ranges, for importers that program an IOMMU
 * themselves. Entry data: 0. Only dma_buf_ic_attach_iommu() and
 * dma_buf_ic_negotiate_iommu() accept it; the generic entry points refuse
 * it with EPERM.
 */
extern const struct dma_buf_ic_type *const dma_buf_ic_phys_list;

/*
 * The most entries an offer or accept list may have: lists are kept inline,
 * so that negotiation allocates nothing for them.
 */
#define DMA_BUF_IC_MAX_ENTRIES 8

/**
 * struct dma_buf_ic_entry - one entry of an offer or accept list
 * @type: the interconnect
 * @data: what this side states about it (see &struct dma_buf_ic_type)
 */
struct dma_buf_ic_entry {
	const struct dma_buf_ic_type *type;
	u64 data;
};

/**
 * struct dma_buf_ic_exporter_ops - how a C exporter maps its buffer
 * @map_sgt: for dma_buf_ic_sgt: map the buffer for the device of @attach,
 *	which is attached to the buffer (by a framework importer, or by a
 *	classic importer through dma_buf_dynamic_attach()). Returns the table
 *	or an ERR_PTR. Memory without struct pages (PCI MMIO) is mapped the
 *	way dma_buf_phys_vec_to_sgt() does.
 * @unmap_sgt: undoes @map_sgt.
 * @map_private: for any other interconnect but dma_buf_ic_phys_list: map
 *	the buffer for the device of @attach and describe the mapping in
 *	@cookie.
 * @unmap_private: undoes @map_private.
 * @release: the export state is gone; free @priv. Optional.
 *
 * The map and unmap callbacks run with the buffer's reservation lock held;
 * map only while access is not revoked. Mapping through
 * dma_buf_ic_phys_list needs no callback: the ranges are given at export.
 */
struct dma_buf_ic_exporter_ops {
	struct sg_table *(*map_sgt)(void *priv,
				    struct dma_buf_attachment *attach,
				    enum dma_data_direction dir);
	void (*unmap_sgt)(void *priv, struct dma_buf_attachment *attach,
			  struct sg_table *sgt, enum dma_data_direction dir);
	int (*map_private)(void *priv, const struct dma_buf_ic_type *type,
			   struct dma_buf_attachment *attach, u64 *cookie);
	void (*unmap_private)(void *priv, const struct dma_buf_ic_type *type,
			      struct dma_buf_attachment *attach, u64 cookie);
	void (*release)(void *priv);
};

/**
 * struct dma_buf_ic_export_info - what dma_buf_ic_export() creates
 * @name: the exporter's name, as dma-buf shows it; a static string
 * @owner: the module of @ops (THIS_MODULE), held while the buffer exists
 * @size: size of the buffer in bytes
 * @flags: the flags of the buffer's file, as &dma_buf_export_info.flags
 * @offers: the interconnects offered, preferred first; no duplicates
 * @nr_offers: entries in @offers, 1 to %DMA_BUF_IC_MAX_ENTRIES
 * @revocable: the exporter may revoke access; only importers that honour
 *	invalidation can then attach
 * @provider: the device whose memory the buffer is, or NULL; for PCI
 *	MMIO the PCI device, so that negotiation can tell which importers
 *	reach it. A P2P offer of dma_buf_ic_sgt holds a reference to it.
 * @ranges: the buffer's physical ranges, in order, covering @size exactly;
 *	each page aligned with a non-zero length that is a multiple of the
 *	page size; needed only if dma_buf_ic_phys_list is offered
 * @nr_ranges: entries in @ranges
 * @ops: the map callbacks; must stay valid while the buffer or the
 *	exporter's handle exists (a static object in practice)
 * @priv: passed to @ops; released through @ops->release, also on failure
 */
struct dma_buf_ic_export_info {
	const char *name;
	struct module *owner;
	size_t size;
	int flags;
	const struct dma_buf_ic_entry *offers;
	unsigned int nr_offers;
	bool revocable;
	struct device *provider;
	const struct phys_vec *ranges;
	unsigned int nr_ranges;
	const struct dma_buf_ic_exporter_ops *ops;
	void *priv;
};

/* The exporter's handle on the state of one exported buffer. */
struct dma_buf_ic_export;

/*
 * dma_buf_ic_export() returns the exporter's handle, or an ERR_PTR (EINVAL
 * for a bad description, ENOMEM), and a reference to the new buffer in
 * *@dmabuf, typically handed to dma_buf_fd(). The handle revokes access
 * until dma_buf_ic_export_put(); the state lives until both the handle and
 * the buffer are gone.
 *
 * Revoking is synchronous: under the reservation lock the buffer is marked
 * revoked and every importer invalidated; then the buffer's fences
 * (DMA_RESV_USAGE_BOOKKEEP) are waited for, and the call returns only when
 * every mapping has ended, those of classic importers included. Unrevoking
 * maps nothing: importers map again when their users ask. Call these with
 * the exporter's own locks held if it has any, never with a reservation
 * lock or an importer's lock held.
 */
struct dma_buf_ic_export *
dma_buf_ic_export(const struct dma_buf_ic_export_info *info,
		  struct dma_buf **dmabuf);
void dma_buf_ic_export_revoke(struct dma_buf_ic_export *export);
int dma_buf_ic_export_unrevoke(struct dma_buf_ic_export *export);
void dma_buf_ic_export_revoke_permanently(struct dma_buf_ic_export *export);
void dma_buf_ic_export_put(struct dma_buf_ic_export *export);
/* Whether the buffer still exists (an fd or a reference holds it). */
bool dma_buf_ic_export_has_buffer(struct dma_buf_ic_export *export);

/**
 * struct dma_buf_ic_importer_ops - how a C importer is told to stop
 * @invalidate: stop every access to the buffer before returning, or, if
 *	@invalidate_done is set, before that returns; called with the
 *	reservation lock held. The framework then ends the mapping. Must not
 *	map again, nor detach.
 * @invalidate_done: optional; finish what @invalidate started. When the
 *	exporter revokes access, the framework calls @invalidate for every
 *	attachment of the buffer first, then @invalidate_done once for each
 *	attachment that held a mapping when it was invalidated (never for one
 *	that held none), with the same @priv, still with the reservation lock
 *	held and before the exporter's revoke returns. An importer with many
 *	attachments to one buffer can so batch work that each @invalidate
 *	would repeat, such as one IOTLB flush per IOMMU domain for all of
 *	them. For a buffer of an exporter outside the framework it runs right
 *	after the attachment's own @invalidate. The rules of @invalidate hold.
 */
struct dma_buf_ic_importer_ops {
	void (*invalidate)(void *priv);
	void (*invalidate_done)(void *priv);
};

#define DMA_BUF_IC_ATTACHMENT_WORDS 16

/**
 * struct dma_buf_ic_attachment - an importer's attachment to a buffer
 * @opaque: the framework's state of the attachment; the framework's build
 *	checks that it fits.
 *
 * The importer provides the memory, usually inside its own object, so the
 * framework allocates nothing for the attachment. Between
 * dma_buf_ic_attach() and dma_buf_ic_detach() the structure belongs to the
 * framework: the importer must not touch, move or free it.
 */
struct dma_buf_ic_attachment {
	u64 opaque[DMA_BUF_IC_ATTACHMENT_WORDS];
};

/*
 * dma_buf_ic_attach() negotiates, for the importer's device @dev, and
 * attaches into @attach; 0, or on failure, with nothing attached:
 * -EOPNOTSUPP (nothing in common, or a revocable buffer and an importer that
 * does not honour invalidation), -ENODEV (revoked for good), -EPERM
 * (@accepts names dma_buf_ic_phys_list), -EINVAL (among others for an empty
 * list, one with duplicates or with more than %DMA_BUF_IC_MAX_ENTRIES
 * entries). Until dma_buf_ic_detach(), which takes the reservation lock and
 * ends the mapping, if any, the importer holds a reference to @dmabuf and
 * keeps @dev alive (the attachment takes no reference of its own, as with
 * dma_buf_attach()), and @ops and @priv stay valid.
 *
 * dma_buf_ic_attach_iommu() is the same for an importer that programs IOMMU
 * page tables itself and may accept dma_buf_ic_phys_list. Calling it is a
 * promise: the importer hands the physical ranges to no CPU mapping and no
 * device, only to IOMMU page tables of its own, and before its invalidate
 * callback returns (its invalidate_done callback, if it has one) it has
 * removed them from those tables with the IOTLB flushed. It always honours
 * invalidation.
 */
int dma_buf_ic_attach(struct dma_buf_ic_attachment *attach,
		      struct dma_buf *dmabuf, struct device *dev,
		      const struct dma_buf_ic_entry *accepts,
		      unsigned int nr_accepts, bool honours_invalidation,
		      const struct dma_buf_ic_importer_ops *ops, void *priv);
int dma_buf_ic_attach_iommu(struct dma_buf_ic_attachment *attach,
			    struct dma_buf *dmabuf, struct device *dev,
			    const struct dma_buf_ic_entry *accepts,
			    unsigned int nr_accepts,
			    const struct dma_buf_ic_importer_ops *ops,
			    void *priv);
void dma_buf_ic_detach(struct dma_buf_ic_attachment *attach);

/*
 * dma_buf_ic_negotiate() tells which interconnect dma_buf_ic_attach() would
 * negotiate with the same arguments, without attaching (and
 * dma_buf_ic_negotiate_iommu() the same for dma_buf_ic_attach_iommu()):
 * the type, or an ERR_PTR with the errno that the attach would return. For
 * discovery: what is true now may change before an attach.
 */
const struct dma_buf_ic_type *
dma_buf_ic_negotiate(struct dma_buf *dmabuf, struct device *dev,
		     const struct dma_buf_ic_entry *accepts,
		     unsigned int nr_accepts, bool honours_invalidation);
const struct dma_buf_ic_type *
dma_buf_ic_negotiate_iommu(struct dma_buf *dmabuf, struct device *dev,
			   const struct dma_buf_ic_entry *accepts,
			   unsigned int nr_accepts);
const struct dma_buf_ic_type *
dma_buf_ic_negotiated(const struct dma_buf_ic_attachment *attach);

/*
 * With the buffer's reservation lock held: map through the negotiated
 * interconnect (EINVAL through another one, EBUSY if mapped, ENODEV while
 * revoked). What they return stays valid until the mapping ends: at
 * dma_buf_ic_unmap() (ENOENT if not mapped), after the importer's
 * invalidate callback, or at detach.
 */
int dma_buf_ic_map_phys(struct dma_buf_ic_attachment *attach,
			const struct phys_vec **ranges,
			unsigned int *nr_ranges);
struct sg_table *dma_buf_ic_map_sgt(struct dma_buf_ic_attachment *attach);
int dma_buf_ic_map_private(struct dma_buf_ic_attachment *attach, u64 *cookie);
int dma_buf_ic_unmap(struct dma_buf_ic_attachment *attach);

#if IS_ENABLED(CONFIG_DMABUF_INTERCONNECT)
/*
 * DMA_BUF_IOCTL_IC_INFO and DMA_BUF_IOCTL_IC_NOTIFY
 * (include/uapi/linux/dma-buf.h), for dma-buf.c.
 */
long dma_buf_ic_info_ioctl(struct dma_buf *dmabuf, void __user *arg);
long dma_buf_ic_notify_ioctl(struct dma_buf *dmabuf, void __user *arg);
#else
static inline long dma_buf_ic_info_ioctl(struct dma_buf *dmabuf,
					 void __user *arg)
{
	return -ENOTTY;
}

static inline long dma_buf_ic_notify_ioctl(struct dma_buf *dmabuf,
					   void __user *arg)
{
	return -ENOTTY;
}
#endif

#endif /* __LINUX_DMA_BUF_INTERCONNECT_H */
