// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMU_IOAS_MAP_FILE with a dma-buf: iommufd as an importer of the dma-buf
 * interconnect framework. Buffers come from the test exporter
 * (CONFIG_DMABUF_INTERCONNECT_TEST), domains from iommufd's test mock
 * (CONFIG_IOMMUFD_TEST), whose IOMMU_TEST_OP_MD_CHECK_MAPPED tells whether
 * an IOVA range is mapped in a domain, and to which physical address and with
 * which protection each IO page is mapped. The tests of what exactly is
 * mapped use iommufd's own mock exporter (IOMMU_TEST_OP_DMABUF_GET), which
 * tells its physical ranges.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "fail_nth.h"
#include "../../../../drivers/dma-buf/dmabuf-ic-test.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

#define PAGE 4096UL
#define MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED (MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA)
#define IOVA (MOCK_APERTURE_START + 16 * PAGE)

/* Returns the ioctl's result, or -errno. */
static int ic(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static int ioas_alloc(int iommufd, __u32 *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc = ic(iommufd, IOMMU_IOAS_ALLOC, &cmd);

	*id = cmd.out_ioas_id;
	return rc;
}

/* Attaches a mock device with its own mock domain; returns the stdev id. */
static int mock_domain(int iommufd, __u32 ioas_id, __u32 *hwpt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = ioas_id,
	};
	int rc = ic(iommufd, IOMMU_TEST_CMD, &cmd);

	if (rc)
		return rc;
	*hwpt_id = cmd.mock_domain.out_hwpt_id;
	return cmd.mock_domain.out_stdev_id;
}

/* 0 all mapped, -ENOENT none, -EINVAL some. */
static int check_mapped(int iommufd, __u32 hwpt_id, __u64 iova, __u64 length)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_MAPPED,
		.id = hwpt_id, .check_map = { .iova = iova, .length = length },
	};

	return ic(iommufd, IOMMU_TEST_CMD, &cmd);
}

static int map_file(int iommufd, __u32 ioas_id, __u32 flags, int fd,
		    __u64 start, __u64 length, __u64 *iova)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas_id,
		.fd = fd, .start = start, .length = length, .iova = *iova,
	};
	int rc = ic(iommufd, IOMMU_IOAS_MAP_FILE, &cmd);

	*iova = cmd.iova;
	return rc;
}

static int map_at(int iommufd, __u32 ioas_id, int fd, __u32 flags,
		  __u64 start, __u64 length, __u64 iova)
{
	return map_file(iommufd, ioas_id, flags, fd, start, length, &iova);
}

static int unmap(int iommufd, __u32 ioas_id, __u64 iova, __u64 length)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas_id, .iova = iova,
		.length = length,
	};

	return ic(iommufd, IOMMU_IOAS_UNMAP, &cmd);
}

static int destroy(int iommufd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ic(iommufd, IOMMU_DESTROY, &cmd);
}

static int export_flags(int dev, __u32 nr_pages, __u32 flags, __u32 offer)
{
	struct dmabuf_ic_test_export e = {
		.flags = flags,
		.nr_offers = 1, .offers = { offer }, .nr_pages = nr_pages,
	};

	return ic(dev, DMABUF_IC_TEST_EXPORT, &e);
}

static int export(int dev, __u32 nr_pages, bool revocable, __u32 offer)
{
	return export_flags(dev, nr_pages,
			    revocable ? DMABUF_IC_TEST_EXPORT_REVOCABLE : 0,
			    offer);
}

static int do_revoke(int dev, int fd, __u32 op)
{
	struct dmabuf_ic_test_revoke r = { .fd = fd, .op = op };

	return ic(dev, DMABUF_IC_TEST_REVOKE, &r);
}

static struct dmabuf_ic_test_buf_status buf_status(int dev, int fd)
{
	struct dmabuf_ic_test_buf_status s = { .fd = fd };

	if (ic(dev, DMABUF_IC_TEST_BUF_STATUS, &s))
		s.revoked = -1U;
	return s;
}

FIXTURE(dmabuf)
{
	int iommufd, exporter, buf;
	__u32 ioas_id, stdev_id, hwpt_id;
};

FIXTURE_SETUP(dmabuf)
{
	self->exporter = open("/dev/dmabuf_ic_test", O_RDWR);
	if (self->exporter < 0)
		SKIP(return, "no /dev/dmabuf_ic_test (CONFIG_DMABUF_INTERCONNECT_TEST)");
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
	ASSERT_EQ(0, ioas_alloc(self->iommufd, &self->ioas_id));
	self->stdev_id = mock_domain(self->iommufd, self->ioas_id, &self->hwpt_id);
	if ((int)self->stdev_id < 0)
		SKIP(return, "no mock domain (CONFIG_IOMMUFD_TEST, no other IOMMU driver)");
	/* 8 pages of memory, physical list only, revocable. */
	self->buf = export(self->exporter, 8, true, DMABUF_IC_TEST_PHYS_LIST);
	ASSERT_LE(0, self->buf);
}

FIXTURE_TEARDOWN(dmabuf)
{
	if (self->exporter < 0)
		return;
	close(self->buf);
	close(self->iommufd);
	close(self->exporter);
}

