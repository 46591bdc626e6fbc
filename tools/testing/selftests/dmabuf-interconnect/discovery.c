// SPDX-License-Identifier: GPL-2.0-only
/*
 * Discovery without trial and error: DMA_BUF_IOCTL_IC_INFO on a dma-buf
 * (what the exporter offers, in order; revocable and revoked; who is
 * attached with which interconnect, mapped or not) and iommufd's
 * IOMMU_DMABUF_GET_INFO (whether and how iommufd imports dma-bufs, and what
 * IOMMU_IOAS_MAP_FILE would negotiate for a given one), through the test
 * exporter and importer of CONFIG_DMABUF_INTERCONNECT_TEST; and
 * DMA_BUF_IOCTL_IC_NOTIFY, the eventfd signalled when access changes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/iommufd.h>
#include <linux/udmabuf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "../../../../drivers/dma-buf/dmabuf-ic-test.h"
#include "ic_info.h"

#define PAGE 4096UL
#define SGT DMABUF_IC_TEST_SGT
#define PHYS DMABUF_IC_TEST_PHYS_LIST
#define LINK DMABUF_IC_TEST_LINK
#define NEGOTIATES DMA_BUF_IC_INFO_NEGOTIATES
#define REVOCABLE DMA_BUF_IC_INFO_REVOCABLE
#define REVOKED DMA_BUF_IC_INFO_REVOKED
#define FOR_GOOD DMA_BUF_IC_INFO_REVOKED_FOR_GOOD

static int ic(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static int export(int dev, __u32 flags, const __u32 *offers, __u32 nr)
{
	struct dmabuf_ic_test_export e = {
		.flags = flags, .nr_offers = nr, .link_id = 7, .nr_pages = 2,
	};

	memcpy(e.offers, offers, nr * sizeof(*offers));
	return ic(dev, DMABUF_IC_TEST_EXPORT, &e);
}

static int attach(int dev, int fd, __u32 accept, __u32 flags)
{
	struct dmabuf_ic_test_attach a = {
		.fd = fd, .flags = flags, .nr_accepts = 1,
		.accepts = { accept }, .link_id = 7,
	};
	int ret = ic(dev, DMABUF_IC_TEST_ATTACH, &a);

	return ret ? ret : (int)a.id;
}

static int op(int dev, int fd, __u32 what)
{
	struct dmabuf_ic_test_revoke r = { .fd = fd, .op = what };

	return ic(dev, DMABUF_IC_TEST_REVOKE, &r);
}

static int iommufd_info(int iommufd, __u32 flags, int fd,
			struct iommu_dmabuf_info *info,
			struct iommu_dmabuf_interconnect *accepts, __u32 num)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->flags = flags;
	info->fd = fd;
	info->num_accepts = num;
	info->accepts_uptr = (uintptr_t)accepts;
	return ic(iommufd, IOMMU_DMABUF_GET_INFO, info);
}

FIXTURE(discovery)
{
	int dev, iommufd;
};

FIXTURE_SETUP(discovery)
{
	self->dev = open("/dev/dmabuf_ic_test", O_RDWR);
	self->iommufd = open("/dev/iommu", O_RDWR);
	if (self->dev < 0 || self->iommufd < 0)
		SKIP(return, "needs /dev/dmabuf_ic_test and /dev/iommu");
}

FIXTURE_TEARDOWN(discovery)
{
	if (self->dev >= 0)
		close(self->dev);
	if (self->iommufd >= 0)
		close(self->iommufd);
}

/* The offers, in the exporter's order, with what it states about each. */
TEST_F(discovery, offers_in_order)
{
	const __u32 offers[] = { LINK, SGT, PHYS };
	struct report r;
	int fd;

	fd = export(self->dev, DMABUF_IC_TEST_EXPORT_REVOCABLE |
		    DMABUF_IC_TEST_EXPORT_SGT_P2P, offers, 3);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(NEGOTIATES | REVOCABLE, r.info.out_flags);
	ASSERT_EQ(3, r.info.num_offers);
	ASSERT_STREQ("dmabuf-ic-test-link", r.offers[0].name);
	ASSERT_STREQ("sgt", r.offers[1].name);
	ASSERT_STREQ("phys-list", r.offers[2].name);
	ASSERT_EQ(0, r.offers[0].flags);
	ASSERT_EQ(DMA_BUF_IC_OFFER_P2P, r.offers[1].flags);
	ASSERT_EQ(0, r.offers[2].flags);
	ASSERT_EQ(0, r.info.num_attachments);
	close(fd);

	/* Not revocable, system memory: neither flag. */
	fd = export(self->dev, 0, &offers[1], 2);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(NEGOTIATES, r.info.out_flags);
	ASSERT_EQ(2, r.info.num_offers);
	ASSERT_STREQ("sgt", r.offers[0].name);
	ASSERT_EQ(0, r.offers[0].flags);
	close(fd);
}

