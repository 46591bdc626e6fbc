// SPDX-License-Identifier: GPL-2.0

#include <linux/dma-buf.h>

void rust_helper_get_dma_buf(struct dma_buf *dmabuf)
{
	get_dma_buf(dmabuf);
}
