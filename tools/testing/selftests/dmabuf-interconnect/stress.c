// SPDX-License-Identifier: GPL-2.0-only
/*
 * Races, for a bounded time: threads map and unmap through the test
 * importer, attach and detach, map and unmap the buffer in an iommufd
 * IOAS (two of them in one shared context, where their maps share one
 * import), query it, and close and reopen their fds, while one thread
 * revokes and un-revokes it. Invariants checked while it runs:
 *
 * - when a revoke returns, no mapping of the buffer is left (the revoking
 *   thread alone un-revokes, so nothing can map in between), and a map
 *   fails with ENODEV until it un-revokes;
 * - every call returns success or one of its documented errnos.
 *
 * Afterwards every attachment is gone and the buffer is freed; KASAN,
 * lockdep and kmemleak judge the rest. The same, with VFIO as the
 * exporter, against virtio-rng's FLR and memory disable, and against the
 * IOMMU driver's unmap with a real domain (race_revoke_iommu_unmap).
 * STRESS_SECONDS sets the time (default 10; see timed.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/iommufd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>

#include "../kselftest_harness.h"
#include "../../../../drivers/dma-buf/dmabuf-ic-test.h"
#include "timed.h"
#include "vfio_utils.h"

#define PAGES 4

struct shared {
	int exporter;		/* the exporting context */
	int buf;		/* the dma-buf, shared by every thread */
	atomic_bool stop;
	/*
	 * Odd from the return of a revoke until just before the next
	 * un-revoke, even otherwise; bumped by the revoker alone.
	 */
	atomic_uint epoch;
	atomic_uint ops;
	atomic_uint maps, maps_refused;	/* importer maps: done, ENODEV */
	atomic_uint errors;	/* undocumented errnos and broken invariants */
	char first_error[160];
};

static void fail(struct shared *s, const char *what, int rc)
{
	if (atomic_fetch_add(&s->errors, 1) == 0)
		snprintf(s->first_error, sizeof(s->first_error), "%s: %d (%s)",
			 what, rc, strerror(-rc));
}

/* Whether @rc is success or one of the errnos in the 0-ended @allowed. */
static bool documented(int rc, const int *allowed)
{
	if (rc >= 0)
		return true;
	for (; *allowed; allowed++)
		if (rc == -*allowed)
			return true;
	return false;
}

/* Live dma-bufs, from debugfs' bufinfo ("Total N objects"), or -1. */
static int dma_buf_count(void)
{
	FILE *f = fopen("/sys/kernel/debug/dma_buf/bufinfo", "r");
	char line[256];
	int n = -1;

	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "Total %d objects", &n);
	if (f)
		fclose(f);
	return n;
}

static struct dmabuf_ic_test_buf_status buf_status(struct shared *s)
{
	struct dmabuf_ic_test_buf_status st = { .fd = s->buf };

	ic(s->exporter, DMABUF_IC_TEST_BUF_STATUS, &st);
	return st;
}

/*
 * Maps and unmaps attachment @id of context @dev four times: a map may fail
 * with ENODEV (revoked), and must when the whole call fell within one
 * revoked period; an unmap may find nothing (ENOENT, invalidated).
 */
static void map_unmap(struct shared *s, int dev, __u32 id)
{
	static const int map_ok[] = { ENODEV, 0 };
	static const int unmap_ok[] = { ENOENT, 0 };

	for (int i = 0; i < 4; i++) {
		struct dmabuf_ic_test_map m = { .id = id };
		unsigned int before = atomic_load(&s->epoch);
		int rc = ic(dev, DMABUF_IC_TEST_MAP, &m);

		if (!documented(rc, map_ok))
			fail(s, "map", rc);
		atomic_fetch_add(rc ? &s->maps_refused : &s->maps, 1);
		if (!rc && (before & 1) && atomic_load(&s->epoch) == before)
			fail(s, "a map succeeded while revoked", rc);
		rc = ic(dev, DMABUF_IC_TEST_UNMAP, &id);
		if (!documented(rc, unmap_ok))
			fail(s, "unmap", rc);
	}
}

