// SPDX-License-Identifier: GPL-2.0-only
/*
 * Classic importers of the framework's buffers: the test module's importer
 * with DMABUF_IC_TEST_ATTACH_CLASSIC knows nothing of interconnects and uses
 * mainline's dma-buf API only (dma_buf_dynamic_attach() with
 * allow_peer2peer and invalidate_mappings, dma_buf_map_attachment() under
 * the reservation lock). The framework's exporter must serve it from its
 * scatter-gather offer, refuse it where mainline's rules say so, and
 * revoke it synchronously. No VFIO needed: the test module exports.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "ic_test_dev.h"

#define DEV_PATH "/dev/dmabuf_ic_test"
#define SGT DMABUF_IC_TEST_SGT
#define PHYS DMABUF_IC_TEST_PHYS_LIST
#define LINK DMABUF_IC_TEST_LINK
#define REVOCABLE DMABUF_IC_TEST_EXPORT_REVOCABLE
#define EXP_P2P DMABUF_IC_TEST_EXPORT_SGT_P2P
#define CLASSIC DMABUF_IC_TEST_ATTACH_CLASSIC
#define INVALIDATE DMABUF_IC_TEST_ATTACH_INVALIDATE
#define IMP_P2P DMABUF_IC_TEST_ATTACH_SGT_P2P
#define NR_PAGES 4
#define BUF_SIZE (NR_PAGES * 4096UL)

/* Returns the ioctl's result, or -errno. */
static int do_export(int dev, __u32 flags, const __u32 *offers, __u32 nr)
{
	struct dmabuf_ic_test_export e = {
		.flags = flags, .nr_offers = nr, .link_id = 1, .nr_pages = NR_PAGES,
	};

	memcpy(e.offers, offers, nr * sizeof(*offers));
	return ic(dev, DMABUF_IC_TEST_EXPORT, &e);
}

/* A classic importer (flags besides CLASSIC): its id, or -errno. */
static int classic_attach(int dev, int fd, __u32 flags)
{
	struct dmabuf_ic_test_attach a = {
		.fd = fd, .flags = CLASSIC | flags, .nr_accepts = 1,
		.accepts = { SGT },
	};
	int ret = ic(dev, DMABUF_IC_TEST_ATTACH, &a);

	if (ret)
		return ret;
	/* The classic path is the scatter-gather table, always. */
	if (a.negotiated != SGT)
		return -EPROTO;
	return a.id;
}

/* A framework importer that accepts @accept: its id, or -errno. */
static int framework_attach(int dev, int fd, __u32 flags, __u32 accept)
{
	struct dmabuf_ic_test_attach a = {
		.fd = fd, .flags = flags, .nr_accepts = 1, .accepts = { accept },
	};
	int ret = ic(dev, DMABUF_IC_TEST_ATTACH, &a);

	return ret ? ret : (int)a.id;
}

FIXTURE(classic)
{
	int dev;
};

