// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO_DEVICE_FEATURE_DMA_BUF: ranges of a memory BAR exported as a dma-buf
 * through the dma-buf interconnect framework
 * (include/linux/dma-buf-interconnect.h). Importers that program an IOMMU
 * themselves (iommufd) get the physical ranges; that is the first offer.
 * The second is a DMA-mapped scatter-gather table of the BAR's
 * peer-to-peer pages, for importers that use the DMA API: offered when
 * the BAR could be given p2pdma pages (pci_p2pdma_add_resource(), which
 * needs a BAR aligned to the memory hotplug granule, 2 MiB on x86-64),
 * and mapped only for devices that can reach the BAR (EREMOTEIO if not).
 * The pages join the BAR's p2pdma pool, unpublished: no other in-kernel
 * user finds them; root could allocate from them through sysfs, as root
 * can map the BAR itself.
 *
 * Every buffer is revocable and follows the BAR: it is revoked whenever the
 * BAR's MMIO stops being usable, at the same places where VFIO zaps the
 * BAR's user mappings (memory disable, FLR, D3, resets, low power), under
 * memory_lock held for write, and usable again when such an operation, or
 * a later PCI_COMMAND write, leaves memory enabled. The
 * revoke returns after every importer has stopped; nothing is remapped by
 * itself. Closing the device revokes its buffers for good; they may outlive
 * it and then only report that they are revoked.
 *
 * Lock order: memory_lock -> the buffer's dma_resv -> importer locks.
 */
#include <linux/dma-buf.h>
#include <linux/dma-buf-interconnect.h>
#include <linux/dma-mapping.h>
#include <linux/fcntl.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vfio_pci_core.h>

#include "vfio_pci_priv.h"

/* More ranges than a VMM needs to describe a BAR with holes. */
#define VFIO_PCI_DMA_BUF_MAX_RANGES 256

/* One exported buffer, as the device sees it; under memory_lock. */
struct vfio_pci_dma_buf {
	struct list_head node;
	struct dma_buf_ic_export *export;
};

/*
 * The exporter's data, owned by the framework's export state, which may
 * outlive the device's open file (but then maps nothing: it is revoked for
 * good when the device is closed, before vfio-pci can let go of the BAR's
 * p2pdma pages).
 */
struct vfio_pci_dma_buf_priv {
	struct pci_dev *pdev;
	struct dma_buf_ic_phys_range *ranges;
	unsigned int nr_ranges;
};

static void vfio_pci_dma_buf_release(void *data)
{
	struct vfio_pci_dma_buf_priv *priv = data;

	pci_dev_put(priv->pdev);
	kfree(priv->ranges);
	kfree(priv);
}

/* A scatterlist entry's length is an unsigned int. */
#define VFIO_PCI_DMA_BUF_SG_MAX SZ_1G

/*
 * Maps the ranges' p2pdma pages for @dev. Called by the framework with the
 * reservation lock held, only while the buffer is not revoked, so only
 * while the device is open and its BAR usable.
 */
static struct sg_table *vfio_pci_dma_buf_map_sgt(void *data,
						 struct device *dev)
{
	struct vfio_pci_dma_buf_priv *priv = data;
	struct scatterlist *sg;
	struct sg_table *sgt;
	unsigned int i, nents = 0;
	int ret;

	if (pci_p2pdma_distance(priv->pdev, dev, true) < 0)
		return ERR_PTR(-EREMOTEIO);