/* Revokes and un-revokes; checks that a returned revoke left no mapping. */
static void *revoker(void *arg)
{
	struct shared *s = arg;

	while (!atomic_load(&s->stop)) {
		struct dmabuf_ic_test_revoke r = { .fd = s->buf };
		int rc;

		r.op = DMABUF_IC_TEST_OP_REVOKE;
		rc = ic(s->exporter, DMABUF_IC_TEST_REVOKE, &r);
		if (rc)
			fail(s, "revoke", rc);
		atomic_fetch_add(&s->epoch, 1);
		if (buf_status(s).mappings != 0)
			fail(s, "a mapping survived a revoke", -EBUSY);
		usleep(rand() % 2000);
		if (buf_status(s).mappings != 0)
			fail(s, "mapped while revoked", -EBUSY);
		atomic_fetch_add(&s->epoch, 1);
		r.op = DMABUF_IC_TEST_OP_UNREVOKE;
		rc = ic(s->exporter, DMABUF_IC_TEST_REVOKE, &r);
		if (rc)
			fail(s, "unrevoke", rc);
		usleep(rand() % 2000);
		atomic_fetch_add(&s->ops, 2);
	}
	return NULL;
}

/* Attaches, maps, unmaps and detaches through a context of its own. */
static void *importer(void *arg)
{
	static const int attach_ok[] = { 0 };
	struct shared *s = arg;
	int dev = open("/dev/dmabuf_ic_test", O_RDWR);

	while (!atomic_load(&s->stop)) {
		struct dmabuf_ic_test_attach a = {
			.fd = s->buf, .flags = DMABUF_IC_TEST_ATTACH_INVALIDATE |
					       DMABUF_IC_TEST_ATTACH_PHYS_READER,
			.nr_accepts = 1,
			.accepts = { rand() & 1 ? DMABUF_IC_TEST_SGT :
					DMABUF_IC_TEST_PHYS_LIST },
		};
		int rc = ic(dev, DMABUF_IC_TEST_ATTACH, &a);

		if (!documented(rc, attach_ok)) {
			fail(s, "attach", rc);
			continue;
		}
		map_unmap(s, dev, a.id);
		/* Half the time, leave the attachment to the close below. */
		if (rand() & 1) {
			rc = ic(dev, DMABUF_IC_TEST_DETACH, &a.id);
			if (rc)
				fail(s, "detach", rc);
		} else {
			close(dev);
			dev = open("/dev/dmabuf_ic_test", O_RDWR);
		}
		atomic_fetch_add(&s->ops, 6);
	}
	close(dev);
	return NULL;
}

/* Maps the buffer into an IOAS and unmaps it; queries both ways. */
static void *iommufd_user(void *arg)
{
	static const int map_ok[] = { ENODEV, 0 };
	static const int query_ok[] = { EMSGSIZE, 0 };
	struct shared *s = arg;
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int iommufd = open("/dev/iommu", O_RDWR);

	if (iommufd < 0 || ic(iommufd, IOMMU_IOAS_ALLOC, &alloc)) {
		fail(s, "iommufd", -errno);
		return NULL;
	}
	while (!atomic_load(&s->stop)) {
		struct iommu_ioas_map_file map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = alloc.out_ioas_id, .fd = s->buf,
			.length = PAGES * 4096,
		};
		struct iommu_dmabuf_info info = {
			.size = sizeof(info), .flags = IOMMU_DMABUF_INFO_FD,
			.fd = s->buf,
		};
		struct dma_buf_ic_info bi = { .size = sizeof(bi) };
		int rc = ic(iommufd, IOMMU_IOAS_MAP_FILE, &map);

		if (!documented(rc, map_ok))
			fail(s, "IOMMU_IOAS_MAP_FILE", rc);
		if (!rc) {
			struct iommu_ioas_unmap unmap = {
				.size = sizeof(unmap), .ioas_id = alloc.out_ioas_id,
				.iova = map.iova, .length = map.length,
			};

			rc = ic(iommufd, IOMMU_IOAS_UNMAP, &unmap);
			if (rc)
				fail(s, "IOMMU_IOAS_UNMAP", rc);
		}
		rc = ic(iommufd, IOMMU_DMABUF_GET_INFO, &info);
		if (!documented(rc, query_ok))
			fail(s, "IOMMU_DMABUF_GET_INFO", rc);
		rc = ic(s->buf, DMA_BUF_IOCTL_IC_INFO, &bi);
		if (!documented(rc, query_ok))
			fail(s, "DMA_BUF_IOCTL_IC_INFO", rc);
		atomic_fetch_add(&s->ops, 4);
	}
	close(iommufd);
	return NULL;
}