TEST_F(dmabuf, map_simple)
{
	__u64 iova = 0;

	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      0, 8 * PAGE, &iova));
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, iova, 8 * PAGE));
	/* iommufd holds its own attachment and mapping. */
	ASSERT_EQ(1, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(1, buf_status(self->exporter, self->buf).mappings);
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 8 * PAGE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, iova, 8 * PAGE));
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).mappings);
}

TEST_F(dmabuf, map_slice_fixed)
{
	__u64 iova = IOVA;

	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, FIXED, self->buf,
			      2 * PAGE, 3 * PAGE, &iova));
	ASSERT_EQ(IOVA, iova);
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, IOVA, 3 * PAGE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id,
					IOVA + 3 * PAGE, PAGE));
	/* A dma-buf area is unmapped whole, never split. */
	ASSERT_EQ(-ENOENT, unmap(self->iommufd, self->ioas_id, IOVA, PAGE));
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, IOVA, 3 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, IOVA, 3 * PAGE));
}

/* Slices that start and end inside different physical ranges. */
TEST_F(dmabuf, map_multi_range)
{
	int fd = export_flags(self->exporter, 4, DMABUF_IC_TEST_EXPORT_SPLIT_RANGES,
			      DMABUF_IC_TEST_PHYS_LIST);
	__u64 iova = 0, iova2 = 0;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, fd, 0,
			      4 * PAGE, &iova));
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, iova, 4 * PAGE));
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, fd, PAGE,
			      2 * PAGE, &iova2));
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, iova2, 2 * PAGE));
	/* Two areas of one buffer, one import: one revoke unmaps both. */
	ASSERT_EQ(1, buf_status(self->exporter, fd).attachments);
	ASSERT_EQ(0, do_revoke(self->exporter, fd, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, iova, 4 * PAGE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, iova2, 2 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 4 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova2, 2 * PAGE));
	close(fd);
}

/*
 * The maps of one buffer in one iommufd context share one attachment, and
 * another context has its own. One revoke unmaps the areas of both; after
 * it, a map attaches anew, and the areas mapped before it stay revoked until
 * unmapped, the last of them taking the old attachment with it.
 */
TEST_F(dmabuf, shared_import)
{
	__u64 a = 0, b = 0, c = 0, d = 0, e = 0;
	__u32 ioas2, hwpt2;
	int iommufd2;

	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      0, 4 * PAGE, &a));
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      4 * PAGE, 4 * PAGE, &b));
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      0, 8 * PAGE, &c));
	ASSERT_EQ(1, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(1, buf_status(self->exporter, self->buf).mappings);
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, a, 4 * PAGE));
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, b, 4 * PAGE));
	/* The import stays while any area uses it. */
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, c, 8 * PAGE));
	ASSERT_EQ(1, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, a, 4 * PAGE));

	iommufd2 = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, iommufd2);
	ASSERT_EQ(0, ioas_alloc(iommufd2, &ioas2));
	ASSERT_LT(0, mock_domain(iommufd2, ioas2, &hwpt2));
	ASSERT_EQ(0, map_file(iommufd2, ioas2, MAP_RW, self->buf, 0, 8 * PAGE,
			      &d));
	ASSERT_EQ(2, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(0, check_mapped(iommufd2, hwpt2, d, 8 * PAGE));

	ASSERT_EQ(0, do_revoke(self->exporter, self->buf, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, a, 4 * PAGE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, b, 4 * PAGE));
	ASSERT_EQ(-ENOENT, check_mapped(iommufd2, hwpt2, d, 8 * PAGE));
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).mappings);

	ASSERT_EQ(0, do_revoke(self->exporter, self->buf, DMABUF_IC_TEST_OP_UNREVOKE));
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      0, 8 * PAGE, &e));
	ASSERT_EQ(3, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(1, buf_status(self->exporter, self->buf).mappings);
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, e, 8 * PAGE));
	/* Nothing mapped the old areas again. */
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, a, 4 * PAGE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, b, 4 * PAGE));
	ASSERT_EQ(-ENOENT, check_mapped(iommufd2, hwpt2, d, 8 * PAGE));

	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, a, 4 * PAGE));
	ASSERT_EQ(3, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, b, 4 * PAGE));
	ASSERT_EQ(2, buf_status(self->exporter, self->buf).attachments);
	close(iommufd2);
	ASSERT_EQ(1, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, e, 8 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, e, 8 * PAGE));
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).attachments);
}

/*
 * The maps of a buffer share the import and its pages, whichever map made
 * them. Unmapping that map first leaves the import to the others: a revoke
 * still reaches them, and the last unmap frees it.
 */
TEST_F(dmabuf, first_map_unmapped_first)
{
	__u64 a = 0, b = 0, c = 0;

	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      0, 8 * PAGE, &a));
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      0, 4 * PAGE, &b));
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      4 * PAGE, 4 * PAGE, &c));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, a, 8 * PAGE));
	ASSERT_EQ(1, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(1, buf_status(self->exporter, self->buf).mappings);
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, b, 4 * PAGE));
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, c, 4 * PAGE));

	ASSERT_EQ(0, do_revoke(self->exporter, self->buf, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, b, 4 * PAGE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, c, 4 * PAGE));
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).mappings);
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, c, 4 * PAGE));
	ASSERT_EQ(1, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, b, 4 * PAGE));
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).attachments);
}

