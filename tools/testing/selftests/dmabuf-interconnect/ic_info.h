/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DMA_BUF_IOCTL_IC_INFO and the eventfd of DMA_BUF_IOCTL_IC_NOTIFY, as
 * several kselftests read them.
 */
#ifndef __DMABUF_IC_INFO_H
#define __DMABUF_IC_INFO_H

#include <errno.h>
#include <linux/dma-buf.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

/* What DMA_BUF_IOCTL_IC_INFO says of a buffer, with room for 8 of each. */
struct report {
	struct dma_buf_ic_info info;
	struct dma_buf_ic_offer offers[8];
	struct dma_buf_ic_info_attachment attachments[8];
};

/* Fills @r for the dma-buf @fd: 0 or -errno. */
static inline int query(int fd, struct report *r)
{
	memset(r, 0, sizeof(*r));
	r->info.size = sizeof(r->info);
	r->info.num_offers = 8;
	r->info.offers_uptr = (uintptr_t)r->offers;
	r->info.num_attachments = 8;
	r->info.attachments_uptr = (uintptr_t)r->attachments;
	return ioctl(fd, DMA_BUF_IOCTL_IC_INFO, &r->info) < 0 ? -errno : 0;
}

/* The eventfd's counter, reset to 0 by reading it; 0 if nothing came. */
static inline __u64 events(int efd)
{
	eventfd_t n = 0;

	return eventfd_read(efd, &n) ? 0 : n;
}

#endif /* __DMABUF_IC_INFO_H */
