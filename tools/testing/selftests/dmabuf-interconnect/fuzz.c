// SPDX-License-Identifier: GPL-2.0-only
/*
 * A structure-aware fuzzer for the new uAPI: the test module's ioctls,
 * DMA_BUF_IOCTL_IC_INFO, IOMMU_DMABUF_GET_INFO and IOMMU_IOAS_MAP_FILE,
 * and VFIO_DEVICE_FEATURE_DMA_BUF where a VFIO device is there. Each run is
 * a sequence of calls drawn from a seeded generator, with arguments biased
 * to the edges (zero, one, the limits and one past them, unaligned,
 * overflowing, unknown flags and types, wrong fds, short, long and junk
 * structure sizes, bad user pointers) and fds and ids from pools of live
 * objects, so that calls reach deep paths and tear down half-made state.
 *
 * Nothing is asserted about the answers: the kernel is judged by its log
 * (KASAN, lockdep, WARN, kmemleak) after the run. The seeds in
 * fuzz_corpus.h, which found new (call, errno) outcomes when they were
 * added, run first as regression cases; then new seeds run for
 * FUZZ_SECONDS (default 10; see timed.h), and those that find new outcomes
 * are printed for the corpus. With FUZZ_VFIO=1 a missing VFIO device fails
 * the run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/iommufd.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>

#include "../kselftest_harness.h"
#include "../../../../drivers/dma-buf/dmabuf-ic-test.h"
#include "timed.h"
#include "vfio_utils.h"
#include "fuzz_corpus.h"

#define CALLS_PER_SEED 200
#define POOL 8
#define NR_OPS 14
#define NR_ERRNOS 160

struct fuzz {
	uint64_t rng;
	int dev, iommufd, vfio;
	__u32 ioas;
	int fds[POOL];		/* dma-bufs, or -1 */
	__u32 ids[POOL];	/* attachment ids of dev, or 0 */
	unsigned char page[4096];
	/* Outcomes seen: (call, errno) pairs. */
	bool seen[NR_OPS][NR_ERRNOS];
	unsigned int outcomes;
};

static uint64_t next(struct fuzz *f)
{
	/* xorshift64*: small, fast and good enough to draw arguments. */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545f4914f6cdd1dULL;
}

static unsigned int pick(struct fuzz *f, unsigned int n)
{
	return next(f) % n;
}

/* A 32-bit value biased to the edges around @limit. */
static __u32 edge32(struct fuzz *f, __u32 limit)
{
	switch (pick(f, 8)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return limit;
	case 3: return limit + 1;
	case 4: return ~0U;
	case 5: return 1U << pick(f, 32);
	default: return limit ? pick(f, limit + 1) : 0;
	}
}

/* A 64-bit length or offset: page multiples, unaligned, or overflowing. */
static __u64 edge64(struct fuzz *f)
{
	switch (pick(f, 7)) {
	case 0: return 0;
	case 1: return 4096ULL * (1 + pick(f, 8));
	case 2: return 4096ULL * pick(f, 4) + 1 + pick(f, 4095);
	case 3: return ~0ULL - 4095;
	case 4: return 1ULL << (12 + pick(f, 52));
	case 5: return -4096ULL * (1 + pick(f, 4));
	default: return next(f);
	}
}

/* A user pointer: our page, NULL, unmapped, or a kernel address. */
static __u64 uptr(struct fuzz *f)
{
	switch (pick(f, 5)) {
	case 0: return 0;
	case 1: return 8;
	case 2: return 0xffff888000000000ULL;
	default: return (uintptr_t)f->page;
	}
}

/* A fd: a live dma-buf, a dead slot, a non-dma-buf fd, or nonsense. */
static int any_fd(struct fuzz *f)
{
	switch (pick(f, 6)) {
	case 0: return -1;
	case 1: return f->dev;
	case 2: return 1000 + pick(f, 100);
	default: return f->fds[pick(f, POOL)];
	}
}

static void keep_fd(struct fuzz *f, int fd)
{
	int slot = pick(f, POOL);

	if (f->fds[slot] >= 0)
		close(f->fds[slot]);
	f->fds[slot] = fd;
}

static void record(struct fuzz *f, unsigned int op, int rc, bool *new)
{
	unsigned int e = rc < 0 ? -rc : 0;

	if (e >= NR_ERRNOS)
		e = NR_ERRNOS - 1;
	if (!f->seen[op][e]) {
		f->seen[op][e] = true;
		f->outcomes++;
		*new = true;
	}
}

