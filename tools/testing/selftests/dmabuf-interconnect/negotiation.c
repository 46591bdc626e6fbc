// SPDX-License-Identifier: GPL-2.0-only
/*
 * Negotiation, fallback, mapping, revoke and lifetime of dma-buf
 * interconnects, through the test exporter and importer of
 * CONFIG_DMABUF_INTERCONNECT_TEST (/dev/dmabuf_ic_test).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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
#define INVALIDATE DMABUF_IC_TEST_ATTACH_INVALIDATE
#define IMP_P2P DMABUF_IC_TEST_ATTACH_SGT_P2P
#define READER DMABUF_IC_TEST_ATTACH_PHYS_READER
#define NR_PAGES 3
#define BUF_SIZE (NR_PAGES * 4096UL)

/* Returns the ioctl's result, or -errno. */
static int do_export(int dev, __u32 flags, const __u32 *offers, __u32 nr,
		     __u32 link, __u32 pages)
{
	struct dmabuf_ic_test_export e = {
		.flags = flags, .nr_offers = nr, .link_id = link, .nr_pages = pages,
	};

	memcpy(e.offers, offers, nr * sizeof(*offers));
	return ic(dev, DMABUF_IC_TEST_EXPORT, &e);
}

/* Returns the attachment id, or -errno; *negotiated gets the type. */
static int do_attach(int dev, int fd, __u32 flags, const __u32 *accepts,
		     __u32 nr, __u32 link, __u32 *negotiated)
{
	struct dmabuf_ic_test_attach a = {
		.fd = fd, .flags = flags, .nr_accepts = nr, .link_id = link,
	};
	int ret;

	memcpy(a.accepts, accepts, nr * sizeof(*accepts));
	ret = ic(dev, DMABUF_IC_TEST_ATTACH, &a);
	if (ret)
		return ret;
	if (negotiated)
		*negotiated = a.negotiated;
	return a.id;
}

static int status_errno(int dev, __u32 id)
{
	struct dmabuf_ic_test_status s = { .id = id };

	return ic(dev, DMABUF_IC_TEST_STATUS, &s);
}

/* The lowest free file descriptor: a leaked fd would move it. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

/* A dma-buf of another exporter: udmabuf over a sealed memfd. */
static int udmabuf_create(size_t size)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = size };
	int dev, memfd, fd;

	dev = open("/dev/udmabuf", O_RDWR);
	if (dev < 0)
		return -errno;
	memfd = memfd_create("ic-test", MFD_ALLOW_SEALING);
	if (memfd < 0 || ftruncate(memfd, size) ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		close(dev);
		return -errno;
	}
	c.memfd = memfd;
	fd = ic(dev, UDMABUF_CREATE, &c);
	close(memfd);
	close(dev);
	return fd;
}

FIXTURE(ic)
{
	int dev;
};