/* Revoked, allowed again, revoked for good: each state as it is now. */
TEST_F(discovery, revoke_states)
{
	const __u32 phys = PHYS;
	struct report r;
	int fd;

	fd = export(self->dev, DMABUF_IC_TEST_EXPORT_REVOCABLE, &phys, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(NEGOTIATES | REVOCABLE | REVOKED, r.info.out_flags);
	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_UNREVOKE));
	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(NEGOTIATES | REVOCABLE, r.info.out_flags);
	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE_PERMANENTLY));
	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(NEGOTIATES | REVOCABLE | REVOKED | FOR_GOOD, r.info.out_flags);
	/* The offers are still reported: what the buffer was. */
	ASSERT_EQ(1, r.info.num_offers);
	close(fd);
}

/* Every importer, the interconnect it negotiated, and whether it mapped. */
TEST_F(discovery, attachments)
{
	const __u32 offers[] = { PHYS, SGT };
	struct dmabuf_ic_test_map m = {};
	struct report r;
	int fd, a, b;

	fd = export(self->dev, 0, offers, 2);
	ASSERT_LE(0, fd);
	a = attach(self->dev, fd, SGT, 0);
	b = attach(self->dev, fd, PHYS, DMABUF_IC_TEST_ATTACH_PHYS_READER);
	ASSERT_LT(0, a);
	ASSERT_LT(0, b);
	m.id = b;
	ASSERT_EQ(0, ic(self->dev, DMABUF_IC_TEST_MAP, &m));

	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(2, r.info.num_attachments);
	for (int i = 0; i < 2; i++) {
		ASSERT_STREQ("dmabuf_ic_test", r.attachments[i].importer);
		ASSERT_TRUE(r.attachments[i].flags & DMA_BUF_IC_ATTACHMENT_NEGOTIATED);
	}
	/* The dma-buf core lists the newest attachment first. */
	for (int i = 0; i < 2; i++) {
		bool phys = !strcmp(r.attachments[i].interconnect, "phys-list");

		ASSERT_TRUE(phys || !strcmp(r.attachments[i].interconnect, "sgt"));
		ASSERT_EQ(phys, !!(r.attachments[i].flags & DMA_BUF_IC_ATTACHMENT_MAPPED));
	}
	ASSERT_EQ(0, ic(self->dev, DMABUF_IC_TEST_DETACH, &b));
	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(1, r.info.num_attachments);
	ASSERT_STREQ("sgt", r.attachments[0].interconnect);
	ASSERT_EQ(DMA_BUF_IC_ATTACHMENT_NEGOTIATED, r.attachments[0].flags);
	close(fd);
}

/* Another exporter's buffer: only the implied classic offer. */
TEST_F(discovery, foreign_buffer)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = PAGE };
	struct report r;
	int udmabuf, memfd, fd, id;

	udmabuf = open("/dev/udmabuf", O_RDWR);
	if (udmabuf < 0)
		SKIP(return, "no /dev/udmabuf");
	memfd = memfd_create("discovery", MFD_ALLOW_SEALING);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, PAGE));
	ASSERT_EQ(0, fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK));
	c.memfd = memfd;
	fd = ic(udmabuf, UDMABUF_CREATE, &c);
	ASSERT_LE(0, fd);

	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(0, r.info.out_flags);
	ASSERT_EQ(1, r.info.num_offers);
	ASSERT_STREQ("sgt", r.offers[0].name);
	ASSERT_EQ(0, r.offers[0].flags);
	id = attach(self->dev, fd, SGT, 0);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(1, r.info.num_attachments);
	ASSERT_STREQ("sgt", r.attachments[0].interconnect);

	/* Not a dma-buf: the ioctl is not there. */
	ASSERT_EQ(-ENOTTY, ic(memfd, DMA_BUF_IOCTL_IC_INFO, &r.info));
	close(fd);
	close(memfd);
	close(udmabuf);
}