FIXTURE_SETUP(classic)
{
	self->dev = open(DEV_PATH, O_RDWR);
	if (self->dev < 0)
		SKIP(return, "%s: %s (CONFIG_DMABUF_INTERCONNECT_TEST)",
		     DEV_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(classic)
{
	if (self->dev >= 0)
		close(self->dev);
}

/*
 * Offers with the table serve a classic importer wherever the table is in
 * the list: it is attached and mapped for its device through the table.
 */
TEST_F(classic, maps_through_the_table_offer)
{
	static const __u32 lists[][3] = {
		{ SGT }, { PHYS, SGT }, { LINK, PHYS, SGT }, { SGT, PHYS },
	};
	static const __u32 lengths[] = { 1, 2, 3, 2 };

	for (int i = 0; i < 4; i++) {
		struct dmabuf_ic_test_map m;
		int fd, id;

		fd = do_export(self->dev, REVOCABLE, lists[i], lengths[i]);
		ASSERT_LE(0, fd);
		id = classic_attach(self->dev, fd, INVALIDATE);
		ASSERT_LT(0, id) TH_LOG("offer list %d: %s", i, strerror(-id));
		ASSERT_EQ(1, buf_status(self->dev, fd).attachments);
		ASSERT_EQ(SGT, status(self->dev, id).negotiated);
		ASSERT_EQ(0, status(self->dev, id).mapped);

		ASSERT_EQ(0, do_map(self->dev, id, &m));
		ASSERT_EQ(BUF_SIZE, m.length);
		ASSERT_LE(1, m.nr_segments);
		ASSERT_GE(NR_PAGES, m.nr_segments);
		ASSERT_EQ(1, status(self->dev, id).mapped);
		/* The exporter counts classic mappings with the others. */
		ASSERT_EQ(1, buf_status(self->dev, fd).mappings);
		ASSERT_EQ(-EBUSY, do_map(self->dev, id, &m));

		ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_UNMAP, id));
		ASSERT_EQ(-ENOENT, do_id(self->dev, DMABUF_IC_TEST_UNMAP, id));
		ASSERT_EQ(0, status(self->dev, id).mapped);
		ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
		ASSERT_EQ(0, status(self->dev, id).invalidations);

		/* Detaching a mapped classic importer unmaps it first. */
		ASSERT_EQ(0, do_map(self->dev, id, &m));
		ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
		ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
		ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
		close(fd);
	}
}

/* A pinned classic importer keeps working where nothing can be revoked. */
TEST_F(classic, pinned_importer_on_a_fixed_buffer)
{
	const __u32 sgt = SGT;
	struct dmabuf_ic_test_map m;
	int fd, id;

	fd = do_export(self->dev, 0, &sgt, 1);
	ASSERT_LE(0, fd);
	id = classic_attach(self->dev, fd, 0);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, do_map(self->dev, id, &m));
	ASSERT_EQ(BUF_SIZE, m.length);
	ASSERT_EQ(1, buf_status(self->dev, fd).mappings);
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
	ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
	close(fd);
}

/* Without the table among the offers there is nothing a classic importer can use. */
TEST_F(classic, no_table_offer_refuses)
{
	const __u32 phys_link[] = { PHYS, LINK };
	int fd;

	fd = do_export(self->dev, REVOCABLE, phys_link, 2);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-EOPNOTSUPP, classic_attach(self->dev, fd, INVALIDATE));
	ASSERT_EQ(-EOPNOTSUPP, classic_attach(self->dev, fd, INVALIDATE | IMP_P2P));
	ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
	close(fd);

	fd = do_export(self->dev, 0, phys_link, 2);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-EOPNOTSUPP, classic_attach(self->dev, fd, 0));
	ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
	close(fd);
}

/* A revocable buffer refuses a classic importer without invalidate_mappings. */
TEST_F(classic, revocable_buffer_refuses_pinned_importer)
{
	const __u32 sgt = SGT;
	int fd, id;

	fd = do_export(self->dev, REVOCABLE, &sgt, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-EOPNOTSUPP, classic_attach(self->dev, fd, 0));
	ASSERT_EQ(-EOPNOTSUPP, classic_attach(self->dev, fd, IMP_P2P));
	ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
	id = classic_attach(self->dev, fd, INVALIDATE);
	ASSERT_LT(0, id);
	ASSERT_EQ(1, buf_status(self->dev, fd).attachments);
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
	close(fd);
}

/* A peer-to-peer (MMIO) table needs an importer that allows peer-to-peer. */
TEST_F(classic, p2p_offer_needs_p2p_importer)
{
	const __u32 sgt = SGT;
	struct dmabuf_ic_test_map m;
	int fd, id;

	fd = do_export(self->dev, REVOCABLE | EXP_P2P, &sgt, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-EOPNOTSUPP, classic_attach(self->dev, fd, INVALIDATE));
	ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
	id = classic_attach(self->dev, fd, INVALIDATE | IMP_P2P);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, do_map(self->dev, id, &m));
	ASSERT_EQ(BUF_SIZE, m.length);
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
	close(fd);
}