/* Closing the dma-buf fd does not affect a live mapping. */
TEST_F(dmabuf, close_fd_keeps_mapping)
{
	__u64 iova = 0;
	int fd = export(self->exporter, 4, false, DMABUF_IC_TEST_PHYS_LIST);

	ASSERT_LE(0, fd);
	/* A non-revocable buffer is fine too. */
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, fd, 0,
			      4 * PAGE, &iova));
	close(fd);
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, iova, 4 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 4 * PAGE));
}

/* Domains attached later get the mapping; detached ones lose it. */
TEST_F(dmabuf, later_domain)
{
	__u32 hwpt2, stdev2;
	__u64 iova = 0;

	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      0, 8 * PAGE, &iova));
	stdev2 = mock_domain(self->iommufd, self->ioas_id, &hwpt2);
	ASSERT_LT(0, (int)stdev2);
	ASSERT_EQ(0, check_mapped(self->iommufd, hwpt2, iova, 8 * PAGE));
	/* Detach the first domain: the second keeps the mapping. */
	ASSERT_EQ(0, destroy(self->iommufd, self->stdev_id));
	ASSERT_EQ(0, check_mapped(self->iommufd, hwpt2, iova, 8 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 8 * PAGE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, hwpt2, iova, 8 * PAGE));
	ASSERT_EQ(0, destroy(self->iommufd, stdev2));
}

/*
 * Revoke removes the mapping from every domain before it returns; nothing
 * comes back by itself; a new map of a revoked buffer fails; after unrevoke
 * userspace unmaps and maps again.
 */
TEST_F(dmabuf, revoke_while_mapped)
{
	__u32 hwpt2, stdev2, hwpt3, stdev3;
	__u64 iova = 0, iova2 = 0;

	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      0, 8 * PAGE, &iova));
	stdev2 = mock_domain(self->iommufd, self->ioas_id, &hwpt2);
	ASSERT_LT(0, (int)stdev2);
	ASSERT_EQ(0, check_mapped(self->iommufd, hwpt2, iova, 8 * PAGE));

	ASSERT_EQ(0, do_revoke(self->exporter, self->buf, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, iova, 8 * PAGE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, hwpt2, iova, 8 * PAGE));
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).mappings);
	ASSERT_EQ(-ENODEV, map_file(self->iommufd, self->ioas_id, MAP_RW,
				    self->buf, 0, PAGE, &iova2));
	ASSERT_EQ(1, buf_status(self->exporter, self->buf).attachments);

	/* A domain attached while revoked gets nothing, and attaching works. */
	stdev3 = mock_domain(self->iommufd, self->ioas_id, &hwpt3);
	ASSERT_LT(0, (int)stdev3);
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, hwpt3, iova, 8 * PAGE));

	ASSERT_EQ(0, do_revoke(self->exporter, self->buf, DMABUF_IC_TEST_OP_UNREVOKE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, iova, 8 * PAGE));
	/* The IOVA stays reserved until userspace unmaps the revoked area. */
	iova2 = iova;
	ASSERT_EQ(-EEXIST, map_file(self->iommufd, self->ioas_id, FIXED,
				    self->buf, 0, 8 * PAGE, &iova2));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 8 * PAGE));
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, FIXED, self->buf,
			      0, 8 * PAGE, &iova2));
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, iova, 8 * PAGE));
	ASSERT_EQ(0, check_mapped(self->iommufd, hwpt3, iova, 8 * PAGE));
	ASSERT_EQ(0, destroy(self->iommufd, stdev2));
	ASSERT_EQ(0, destroy(self->iommufd, stdev3));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 8 * PAGE));
}

/* The exporter goes away: revoked for good, iommufd still unmaps cleanly. */
TEST_F(dmabuf, exporter_closes_first)
{
	__u64 iova = 0;
	int exporter2 = open("/dev/dmabuf_ic_test", O_RDWR);
	int fd;

	ASSERT_LE(0, exporter2);
	fd = export(exporter2, 2, true, DMABUF_IC_TEST_PHYS_LIST);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, fd, 0,
			      2 * PAGE, &iova));
	close(exporter2);
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, iova, 2 * PAGE));
	ASSERT_EQ(-ENODEV, map_file(self->iommufd, self->ioas_id, MAP_RW, fd,
				    0, PAGE, &iova));
	close(fd);
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 2 * PAGE));
}

/* Closing iommufd with a live mapping releases the attachment. */
TEST_F(dmabuf, close_iommufd_first)
{
	__u64 iova = 0;

	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      0, 8 * PAGE, &iova));
	close(self->iommufd);
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).mappings);
}

/*
 * What cannot be imported says so, and leaves nothing behind. A memfd is
 * not a dma-buf: IOMMU_IOAS_MAP_FILE maps it as memory, as mainline does.
 */
TEST_F(dmabuf, unsupported)
{
	__u64 iova = 0;
	int memfd = memfd_create("not-a-dmabuf", 0);
	int sgt_only = export(self->exporter, 2, false, DMABUF_IC_TEST_SGT);

	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, 2 * PAGE));
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, memfd, 0,
			      2 * PAGE, &iova));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 2 * PAGE));
	ASSERT_EQ(-EBADF, map_file(self->iommufd, self->ioas_id, MAP_RW, -1,
				   0, 2 * PAGE, &iova));
	ASSERT_LE(0, sgt_only);
	ASSERT_EQ(-EOPNOTSUPP, map_file(self->iommufd, self->ioas_id, MAP_RW,
					sgt_only, 0, 2 * PAGE, &iova));
	ASSERT_EQ(0, buf_status(self->exporter, sgt_only).attachments);
	close(sgt_only);
	close(memfd);
}

