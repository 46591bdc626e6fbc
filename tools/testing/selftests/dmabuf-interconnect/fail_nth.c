// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection over the framework's paths: export, negotiation and
 * attach, scatter-gather mapping, and both discovery queries. Each walk
 * fails the 1st, 2nd, ... allocation (slab or page) the call reaches until
 * a run reaches none, and logs how many sites the call reached. A failed
 * call must return an error and leave nothing behind (no fd, no
 * attachment, no mapping; kmemleak checks memory after the run); a call
 * that survives its injected failure (a site whose failure is tolerated)
 * must have done everything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/dma-buf.h>
#include <linux/iommufd.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "../kselftest_harness.h"
#include "../../../../drivers/dma-buf/dmabuf-ic-test.h"
#include "fail_nth.h"

/* More sites than any of these calls reaches; a walk stops long before. */
#define MAX_SITES 1000

static int ic(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static struct dmabuf_ic_test_buf_status buf_status(int dev, int fd)
{
	struct dmabuf_ic_test_buf_status s = { .fd = fd };

	if (ic(dev, DMABUF_IC_TEST_BUF_STATUS, &s))
		s.attachments = -1U;
	return s;
}

/*
 * The walk's last run armed site nth and reached none: the call reached
 * nth - 1 sites (allocations that fault injection can fail).
 */
static void walk_log(struct __test_metadata *_metadata, const char *walk,
		     const struct fail_nth *nth, int failures)
{
	TH_LOG("walk %s: %u fault-injection sites reached, %d of them failed the call",
	       walk, nth->nth - 1, failures);
}

FIXTURE(fail)
{
	int dev;
	struct fail_nth nth;
};

FIXTURE_SETUP(fail)
{
	self->dev = open("/dev/dmabuf_ic_test", O_RDWR);
	if (self->dev < 0)
		SKIP(return, "no /dev/dmabuf_ic_test");
	/* No fault injection is a failure: the kernel config lost it. */
	if (!fail_nth_open(&self->nth))
		TH_LOG("no %s (CONFIG_FAULT_INJECTION_DEBUG_FS, FAILSLAB, FAIL_PAGE_ALLOC)",
		       self->nth.missing);
	ASSERT_LE(0, self->nth.fd);
}

FIXTURE_TEARDOWN(fail)
{
	if (self->dev >= 0)
		close(self->dev);
}

static const struct dmabuf_ic_test_export export_args = {
	.flags = DMABUF_IC_TEST_EXPORT_REVOCABLE,
	.nr_offers = 2,
	.offers = { DMABUF_IC_TEST_PHYS_LIST, DMABUF_IC_TEST_SGT },
	.nr_pages = 4,
};

/* Export: the pages, the offer list, the export state, the dma-buf, the fd. */
TEST_F(fail, export)
{
	struct dmabuf_ic_test_export e = export_args;
	int fd, lowest = lowest_free_fd(), failures = 0;
	bool fired = true;

	while (fired) {
		ASSERT_GT(MAX_SITES, self->nth.nth);
		ASSERT_TRUE(fail_nth_arm(&self->nth));
		fd = ic(self->dev, DMABUF_IC_TEST_EXPORT, &e);
		fired = fail_nth_disarm(&self->nth);
		if (fd < 0) {
			ASSERT_TRUE(fired);
			ASSERT_EQ(-ENOMEM, fd);
			ASSERT_EQ(lowest, lowest_free_fd());
			failures++;
			continue;
		}
		ASSERT_EQ(lowest, fd);
		ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
		close(fd);
	}
	walk_log(_metadata, "export", &self->nth, failures);
	ASSERT_LT(0, failures);
}

/*
 * Attach (negotiation, the accept list, the dma-buf attachment) and then
 * a scatter-gather map of system pages for the test device.
 */
TEST_F(fail, attach_and_map_sgt)
{
	struct dmabuf_ic_test_export e = export_args;
	int fd, id, attach_failures = 0, map_failures = 0;
	bool fired = true;

	fd = ic(self->dev, DMABUF_IC_TEST_EXPORT, &e);
	ASSERT_LE(0, fd);
	while (fired) {
		struct dmabuf_ic_test_attach a = {
			.fd = fd, .flags = DMABUF_IC_TEST_ATTACH_INVALIDATE,
			.nr_accepts = 1, .accepts = { DMABUF_IC_TEST_SGT },
		};

		ASSERT_GT(MAX_SITES, self->nth.nth);
		ASSERT_TRUE(fail_nth_arm(&self->nth));
		id = ic(self->dev, DMABUF_IC_TEST_ATTACH, &a);
		fired = fail_nth_disarm(&self->nth);
		if (id < 0) {
			ASSERT_TRUE(fired);
			ASSERT_EQ(-ENOMEM, id);
			ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
			attach_failures++;
			continue;
		}
		ASSERT_EQ(DMABUF_IC_TEST_SGT, a.negotiated);
		ASSERT_EQ(1, buf_status(self->dev, fd).attachments);
		ASSERT_EQ(0, ic(self->dev, DMABUF_IC_TEST_DETACH, &a.id));
	}
	walk_log(_metadata, "attach", &self->nth, attach_failures);
	ASSERT_LT(0, attach_failures);

	/* Now the map, on one attachment. */
	struct dmabuf_ic_test_attach a = {
		.fd = fd, .flags = DMABUF_IC_TEST_ATTACH_INVALIDATE,
		.nr_accepts = 1, .accepts = { DMABUF_IC_TEST_SGT },
	};

	ASSERT_EQ(0, ic(self->dev, DMABUF_IC_TEST_ATTACH, &a));
	self->nth.nth = 0;
	fired = true;
	while (fired) {
		struct dmabuf_ic_test_map m = { .id = a.id };
		struct dmabuf_ic_test_status st = { .id = a.id };
		int rc;

		ASSERT_GT(MAX_SITES, self->nth.nth);
		ASSERT_TRUE(fail_nth_arm(&self->nth));
		rc = ic(self->dev, DMABUF_IC_TEST_MAP, &m);
		fired = fail_nth_disarm(&self->nth);
		ASSERT_EQ(0, ic(self->dev, DMABUF_IC_TEST_STATUS, &st));
		if (rc) {
			ASSERT_TRUE(fired);
			ASSERT_EQ(-ENOMEM, rc);
			ASSERT_EQ(0, st.mapped);
			ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
			map_failures++;
			continue;
		}
		ASSERT_EQ(1, st.mapped);
		ASSERT_EQ(4 * 4096, m.length);
		ASSERT_EQ(1, buf_status(self->dev, fd).mappings);
		ASSERT_EQ(0, ic(self->dev, DMABUF_IC_TEST_UNMAP, &a.id));
	}
	walk_log(_metadata, "map (sgt)", &self->nth, map_failures);
	ASSERT_LT(0, map_failures);
	ASSERT_EQ(0, ic(self->dev, DMABUF_IC_TEST_DETACH, &a.id));
	close(fd);
}

/*
 * Both discovery queries: ENOMEM or the full answer, nothing else; and
 * IOMMU_DMABUF_GET_INFO, which only negotiates, has no allocation to fail.
 */
TEST_F(fail, discovery)
{
	struct dmabuf_ic_test_export e = export_args;
	struct dmabuf_ic_test_attach a = {
		.nr_accepts = 1, .accepts = { DMABUF_IC_TEST_PHYS_LIST },
		.flags = DMABUF_IC_TEST_ATTACH_INVALIDATE |
			 DMABUF_IC_TEST_ATTACH_PHYS_READER,
	};
	struct iommu_dmabuf_interconnect accepts[2];
	int fd, iommufd, failures = 0;
	bool fired = true;

	fd = ic(self->dev, DMABUF_IC_TEST_EXPORT, &e);
	ASSERT_LE(0, fd);
	a.fd = fd;
	ASSERT_EQ(0, ic(self->dev, DMABUF_IC_TEST_ATTACH, &a));
	while (fired) {
		struct dma_buf_ic_offer offers[2];
		struct dma_buf_ic_info_attachment atts[2];
		struct dma_buf_ic_info info = {
			.size = sizeof(info), .num_offers = 2,
			.offers_uptr = (uintptr_t)offers, .num_attachments = 2,
			.attachments_uptr = (uintptr_t)atts,
		};
		int rc;

		ASSERT_GT(MAX_SITES, self->nth.nth);
		ASSERT_TRUE(fail_nth_arm(&self->nth));
		rc = ic(fd, DMA_BUF_IOCTL_IC_INFO, &info);
		fired = fail_nth_disarm(&self->nth);
		if (rc) {
			ASSERT_TRUE(fired);
			ASSERT_EQ(-ENOMEM, rc);
			failures++;
			continue;
		}
		ASSERT_EQ(2, info.num_offers);
		ASSERT_EQ(1, info.num_attachments);
		ASSERT_STREQ("phys-list", atts[0].interconnect);
	}
	walk_log(_metadata, "DMA_BUF_IOCTL_IC_INFO", &self->nth, failures);
	ASSERT_LT(0, failures);

	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0) {
		close(fd);
		SKIP(return, "no /dev/iommu");
	}
	self->nth.nth = 0;
	failures = 0;
	fired = true;
	while (fired) {
		struct iommu_dmabuf_info info = {
			.size = sizeof(info), .flags = IOMMU_DMABUF_INFO_FD,
			.fd = fd, .num_accepts = 2, .accepts_uptr = (uintptr_t)accepts,
		};
		int rc;

		ASSERT_GT(MAX_SITES, self->nth.nth);
		ASSERT_TRUE(fail_nth_arm(&self->nth));
		rc = ic(iommufd, IOMMU_DMABUF_GET_INFO, &info);
		fired = fail_nth_disarm(&self->nth);
		if (rc) {
			ASSERT_TRUE(fired);
			ASSERT_EQ(-ENOMEM, rc);
			failures++;
			continue;
		}
		ASSERT_STREQ("phys-list", info.out_interconnect);
	}
	walk_log(_metadata, "IOMMU_DMABUF_GET_INFO", &self->nth, failures);
	/* Negotiation allocates nothing: there is no allocation to fail. */
	ASSERT_EQ(0, failures);
	/* Nothing was attached by the queries. */
	ASSERT_EQ(1, buf_status(self->dev, fd).attachments);
	close(iommufd);
	close(fd);
}

TEST_HARNESS_MAIN