/*
 * Revoke calls the classic importer's invalidate_mappings, which unmaps:
 * the mapping is gone when revoke returns. Mapping fails while revoked,
 * un-revoking maps nothing by itself, and mapping again works.
 */
TEST_F(classic, revoke_invalidates_and_unmaps)
{
	const __u32 phys_sgt[] = { PHYS, SGT };
	struct dmabuf_ic_test_map m;
	int fd, id, fw, idle;

	fd = do_export(self->dev, REVOCABLE, phys_sgt, 2);
	ASSERT_LE(0, fd);
	id = classic_attach(self->dev, fd, INVALIDATE);
	ASSERT_LT(0, id);
	idle = classic_attach(self->dev, fd, INVALIDATE);
	ASSERT_LT(0, idle);
	/* A framework importer of the same buffer, through the other offer. */
	fw = framework_attach(self->dev, fd, INVALIDATE | DMABUF_IC_TEST_ATTACH_PHYS_READER, PHYS);
	ASSERT_LT(0, fw);
	ASSERT_EQ(3, buf_status(self->dev, fd).attachments);

	ASSERT_EQ(0, do_map(self->dev, id, &m));
	ASSERT_EQ(0, do_map(self->dev, fw, &m));
	ASSERT_EQ(2, buf_status(self->dev, fd).mappings);
	ASSERT_EQ(0, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE));
	/* Synchronous: nothing mapped once revoke returned. */
	ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
	ASSERT_EQ(1, status(self->dev, id).invalidations);
	ASSERT_EQ(0, status(self->dev, id).mapped);
	ASSERT_EQ(1, status(self->dev, idle).invalidations);
	ASSERT_EQ(1, status(self->dev, fw).invalidations);
	ASSERT_EQ(-ENODEV, do_map(self->dev, id, &m));
	ASSERT_EQ(-ENOENT, do_id(self->dev, DMABUF_IC_TEST_UNMAP, id));
	/* While revoked no classic importer gets in. */
	ASSERT_EQ(-ENODEV, classic_attach(self->dev, fd, INVALIDATE));
	/* Revoking again invalidates nobody. */
	ASSERT_EQ(0, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(1, status(self->dev, id).invalidations);

	ASSERT_EQ(0, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_UNREVOKE));
	ASSERT_EQ(0, status(self->dev, id).mapped);
	ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
	ASSERT_EQ(0, do_map(self->dev, id, &m));
	ASSERT_EQ(BUF_SIZE, m.length);
	ASSERT_EQ(1, status(self->dev, id).mapped);
	ASSERT_EQ(1, buf_status(self->dev, fd).mappings);

	/* For good: invalidated once more, never mapped again. */
	ASSERT_EQ(0, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE_PERMANENTLY));
	ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
	ASSERT_EQ(2, status(self->dev, id).invalidations);
	ASSERT_EQ(0, status(self->dev, id).mapped);
	ASSERT_EQ(-ENODEV, do_map(self->dev, id, &m));
	ASSERT_EQ(-ENODEV, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_UNREVOKE));
	ASSERT_EQ(-ENODEV, classic_attach(self->dev, fd, INVALIDATE));
	ASSERT_EQ(3, buf_status(self->dev, fd).attachments);
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, idle));
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, fw));
	ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
	close(fd);
}

/* Closing the exporting context revokes for good, classic importers too. */
TEST_F(classic, close_exporter_first)
{
	const __u32 sgt = SGT;
	struct dmabuf_ic_test_map m;
	int exporter, fd, id;

	exporter = open(DEV_PATH, O_RDWR);
	ASSERT_LE(0, exporter);
	fd = do_export(exporter, REVOCABLE, &sgt, 1);
	ASSERT_LE(0, fd);
	id = classic_attach(self->dev, fd, INVALIDATE);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, do_map(self->dev, id, &m));
	close(exporter);
	ASSERT_EQ(0, status(self->dev, id).mapped);
	ASSERT_EQ(1, status(self->dev, id).invalidations);
	ASSERT_EQ(DMABUF_IC_TEST_OP_REVOKE_PERMANENTLY, buf_status(self->dev, fd).revoked);
	ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
	ASSERT_EQ(-ENODEV, do_map(self->dev, id, &m));
	close(fd);
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
}