	for (i = 0; i < priv->nr_ranges; i++)
		nents += DIV_ROUND_UP_ULL(priv->ranges[i].len,
					  VFIO_PCI_DMA_BUF_SG_MAX);
	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, nents, GFP_KERNEL);
	if (ret)
		goto err_free;

	sg = sgt->sgl;
	for (i = 0; i < priv->nr_ranges; i++) {
		u64 addr = priv->ranges[i].addr, left = priv->ranges[i].len;

		while (left) {
			u32 len = min_t(u64, left, VFIO_PCI_DMA_BUF_SG_MAX);

			sg_set_page(sg, pfn_to_page(PHYS_PFN(addr)), len, 0);
			sg = sg_next(sg);
			addr += len;
			left -= len;
		}
	}

	/* MMIO: there is nothing for the CPU to sync. */
	ret = dma_map_sgtable(dev, sgt, DMA_BIDIRECTIONAL,
			      DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		goto err_table;
	return sgt;

err_table:
	sg_free_table(sgt);
err_free:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void vfio_pci_dma_buf_unmap_sgt(void *data, struct device *dev,
				       struct sg_table *sgt)
{
	dma_unmap_sgtable(dev, sgt, DMA_BIDIRECTIONAL, DMA_ATTR_SKIP_CPU_SYNC);
	sg_free_table(sgt);
	kfree(sgt);
}

static const struct dma_buf_ic_exporter_ops vfio_pci_dma_buf_ops = {
	.map_sgt = vfio_pci_dma_buf_map_sgt,
	.unmap_sgt = vfio_pci_dma_buf_unmap_sgt,
	.release = vfio_pci_dma_buf_release,
};

/*
 * Whether p2pdma can give BAR @bar struct pages: with CONFIG_PCI_P2PDMA, for
 * a BAR that memory hotplug can map, aligned to its granule (a subsection).
 * Smaller BARs are not even tried: memremap_pages() would WARN under KASAN.
 */
static bool vfio_pci_dma_buf_p2p_capable(struct pci_dev *pdev, unsigned int bar)
{
#ifdef CONFIG_PCI_P2PDMA
	return IS_ALIGNED(pci_resource_start(pdev, bar), SUBSECTION_SIZE) &&
	       IS_ALIGNED(pci_resource_len(pdev, bar), SUBSECTION_SIZE);
#else
	return false;
#endif
}

/*
 * Whether BAR @bar has p2pdma pages, adding them on the first export of the
 * BAR. They stay until vfio-pci unbinds (they are device-managed); a BAR
 * that cannot have them is not tried again. Called with memory_lock held
 * for write, which orders concurrent exports.
 */
static bool vfio_pci_dma_buf_p2p_pages(struct vfio_pci_core_device *vdev,
				       unsigned int bar)
{
	int ret = -EOPNOTSUPP;

	lockdep_assert_held_write(&vdev->memory_lock);

	if (vdev->dma_buf_p2p_bars & BIT(bar))
		return true;
	if (vdev->dma_buf_p2p_failed & BIT(bar))
		return false;
	if (vfio_pci_dma_buf_p2p_capable(vdev->pdev, bar))
		ret = pci_p2pdma_add_resource(vdev->pdev, bar, 0, 0);
	if (ret) {
		pci_dbg(vdev->pdev,
			"BAR %u: no peer-to-peer pages (%d), dma-bufs of it offer physical ranges only\n",
			bar, ret);
		vdev->dma_buf_p2p_failed |= BIT(bar);
		return false;
	}
	vdev->dma_buf_p2p_bars |= BIT(bar);
	return true;
}

/**
 * vfio_pci_dma_buf_revoke() - Revoke or restore every buffer of a device
 * @vdev: the device, with memory_lock held for write
 * @revoked: revoke (the BARs' MMIO is going away) or allow mapping again
 */
void vfio_pci_dma_buf_revoke(struct vfio_pci_core_device *vdev, bool revoked)
{
	struct vfio_pci_dma_buf *buf;

	lockdep_assert_held_write(&vdev->memory_lock);

	list_for_each_entry(buf, &vdev->dmabufs, node) {
		if (revoked)
			dma_buf_ic_export_revoke(buf->export);
		else
			WARN_ON(dma_buf_ic_export_unrevoke(buf->export));
	}
}

/**
 * vfio_pci_dma_buf_restore() - Allow mapping again if the BARs are usable
 * @vdev: the device, with memory_lock held for write, after an operation
 *	that may have left memory enabled (a config write, a reset, a power
 *	state change). Nothing is mapped again: importers map when asked to.
 */
void vfio_pci_dma_buf_restore(struct vfio_pci_core_device *vdev)
{
	if (__vfio_pci_memory_enabled(vdev) && !vdev->pm_runtime_engaged)
		vfio_pci_dma_buf_revoke(vdev, false);
}

/**
 * vfio_pci_dma_buf_cleanup() - Revoke every buffer of a device for good
 * @vdev: the device, being closed
 */
void vfio_pci_dma_buf_cleanup(struct vfio_pci_core_device *vdev)
{
	struct vfio_pci_dma_buf *buf, *tmp;

	down_write(&vdev->memory_lock);
	list_for_each_entry_safe(buf, tmp, &vdev->dmabufs, node) {
		dma_buf_ic_export_revoke_permanently(buf->export);
		dma_buf_ic_export_put(buf->export);
		list_del(&buf->node);
		kfree(buf);
	}
	up_write(&vdev->memory_lock);
}

/* Forgets the buffers that userspace and every importer let go of. */
static void vfio_pci_dma_buf_prune(struct vfio_pci_core_device *vdev)
{
	struct vfio_pci_dma_buf *buf, *tmp;

	lockdep_assert_held_write(&vdev->memory_lock);

	list_for_each_entry_safe(buf, tmp, &vdev->dmabufs, node) {
		if (dma_buf_ic_export_has_buffer(buf->export))
			continue;
		dma_buf_ic_export_put(buf->export);
		list_del(&buf->node);
		kfree(buf);
	}
}

/* Checks the user's ranges of BAR @bar and turns them into physical ones. */
static int vfio_pci_dma_buf_ranges(struct vfio_pci_core_device *vdev, u32 bar,
				   const struct vfio_region_dma_range *in,
				   u32 nr, struct dma_buf_ic_phys_range *out,
				   size_t *size)
{
	resource_size_t bar_len = pci_resource_len(vdev->pdev, bar);
	resource_size_t bar_start = pci_resource_start(vdev->pdev, bar);
	u64 end, total = 0;
	u32 i;

	for (i = 0; i < nr; i++) {
		if (!in[i].length || !PAGE_ALIGNED(in[i].offset) ||
		    !PAGE_ALIGNED(in[i].length))
			return -EINVAL;
		if (check_add_overflow(in[i].offset, in[i].length, &end) ||
		    check_add_overflow(total, in[i].length, &total))
			return -EOVERFLOW;
		if (end > bar_len)
			return -EINVAL;
		out[i].addr = bar_start + in[i].offset;
		out[i].len = in[i].length;
	}
	*size = total;
	return 0;
}

int vfio_pci_core_feature_dma_buf(struct vfio_pci_core_device *vdev, u32 flags,
				  struct vfio_device_feature_dma_buf __user *arg,
				  size_t argsz)
{
	struct dma_buf_ic_entry offers[] = {
		{ dma_buf_ic_phys_list, 0 },
		{ dma_buf_ic_sgt, DMA_BUF_IC_SGT_P2P },
	};
	struct vfio_device_feature_dma_buf get;
	struct vfio_region_dma_range *user_ranges;
	struct dma_buf_ic_export_info info = {};
	struct vfio_pci_dma_buf_priv *priv;
	struct vfio_pci_dma_buf *buf;
	struct dma_buf *dmabuf;
	size_t size;
	int ret;

	ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_GET,
				 sizeof(get));
	if (ret != 1)
		return ret;
	if (copy_from_user(&get, arg, sizeof(get)))
		return -EFAULT;
	if (get.flags || !get.nr_ranges ||
	    get.open_flags & ~(O_CLOEXEC | O_ACCMODE))
		return -EINVAL;
	if (get.nr_ranges > VFIO_PCI_DMA_BUF_MAX_RANGES)
		return -E2BIG;
	/* Memory BARs only: not I/O, ROM, config, VGA or device regions. */
	if (get.region_index > VFIO_PCI_BAR5_REGION_INDEX ||
	    !(pci_resource_flags(vdev->pdev, get.region_index) &
	      IORESOURCE_MEM))
		return -EINVAL;
	if (argsz < sizeof(get) + get.nr_ranges * sizeof(*user_ranges))
		return -EINVAL;

	user_ranges = memdup_array_user(&arg->dma_ranges, get.nr_ranges,
					sizeof(*user_ranges));
	if (IS_ERR(user_ranges))
		return PTR_ERR(user_ranges);

	ret = -ENOMEM;
	buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	priv = kzalloc(sizeof(*priv), GFP_KERNEL_ACCOUNT);
	if (priv)
		priv->ranges = kcalloc(get.nr_ranges, sizeof(*priv->ranges),
				       GFP_KERNEL_ACCOUNT);
	if (!buf || !priv || !priv->ranges)
		goto err_free;
	ret = vfio_pci_dma_buf_ranges(vdev, get.region_index, user_ranges,
				      get.nr_ranges, priv->ranges, &size);
	if (ret)
		goto err_free;
	priv->pdev = pci_dev_get(vdev->pdev);
	priv->nr_ranges = get.nr_ranges;

	info.name = "vfio-pci";
	info.size = size;
	info.offers = offers;
	info.revocable = true;
	info.ranges = priv->ranges;
	info.nr_ranges = get.nr_ranges;
	info.ops = &vfio_pci_dma_buf_ops;
	info.priv = priv;

	/* Created, listed and set revoked or not atomically with revokes. */
	down_write(&vdev->memory_lock);
	vfio_pci_dma_buf_prune(vdev);
	info.nr_offers = vfio_pci_dma_buf_p2p_pages(vdev, get.region_index) ?
			 ARRAY_SIZE(offers) : 1;
	/* priv belongs to the export from here on, also on failure. */
	buf->export = dma_buf_ic_export(&info, &dmabuf);
	priv = NULL;
	if (IS_ERR(buf->export)) {
		up_write(&vdev->memory_lock);
		ret = PTR_ERR(buf->export);
		goto err_free;
	}
	list_add_tail(&buf->node, &vdev->dmabufs);
	if (vdev->pm_runtime_engaged || !__vfio_pci_memory_enabled(vdev))
		dma_buf_ic_export_revoke(buf->export);
	up_write(&vdev->memory_lock);
	kfree(user_ranges);

	ret = dma_buf_fd(dmabuf, get.open_flags);
	if (ret < 0)
		dma_buf_put(dmabuf);
	return ret;

err_free:
	if (priv) {
		pci_dev_put(priv->pdev);
		kfree(priv->ranges);
	}
	kfree(priv);
	kfree(buf);
	kfree(user_ranges);
	return ret;
}