FIXTURE_SETUP(ic)
{
	self->dev = open(DEV_PATH, O_RDWR);
	if (self->dev < 0)
		SKIP(return, "%s: %s (CONFIG_DMABUF_INTERCONNECT_TEST)",
		     DEV_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(ic)
{
	if (self->dev >= 0)
		close(self->dev);
}

/*
 * The exporter side of one matrix cell: an ordered offer list with flags.
 * The importer side: a set of accepted types with flags and a link.
 */
struct side {
	__u32 types[3];
	__u32 nr;
	__u32 flags;
	__u32 link;
};

static bool has(const struct side *s, __u32 type)
{
	for (__u32 i = 0; i < s->nr; i++)
		if (s->types[i] == type)
			return true;
	return false;
}

/* One matrix cell in words, for failure messages. */
static const char *cell(const struct side *exp, const struct side *imp)
{
	static char buf[160];

	snprintf(buf, sizeof(buf),
		 "offers %u %u %u/%u flags %#x, accepts %u %u %u/%u flags %#x link %u",
		 exp->types[0], exp->types[1], exp->types[2], exp->nr, exp->flags,
		 imp->types[0], imp->types[1], imp->types[2], imp->nr, imp->flags,
		 imp->link);
	return buf;
}

/* What the contract says the negotiation must give: a type or -errno. */
static int expected(const struct side *exp, const struct side *imp)
{
	/* Physical addresses only for an importer trusted with them. */
	if (has(imp, PHYS) && !(imp->flags & READER))
		return -EPERM;
	if ((exp->flags & REVOCABLE) && !(imp->flags & INVALIDATE))
		return -EOPNOTSUPP;
	for (__u32 i = 0; i < exp->nr; i++) {
		__u32 t = exp->types[i];

		if (!has(imp, t))
			continue;
		if (t == SGT && (exp->flags & EXP_P2P) && !(imp->flags & IMP_P2P))
			continue;
		if (t == LINK && exp->link != imp->link)
			continue;
		return t;
	}
	return -EOPNOTSUPP;
}

/* Every ordered, duplicate-free list of 1 to 3 of the types: 15 lists. */
static int all_orders(struct side *out)
{
	static const __u32 types[] = { SGT, PHYS, LINK };
	int n = 0;

	for (int a = 0; a < 3; a++) {
		out[n++] = (struct side){ { types[a] }, 1 };
		for (int b = 0; b < 3; b++) {
			if (b == a)
				continue;
			out[n++] = (struct side){ { types[a], types[b] }, 2 };
			for (int c = 0; c < 3; c++)
				if (c != a && c != b)
					out[n++] = (struct side){
						{ types[a], types[b], types[c] }, 3 };
		}
	}
	return n;
}

/*
 * Every exporter order and flag combination against every importer accept
 * list, flag combination and link: the negotiated type (or the refusal)
 * must be what the contract says, a successful attach must map exactly
 * the buffer, and nothing may be left attached or mapped afterwards.
 */
TEST_F(ic, negotiation_matrix)
{
	struct side orders[15], exp, imp;
	int n = all_orders(orders), cells = 0, fallbacks = 0, refusals = 0;

	ASSERT_EQ(15, n);
	for (int o = 0; o < n; o++) {
		for (__u32 ef = 0; ef < 4; ef++) {
			int fd;

			exp = orders[o];
			exp.flags = (ef & 1 ? REVOCABLE : 0) | (ef & 2 ? EXP_P2P : 0);
			exp.link = 7;
			fd = do_export(self->dev, exp.flags, exp.types, exp.nr,
				       exp.link, NR_PAGES);
			ASSERT_LE(0, fd);
			/* Importer accept sets: the same 15 lists, as sets. */
			for (int a = 0; a < n; a++) {
				for (__u32 imf = 0; imf < 8; imf++) {
					struct dmabuf_ic_test_map m;
					__u32 negotiated = 0;
					int want, id;

					imp = orders[a];
					/* Half the cells of each set and flags. */
					imp.flags = (imf & 1 ? INVALIDATE : 0) |
						    (imf & 2 ? IMP_P2P : 0) |
						    ((a + imf) & 1 ? READER : 0);
					imp.link = imf & 4 ? 8 : 7;
					want = expected(&exp, &imp);
					id = do_attach(self->dev, fd, imp.flags,
						       imp.types, imp.nr, imp.link,
						       &negotiated);
					cells++;
					if (want < 0) {
						refusals++;
						ASSERT_EQ(want, id)
							TH_LOG("%s", cell(&exp, &imp));
						continue;
					}
					ASSERT_LT(0, id)
						TH_LOG("attach: %s; %s", strerror(-id),
						       cell(&exp, &imp));
					ASSERT_EQ(want, negotiated);
					if ((__u32)want != exp.types[0])
						fallbacks++;
					ASSERT_EQ(want, status(self->dev, id).negotiated);
					ASSERT_EQ(0, do_map(self->dev, id, &m));
					ASSERT_EQ(BUF_SIZE, m.length);
					ASSERT_LE(1, m.nr_segments);
					ASSERT_EQ(1, status(self->dev, id).mapped);
					ASSERT_EQ(1, buf_status(self->dev, fd).mappings);
					ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
				}
			}
			ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
			ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
			close(fd);
		}
	}
	TH_LOG("%d cells: %d refused, %d negotiated past the exporter's first choice",
	       cells, refusals, fallbacks);
	/* The matrix must exercise both outcomes and the fallbacks. */
	ASSERT_LT(0, refusals);
	ASSERT_LT(0, fallbacks);
}

/* Each type maps to what it stands for. */
TEST_F(ic, map_each_type)
{
	static const __u32 types[] = { SGT, PHYS, LINK };

	for (int i = 0; i < 3; i++) {
		struct dmabuf_ic_test_map m;
		__u32 negotiated = 0;
		int fd, id;

		fd = do_export(self->dev, 0, &types[i], 1, 3, NR_PAGES);
		ASSERT_LE(0, fd);
		id = do_attach(self->dev, fd, READER, &types[i], 1, 3, &negotiated);
		ASSERT_LT(0, id);
		ASSERT_EQ(types[i], negotiated);
		ASSERT_EQ(0, do_map(self->dev, id, &m));
		ASSERT_EQ(BUF_SIZE, m.length);
		/* One link mapping; at most one range or segment a page. */
		ASSERT_TRUE(types[i] == LINK ? m.nr_segments == 1 :
			    m.nr_segments <= NR_PAGES);
		/* One mapping per attachment; unmap ends it, once. */
		ASSERT_EQ(-EBUSY, do_map(self->dev, id, &m));
		ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_UNMAP, id));
		ASSERT_EQ(-ENOENT, do_id(self->dev, DMABUF_IC_TEST_UNMAP, id));
		ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
		ASSERT_EQ(0, do_map(self->dev, id, &m));
		/* Detach ends the mapping too. */
		ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
		ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
		ASSERT_EQ(-ENOENT, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
		close(fd);
	}
}

/* The physical list has one range per page when asked to. */
TEST_F(ic, split_ranges)
{
	const __u32 phys = PHYS;
	struct dmabuf_ic_test_map m;
	int fd, id;

	fd = do_export(self->dev, DMABUF_IC_TEST_EXPORT_SPLIT_RANGES, &phys, 1,
		       0, NR_PAGES);
	ASSERT_LE(0, fd);
	id = do_attach(self->dev, fd, READER, &phys, 1, 0, NULL);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, do_map(self->dev, id, &m));
	ASSERT_EQ(NR_PAGES, m.nr_segments);
	ASSERT_EQ(BUF_SIZE, m.length);
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
	close(fd);
}