/*
 * A copy of a dma-buf area shares the import, so a revoke reaches the
 * copy too; emulated devices (iommufd_access) cannot read or pin it.
 */
TEST_F(dmabuf, copy_revoked_no_access)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy), .flags = FIXED, .src_ioas_id = 0,
		.length = 8 * PAGE, .dst_iova = IOVA,
	};
	struct iommu_test_cmd access = {
		.size = sizeof(access), .op = IOMMU_TEST_OP_CREATE_ACCESS,
	};
	char data[64];
	struct iommu_test_cmd rw = {
		.size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW,
		.access_rw = { .length = sizeof(data),
			       .uptr = (uintptr_t)data },
	};
	struct iommu_test_cmd pin = {
		.size = sizeof(pin), .op = IOMMU_TEST_OP_ACCESS_PAGES,
		.access_pages = { .length = PAGE },
	};
	__u32 ioas2, stdev2, hwpt2;
	__u64 iova = 0;

	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      0, 8 * PAGE, &iova));
	ASSERT_EQ(0, ioas_alloc(self->iommufd, &ioas2));
	stdev2 = mock_domain(self->iommufd, ioas2, &hwpt2);
	ASSERT_LT(0, (int)stdev2);
	copy.src_ioas_id = self->ioas_id;
	copy.dst_ioas_id = ioas2;
	copy.src_iova = iova;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_COPY, &copy));
	ASSERT_EQ(0, check_mapped(self->iommufd, hwpt2, IOVA, 8 * PAGE));
	/* One import, shared by both areas. */
	ASSERT_EQ(1, buf_status(self->exporter, self->buf).attachments);

	access.id = self->ioas_id;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_TEST_CMD, &access));
	rw.id = access.create_access.out_access_fd;
	rw.access_rw.iova = iova;
	ASSERT_EQ(-EINVAL, ic(self->iommufd, IOMMU_TEST_CMD, &rw));
	close(access.create_access.out_access_fd);

	/* Nor can an emulated device pin the pages. */
	access.create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_TEST_CMD, &access));
	pin.id = access.create_access.out_access_fd;
	pin.access_pages.iova = iova;
	ASSERT_EQ(-EINVAL, ic(self->iommufd, IOMMU_TEST_CMD, &pin));
	close(access.create_access.out_access_fd);

	/* The revoke unmaps both areas, each from its own domain. */
	ASSERT_EQ(0, do_revoke(self->exporter, self->buf, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, iova, 8 * PAGE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, hwpt2, IOVA, 8 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, ioas2, IOVA, 8 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 8 * PAGE));
	ASSERT_EQ(0, destroy(self->iommufd, stdev2));
	ASSERT_EQ(0, destroy(self->iommufd, ioas2));
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).attachments);
}

/* Every bad argument has its errno and maps nothing. */
TEST_F(dmabuf, bad_input)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd), .flags = MAP_RW, .ioas_id = 0,
		.fd = 0, .length = PAGE,
	};
	struct {
		struct iommu_ioas_map_file c;
		__u64 tail;
	} big;

	cmd.ioas_id = self->ioas_id;
	cmd.fd = self->buf;
#define MAP(f, s, l, i) map_at(self->iommufd, self->ioas_id, self->buf, f, s, l, i)
	ASSERT_EQ(-EINVAL, MAP(MAP_RW, 0, 0, 0));		/* zero length */
	ASSERT_EQ(-EINVAL, MAP(MAP_RW, 100, PAGE, 0));		/* unaligned start */
	ASSERT_EQ(-EINVAL, MAP(MAP_RW, 0, PAGE + 1, 0));	/* unaligned length */
	ASSERT_EQ(-EINVAL, MAP(FIXED, 0, PAGE, IOVA + 1));	/* unaligned iova */
	ASSERT_EQ(-EINVAL, MAP(MAP_RW, 4 * PAGE, 8 * PAGE, 0));	/* beyond the buffer */
	ASSERT_EQ(-EOVERFLOW, MAP(MAP_RW, -PAGE, 2 * PAGE, 0));	/* start + length */
	ASSERT_EQ(-EOVERFLOW, MAP(FIXED, 0, PAGE, UINT64_MAX));	/* iova */
	ASSERT_EQ(-EOPNOTSUPP, MAP(MAP_RW | (1 << 10), 0, PAGE, 0)); /* flags */
	ASSERT_EQ(-EINVAL, MAP(IOMMU_IOAS_MAP_FIXED_IOVA, 0, PAGE, IOVA)); /* no access */