/* One call, chosen and filled by the generator; returns its outcome. */
static int one_call(struct fuzz *f, unsigned int op)
{
	switch (op) {
	case 0: {
		struct dmabuf_ic_test_export e = {
			.flags = pick(f, 4) ? pick(f, 8) : next(f),
			.nr_offers = edge32(f, DMABUF_IC_TEST_MAX_TYPES),
			.link_id = pick(f, 3),
			.nr_pages = edge32(f, 16),
		};
		int rc;

		for (int i = 0; i < DMABUF_IC_TEST_MAX_TYPES; i++)
			e.offers[i] = pick(f, 5);
		rc = ic(f->dev, DMABUF_IC_TEST_EXPORT, &e);
		if (rc >= 0)
			keep_fd(f, rc);
		return rc;
	}
	case 1: {
		struct dmabuf_ic_test_attach a = {
			.fd = any_fd(f), .flags = pick(f, 4) ? pick(f, 4) : next(f),
			.nr_accepts = edge32(f, DMABUF_IC_TEST_MAX_TYPES),
			.link_id = pick(f, 3),
		};
		int rc;

		for (int i = 0; i < DMABUF_IC_TEST_MAX_TYPES; i++)
			a.accepts[i] = pick(f, 5);
		rc = ic(f->dev, DMABUF_IC_TEST_ATTACH, &a);
		if (!rc)
			f->ids[pick(f, POOL)] = a.id;
		return rc;
	}
	case 2: {
		struct dmabuf_ic_test_map m = {
			.id = pick(f, 4) ? f->ids[pick(f, POOL)] : next(f),
		};

		return ic(f->dev, DMABUF_IC_TEST_MAP, &m);
	}
	case 3: case 4: {
		__u32 id = pick(f, 4) ? f->ids[pick(f, POOL)] : edge32(f, 256);

		return ic(f->dev, op == 3 ? DMABUF_IC_TEST_UNMAP : DMABUF_IC_TEST_DETACH, &id);
	}
	case 5: {
		struct dmabuf_ic_test_revoke r = { .fd = any_fd(f), .op = edge32(f, 2) };

		return ic(f->dev, DMABUF_IC_TEST_REVOKE, &r);
	}
	case 6: {
		struct dmabuf_ic_test_buf_status s = { .fd = any_fd(f) };

		return ic(f->dev, DMABUF_IC_TEST_BUF_STATUS, &s);
	}
	case 7: {
		/* DMA_BUF_IOCTL_IC_INFO: sizes around the structure, junk tails. */
		struct {
			struct dma_buf_ic_info info;
			__u8 tail[64];
		} a = {
			.info = {
				.flags = pick(f, 4) ? 0 : next(f),
				.num_offers = edge32(f, 4),
				.offers_uptr = uptr(f),
				.num_attachments = edge32(f, 8),
				.attachments_uptr = uptr(f),
				.__reserved = pick(f, 8) ? 0 : 1,
			},
		};
		int fd = any_fd(f);

		a.info.size = sizeof(a.info) + (pick(f, 2) ? 0 : (int)pick(f, 80) - 16);
		if (!pick(f, 4))
			a.tail[pick(f, sizeof(a.tail))] = 1;
		return fd == f->dev ? -ENOTTY : ic(fd, DMA_BUF_IOCTL_IC_INFO, &a);
	}
	case 8: {
		struct {
			struct iommu_dmabuf_info info;
			__u8 tail[64];
		} a = {
			.info = {
				.flags = pick(f, 3) ? pick(f, 2) : next(f),
				.fd = any_fd(f),
				.num_accepts = edge32(f, 2),
				.accepts_uptr = uptr(f),
				.__reserved = pick(f, 8) ? 0 : 1,
			},
		};

		a.info.size = sizeof(a.info) + (pick(f, 2) ? 0 : (int)pick(f, 80) - 16);
		if (!pick(f, 4))
			a.tail[pick(f, sizeof(a.tail))] = 1;
		return ic(f->iommufd, IOMMU_DMABUF_GET_INFO, &a);
	}
	case 9: {
		struct iommu_ioas_map_file m = {
			.size = pick(f, 8) ? sizeof(m) : edge32(f, sizeof(m)),
			.flags = pick(f, 4) ? IOMMU_IOAS_MAP_READABLE | pick(f, 4) : next(f),
			.ioas_id = pick(f, 4) ? f->ioas : edge32(f, 8),
			.fd = any_fd(f), .start = edge64(f), .length = edge64(f),
			.iova = pick(f, 2) ? 0 : edge64(f),
		};

		if (pick(f, 2)) {
			m.start = 4096 * pick(f, 4);
			m.length = 4096 * (1 + pick(f, 4));
		}
		return ic(f->iommufd, IOMMU_IOAS_MAP_FILE, &m);
	}
	case 10: {
		struct iommu_ioas_unmap u = {
			.size = sizeof(u), .ioas_id = f->ioas,
			.iova = pick(f, 2) ? 0 : edge64(f),
			.length = pick(f, 2) ? ~0ULL : edge64(f),
		};

		return ic(f->iommufd, IOMMU_IOAS_UNMAP, &u);
	}
	case 11: {
		/* VFIO_DEVICE_FEATURE_DMA_BUF with edge-case ranges. */
		struct vfio_region_dma_range r[3];
		__u32 nr = 1 + pick(f, 3);
		int rc;

		if (f->vfio < 0)
			return -ENODEV;
		for (__u32 i = 0; i < nr; i++) {
			r[i].offset = pick(f, 2) ? 4096 * pick(f, 8) : edge64(f);
			r[i].length = pick(f, 2) ? 4096 * (1 + pick(f, 8)) : edge64(f);
		}
		rc = get_dma_buf(f->vfio, pick(f, 3) ? VFIO_PCI_BAR2_REGION_INDEX : pick(f, 10),
				 pick(f, 6) ? 0 : next(f), pick(f, 6) ? O_CLOEXEC : next(f),
				 r, nr);
		if (rc >= 0)
			keep_fd(f, rc);
		return rc;
	}
	case 12: {
		int slot = pick(f, POOL);

		if (f->fds[slot] >= 0)
			close(f->fds[slot]);
		f->fds[slot] = -1;
		return 0;
	}
	default:
		/* Revoke (memory disable) and restore the VFIO device. */
		if (f->vfio < 0)
			return -ENODEV;
		set_command(f->vfio, 0, PCI_COMMAND_MEMORY);
		if (pick(f, 2))
			set_command(f->vfio, PCI_COMMAND_MEMORY, 0);
		return 0;
	}
}