/* Revoke while mapped: invalidate, unmap, ENODEV, no automatic remap. */
TEST_F(ic, revoke_while_mapped)
{
	const __u32 phys = PHYS, sgt = SGT;
	struct dmabuf_ic_test_map m;
	int fd, id, idle;

	fd = do_export(self->dev, REVOCABLE, &phys, 1, 0, NR_PAGES);
	ASSERT_LE(0, fd);
	id = do_attach(self->dev, fd, INVALIDATE | READER, &phys, 1, 0, NULL);
	ASSERT_LT(0, id);
	idle = do_attach(self->dev, fd, INVALIDATE | READER, &phys, 1, 0, NULL);
	ASSERT_LT(0, idle);
	/* A revocable buffer refuses an importer that cannot be invalidated. */
	ASSERT_EQ(-EOPNOTSUPP, do_attach(self->dev, fd, READER, &phys, 1, 0, NULL));
	ASSERT_EQ(2, buf_status(self->dev, fd).attachments);
	ASSERT_EQ(-EOPNOTSUPP, do_attach(self->dev, fd, INVALIDATE, &sgt, 1, 0, NULL));

	ASSERT_EQ(0, do_map(self->dev, id, &m));
	ASSERT_EQ(1, buf_status(self->dev, fd).mappings);
	ASSERT_EQ(0, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE));
	/* Synchronous: when revoke returns, every mapping is gone. */
	ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
	ASSERT_EQ(DMABUF_IC_TEST_OP_REVOKE, buf_status(self->dev, fd).revoked);
	ASSERT_EQ(1, status(self->dev, id).invalidations);
	ASSERT_EQ(0, status(self->dev, id).mapped);
	ASSERT_EQ(1, status(self->dev, idle).invalidations);
	ASSERT_EQ(-ENODEV, do_map(self->dev, id, &m));
	ASSERT_EQ(-ENODEV, do_map(self->dev, idle, &m));
	/* Revoking again invalidates nobody. */
	ASSERT_EQ(0, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(1, status(self->dev, id).invalidations);

	/* Unrevoke allows maps but maps nothing by itself. */
	ASSERT_EQ(0, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_UNREVOKE));
	ASSERT_EQ(0, status(self->dev, id).mapped);
	ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
	ASSERT_EQ(1, status(self->dev, id).invalidations);
	ASSERT_EQ(0, do_map(self->dev, id, &m));
	ASSERT_EQ(BUF_SIZE, m.length);
	ASSERT_EQ(1, buf_status(self->dev, fd).mappings);

	/* For good: cannot be undone, takes no new importers. */
	ASSERT_EQ(0, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE_PERMANENTLY));
	ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
	ASSERT_EQ(2, status(self->dev, id).invalidations);
	ASSERT_EQ(DMABUF_IC_TEST_OP_REVOKE_PERMANENTLY, buf_status(self->dev, fd).revoked);
	ASSERT_EQ(-ENODEV, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_UNREVOKE));
	ASSERT_EQ(-ENODEV, do_map(self->dev, id, &m));
	ASSERT_EQ(-ENODEV, do_attach(self->dev, fd, INVALIDATE | READER, &phys, 1, 0, NULL));
	ASSERT_EQ(2, buf_status(self->dev, fd).attachments);
	close(fd);
}