#undef MAP
	cmd.ioas_id = 9999;
	ASSERT_EQ(-ENOENT, ic(self->iommufd, IOMMU_IOAS_MAP_FILE, &cmd));
	cmd.ioas_id = self->ioas_id;
	cmd.size = offsetof(struct iommu_ioas_map_file, iova);
	ASSERT_EQ(-EINVAL, ic(self->iommufd, IOMMU_IOAS_MAP_FILE, &cmd));
	/* Larger than known, with a non-zero tail. */
	big.c = cmd;
	big.c.size = sizeof(big);
	big.tail = 1;
	ASSERT_EQ(-E2BIG, ic(self->iommufd, IOMMU_IOAS_MAP_FILE, &big));
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).attachments);
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id,
					MOCK_APERTURE_START, 64 * PAGE));
}

/*
 * Fail the 1st, 2nd, ... fault-injection site reached by an 8-page
 * IOMMU_IOAS_MAP_FILE of the buffer while @live maps of it (0 or 1, that one
 * at @live_iova) exist, until one run reaches none: every failure must return
 * an error and leave no attachment, mapping or IOVA of its own behind, and the
 * live map as it was; a run that survives its injected failure (a site whose
 * failure is tolerated, such as kmemleak's own metadata) must have mapped
 * everything. kmemleak checks the rest after the run.
 */
static void walk_map_file_faults(struct __test_metadata *_metadata,
				 struct _test_data_dmabuf *self,
				 unsigned int live, __u64 live_iova)
{
	unsigned int failures = 0;
	struct fail_nth nth;
	bool fired = true;
	__u64 iova = 0;
	int rc;

	/* No fault injection is a failure: the kernel config lost it. */
	if (!fail_nth_open(&nth))
		TH_LOG("no %s (CONFIG_FAULT_INJECTION_DEBUG_FS, FAILSLAB, FAIL_PAGE_ALLOC)",
		       nth.missing);
	ASSERT_LE(0, nth.fd);
	while (fired) {
		ASSERT_GT(400, nth.nth);
		ASSERT_TRUE(fail_nth_arm(&nth));
		iova = 0;
		rc = map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      0, 8 * PAGE, &iova);
		fired = fail_nth_disarm(&nth);
		if (rc) {
			ASSERT_TRUE(fired);
			failures++;
			ASSERT_EQ(live, buf_status(self->exporter, self->buf).attachments);
			ASSERT_EQ(live, buf_status(self->exporter, self->buf).mappings);
			if (live) {
				ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id,
							  live_iova, 8 * PAGE));
			} else {
				ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id,
								MOCK_APERTURE_START,
								64 * PAGE));
			}
			continue;
		}
		ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, iova,
					  8 * PAGE));
		ASSERT_EQ(1, buf_status(self->exporter, self->buf).attachments);
		if (fired)
			ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova,
					   8 * PAGE));
	}
	close(nth.fd);
	TH_LOG("walk IOMMU_IOAS_MAP_FILE, %u live: %u fault-injection sites, %u failed the call",
	       live, nth.nth - 1, failures);
	/* The pages, the area and its domain's tracker, at least */
	ASSERT_LT(2, failures);
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 8 * PAGE));
	ASSERT_EQ(live, buf_status(self->exporter, self->buf).attachments);
}

TEST_F(dmabuf, fail_nth_map_file)
{
	walk_map_file_faults(_metadata, self, 0, 0);
}

/* A map that joins the context's import fails alone. */
TEST_F(dmabuf, fail_nth_map_file_join)
{
	__u64 iova = 0;

	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, self->buf,
			      0, 8 * PAGE, &iova));
	walk_map_file_faults(_metadata, self, 1, iova);
	ASSERT_EQ(0, check_mapped(self->iommufd, self->hwpt_id, iova, 8 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 8 * PAGE));
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).attachments);
}

/* What a buffer of iommufd's mock exporter is made of. */
struct mock_buf {
	int fd;
	__u32 nr_ranges;
	struct iommu_test_dmabuf_range ranges[64];
};

static int mock_cmd(int iommufd, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return ic(iommufd, IOMMU_TEST_CMD, cmd);
}

/* A buffer of @nr_pages from iommufd's mock exporter, and its ranges. */
static void mock_buf_get(struct __test_metadata *_metadata, int iommufd,
			 __u32 nr_pages, struct mock_buf *buf)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DMABUF_GET,
		.dmabuf_get = { .length = nr_pages * PAGE,
				.open_flags = O_CLOEXEC },
	};

	buf->fd = mock_cmd(iommufd, &cmd);
	ASSERT_LE(0, buf->fd);
	memset(&cmd, 0, sizeof(cmd));
	cmd.op = IOMMU_TEST_OP_DMABUF_RANGES;
	cmd.dmabuf_ranges.dmabuf_fd = buf->fd;
	cmd.dmabuf_ranges.nr_ranges = 64;
	cmd.dmabuf_ranges.uptr = (uintptr_t)buf->ranges;
	ASSERT_EQ(0, mock_cmd(iommufd, &cmd));
	buf->nr_ranges = cmd.dmabuf_ranges.nr_ranges;
	ASSERT_GE(64, buf->nr_ranges);
}

/* The physical address of byte @off of the buffer, by its ranges. */
static __u64 mock_buf_phys(const struct mock_buf *buf, __u64 off)
{
	__u32 i;

	for (i = 0; i != buf->nr_ranges; i++) {
		if (off < buf->ranges[i].length)
			return buf->ranges[i].paddr + off;
		off -= buf->ranges[i].length;
	}
	return 0;
}

