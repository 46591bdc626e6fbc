// SPDX-License-Identifier: GPL-2.0

#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/io.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/pci-p2pdma.h>

__rust_helper void rust_helper_get_dma_buf(struct dma_buf *dmabuf)
{
	get_dma_buf(dmabuf);
}

__rust_helper void rust_helper_dma_resv_assert_held(struct dma_resv *obj)
{
	dma_resv_assert_held(obj);
}

__rust_helper size_t rust_helper_list_count_nodes(struct list_head *head)
{
	return list_count_nodes(head);
}

__rust_helper phys_addr_t rust_helper_page_to_phys(struct page *page)
{
	return page_to_phys(page);
}

__rust_helper void rust_helper_iommu_flush_iotlb_all(struct iommu_domain *domain)
{
	iommu_flush_iotlb_all(domain);
}

__rust_helper int rust_helper_pci_p2pdma_distance(struct pci_dev *provider,
						  struct device *client,
						  bool verbose)
{
	return pci_p2pdma_distance(provider, client, verbose);
}