/* Closing the dma-buf fd first: the attachment keeps the buffer alive. */
TEST_F(ic, close_fd_first)
{
	const __u32 phys = PHYS;
	struct dmabuf_ic_test_map m;
	int fd, id;

	fd = do_export(self->dev, REVOCABLE, &phys, 1, 0, NR_PAGES);
	ASSERT_LE(0, fd);
	id = do_attach(self->dev, fd, INVALIDATE | READER, &phys, 1, 0, NULL);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, do_map(self->dev, id, &m));
	close(fd);
	ASSERT_EQ(1, status(self->dev, id).mapped);
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_UNMAP, id));
	ASSERT_EQ(0, do_map(self->dev, id, &m));
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
}

/* Detaching first leaves nothing on the buffer. */
TEST_F(ic, close_attachment_first)
{
	const __u32 link = LINK;
	struct dmabuf_ic_test_map m;
	int fd, id;

	fd = do_export(self->dev, 0, &link, 1, 5, NR_PAGES);
	ASSERT_LE(0, fd);
	id = do_attach(self->dev, fd, 0, &link, 1, 5, NULL);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, do_map(self->dev, id, &m));
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
	ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
	ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
	ASSERT_EQ(-ENOENT, status_errno(self->dev, id));
	close(fd);
}

/*
 * The exporter goes first: closing the exporting context revokes its
 * buffers for good; an importer in another context sees a revoked buffer.
 */
TEST_F(ic, close_exporter_first)
{
	const __u32 phys = PHYS;
	struct dmabuf_ic_test_map m;
	int exporter, fd, id;

	exporter = open(DEV_PATH, O_RDWR);
	ASSERT_LE(0, exporter);
	fd = do_export(exporter, REVOCABLE, &phys, 1, 0, NR_PAGES);
	ASSERT_LE(0, fd);
	id = do_attach(self->dev, fd, INVALIDATE | READER, &phys, 1, 0, NULL);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, do_map(self->dev, id, &m));
	close(exporter);
	ASSERT_EQ(0, status(self->dev, id).mapped);
	ASSERT_EQ(1, status(self->dev, id).invalidations);
	ASSERT_EQ(DMABUF_IC_TEST_OP_REVOKE_PERMANENTLY, buf_status(self->dev, fd).revoked);
	ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
	ASSERT_EQ(-ENODEV, do_map(self->dev, id, &m));
	ASSERT_EQ(-ENODEV, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_UNREVOKE));
	close(fd);
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
}