/*
 * Two of these share one iommufd context, so their maps of the buffer join
 * one import: either thread may unmap the map that made the import while the
 * other's map still uses it, and a revoke may come at any point of that.
 */
struct ctx_share {
	struct shared *s;
	int iommufd;
	__u32 ioas;
	atomic_uint held;	/* maps of this context now */
	atomic_uint overlaps;	/* maps made while the other thread held one */
};

static void *iommufd_sharer(void *arg)
{
	static const int map_ok[] = { ENODEV, 0 };
	struct ctx_share *c = arg;
	struct shared *s = c->s;

	while (!atomic_load(&s->stop)) {
		struct iommu_ioas_map_file map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = c->ioas, .fd = s->buf, .length = PAGES * 4096,
		};
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap), .ioas_id = c->ioas,
		};
		unsigned int before = atomic_load(&s->epoch);
		int rc = ic(c->iommufd, IOMMU_IOAS_MAP_FILE, &map);

		atomic_fetch_add(&s->ops, 1);
		if (!documented(rc, map_ok))
			fail(s, "IOMMU_IOAS_MAP_FILE (shared context)", rc);
		if (rc)
			continue;
		if ((before & 1) && atomic_load(&s->epoch) == before)
			fail(s, "IOMMU_IOAS_MAP_FILE succeeded while revoked", rc);
		if (atomic_fetch_add(&c->held, 1))
			atomic_fetch_add(&c->overlaps, 1);
		usleep(rand() % 1000);
		atomic_fetch_sub(&c->held, 1);
		unmap.iova = map.iova;
		unmap.length = map.length;
		rc = ic(c->iommufd, IOMMU_IOAS_UNMAP, &unmap);
		if (rc)
			fail(s, "IOMMU_IOAS_UNMAP (shared context)", rc);
		atomic_fetch_add(&s->ops, 1);
	}
	return NULL;
}

/* No state: a fixture only for the timeout of TEST_F_TIMEOUT(). */
FIXTURE(stress) {};
FIXTURE_SETUP(stress) {}
FIXTURE_TEARDOWN(stress) {}