static int mock_revoke(int iommufd, __u32 op, int fd, bool revoked)
{
	struct iommu_test_cmd cmd = {
		.op = op, .dmabuf_revoke = { .dmabuf_fd = fd, .revoked = revoked },
	};

	return mock_cmd(iommufd, &cmd);
}

/*
 * Asserts that the @length bytes at @iova in the mock domain @hwpt map bytes
 * @start on of @buf, each IO page of @io_page bytes to the physical address
 * the exporter's ranges give and with exactly @prot (MOCK_PROT_*).
 */
static void check_slice(struct __test_metadata *_metadata, int iommufd,
			__u32 hwpt, __u64 iova, const struct mock_buf *buf,
			__u64 start, __u64 length, __u32 io_page, __u32 prot)
{
	struct iommu_test_md_page pages[64] = {};
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_MAPPED, .id = hwpt,
		.check_map = { .iova = iova, .length = length,
			       .uptr = (uintptr_t)pages },
	};
	__u64 i;

	ASSERT_GE(64, length / io_page);
	ASSERT_EQ(0, mock_cmd(iommufd, &cmd));
	for (i = 0; i != length / io_page; i++) {
		__u64 want = mock_buf_phys(buf, start + i * io_page);

		if (pages[i].phys != want || pages[i].prot != prot)
			TH_LOG("hwpt %u iova 0x%llx: phys 0x%llx prot 0x%x, want 0x%llx 0x%x",
			       hwpt, (unsigned long long)(iova + i * io_page),
			       (unsigned long long)pages[i].phys, pages[i].prot,
			       (unsigned long long)want, prot);
		ASSERT_NE(0, want);
		ASSERT_EQ(want, pages[i].phys);
		ASSERT_EQ(prot, pages[i].prot);
	}
}

#define MMIO_RW (MOCK_PROT_READ | MOCK_PROT_WRITE | MOCK_PROT_MMIO)

/*
 * Every IO page of a slice maps the physical page the exporter's ranges say:
 * slices that start inside a range, that span two ranges or more, and the
 * whole buffer. The mock buffer of 8 pages is made of ranges of 1, 2, 3, 1
 * and 1 pages, none continuing the one before it, so a pfn reader that
 * mistakes an offset maps another page. Each slice is mapped alone, then all
 * of them at once, as areas of the one iopt_pages of the buffer.
 */
TEST_F(dmabuf, phys_per_page)
{
	static const struct { __u64 start, pages; } slices[] = {
		{ 0, 8 },	/* all five ranges */
		{ 4, 1 },	/* inside the third range */
		{ 4, 2 },	/* inside the third range, to its end */
		{ 2, 2 },	/* the second range's end, the third's start */
		{ 2, 5 },	/* across the second, third and fourth */
		{ 5, 3 },	/* the third range's last page and two more */
		{ 1, 7 },	/* from the second range on */
	};
	static const __u64 range_pages[] = { 1, 2, 3, 1, 1 };
	__u64 iovas[ARRAY_SIZE(slices)];
	struct mock_buf buf;
	unsigned int i;

	mock_buf_get(_metadata, self->iommufd, 8, &buf);
	ASSERT_EQ(5, buf.nr_ranges);
	for (i = 0; i != buf.nr_ranges; i++) {
		ASSERT_EQ(range_pages[i] * PAGE, buf.ranges[i].length);
		if (i)
			ASSERT_NE(buf.ranges[i - 1].paddr + buf.ranges[i - 1].length,
				  buf.ranges[i].paddr);
	}
	for (i = 0; i != ARRAY_SIZE(slices); i++) {
		__u64 iova = 0;

		ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW,
				      buf.fd, slices[i].start * PAGE,
				      slices[i].pages * PAGE, &iova));
		check_slice(_metadata, self->iommufd, self->hwpt_id, iova, &buf,
			    slices[i].start * PAGE, slices[i].pages * PAGE,
			    MOCK_PAGE_SIZE, MMIO_RW);
		ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova,
				   slices[i].pages * PAGE));
	}
	/* All at once: every map after the first is an area of its pages. */
	for (i = 0; i != ARRAY_SIZE(slices); i++) {
		iovas[i] = 0;
		ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW,
				      buf.fd, slices[i].start * PAGE,
				      slices[i].pages * PAGE, &iovas[i]));
	}
	for (i = 0; i != ARRAY_SIZE(slices); i++) {
		check_slice(_metadata, self->iommufd, self->hwpt_id, iovas[i],
			    &buf, slices[i].start * PAGE,
			    slices[i].pages * PAGE, MOCK_PAGE_SIZE, MMIO_RW);
		ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iovas[i],
				   slices[i].pages * PAGE));
	}
	close(buf.fd);
}

/*
 * The maps of a buffer in one context share pages, but each keeps the access
 * it asked for: a read-only map first does not make a later read-write one
 * fail, and the read-only one stays without IOMMU_WRITE beside it.
 */