/* Closing the importing context while mapped ends mapping and attachment. */
TEST_F(ic, close_importer_first)
{
	const __u32 sgt = SGT;
	struct dmabuf_ic_test_map m;
	int importer, fd, id;

	fd = do_export(self->dev, 0, &sgt, 1, 0, NR_PAGES);
	ASSERT_LE(0, fd);
	importer = open(DEV_PATH, O_RDWR);
	ASSERT_LE(0, importer);
	id = do_attach(importer, fd, 0, &sgt, 1, 0, NULL);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, do_map(importer, id, &m));
	ASSERT_EQ(1, buf_status(self->dev, fd).mappings);
	close(importer);
	ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
	ASSERT_EQ(0, buf_status(self->dev, fd).mappings);
	close(fd);
}

/* Another exporter's buffer: only the classic table, never revocable. */
TEST_F(ic, foreign_exporter_falls_back_to_sgt)
{
	const __u32 phys = PHYS, link = LINK, both[] = { PHYS, SGT };
	struct dmabuf_ic_test_map m;
	__u32 negotiated = 0;
	int fd, id;

	fd = udmabuf_create(BUF_SIZE);
	if (fd < 0)
		SKIP(return, "no udmabuf: %s", strerror(-fd));
	ASSERT_EQ(-EOPNOTSUPP, do_attach(self->dev, fd, INVALIDATE | READER, &phys, 1, 0, NULL));
	ASSERT_EQ(-EOPNOTSUPP, do_attach(self->dev, fd, 0, &link, 1, 0, NULL));
	id = do_attach(self->dev, fd, READER, both, 2, 0, &negotiated);
	ASSERT_LT(0, id);
	ASSERT_EQ(SGT, negotiated);
	ASSERT_EQ(0, do_map(self->dev, id, &m));
	ASSERT_EQ(BUF_SIZE, m.length);
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_UNMAP, id));
	/* The exporter's commands refuse buffers of other exporters. */
	ASSERT_EQ(-EINVAL, do_revoke(self->dev, fd, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(-1U, buf_status(self->dev, fd).revoked);
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
	close(fd);
}

/*
 * Physical addresses only for an importer trusted with them: an ordinary
 * one that asks for the physical list is refused (EPERM) and nothing is
 * attached; it gets what it may accept, the exporter's next choice.
 */
TEST_F(ic, ordinary_importer_gets_no_phys)
{
	const __u32 phys = PHYS, both[] = { PHYS, SGT };
	__u32 negotiated = 0;
	int fd, id;

	fd = do_export(self->dev, 0, both, 2, 0, NR_PAGES);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-EPERM, do_attach(self->dev, fd, 0, &phys, 1, 0, NULL));
	ASSERT_EQ(-EPERM, do_attach(self->dev, fd, INVALIDATE, both, 2, 0, NULL));
	ASSERT_EQ(0, buf_status(self->dev, fd).attachments);
	id = do_attach(self->dev, fd, 0, &both[1], 1, 0, &negotiated);
	ASSERT_LT(0, id);
	ASSERT_EQ(SGT, negotiated);
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, id));
	close(fd);
}

/* Bad exports fail with EINVAL and create no fd. */
TEST_F(ic, export_bad_input)
{
	const __u32 dup[] = { SGT, SGT }, unknown[] = { 4 }, none[] = { 0 };
	const __u32 ok[] = { PHYS };
	int free_fd = lowest_free_fd();
	struct dmabuf_ic_test_export e = { .nr_offers = 5, .nr_pages = 1 };

	ASSERT_EQ(-EINVAL, do_export(self->dev, 0, ok, 0, 0, 1));
	ASSERT_EQ(-EINVAL, ic(self->dev, DMABUF_IC_TEST_EXPORT, &e));
	ASSERT_EQ(-EINVAL, do_export(self->dev, 0, dup, 2, 0, 1));
	ASSERT_EQ(-EINVAL, do_export(self->dev, 0, unknown, 1, 0, 1));
	ASSERT_EQ(-EINVAL, do_export(self->dev, 0, none, 1, 0, 1));
	ASSERT_EQ(-EINVAL, do_export(self->dev, 1U << 3, ok, 1, 0, 1));
	ASSERT_EQ(-EINVAL, do_export(self->dev, 0, ok, 1, 0, 0));
	ASSERT_EQ(-EINVAL, do_export(self->dev, 0, ok, 1, 0,
				     DMABUF_IC_TEST_MAX_PAGES + 1));
	ASSERT_EQ(-EFAULT, ic(self->dev, DMABUF_IC_TEST_EXPORT, (void *)8));
	ASSERT_EQ(-ENOTTY, ic(self->dev, _IO(DMABUF_IC_TEST_IOC, 99), NULL));
	ASSERT_EQ(free_fd, lowest_free_fd());
}