TEST_F_TIMEOUT(stress, race_revoke_map_attach_close, TIMED_TEST_TIMEOUT)
{
	static const __u32 offers[] = { DMABUF_IC_TEST_PHYS_LIST, DMABUF_IC_TEST_SGT };
	struct dmabuf_ic_test_export e = {
		.flags = DMABUF_IC_TEST_EXPORT_REVOCABLE, .nr_offers = 2,
		.nr_pages = PAGES,
	};
	int seconds = timed_test_seconds(_metadata, "STRESS_SECONDS");
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct shared s = { 0 };
	struct ctx_share c = { .s = &s };
	int n = 0, buffers = dma_buf_count();
	pthread_t threads[8];

	s.exporter = open("/dev/dmabuf_ic_test", O_RDWR);
	if (s.exporter < 0)
		SKIP(return, "no /dev/dmabuf_ic_test");
	memcpy(e.offers, offers, sizeof(offers));
	s.buf = ic(s.exporter, DMABUF_IC_TEST_EXPORT, &e);
	ASSERT_LE(0, s.buf);
	srand(1);

	ASSERT_EQ(0, pthread_create(&threads[n++], NULL, revoker, &s));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&threads[n++], NULL, importer, &s));
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&threads[n++], NULL, iommufd_user, &s));
	c.iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, c.iommufd);
	ASSERT_EQ(0, ic(c.iommufd, IOMMU_IOAS_ALLOC, &alloc));
	c.ioas = alloc.out_ioas_id;
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&threads[n++], NULL, iommufd_sharer, &c));
	sleep(seconds);
	atomic_store(&s.stop, true);
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);

	TH_LOG("%d threads, %d s, %u operations (%u revokes, %u maps, %u refused), %u errors",
	       n, seconds, atomic_load(&s.ops), atomic_load(&s.epoch) / 2,
	       atomic_load(&s.maps), atomic_load(&s.maps_refused),
	       atomic_load(&s.errors));
	if (atomic_load(&s.errors))
		TH_LOG("first: %s", s.first_error);
	ASSERT_EQ(0, atomic_load(&s.errors));
	/* Both outcomes happened, or the race was not raced. */
	ASSERT_LT(0, atomic_load(&s.maps));
	ASSERT_LT(0, atomic_load(&s.maps_refused));
	/*
	 * The shared context's maps overlapped: each such map joined the
	 * other's import, unless a revoke came between them.
	 */
	TH_LOG("shared context: %u maps made while the other thread held one",
	       atomic_load(&c.overlaps));
	ASSERT_LT(0, atomic_load(&c.overlaps));
	close(c.iommufd);
	/* Every importer let go: no attachment, no mapping. */
	ASSERT_EQ(0, buf_status(&s).attachments);
	ASSERT_EQ(0, buf_status(&s).mappings);
	close(s.buf);
	close(s.exporter);
	/* No dma-buf leaked (the test made one; fds closed, it is gone). */
	if (buffers >= 0)
		ASSERT_EQ(buffers, dma_buf_count());
}

/*
 * The real exporter: VFIO's dma-bufs of virtio-rng's BAR4 (a PCIe device
 * with FLR). One thread revokes by memory disable or by FLR
 * (VFIO_DEVICE_RESET) and checks, through DMA_BUF_IOCTL_IC_INFO, that the
 * current buffer is revoked with no importer mapped; one re-exports the
 * BAR and closes the old buffer; others map it into an IOAS and through
 * the test importer, while another attaches the device to that IOAS and
 * detaches it, so a domain comes and goes under the areas. At the end the
 * device is closed with a buffer still attached: it must report revoked
 * for good, nothing mapped; and no dma-buf is left.
 */
struct vfio_shared {
	struct shared s;
	int device, iommufd;
	__u32 ioas;		/* shared by the iommufd user and the attacher */
	pthread_mutex_t lock;	/* protects cur_fd */
	int cur_fd;		/* the current dma-buf */
};

#define VIRTIO_BAR VFIO_PCI_BAR4_REGION_INDEX
#define VIRTIO_BAR_SIZE (16 * 1024)

/* A duplicate of the current buffer's fd, which the caller closes. */
static int current_buf(struct vfio_shared *v)
{
	int fd;

	pthread_mutex_lock(&v->lock);
	fd = dup(v->cur_fd);
	pthread_mutex_unlock(&v->lock);
	return fd;
}

/*
 * out_flags of the buffer, and whether an importer holds it mapped; with
 * @attachments, how many importers are attached.
 */
static __u32 vfio_buf_state(int fd, bool *mapped, unsigned int *attachments)
{
	struct dma_buf_ic_info_attachment atts[16];
	struct dma_buf_ic_info info = {
		.size = sizeof(info), .num_attachments = 16,
		.attachments_uptr = (uintptr_t)atts,
	};
	int rc = ic(fd, DMA_BUF_IOCTL_IC_INFO, &info);

	*mapped = false;
	if (attachments)
		*attachments = rc && rc != -EMSGSIZE ? -1U : info.num_attachments;
	if (rc && rc != -EMSGSIZE)
		return 0;
	for (unsigned int i = 0; i < info.num_attachments && i < 16; i++)
		if (atts[i].flags & DMA_BUF_IC_ATTACHMENT_MAPPED)
			*mapped = true;
	return info.out_flags;
}