/* Runs one seed from clean state; returns whether it found new outcomes. */
static bool run_seed(struct fuzz *f, uint64_t seed, unsigned int *calls)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	bool new = false;

	f->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	f->dev = open("/dev/dmabuf_ic_test", O_RDWR);
	f->iommufd = open("/dev/iommu", O_RDWR);
	if (f->dev < 0 || f->iommufd < 0 || ic(f->iommufd, IOMMU_IOAS_ALLOC, &alloc))
		return false;
	f->ioas = alloc.out_ioas_id;
	for (int i = 0; i < POOL; i++) {
		f->fds[i] = -1;
		f->ids[i] = 0;
	}
	if (f->vfio >= 0)
		set_command(f->vfio, PCI_COMMAND_MEMORY, 0);
	for (int i = 0; i < CALLS_PER_SEED; i++) {
		unsigned int op = pick(f, NR_OPS);

		record(f, op, one_call(f, op), &new);
		(*calls)++;
	}
	/* Tear down in a random order: fds, the test context, iommufd. */
	for (int i = 0; i < POOL; i++)
		if (f->fds[i] >= 0)
			close(f->fds[i]);
	if (pick(f, 2)) {
		close(f->dev);
		close(f->iommufd);
	} else {
		close(f->iommufd);
		close(f->dev);
	}
	return new;
}

/* No state: a fixture only for the timeout of TEST_F_TIMEOUT(). */
FIXTURE(fuzz) {};
FIXTURE_SETUP(fuzz) {}
FIXTURE_TEARDOWN(fuzz) {}

TEST_F_TIMEOUT(fuzz, uapi, TIMED_TEST_TIMEOUT)
{
	int seconds = timed_test_seconds(_metadata, "FUZZ_SECONDS");
	const char *need_vfio = getenv("FUZZ_VFIO");
	static struct fuzz f;
	unsigned int calls = 0, seeds = 0;
	int iommufd = -1;
	char bdf[256];
	time_t end;

	f.vfio = vfio_bind("0x1af4", "0x1110", bdf, NULL);
	/*
	 * FUZZ_VFIO=1 (a guest that has VFIO): without ivshmem bound to
	 * vfio-pci the run would fuzz less than it says, and pass.
	 */
	if (need_vfio && atoi(need_vfio) && f.vfio < 0)
		TH_LOG("FUZZ_VFIO=1 and no ivshmem bound to vfio-pci with a VFIO cdev");
	ASSERT_FALSE(need_vfio && atoi(need_vfio) && f.vfio < 0);
	if (f.vfio >= 0) {
		iommufd = iommufd_bind(f.vfio);
		ASSERT_LE(0, iommufd);
	}
	if (access("/dev/dmabuf_ic_test", R_OK) || access("/dev/iommu", R_OK))
		SKIP(return, "needs /dev/dmabuf_ic_test and /dev/iommu");

	/* The corpus first: regression cases. */
	for (unsigned int i = 0; i < ARRAY_SIZE(fuzz_corpus); i++) {
		run_seed(&f, fuzz_corpus[i], &calls);
		seeds++;
	}
	TH_LOG("corpus: %u seeds, %u outcomes", seeds, f.outcomes);
	end = time(NULL) + seconds;
	for (uint64_t seed = time(NULL); time(NULL) < end; seed++) {
		if (run_seed(&f, seed, &calls))
			TH_LOG("new outcomes from seed %llu (for fuzz_corpus.h)",
			       (unsigned long long)seed);
		seeds++;
	}
	TH_LOG("%u seeds, %u calls, %u distinct (call, errno) outcomes%s", seeds,
	       calls, f.outcomes, f.vfio >= 0 ? ", VFIO included" : "");
	if (f.vfio >= 0) {
		close(f.vfio);
		close(iommufd);
	}
}

TEST_HARNESS_MAIN