/* Bad attaches fail with a clear errno and leave nothing attached. */
TEST_F(ic, attach_bad_input)
{
	const __u32 dup[] = { PHYS, PHYS }, unknown[] = { 9 }, phys = PHYS;
	int fd, null_fd, ids[DMABUF_IC_TEST_MAX_ATTACHMENTS];

	fd = do_export(self->dev, 0, &phys, 1, 0, 1);
	ASSERT_LE(0, fd);
	null_fd = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, null_fd);
	ASSERT_EQ(-EBADF, do_attach(self->dev, -1, READER, &phys, 1, 0, NULL));
	ASSERT_EQ(-EINVAL, do_attach(self->dev, null_fd, READER, &phys, 1, 0, NULL));
	ASSERT_EQ(-EINVAL, do_attach(self->dev, fd, READER, &phys, 0, 0, NULL));
	ASSERT_EQ(-EINVAL, do_attach(self->dev, fd, READER, dup, 2, 0, NULL));
	ASSERT_EQ(-EINVAL, do_attach(self->dev, fd, 0, unknown, 1, 0, NULL));
	ASSERT_EQ(-EINVAL, do_attach(self->dev, fd, 1U << 5, &phys, 1, 0, NULL));
	/* A PCI device that does not exist (domain 0xffff). */
	struct dmabuf_ic_test_attach a = {
		.fd = fd, .flags = DMABUF_IC_TEST_ATTACH_PCI_DEV | READER, .nr_accepts = 1,
		.accepts = { PHYS }, .pci_dev = 0xffffffff,
	};
	ASSERT_EQ(-ENODEV, ic(self->dev, DMABUF_IC_TEST_ATTACH, &a));
	ASSERT_EQ(0, buf_status(self->dev, fd).attachments);

	/* The context holds a bounded number of attachments. */
	for (int i = 0; i < DMABUF_IC_TEST_MAX_ATTACHMENTS; i++) {
		ids[i] = do_attach(self->dev, fd, READER, &phys, 1, 0, NULL);
		ASSERT_LT(0, ids[i]);
	}
	ASSERT_EQ(-ENOSPC, do_attach(self->dev, fd, READER, &phys, 1, 0, NULL));
	ASSERT_EQ(DMABUF_IC_TEST_MAX_ATTACHMENTS, buf_status(self->dev, fd).attachments);
	/* A freed id is reused. */
	ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, ids[7]));
	ASSERT_EQ(ids[7], do_attach(self->dev, fd, READER, &phys, 1, 0, NULL));
	for (int i = 0; i < DMABUF_IC_TEST_MAX_ATTACHMENTS; i++)
		ASSERT_EQ(0, do_id(self->dev, DMABUF_IC_TEST_DETACH, ids[i]));
	ASSERT_EQ(0, buf_status(self->dev, fd).attachments);

	/* Other commands on bad ids, fds and operations. */
	ASSERT_EQ(-ENOENT, do_id(self->dev, DMABUF_IC_TEST_DETACH, 0));
	ASSERT_EQ(-ENOENT, do_id(self->dev, DMABUF_IC_TEST_UNMAP, 1000));
	ASSERT_EQ(-ENOENT, status_errno(self->dev, 1));
	ASSERT_EQ(-EBADF, do_revoke(self->dev, -1, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(-EINVAL, do_revoke(self->dev, null_fd, DMABUF_IC_TEST_OP_REVOKE));
	ASSERT_EQ(-EINVAL, do_revoke(self->dev, fd, 3));
	ASSERT_EQ(DMABUF_IC_TEST_OP_UNREVOKE, buf_status(self->dev, fd).revoked);
	close(null_fd);
	close(fd);
}

TEST_HARNESS_MAIN