/* Sizes, EMSGSIZE and bad arguments, as iommufd's rules say. */
TEST_F(discovery, bad_input)
{
	const __u32 offers[] = { PHYS, SGT };
	struct {
		struct dma_buf_ic_info info;
		__u8 tail[16];
	} big;
	struct dma_buf_ic_offer one;
	struct report r;
	int fd;

	fd = export(self->dev, 0, offers, 2);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, attach(self->dev, fd, SGT, 0));

	/* Counting first: both numbers 0, no arrays. */
	memset(&r.info, 0, sizeof(r.info));
	r.info.size = sizeof(r.info);
	ASSERT_EQ(-EMSGSIZE, ic(fd, DMA_BUF_IOCTL_IC_INFO, &r.info));
	ASSERT_EQ(2, r.info.num_offers);
	ASSERT_EQ(1, r.info.num_attachments);
	ASSERT_EQ(NEGOTIATES, r.info.out_flags);
	/* Too small by one: what fits is filled. */
	memset(&one, 0xff, sizeof(one));
	r.info.num_offers = 1;
	r.info.offers_uptr = (uintptr_t)&one;
	r.info.num_attachments = 1;
	r.info.attachments_uptr = (uintptr_t)r.attachments;
	ASSERT_EQ(-EMSGSIZE, ic(fd, DMA_BUF_IOCTL_IC_INFO, &r.info));
	ASSERT_EQ(2, r.info.num_offers);
	ASSERT_STREQ("phys-list", one.name);

	ASSERT_EQ(0, query(fd, &r));
	r.info.flags = 1;
	ASSERT_EQ(-EINVAL, ic(fd, DMA_BUF_IOCTL_IC_INFO, &r.info));
	r.info.flags = 0;
	r.info.__reserved = 1;
	ASSERT_EQ(-EINVAL, ic(fd, DMA_BUF_IOCTL_IC_INFO, &r.info));
	r.info.__reserved = 0;
	r.info.size = offsetof(struct dma_buf_ic_info, attachments_uptr);
	ASSERT_EQ(-EINVAL, ic(fd, DMA_BUF_IOCTL_IC_INFO, &r.info));
	r.info.size = sizeof(r.info);
	r.info.offers_uptr = 8;
	ASSERT_EQ(-EFAULT, ic(fd, DMA_BUF_IOCTL_IC_INFO, &r.info));

	/* A newer, larger structure: fine while the unknown part is 0. */
	ASSERT_EQ(0, query(fd, &r));
	memset(&big, 0, sizeof(big));
	big.info = r.info;
	big.info.size = sizeof(big);
	ASSERT_EQ(0, ic(fd, DMA_BUF_IOCTL_IC_INFO, &big));
	big.tail[15] = 1;
	ASSERT_EQ(-E2BIG, ic(fd, DMA_BUF_IOCTL_IC_INFO, &big));
	big.info.size = 2 * PAGE;
	ASSERT_EQ(-E2BIG, ic(fd, DMA_BUF_IOCTL_IC_INFO, &big));
	close(fd);
}

/* iommufd: what it imports, and what MAP_FILE would negotiate. */
TEST_F(discovery, iommufd_info)
{
	const __u32 phys_then_sgt[] = { PHYS, SGT }, sgt = SGT, phys = PHYS;
	struct iommu_dmabuf_interconnect accepts[4];
	struct iommu_dmabuf_info info;
	int fd, memfd;

	ASSERT_EQ(0, iommufd_info(self->iommufd, 0, -1, &info, accepts, 4));
	ASSERT_EQ(IOMMU_DMABUF_CAP_MAP_FILE | IOMMU_DMABUF_CAP_REVOKE,
		  info.out_capabilities);
	ASSERT_EQ(1, info.num_accepts);
	ASSERT_STREQ("phys-list", accepts[0].name);
	ASSERT_STREQ("", info.out_interconnect);
	ASSERT_EQ(-EMSGSIZE, iommufd_info(self->iommufd, 0, -1, &info, NULL, 0));
	ASSERT_EQ(1, info.num_accepts);

	fd = export(self->dev, DMABUF_IC_TEST_EXPORT_REVOCABLE, phys_then_sgt, 2);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, iommufd_info(self->iommufd, IOMMU_DMABUF_INFO_FD, fd,
				  &info, accepts, 4));
	ASSERT_STREQ("phys-list", info.out_interconnect);
	/* Revoked for good: MAP_FILE would fail with ENODEV, and so does this. */
	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE_PERMANENTLY));
	ASSERT_EQ(-ENODEV, iommufd_info(self->iommufd, IOMMU_DMABUF_INFO_FD, fd,
					&info, accepts, 4));
	close(fd);

	fd = export(self->dev, 0, &sgt, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-EOPNOTSUPP, iommufd_info(self->iommufd, IOMMU_DMABUF_INFO_FD,
					    fd, &info, accepts, 4));
	close(fd);
	fd = export(self->dev, 0, &phys, 1);
	ASSERT_LE(0, fd);

	memfd = memfd_create("discovery", 0);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(-EINVAL, iommufd_info(self->iommufd, IOMMU_DMABUF_INFO_FD,
					memfd, &info, accepts, 4));
	ASSERT_EQ(-EBADF, iommufd_info(self->iommufd, IOMMU_DMABUF_INFO_FD, -1,
				       &info, accepts, 4));
	ASSERT_EQ(-EINVAL, iommufd_info(self->iommufd, 2, fd, &info, accepts, 4));
	iommufd_info(self->iommufd, 0, -1, &info, accepts, 4);
	info.__reserved = 1;
	ASSERT_EQ(-EINVAL, ic(self->iommufd, IOMMU_DMABUF_GET_INFO, &info));
	ASSERT_EQ(-EFAULT, iommufd_info(self->iommufd, 0, -1, &info,
					(void *)8, 4));
	close(memfd);
	close(fd);
}