static void *vfio_revoker(void *arg)
{
	struct vfio_shared *v = arg;
	struct shared *s = &v->s;

	while (!atomic_load(&s->stop)) {
		bool flr = rand() % 4 == 0, mapped;
		int fd, rc;

		if (flr) {
			rc = ic(v->device, VFIO_DEVICE_RESET, NULL);
			if (rc)
				fail(s, "VFIO_DEVICE_RESET", rc);
			/* Revoked during the reset, usable again after it. */
			atomic_fetch_add(&s->epoch, 2);
		} else {
			set_command(v->device, 0, PCI_COMMAND_MEMORY);
			atomic_fetch_add(&s->epoch, 1);
			fd = current_buf(v);
			if (!(vfio_buf_state(fd, &mapped, NULL) & DMA_BUF_IC_INFO_REVOKED))
				fail(s, "not revoked after memory disable", -EINVAL);
			if (mapped)
				fail(s, "an importer mapped while revoked", -EBUSY);
			close(fd);
			usleep(rand() % 2000);
			atomic_fetch_add(&s->epoch, 1);
			set_command(v->device, PCI_COMMAND_MEMORY, 0);
		}
		usleep(rand() % 2000);
		atomic_fetch_add(&s->ops, 2);
	}
	return NULL;
}

static void *vfio_exporter(void *arg)
{
	struct vfio_region_dma_range whole = { 0, VIRTIO_BAR_SIZE };
	struct vfio_shared *v = arg;
	struct shared *s = &v->s;

	while (!atomic_load(&s->stop)) {
		int fd = get_dma_buf(v->device, VIRTIO_BAR, 0, O_CLOEXEC, &whole, 1);

		if (fd < 0) {
			fail(&v->s, "VFIO_DEVICE_FEATURE_DMA_BUF", fd);
			continue;
		}
		pthread_mutex_lock(&v->lock);
		close(v->cur_fd);
		v->cur_fd = fd;
		pthread_mutex_unlock(&v->lock);
		usleep(rand() % 5000);
		atomic_fetch_add(&s->ops, 1);
	}
	return NULL;
}

static void *vfio_importer(void *arg)
{
	struct vfio_shared *v = arg;
	struct shared *s = &v->s;
	int dev = open("/dev/dmabuf_ic_test", O_RDWR);

	while (!atomic_load(&s->stop)) {
		struct dmabuf_ic_test_attach a = {
			.fd = current_buf(v), .flags = DMABUF_IC_TEST_ATTACH_INVALIDATE |
						       DMABUF_IC_TEST_ATTACH_PHYS_READER,
			.nr_accepts = 1, .accepts = { DMABUF_IC_TEST_PHYS_LIST },
		};
		int rc = ic(dev, DMABUF_IC_TEST_ATTACH, &a);

		close(a.fd);
		if (rc) {
			fail(s, "attach", rc);
			continue;
		}
		map_unmap(s, dev, a.id);
		if (ic(dev, DMABUF_IC_TEST_DETACH, &a.id))
			fail(s, "detach", -EINVAL);
		atomic_fetch_add(&s->ops, 10);
	}
	close(dev);
	return NULL;
}

/*
 * Attaches the device to the IOAS and detaches it: a domain comes and goes
 * under the dma-buf areas (filled and emptied while revokes run).
 */
