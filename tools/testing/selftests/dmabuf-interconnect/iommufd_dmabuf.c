// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMU_IOAS_MAP_FILE with a dma-buf: iommufd as an importer of the dma-buf
 * interconnect framework. Buffers come from the test exporter
 * (CONFIG_DMABUF_INTERCONNECT_TEST), domains from iommufd's test mock
 * (CONFIG_IOMMUFD_TEST), whose IOMMU_TEST_OP_MD_CHECK_MAPPED tells whether
 * an IOVA range is mapped in a domain.
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
	/* Two areas of one buffer: one revoke unmaps both. */
	ASSERT_EQ(2, buf_status(self->exporter, fd).attachments);
	ASSERT_EQ(0, do_revoke(self->exporter, fd, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, iova, 4 * PAGE));
	ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id, iova2, 2 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 4 * PAGE));
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova2, 2 * PAGE));
	close(fd);
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
 * Fail the 1st, 2nd, ... fault-injection site reached by IOMMU_IOAS_MAP_FILE,
 * until one run reaches none: every failure must return an error and leave
 * no attachment, no mapping in the exporter and nothing in the domain, and
 * a run that survives its injected failure (a site whose failure is
 * tolerated, such as kmemleak's own metadata) must have mapped everything.
 * kmemleak checks the rest after the run.
 */
TEST_F(dmabuf, fail_nth_map_file)
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
			ASSERT_EQ(0, buf_status(self->exporter, self->buf).attachments);
			ASSERT_EQ(0, buf_status(self->exporter, self->buf).mappings);
			ASSERT_EQ(-ENOENT, check_mapped(self->iommufd, self->hwpt_id,
							MOCK_APERTURE_START, 64 * PAGE));
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
	TH_LOG("walk IOMMU_IOAS_MAP_FILE: %u fault-injection sites reached, %u failed the call",
	       nth.nth - 1, failures);
	ASSERT_LT(2, failures);
	ASSERT_EQ(0, unmap(self->iommufd, self->ioas_id, iova, 8 * PAGE));
	ASSERT_EQ(0, buf_status(self->exporter, self->buf).attachments);
}

TEST_HARNESS_MAIN
