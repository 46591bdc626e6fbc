// SPDX-License-Identifier: GPL-2.0
/*
 * Test exporter and importer of the dma-buf interconnect framework: the
 * misc device /dev/dmabuf_ic_test and its ioctl plumbing. Everything the
 * commands do is in the Rust half, dmabuf_ic_test.rs; this file copies the
 * arguments in and out. The interface is in dmabuf-ic-test.h.
 */
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/uaccess.h>

#include "dmabuf-ic-test-rs.h"

static struct miscdevice ic_test_misc;

static int ic_test_open(struct inode *inode, struct file *file)
{
	void *ctx = dmabuf_ic_test_rs_open(ic_test_misc.this_device);

	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	file->private_data = ctx;
	return 0;
}

static int ic_test_release(struct inode *inode, struct file *file)
{
	dmabuf_ic_test_rs_release(file->private_data);
	return 0;
}

/* Attaches for the test device, or for a PCI device the test names. */
static int ic_test_attach(void *ctx, struct dmabuf_ic_test_attach *args)
{
	struct pci_dev *pdev;
	int ret;

	if (!(args->flags & DMABUF_IC_TEST_ATTACH_PCI_DEV))
		return dmabuf_ic_test_rs_attach(ctx, args, NULL);
	pdev = pci_get_domain_bus_and_slot(args->pci_dev >> 16,
					   (args->pci_dev >> 8) & 0xff,
					   args->pci_dev & 0xff);
	if (!pdev)
		return -ENODEV;
	/* The attachment holds its own reference to the device. */
	ret = dmabuf_ic_test_rs_attach(ctx, args, &pdev->dev);
	pci_dev_put(pdev);
	return ret;
}

union ic_test_args {
	struct dmabuf_ic_test_export export;
	struct dmabuf_ic_test_revoke revoke;
	struct dmabuf_ic_test_attach attach;
	struct dmabuf_ic_test_map map;
	struct dmabuf_ic_test_status status;
	struct dmabuf_ic_test_buf_status buf_status;
	u32 id;
};

static long ic_test_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	void *ctx = file->private_data;
	union ic_test_args args;
	int ret;

	switch (cmd) {
	case DMABUF_IC_TEST_EXPORT:
	case DMABUF_IC_TEST_REVOKE:
	case DMABUF_IC_TEST_ATTACH:
	case DMABUF_IC_TEST_DETACH:
	case DMABUF_IC_TEST_MAP:
	case DMABUF_IC_TEST_UNMAP:
	case DMABUF_IC_TEST_STATUS:
	case DMABUF_IC_TEST_BUF_STATUS:
		break;
	default:
		return -ENOTTY;
	}
	if (copy_from_user(&args, uarg, _IOC_SIZE(cmd)))
		return -EFAULT;

	switch (cmd) {
	case DMABUF_IC_TEST_EXPORT:
		/* The new fd is the return value: nothing to copy out. */
		return dmabuf_ic_test_rs_export(ctx, &args.export);
	case DMABUF_IC_TEST_REVOKE:
		return dmabuf_ic_test_rs_revoke(ctx, &args.revoke);
	case DMABUF_IC_TEST_ATTACH:
		ret = ic_test_attach(ctx, &args.attach);
		break;
	case DMABUF_IC_TEST_DETACH:
		return dmabuf_ic_test_rs_detach(ctx, args.id);
	case DMABUF_IC_TEST_MAP:
		ret = dmabuf_ic_test_rs_map(ctx, &args.map);
		break;
	case DMABUF_IC_TEST_UNMAP:
		return dmabuf_ic_test_rs_unmap(ctx, args.id);
	case DMABUF_IC_TEST_STATUS:
		ret = dmabuf_ic_test_rs_status(ctx, &args.status);
		break;
	default: /* DMABUF_IC_TEST_BUF_STATUS */
		ret = dmabuf_ic_test_rs_buf_status(ctx, &args.buf_status);
		break;
	}
	/*
	 * An attachment or a mapping made for an unwritable argument stays
	 * in the context, where DETACH, UNMAP or close find it.
	 */
	if (ret)
		return ret;
	if (copy_to_user(uarg, &args, _IOC_SIZE(cmd)))
		return -EFAULT;
	return 0;
}

static const struct file_operations ic_test_fops = {
	.owner = THIS_MODULE,
	.open = ic_test_open,
	.release = ic_test_release,
	.unlocked_ioctl = ic_test_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice ic_test_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "dmabuf_ic_test",
	.fops = &ic_test_fops,
};

static int __init ic_test_init(void)
{
	int ret = misc_register(&ic_test_misc);

	if (ret)
		return ret;
	/* Importers of this module map scatter-gather tables for the device. */
	ret = dma_coerce_mask_and_coherent(ic_test_misc.this_device,
					   DMA_BIT_MASK(64));
	if (ret)
		misc_deregister(&ic_test_misc);
	return ret;
}

static void __exit ic_test_exit(void)
{
	misc_deregister(&ic_test_misc);
}

module_init(ic_test_init);
module_exit(ic_test_exit);
MODULE_DESCRIPTION("dma-buf interconnect test exporter and importer");
MODULE_LICENSE("GPL");