static void *vfio_attacher(void *arg)
{
	struct vfio_shared *v = arg;
	struct shared *s = &v->s;

	while (!atomic_load(&s->stop)) {
		struct vfio_device_attach_iommufd_pt at = {
			.argsz = sizeof(at), .pt_id = v->ioas,
		};
		struct vfio_device_detach_iommufd_pt de = { .argsz = sizeof(de) };
		int rc = ic(v->device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);

		if (rc)
			fail(s, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", rc);
		usleep(rand() % 3000);
		rc = ic(v->device, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de);
		if (rc)
			fail(s, "VFIO_DEVICE_DETACH_IOMMUFD_PT", rc);
		usleep(rand() % 1000);
		atomic_fetch_add(&s->ops, 2);
	}
	return NULL;
}

static void *vfio_iommufd_user(void *arg)
{
	static const int map_ok[] = { ENODEV, 0 };
	struct vfio_shared *v = arg;
	struct shared *s = &v->s;

	while (!atomic_load(&s->stop)) {
		struct iommu_ioas_map_file map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = v->ioas, .fd = current_buf(v),
			.length = VIRTIO_BAR_SIZE,
		};
		int rc = ic(v->iommufd, IOMMU_IOAS_MAP_FILE, &map);

		close(map.fd);
		if (!documented(rc, map_ok))
			fail(s, "IOMMU_IOAS_MAP_FILE", rc);
		if (!rc) {
			struct iommu_ioas_unmap unmap = {
				.size = sizeof(unmap), .ioas_id = v->ioas,
				.iova = map.iova, .length = map.length,
			};

			usleep(rand() % 1000);
			rc = ic(v->iommufd, IOMMU_IOAS_UNMAP, &unmap);
			if (rc)
				fail(s, "IOMMU_IOAS_UNMAP", rc);
		}
		atomic_fetch_add(&s->ops, 2);
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, race_vfio_revoke_export_map, TIMED_TEST_TIMEOUT)
{
	struct vfio_region_dma_range whole = { 0, VIRTIO_BAR_SIZE };
	int seconds = timed_test_seconds(_metadata, "STRESS_SECONDS");
	struct vfio_shared v = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct dmabuf_ic_test_attach a = {
		.flags = DMABUF_IC_TEST_ATTACH_INVALIDATE |
			 DMABUF_IC_TEST_ATTACH_PHYS_READER,
		.nr_accepts = 1, .accepts = { DMABUF_IC_TEST_PHYS_LIST },
	};
	struct dmabuf_ic_test_map m = {};
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int buffers = dma_buf_count();
	pthread_t threads[6];
	char bdf[256];
	bool mapped;
	int n = 0, dev;

	dev = open("/dev/dmabuf_ic_test", O_RDWR);
	if (dev < 0)
		SKIP(return, "no /dev/dmabuf_ic_test");
	v.device = vfio_bind("0x1af4", "0x1044", bdf, NULL);
	if (v.device < 0)
		SKIP(return, "no virtio-rng-pci bound to vfio-pci with a VFIO cdev");
	v.iommufd = iommufd_bind(v.device);
	ASSERT_LE(0, v.iommufd);
	ASSERT_EQ(0, ic(v.iommufd, IOMMU_IOAS_ALLOC, &alloc));
	v.ioas = alloc.out_ioas_id;
	set_command(v.device, PCI_COMMAND_MEMORY, 0);
	v.cur_fd = get_dma_buf(v.device, VIRTIO_BAR, 0, O_CLOEXEC, &whole, 1);
	ASSERT_LE(0, v.cur_fd);
	srand(2);

	ASSERT_EQ(0, pthread_create(&threads[n++], NULL, vfio_revoker, &v));
	ASSERT_EQ(0, pthread_create(&threads[n++], NULL, vfio_exporter, &v));
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&threads[n++], NULL, vfio_importer, &v));
	ASSERT_EQ(0, pthread_create(&threads[n++], NULL, vfio_iommufd_user, &v));
	ASSERT_EQ(0, pthread_create(&threads[n++], NULL, vfio_attacher, &v));
	sleep(seconds);
	atomic_store(&v.s.stop, true);
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	TH_LOG("%d threads, %d s, %u operations (%u maps, %u refused), %u errors",
	       n, seconds, atomic_load(&v.s.ops), atomic_load(&v.s.maps),
	       atomic_load(&v.s.maps_refused), atomic_load(&v.s.errors));
	if (atomic_load(&v.s.errors))
		TH_LOG("first: %s", v.s.first_error);
	ASSERT_EQ(0, atomic_load(&v.s.errors));
	ASSERT_LT(0, atomic_load(&v.s.maps));

	/* Close the device under a mapped importer: revoked for good. */
	set_command(v.device, PCI_COMMAND_MEMORY, 0);
	a.fd = v.cur_fd;
	ASSERT_EQ(0, ic(dev, DMABUF_IC_TEST_ATTACH, &a));
	m.id = a.id;
	ASSERT_EQ(0, ic(dev, DMABUF_IC_TEST_MAP, &m));
	close(v.device);
	ASSERT_EQ(DMA_BUF_IC_INFO_REVOKED | DMA_BUF_IC_INFO_REVOKED_FOR_GOOD,
		  vfio_buf_state(v.cur_fd, &mapped, NULL) &
		  (DMA_BUF_IC_INFO_REVOKED | DMA_BUF_IC_INFO_REVOKED_FOR_GOOD));
	ASSERT_FALSE(mapped);
	ASSERT_EQ(-ENODEV, ic(dev, DMABUF_IC_TEST_MAP, &m));
	close(dev);
	close(v.cur_fd);
	close(v.iommufd);
	/* Every buffer the exporter made is gone. */
	if (buffers >= 0)
		ASSERT_EQ(buffers, dma_buf_count());
}