/* After IOMMU_IOAS_MAP_FILE, the buffer names iommufd and phys-list. */
TEST_F(discovery, negotiated_by_map_file)
{
	const __u32 offers[] = { SGT, PHYS };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.length = 2 * PAGE,
	};
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	struct report r;
	int fd;

	fd = export(self->dev, DMABUF_IC_TEST_EXPORT_REVOCABLE, offers, 2);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	map.ioas_id = alloc.out_ioas_id;
	map.fd = fd;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_MAP_FILE, &map));

	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(1, r.info.num_attachments);
	ASSERT_STREQ("iommu", r.attachments[0].importer);
	/* The exporter prefers sgt; iommufd accepts only phys-list. */
	ASSERT_STREQ("phys-list", r.attachments[0].interconnect);
	ASSERT_EQ(DMA_BUF_IC_ATTACHMENT_NEGOTIATED | DMA_BUF_IC_ATTACHMENT_MAPPED,
		  r.attachments[0].flags);
	/* Revoke: still attached, no longer mapped. */
	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(DMA_BUF_IC_ATTACHMENT_NEGOTIATED, r.attachments[0].flags);

	unmap.ioas_id = alloc.out_ioas_id;
	unmap.iova = map.iova;
	unmap.length = map.length;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_UNMAP, &unmap));
	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(0, r.info.num_attachments);
	close(fd);
}

/* DMA_BUF_IOCTL_IC_NOTIFY: 0 or -errno. */
static int notify(int fd, int efd, __u32 flags)
{
	struct dma_buf_ic_notify n = {
		.size = sizeof(n), .flags = flags, .eventfd = efd,
	};

	return ic(fd, DMA_BUF_IOCTL_IC_NOTIFY, &n);
}

/*
 * Every change of the access state signals each registered eventfd once;
 * what does not change it (a second revoke) signals nothing. The state is
 * then read with DMA_BUF_IOCTL_IC_INFO.
 */
TEST_F(discovery, notify_changes)
{
	const __u32 offers[] = { PHYS, SGT };
	int fd, efd, efd2, id;
	struct report r;

	fd = export(self->dev, DMABUF_IC_TEST_EXPORT_REVOCABLE, offers, 2);
	ASSERT_LE(0, fd);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	efd2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, efd2);
	ASSERT_EQ(0, notify(fd, efd, 0));
	ASSERT_EQ(0, notify(fd, efd2, 0));
	id = attach(self->dev, fd, SGT, DMABUF_IC_TEST_ATTACH_INVALIDATE);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, events(efd));

	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(1, events(efd));
	ASSERT_EQ(1, events(efd2));
	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(NEGOTIATES | REVOCABLE | REVOKED, r.info.out_flags);
	/* Nothing changes: nothing is signalled. */
	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(0, events(efd));

	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_UNREVOKE));
	ASSERT_EQ(1, events(efd));
	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(NEGOTIATES | REVOCABLE, r.info.out_flags);

	/* Removed: only the other one hears of the next changes. */
	ASSERT_EQ(1, events(efd2));
	ASSERT_EQ(0, notify(fd, efd2, DMA_BUF_IC_NOTIFY_REMOVE));
	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_UNREVOKE));
	ASSERT_EQ(2, events(efd));
	ASSERT_EQ(0, events(efd2));

	/* For good, whether revoked before or not. */
	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE_PERMANENTLY));
	ASSERT_EQ(1, events(efd));
	ASSERT_EQ(0, query(fd, &r));
	ASSERT_EQ(NEGOTIATES | REVOCABLE | REVOKED | FOR_GOOD, r.info.out_flags);
	ASSERT_EQ(-ENODEV, op(self->dev, fd, DMABUF_IC_TEST_OP_UNREVOKE));
	ASSERT_EQ(0, events(efd));
	close(fd);

	fd = export(self->dev, DMABUF_IC_TEST_EXPORT_REVOCABLE, offers, 2);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, notify(fd, efd, 0));
	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(1, events(efd));
	ASSERT_EQ(0, op(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE_PERMANENTLY));
	ASSERT_EQ(1, events(efd));

	ASSERT_EQ(0, ic(self->dev, DMABUF_IC_TEST_DETACH, &id));
	close(fd);
	close(efd);
	close(efd2);
}

