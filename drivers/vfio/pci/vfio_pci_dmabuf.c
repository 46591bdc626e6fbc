// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO_DEVICE_FEATURE_DMA_BUF: ranges of a memory BAR exported as a dma-buf
 * through the dma-buf interconnect framework
 * (include/linux/dma-buf-interconnect.h). Importers that program an IOMMU
 * themselves (iommufd) get the physical ranges.
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
#include <linux/fcntl.h>
#include <linux/pci.h>
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

/* The exporter's data, owned by the framework's export state. */
struct vfio_pci_dma_buf_priv {
	struct dma_buf_ic_phys_range *ranges;
};

static void vfio_pci_dma_buf_release(void *data)
{
	struct vfio_pci_dma_buf_priv *priv = data;

	kfree(priv->ranges);
	kfree(priv);
}

static const struct dma_buf_ic_exporter_ops vfio_pci_dma_buf_ops = {
	.release = vfio_pci_dma_buf_release,
};

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
	struct dma_buf_ic_entry offer = { dma_buf_ic_phys_list, 0 };
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

	info.name = "vfio-pci";
	info.size = size;
	info.offers = &offer;
	info.nr_offers = 1;
	info.revocable = true;
	info.ranges = priv->ranges;
	info.nr_ranges = get.nr_ranges;
	info.ops = &vfio_pci_dma_buf_ops;
	info.priv = priv;

	/* Created, listed and set revoked or not atomically with revokes. */
	down_write(&vdev->memory_lock);
	vfio_pci_dma_buf_prune(vdev);
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
	if (priv)
		kfree(priv->ranges);
	kfree(priv);
	kfree(buf);
	kfree(user_ranges);
	return ret;
}