/*
 * Revoke against the IOMMU driver's unmap: VFIO's dma-buf of ivshmem's BAR2
 * is mapped with IOMMU_IOAS_MAP_FILE into an IOAS that edu, bound to
 * vfio-pci, is attached to, so the IOAS has a real IOMMU domain (the
 * iommu guest's intel-iommu) and every map, unmap and revoke goes through
 * iommu_map() and iommu_unmap() on it. One thread toggles memory enable
 * on ivshmem (each disable revokes: the areas' pages leave the domain
 * before the config write returns) and checks that the buffer says
 * revoked with no importer mapped; two map and unmap slices of the buffer,
 * of different sizes, where a map may fail only with ENODEV (revoked) and
 * an unmap of a mapped slice must succeed. At the end nothing is attached
 * to the buffer and every dma-buf is gone; the kernel log is judged by the
 * host.
 */
struct iommu_shared {
	struct shared s;
	int ivshmem, iommufd, buf;
	__u32 ioas;
};

#define IVSHMEM_BAR VFIO_PCI_BAR2_REGION_INDEX
/* The guest's ivshmem has a BAR2 of 4 MiB (scripts/boot.sh). */
#define IVSHMEM_SLICE (2UL << 20)

static void *iommu_revoker(void *arg)
{
	struct iommu_shared *v = arg;
	struct shared *s = &v->s;

	while (!atomic_load(&s->stop)) {
		bool mapped;

		set_command(v->ivshmem, 0, PCI_COMMAND_MEMORY);
		atomic_fetch_add(&s->epoch, 1);
		if (!(vfio_buf_state(v->buf, &mapped, NULL) & DMA_BUF_IC_INFO_REVOKED))
			fail(s, "not revoked after memory disable", -EINVAL);
		if (mapped)
			fail(s, "an importer mapped while revoked", -EBUSY);
		usleep(rand() % 2000);
		atomic_fetch_add(&s->epoch, 1);
		set_command(v->ivshmem, PCI_COMMAND_MEMORY, 0);
		usleep(rand() % 2000);
		atomic_fetch_add(&s->ops, 2);
	}
	return NULL;
}

/* Maps the slice [start, start + length) of the buffer and unmaps it. */
static void iommu_map_unmap(struct iommu_shared *v, __u64 start, __u64 length)
{
	static const int map_ok[] = { ENODEV, 0 };
	struct shared *s = &v->s;
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = v->ioas, .fd = v->buf, .start = start,
		.length = length,
	};
	unsigned int before = atomic_load(&s->epoch);
	int rc = ic(v->iommufd, IOMMU_IOAS_MAP_FILE, &map);

	if (!documented(rc, map_ok))
		fail(s, "IOMMU_IOAS_MAP_FILE", rc);
	atomic_fetch_add(rc ? &s->maps_refused : &s->maps, 1);
	if (!rc && (before & 1) && atomic_load(&s->epoch) == before)
		fail(s, "IOMMU_IOAS_MAP_FILE succeeded while revoked", rc);
	if (!rc) {
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap), .ioas_id = v->ioas,
			.iova = map.iova, .length = map.length,
		};

		usleep(rand() % 1000);
		rc = ic(v->iommufd, IOMMU_IOAS_UNMAP, &unmap);
		if (rc)
			fail(s, "IOMMU_IOAS_UNMAP", rc);
	}
	atomic_fetch_add(&s->ops, 2);
}