/* Bad arguments, each with its errno; nothing registered by them. */
TEST_F(discovery, notify_bad_input)
{
	const __u32 offers[] = { PHYS, SGT };
	struct dma_buf_ic_notify n;
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = PAGE };
	struct {
		struct dma_buf_ic_notify n;
		__u32 more;
	} big = {};
	int fd, efd, memfd, udmabuf, foreign, efds[DMA_BUF_IC_NOTIFY_MAX + 1];

	fd = export(self->dev, DMABUF_IC_TEST_EXPORT_REVOCABLE, offers, 2);
	ASSERT_LE(0, fd);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	memfd = memfd_create("notify", MFD_ALLOW_SEALING);
	ASSERT_LE(0, memfd);

	ASSERT_EQ(-EINVAL, notify(fd, efd, 2));
	ASSERT_EQ(-EBADF, notify(fd, -1, 0));
	ASSERT_EQ(-EINVAL, notify(fd, memfd, 0));
	ASSERT_EQ(-ENOENT, notify(fd, efd, DMA_BUF_IC_NOTIFY_REMOVE));
	n = (struct dma_buf_ic_notify){ .size = sizeof(n) - 1, .eventfd = efd };
	ASSERT_EQ(-EINVAL, ic(fd, DMA_BUF_IOCTL_IC_NOTIFY, &n));
	n = (struct dma_buf_ic_notify){ .size = sizeof(n), .eventfd = efd, .__reserved = 1 };
	ASSERT_EQ(-EINVAL, ic(fd, DMA_BUF_IOCTL_IC_NOTIFY, &n));
	ASSERT_EQ(-EFAULT, ic(fd, DMA_BUF_IOCTL_IC_NOTIFY, (void *)8));
	big.n = (struct dma_buf_ic_notify){ .size = sizeof(big), .eventfd = efd };
	big.more = 1;
	ASSERT_EQ(-E2BIG, ic(fd, DMA_BUF_IOCTL_IC_NOTIFY, &big));
	big.more = 0;
	/* A larger size with zeros beyond: a newer userspace, accepted. */
	ASSERT_EQ(0, ic(fd, DMA_BUF_IOCTL_IC_NOTIFY, &big));
	ASSERT_EQ(-EEXIST, notify(fd, efd, 0));
	ASSERT_EQ(0, notify(fd, efd, DMA_BUF_IC_NOTIFY_REMOVE));

	/* At most DMA_BUF_IC_NOTIFY_MAX per buffer. */
	for (int i = 0; i <= DMA_BUF_IC_NOTIFY_MAX; i++) {
		efds[i] = eventfd(0, EFD_CLOEXEC);
		ASSERT_LE(0, efds[i]);
		ASSERT_EQ(i < DMA_BUF_IC_NOTIFY_MAX ? 0 : -ENOSPC, notify(fd, efds[i], 0));
	}
	for (int i = 0; i <= DMA_BUF_IC_NOTIFY_MAX; i++)
		close(efds[i]);

	/* Another exporter's buffer reports no revokes; not a dma-buf: ENOTTY. */
	udmabuf = open("/dev/udmabuf", O_RDWR);
	ASSERT_LE(0, udmabuf);
	ASSERT_EQ(0, ftruncate(memfd, PAGE));
	ASSERT_EQ(0, fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK));
	c.memfd = memfd;
	foreign = ic(udmabuf, UDMABUF_CREATE, &c);
	ASSERT_LE(0, foreign);
	ASSERT_EQ(-EOPNOTSUPP, notify(foreign, efd, 0));
	ASSERT_EQ(-ENOTTY, notify(memfd, efd, 0));

	/* The buffer goes with its registrations (kmemleak would say). */
	close(fd);
	close(foreign);
	close(udmabuf);
	close(memfd);
	close(efd);
}

TEST_HARNESS_MAIN