TEST_F(dmabuf, shared_import_prot)
{
	struct mock_buf buf;
	__u64 ro = 0, rw = 0;

	mock_buf_get(_metadata, self->iommufd, 8, &buf);
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id,
			      IOMMU_IOAS_MAP_READABLE, buf.fd, 0, 4 * PAGE,
			      &ro));
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, buf.fd,
			      2 * PAGE, 6 * PAGE, &rw));
	check_slice(_metadata, self->iommufd, self->hwpt_id, ro, &buf, 0,
		    4 * PAGE, MOCK_PAGE_SIZE, MOCK_PROT_READ | MOCK_PROT_MMIO);
	check_slice(_metadata, self->iommufd, self->hwpt_id, rw, &buf,
		    2 * PAGE, 6 * PAGE, MOCK_PAGE_SIZE, MMIO_RW);
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, ro, 4 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, rw, 6 * PAGE));
	close(buf.fd);
}

/*
 * A dma-buf is MMIO: every domain gets it with IOMMU_MMIO and without
 * IOMMU_CACHE, whether it was there at MAP_FILE or came later (attached,
 * allocated with any of the mock's paging flags or page table types, or
 * reached through IOMMU_IOAS_COPY). A memfd, for contrast, is mapped
 * cacheable, as memory.
 */
TEST_F(dmabuf, mmio_prot)
{
	struct iommu_hwpt_selftest huge = {
		.iotlb = IOMMU_TEST_IOTLB_DEFAULT,
		.pagetable_type = MOCK_IOMMUPT_HUGE,
	};
	static const __u32 hwpt_flags[] = {
		0, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_ALLOC_NEST_PARENT,
		IOMMU_HWPT_ALLOC_PASID, 0 /* with huge pages */,
	};
	struct iommu_test_cmd dom = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = 0,
	};
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy), .flags = FIXED,
		.length = 6 * PAGE, .dst_iova = IOVA,
	};
	struct iommu_test_md_page page[2];
	struct iommu_test_cmd check = {
		.op = IOMMU_TEST_OP_MD_CHECK_MAPPED,
		.check_map = { .length = 2 * MOCK_PAGE_SIZE,
			       .uptr = (uintptr_t)page },
	};
	__u32 ioas2, hwpt2, hwpt3;
	int memfd = memfd_create("memory", 0);
	struct mock_buf buf;
	__u64 iova = 0;
	unsigned int i;

	/* Memory is cacheable: the record tells the two apart. */
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, PAGE));
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, memfd, 0,
			      PAGE, &iova));
	check.id = self->hwpt_id;
	check.check_map.iova = iova;
	ASSERT_EQ(0, mock_cmd(self->iommufd, &check));
	ASSERT_EQ(MOCK_PROT_READ | MOCK_PROT_WRITE | MOCK_PROT_CACHE, page[0].prot);
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, PAGE));
	close(memfd);

	/* The domain there at MAP_FILE. */
	mock_buf_get(_metadata, self->iommufd, 8, &buf);
	iova = 0;
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, MAP_RW, buf.fd,
			      2 * PAGE, 6 * PAGE, &iova));
	check_slice(_metadata, self->iommufd, self->hwpt_id, iova, &buf,
		    2 * PAGE, 6 * PAGE, MOCK_PAGE_SIZE, MMIO_RW);

	/* A mock domain attached later: filled by iopt_fill_domain(). */
	dom.id = self->ioas_id;
	ASSERT_EQ(0, mock_cmd(self->iommufd, &dom));
	check_slice(_metadata, self->iommufd, dom.mock_domain.out_hwpt_id,
		    iova, &buf, 2 * PAGE, 6 * PAGE, MOCK_PAGE_SIZE, MMIO_RW);

	/* Paging domains allocated on the IOAS, each variant the mock has. */
	for (i = 0; i != ARRAY_SIZE(hwpt_flags); i++) {
		bool is_huge = i == ARRAY_SIZE(hwpt_flags) - 1;
		struct iommu_hwpt_alloc alloc = {
			.size = sizeof(alloc), .flags = hwpt_flags[i],
			.dev_id = dom.mock_domain.out_idev_id,
			.pt_id = self->ioas_id,
		};

		if (is_huge) {
			alloc.data_type = IOMMU_HWPT_DATA_SELFTEST;
			alloc.data_len = sizeof(huge);
			alloc.data_uptr = (uintptr_t)&huge;
		}
		ASSERT_EQ(0, ic(self->iommufd, IOMMU_HWPT_ALLOC, &alloc));
		/* The huge variant's smallest page is the CPU page. */
		check_slice(_metadata, self->iommufd, alloc.out_hwpt_id, iova,
			    &buf, 2 * PAGE, 6 * PAGE,
			    is_huge ? PAGE : MOCK_PAGE_SIZE, MMIO_RW);
		ASSERT_EQ(0, destroy(self->iommufd, alloc.out_hwpt_id));
	}

	/* A copy into another IOAS, whose domain exists before the copy. */
	ASSERT_EQ(0, ioas_alloc(self->iommufd, &ioas2));
	ASSERT_LT(0, mock_domain(self->iommufd, ioas2, &hwpt2));
	copy.src_ioas_id = self->ioas_id;
	copy.dst_ioas_id = ioas2;
	copy.src_iova = iova;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_COPY, &copy));
	check_slice(_metadata, self->iommufd, hwpt2, IOVA, &buf, 2 * PAGE,
		    6 * PAGE, MOCK_PAGE_SIZE, MMIO_RW);
	/* And a domain attached to that IOAS after the copy. */
	ASSERT_LT(0, mock_domain(self->iommufd, ioas2, &hwpt3));
	check_slice(_metadata, self->iommufd, hwpt3, IOVA, &buf, 2 * PAGE,
		    6 * PAGE, MOCK_PAGE_SIZE, MMIO_RW);

	/* Read-only: no IOMMU_WRITE, still MMIO. */
	ASSERT_EQ(0, unmap(self->iommufd, ioas2, IOVA, 6 * PAGE));
	ASSERT_EQ(0, map_at(self->iommufd, ioas2, buf.fd,
			    IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA,
			    0, PAGE, IOVA));
	check_slice(_metadata, self->iommufd, hwpt3, IOVA, &buf, 0, PAGE,
		    MOCK_PAGE_SIZE, MOCK_PROT_READ | MOCK_PROT_MMIO);
	ASSERT_EQ(0, unmap(self->iommufd, ioas2, IOVA, PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 6 * PAGE));
	close(buf.fd);
}