/* The whole first 2 MiB (a huge page's worth of BAR) and one page in it. */
static void *iommu_mapper_large(void *arg)
{
	struct iommu_shared *v = arg;

	while (!atomic_load(&v->s.stop))
		iommu_map_unmap(v, 0, IVSHMEM_SLICE);
	return NULL;
}

static void *iommu_mapper_small(void *arg)
{
	struct iommu_shared *v = arg;

	while (!atomic_load(&v->s.stop))
		iommu_map_unmap(v, PAGE * (1 + rand() % 16), PAGE * (1 + rand() % 4));
	return NULL;
}

TEST_F_TIMEOUT(stress, race_revoke_iommu_unmap, TIMED_TEST_TIMEOUT)
{
	struct vfio_region_dma_range slice = { 0, IVSHMEM_SLICE };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int seconds = timed_test_seconds(_metadata, "STRESS_SECONDS");
	struct iommu_shared v = { 0 };
	int buffers = dma_buf_count();
	char edu_bdf[256], ivshmem_bdf[256];
	unsigned int attachments;
	pthread_t threads[3];
	int n = 0, edu;
	bool mapped;

	edu = vfio_bind("0x1234", "0x11e8", edu_bdf, NULL);
	v.ivshmem = vfio_bind("0x1af4", "0x1110", ivshmem_bdf, NULL);
	if (edu < 0 || v.ivshmem < 0)
		SKIP(return, "no edu and ivshmem bound to vfio-pci with VFIO cdevs");
	v.iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, v.iommufd);
	bind.iommufd = v.iommufd;
	ASSERT_EQ(0, ic(edu, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	ASSERT_EQ(0, ic(v.ivshmem, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	ASSERT_EQ(0, ic(v.iommufd, IOMMU_IOAS_ALLOC, &alloc));
	v.ioas = alloc.out_ioas_id;
	/* edu's attachment gives the IOAS its domain, intel-iommu's. */
	attach.pt_id = v.ioas;
	ASSERT_EQ(0, ic(edu, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
	set_command(v.ivshmem, PCI_COMMAND_MEMORY, 0);
	v.buf = get_dma_buf(v.ivshmem, IVSHMEM_BAR, 0, O_CLOEXEC, &slice, 1);
	ASSERT_LE(0, v.buf);
	srand(3);

	ASSERT_EQ(0, pthread_create(&threads[n++], NULL, iommu_revoker, &v));
	ASSERT_EQ(0, pthread_create(&threads[n++], NULL, iommu_mapper_large, &v));
	ASSERT_EQ(0, pthread_create(&threads[n++], NULL, iommu_mapper_small, &v));
	sleep(seconds);
	atomic_store(&v.s.stop, true);
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	TH_LOG("%d threads, %d s, %u operations (%u revokes, %u maps, %u refused), %u errors",
	       n, seconds, atomic_load(&v.s.ops), atomic_load(&v.s.epoch) / 2,
	       atomic_load(&v.s.maps), atomic_load(&v.s.maps_refused),
	       atomic_load(&v.s.errors));
	if (atomic_load(&v.s.errors))
		TH_LOG("first: %s", v.s.first_error);
	ASSERT_EQ(0, atomic_load(&v.s.errors));
	/* Both outcomes happened, or the race was not raced. */
	ASSERT_LT(0, atomic_load(&v.s.maps));
	ASSERT_LT(0, atomic_load(&v.s.maps_refused));

	/* Every slice was unmapped: iommufd let go of the buffer. */
	ASSERT_EQ(DMA_BUF_IC_INFO_REVOCABLE,
		  vfio_buf_state(v.buf, &mapped, &attachments) &
		  (DMA_BUF_IC_INFO_REVOCABLE | DMA_BUF_IC_INFO_REVOKED));
	ASSERT_EQ(0, attachments);
	ASSERT_FALSE(mapped);
	close(v.buf);
	close(v.ivshmem);
	close(edu);
	close(v.iommufd);
	if (buffers >= 0)
		ASSERT_EQ(buffers, dma_buf_count());
}

TEST_HARNESS_MAIN