/* Closing the importing context unmaps and detaches its classic importers. */
TEST_F(classic, close_importer_first)
{
	const __u32 sgt = SGT;
	struct dmabuf_ic_test_map m;
	int importer, fd, id;

	fd = do_export(self->dev, REVOCABLE, &sgt, 1);
	ASSERT_LE(0, fd);
	importer = open(DEV_PATH, O_RDWR);
	ASSERT_LE(0, importer);
	id = classic_attach(importer, fd, INVALIDATE);
	ASSERT_LT(0, id);
	ASSERT_LT(0, classic_attach(importer, fd, INVALIDATE));
	ASSERT_EQ(0, do_map(importer, id, &m));
	ASSERT_EQ(1, buf_status(self->dev, fd).mappings);
	close(importer);
	ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
	ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
	/* Nothing left to invalidate. */
	ASSERT_EQ(0, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE));
	close(fd);
}

/* Another exporter's buffer: the classic importer needs nothing of ours. */
TEST_F(classic, foreign_exporter)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = BUF_SIZE };
	struct dmabuf_ic_test_map m;
	int udmabuf, memfd, fd, id;

	udmabuf = open("/dev/udmabuf", O_RDWR);
	if (udmabuf < 0)
		SKIP(return, "no /dev/udmabuf");
	memfd = memfd_create("classic", MFD_ALLOW_SEALING);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, BUF_SIZE));
	ASSERT_EQ(0, fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK));
	c.memfd = memfd;
	fd = ic(udmabuf, UDMABUF_CREATE, &c);
	ASSERT_LE(0, fd);

	id = classic_attach(self->dev, fd, INVALIDATE);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, do_map(self->dev, id, &m));
	ASSERT_EQ(BUF_SIZE, m.length);
	ASSERT_EQ(1, status(self->dev, id).mapped);
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_UNMAP, id));
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
	close(fd);
	close(memfd);
	close(udmabuf);
}

/* A classic importer takes the table and nothing else: EINVAL otherwise. */
TEST_F(classic, bad_input)
{
	const __u32 sgt = SGT;
	struct dmabuf_ic_test_attach a = {
		.flags = CLASSIC | INVALIDATE, .nr_accepts = 1, .accepts = { PHYS },
	};
	int fd;

	fd = do_export(self->dev, 0, &sgt, 1);
	ASSERT_LE(0, fd);
	a.fd = fd;
	ASSERT_EQ(-EINVAL, ic(self->dev, DMABUF_IC_TEST_ATTACH, &a));
	a.nr_accepts = 2;
	a.accepts[0] = SGT;
	a.accepts[1] = PHYS;
	ASSERT_EQ(-EINVAL, ic(self->dev, DMABUF_IC_TEST_ATTACH, &a));
	a.nr_accepts = 0;
	ASSERT_EQ(-EINVAL, ic(self->dev, DMABUF_IC_TEST_ATTACH, &a));
	a.nr_accepts = 1;
	a.flags |= 1U << 5;
	ASSERT_EQ(-EINVAL, ic(self->dev, DMABUF_IC_TEST_ATTACH, &a));
	a.flags = CLASSIC | DMABUF_IC_TEST_ATTACH_PCI_DEV;
	a.pci_dev = 0xffffffff;
	ASSERT_EQ(-ENODEV, ic(self->dev, DMABUF_IC_TEST_ATTACH, &a));
	a.flags = CLASSIC;
	a.fd = -1;
	ASSERT_EQ(-EBADF, ic(self->dev, DMABUF_IC_TEST_ATTACH, &a));
	ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
	close(fd);
}

TEST_HARNESS_MAIN