/*
 * The exporter revokes after IOMMU_IOAS_MAP_FILE imported the dma-buf and
 * before the area reached the domains (the mock exporter's hook revokes at
 * exactly that point): the map fails with ENODEV and leaves nothing, not an
 * area that maps nothing. IOMMU_IOAS_COPY of a revoked area fails alike.
 */
TEST_F(dmabuf, revoke_during_import)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy), .flags = FIXED,
		.length = 8 * PAGE, .dst_iova = IOVA,
	};
	struct mock_buf buf;
	__u32 ioas2, hwpt2;
	__u64 iova = IOVA;

	mock_buf_get(_metadata, self->iommufd, 8, &buf);
	ASSERT_EQ(0, mock_revoke(self->iommufd,
				 IOMMU_TEST_OP_DMABUF_REVOKE_ON_IMPORT,
				 buf.fd, true));
	ASSERT_EQ(-ENODEV, map_file(self->iommufd, self->ioas_id, FIXED,
				    buf.fd, 0, 8 * PAGE, &iova));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id,
					MOCK_APERTURE_START, 64 * PAGE));
	/* No area is left behind: the IOVA is free. */
	ASSERT_EQ(-ENOENT, unmap(self->iommufd, self->ioas_id, IOVA, 8 * PAGE));
	/* The hook fired once; the buffer stays revoked until unrevoked. */
	ASSERT_EQ(-ENODEV, map_file(self->iommufd, self->ioas_id, FIXED,
				    buf.fd, 0, 8 * PAGE, &iova));
	ASSERT_EQ(0, mock_revoke(self->iommufd, IOMMU_TEST_OP_DMABUF_REVOKE,
				 buf.fd, false));
	ASSERT_EQ(0, map_file(self->iommufd, self->ioas_id, FIXED, buf.fd, 0,
			      8 * PAGE, &iova));
	check_slice(_metadata, self->iommufd, self->hwpt_id, IOVA, &buf, 0,
		    8 * PAGE, MOCK_PAGE_SIZE, MMIO_RW);

	/* An IOAS without a domain refuses the revoked import too. */
	ASSERT_EQ(0, ioas_alloc(self->iommufd, &ioas2));
	ASSERT_EQ(0, mock_revoke(self->iommufd,
				 IOMMU_TEST_OP_DMABUF_REVOKE_ON_IMPORT,
				 buf.fd, true));
	ASSERT_EQ(-ENODEV, map_file(self->iommufd, ioas2, FIXED, buf.fd, 0,
				    8 * PAGE, &iova));
	ASSERT_EQ(-ENOENT, unmap(self->iommufd, ioas2, IOVA, 8 * PAGE));
	/* That revoke unmapped the area mapped before it. */
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, IOVA,
					8 * PAGE));

	/* Copying the revoked area maps nothing and says so. */
	ASSERT_LT(0, mock_domain(self->iommufd, ioas2, &hwpt2));
	copy.src_ioas_id = self->ioas_id;
	copy.dst_ioas_id = ioas2;
	copy.src_iova = IOVA;
	ASSERT_EQ(-ENODEV, ic(self->iommufd, IOMMU_IOAS_COPY, &copy));
	ASSERT_EQ(-ENOENT, unmap(self->iommufd, ioas2, IOVA, 8 * PAGE));

	/* Disarmed, a map of the unrevoked buffer just works. */
	ASSERT_EQ(0, mock_revoke(self->iommufd, IOMMU_TEST_OP_DMABUF_REVOKE,
				 buf.fd, false));
	ASSERT_EQ(0, mock_revoke(self->iommufd,
				 IOMMU_TEST_OP_DMABUF_REVOKE_ON_IMPORT,
				 buf.fd, true));
	ASSERT_EQ(0, mock_revoke(self->iommufd,
				 IOMMU_TEST_OP_DMABUF_REVOKE_ON_IMPORT,
				 buf.fd, false));
	ASSERT_EQ(0, map_file(self->iommufd, ioas2, FIXED, buf.fd, 0, 8 * PAGE,
			      &iova));
	check_slice(_metadata, self->iommufd, hwpt2, IOVA, &buf, 0, 8 * PAGE,
		    MOCK_PAGE_SIZE, MMIO_RW);
	ASSERT_EQ(0, unmap(self->iommufd, ioas2, IOVA, 8 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, IOVA, 8 * PAGE));
	close(buf.fd);
}

TEST_HARNESS_MAIN
