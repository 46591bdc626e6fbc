// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark, not a test: the costs of the dma-buf path against the legacy
 * VFIO type1 path and against pristine 7.2, in one run.
 *
 * The first part uses only mainline 7.2's uAPI, so that the same binary
 * runs on the project's kernel and on pristine 7.2 (scripts/bench.sh boots
 * both, and compares):
 *   export  the first export of the 1 GiB BAR (time, and the memory it
 *           takes), then VFIO_DEVICE_FEATURE_DMA_BUF per call;
 *   map     for BAR ranges of 2 MiB up to the whole BAR: VFIO export +
 *           IOMMU_IOAS_MAP_FILE + IOMMU_IOAS_UNMAP against mmap() of the BAR
 *           + VFIO_IOMMU_MAP_DMA + VFIO_IOMMU_UNMAP_DMA, each with edu
 *           attached so that a real intel-iommu domain is programmed;
 *   revoke  the PCI_COMMAND write that disables memory on ivshmem, with
 *           1 to 1024 IOMMU_IOAS_MAP_FILE areas of one dma-buf (each its
 *           own import) or 1 to 1024 areas of one import (one
 *           IOMMU_IOAS_MAP_FILE and IOMMU_IOAS_COPY), and an FLR
 *           (VFIO_DEVICE_RESET) of virtio-rng with 0 to 1024 areas; the
 *           map and the unmap of those areas, per area, and the slab
 *           memory per IOMMU_IOAS_MAP_FILE area.
 * The second part runs on the project's kernel only (not when the kernel
 * command line says dmabuf_ic.bench=mainline):
 *   attach  attach, negotiation alone (IOMMU_DMABUF_GET_INFO with a fd),
 *           map and detach through the test importer, per call, the
 *           discovery ioctls, and the slab memory per attachment and per
 *           mapping.
 *
 * Prints CSV lines "csv,TABLE,..." for scripts/bench_report.py. Times are
 * guest CLOCK_MONOTONIC nanoseconds; the bench guest runs QEMU with -icount
 * shift=0, which makes them counts of guest instructions.
 */
#define _GNU_SOURCE
#include <linux/dma-buf.h>
#include <linux/iommufd.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"
#include "../../../../drivers/dma-buf/dmabuf-ic-test.h"
#include "vfio_utils.h"

#define MIB (1024UL * 1024)
#define IOVA_BASE 0x100000000UL

static void die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

#define CHECK(what, call) do { int __r = (call); if (__r < 0) die(what, __r); } while (0)

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Repetitions per size, of which the least counts: with one vCPU a call
 * also pays for whatever else the guest runs meanwhile (a kworker, RCU
 * callbacks), which only ever adds. Fewer for type1's big sizes, which take
 * long in TCG.
 */
static int reps_for(unsigned long size, bool type1)
{
	return type1 && size > 64 * MIB ? 3 : 7;
}

static uint64_t least(const uint64_t *v, int n)
{
	uint64_t m = v[0];

	for (int i = 1; i < n; i++)
		m = min_u64(m, v[i]);
	return m;
}

static int map_file(int iommufd, __u32 ioas, int fd, __u64 len, __u64 iova)
{
	struct iommu_ioas_map_file m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas, .fd = fd, .length = len, .iova = iova,
	};

	return ic(iommufd, IOMMU_IOAS_MAP_FILE, &m);
}

static int ioas_unmap(int iommufd, __u32 ioas, __u64 iova, __u64 len)
{
	struct iommu_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = len,
	};

	return ic(iommufd, IOMMU_IOAS_UNMAP, &u);
}

static __u64 bar_size(int device, __u32 index, __u64 *offset)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

	CHECK("VFIO_DEVICE_GET_REGION_INFO", ic(device, VFIO_DEVICE_GET_REGION_INFO, &info));
	if (offset)
		*offset = info.offset;
	return info.size;
}

/*
 * Binds edu and ivshmem to one new iommufd, attaches edu to a new IOAS and
 * enables ivshmem's memory; returns the IOAS.
 */
static __u32 iommufd_pair(int *edu, int *ivshmem, int *iommufd)
{
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	char bdf[256];

	*edu = vfio_bind("0x1234", "0x11e8", bdf, NULL);
	*ivshmem = vfio_bind("0x1af4", "0x1110", bdf, NULL);
	if (*edu < 0 || *ivshmem < 0)
		die("binding edu and ivshmem", ENODEV);
	*iommufd = iommufd_bind(*edu);
	CHECK("bind", *iommufd);
	bind.iommufd = *iommufd;
	CHECK("bind ivshmem", ic(*ivshmem, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	CHECK("IOMMU_IOAS_ALLOC", ic(*iommufd, IOMMU_IOAS_ALLOC, &alloc));
	attach.pt_id = alloc.out_ioas_id;
	CHECK("attach edu", ic(*edu, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
	set_command(*ivshmem, PCI_COMMAND_MEMORY, 0);
	return alloc.out_ioas_id;
}

/* The dma-buf path, for every size. */
static void bench_dmabuf_map(__u64 bar)
{
	int edu, ivshmem, iommufd;
	__u32 ioas = iommufd_pair(&edu, &ivshmem, &iommufd);

	for (unsigned long size = 2 * MIB; size <= bar; size *= 2) {
		struct vfio_region_dma_range r = { 0, size };
		uint64_t exp[7], map[7], unmap[7];
		int n = reps_for(size, false);

		for (int i = 0; i < n; i++) {
			uint64_t t0 = now_ns(), t1, t2, t3;
			int fd = get_dma_buf(ivshmem, VFIO_PCI_BAR2_REGION_INDEX, 0,
					     O_CLOEXEC, &r, 1);

			CHECK("VFIO_DEVICE_FEATURE_DMA_BUF", fd);
			t1 = now_ns();
			CHECK("IOMMU_IOAS_MAP_FILE",
			      map_file(iommufd, ioas, fd, size, IOVA_BASE));
			t2 = now_ns();
			CHECK("IOMMU_IOAS_UNMAP",
			      ioas_unmap(iommufd, ioas, IOVA_BASE, size));
			t3 = now_ns();
			close(fd);
			exp[i] = t1 - t0;
			map[i] = t2 - t1;
			unmap[i] = t3 - t2;
		}
		printf("csv,map,dmabuf,%lu,%d,%lu,%lu,%lu\n", size, n,
		       least(exp, n), least(map, n), least(unmap, n));
		fflush(stdout);
	}
	close(iommufd);
	close(edu);
	close(ivshmem);
}

/* The legacy path: the mmapped BAR through VFIO type1, for every size. */
static void bench_type1_map(__u64 bar)
{
	char edu_bdf[256], ivshmem_bdf[256];
	int edu_group, ivshmem_group, container, edu, ivshmem, g1, g2;
	__u64 offset;
	void *bar2;

	if (vfio_bind("0x1234", "0x11e8", edu_bdf, &edu_group) ||
	    vfio_bind("0x1af4", "0x1110", ivshmem_bdf, &ivshmem_group))
		die("binding edu and ivshmem", ENODEV);
	container = open("/dev/vfio/vfio", O_RDWR);
	CHECK("/dev/vfio/vfio", container);
	edu = type1_device(container, edu_group, edu_bdf, &g1);
	ivshmem = type1_device(container, ivshmem_group, ivshmem_bdf, &g2);
	if (edu < 0 || ivshmem < 0)
		die("type1 devices", errno);
	bar_size(ivshmem, VFIO_PCI_BAR2_REGION_INDEX, &offset);
	bar2 = mmap(NULL, bar, PROT_READ | PROT_WRITE, MAP_SHARED, ivshmem, offset);
	if (bar2 == MAP_FAILED)
		die("mmap BAR2", errno);
	set_command(ivshmem, PCI_COMMAND_MEMORY, 0);

	for (unsigned long size = 2 * MIB; size <= bar; size *= 2) {
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap), .iova = IOVA_BASE, .size = size,
		};
		uint64_t map[7], unm[7];
		int n = reps_for(size, true);

		for (int i = 0; i < n; i++) {
			uint64_t t0 = now_ns(), t1, t2;

			CHECK("VFIO_IOMMU_MAP_DMA", type1_map(container, bar2, IOVA_BASE, size));
			t1 = now_ns();
			CHECK("VFIO_IOMMU_UNMAP_DMA", ic(container, VFIO_IOMMU_UNMAP_DMA, &unmap));
			t2 = now_ns();
			map[i] = t1 - t0;
			unm[i] = t2 - t1;
		}
		printf("csv,map,type1,%lu,%d,0,%lu,%lu\n", size, n, least(map, n),
		       least(unm, n));
		fflush(stdout);
	}
	munmap(bar2, bar);
	close(edu);
	close(ivshmem);
	close(g1);
	close(g2);
	close(container);
}

/* A line of /proc/meminfo, in bytes ("Slab", "MemFree"). */
static long meminfo_bytes(const char *key)
{
	char line[128], name[64];
	long kb = -1, v;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63[^:]: %ld kB", name, &v) == 2 && !strcmp(name, key)) {
			kb = v;
			break;
		}
	if (f)
		fclose(f);
	if (kb < 0)
		die("/proc/meminfo", ENOENT);
	return kb * 1024;
}

static long slab_bytes(void)
{
	return meminfo_bytes("Slab");
}

static int ioas_copy(int iommufd, __u32 ioas, __u64 src, __u64 dst, __u64 len)
{
	struct iommu_ioas_copy c = {
		.size = sizeof(c),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.dst_ioas_id = ioas, .src_ioas_id = ioas, .length = len,
		.dst_iova = dst, .src_iova = src,
	};

	return ic(iommufd, IOMMU_IOAS_COPY, &c);
}

/*
 * Lets the guest finish what setting up a measurement left to do later (RCU
 * callbacks, kworkers, the quarantine of freed objects) before the measured
 * call, rather than in it. Retrying does not help there: the same setup
 * leaves the same work, which then lands in each try. Idle, a guest under
 * -icount skips ahead to its next timer, so the sleep costs no host time.
 */
static void settle(void)
{
	usleep(100 * 1000);
}

static const int revoke_counts[] = { 1, 4, 16, 64, 256, 1024 };

/*
 * Maps @n areas of 2 MiB of the dma-buf @fd from IOVA_BASE: with @copy,
 * one IOMMU_IOAS_MAP_FILE and n - 1 IOMMU_IOAS_COPY of it (one map, n
 * copies), otherwise n IOMMU_IOAS_MAP_FILE (n maps: n attachments on pristine
 * 7.2, one per iommufd context with the project's iommufd).
 */
static void map_areas(int iommufd, __u32 ioas, int fd, int n, bool copy)
{
	for (int i = 0; i < n; i++) {
		__u64 iova = IOVA_BASE + i * 2 * MIB;

		if (copy && i)
			CHECK("IOMMU_IOAS_COPY",
			      ioas_copy(iommufd, ioas, IOVA_BASE, iova, 2 * MIB));
		else
			CHECK("IOMMU_IOAS_MAP_FILE",
			      map_file(iommufd, ioas, fd, 2 * MIB, iova));
	}
}

/*
 * Revoke by memory disable with revoke_counts[] areas mapped; @copy as for
 * map_areas(). Also the map and the unmap of those areas, per area: the
 * unmap of all of them in one IOMMU_IOAS_UNMAP, while they are not revoked.
 * The first round of 1024 maps also gives the slab memory per
 * IOMMU_IOAS_MAP_FILE area.
 */
static void bench_revoke_areas(int iommufd, __u32 ioas, int ivshmem, int fd,
			       bool copy)
{
	for (unsigned int c = 0; c < ARRAY_SIZE(revoke_counts); c++) {
		uint64_t revoke = ~0ULL, reenable = ~0ULL, per_map = ~0ULL;
		uint64_t per_unmap = ~0ULL;
		int n = revoke_counts[c];
		long slab = 0;

		/* The least of 3 tries, as for the attach costs below. */
		for (int r = 0; r < 3; r++) {
			uint64_t t0, t1, ts, t2, t3;
			long s0 = slab_bytes();

			t0 = now_ns();
			map_areas(iommufd, ioas, fd, n, copy);
			t1 = now_ns();
			if (!r)
				slab = slab_bytes() - s0;
			settle();
			ts = now_ns();
			set_command(ivshmem, 0, PCI_COMMAND_MEMORY);
			t2 = now_ns();
			/* Revokes nothing (and maps nothing): the baseline. */
			set_command(ivshmem, PCI_COMMAND_MEMORY, 0);
			t3 = now_ns();
			CHECK("IOMMU_IOAS_UNMAP",
			      ioas_unmap(iommufd, ioas, IOVA_BASE, n * 2 * MIB));
			revoke = min_u64(revoke, t2 - ts);
			reenable = min_u64(reenable, t3 - t2);
			per_map = min_u64(per_map, (t1 - t0) / n);
		}
		for (int r = 0; r < 3; r++) {
			uint64_t t0;

			map_areas(iommufd, ioas, fd, n, copy);
			settle();
			t0 = now_ns();
			CHECK("IOMMU_IOAS_UNMAP",
			      ioas_unmap(iommufd, ioas, IOVA_BASE, n * 2 * MIB));
			per_unmap = min_u64(per_unmap, (now_ns() - t0) / n);
		}
		printf("csv,%s,%d,%lu,%lu,%lu,%lu\n", copy ? "revoke_copy" : "revoke",
		       n, revoke, reenable, per_map, per_unmap);
		if (!copy && n == 1024)
			printf("csv,mapfile_slab,%d,%ld\n", n, slab / n);
		fflush(stdout);
	}
}

/*
 * Revoke by memory disable and by FLR, with 1 to 1024 areas mapped; the
 * FLR of virtio-rng, whose 16 KiB BAR4 is mapped 0 to 1024 times: the reset
 * itself waits 100 ms by the PCIe spec, so the revoke's share is the growth
 * over the row with none.
 */
static void bench_revoke(void)
{
	struct vfio_region_dma_range r = { 0, 2 * MIB };
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_region_dma_range bar4 = { 0, 16 * 1024 };
	int edu, ivshmem, iommufd, fd, rng;
	__u32 ioas = iommufd_pair(&edu, &ivshmem, &iommufd);
	char bdf[256];

	fd = get_dma_buf(ivshmem, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC, &r, 1);
	CHECK("export", fd);
	bench_revoke_areas(iommufd, ioas, ivshmem, fd, false);
	bench_revoke_areas(iommufd, ioas, ivshmem, fd, true);
	close(fd);

	rng = vfio_bind("0x1af4", "0x1044", bdf, NULL);
	if (rng < 0)
		die("no virtio-rng-pci for the FLR rows", ENODEV);
	bind.iommufd = iommufd;
	CHECK("bind virtio-rng", ic(rng, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	set_command(rng, PCI_COMMAND_MEMORY, 0);
	fd = get_dma_buf(rng, VFIO_PCI_BAR4_REGION_INDEX, 0, O_CLOEXEC, &bar4, 1);
	CHECK("export BAR4", fd);
	for (int c = -1; c < (int)ARRAY_SIZE(revoke_counts); c++) {
		int n = c < 0 ? 0 : revoke_counts[c];
		uint64_t flr = ~0ULL;

		for (int t = 0; t < 3; t++) {
			uint64_t t0;

			for (int i = 0; i < n; i++)
				CHECK("IOMMU_IOAS_MAP_FILE",
				      map_file(iommufd, ioas, fd, bar4.length,
					       IOVA_BASE + i * 2 * MIB));
			settle();
			t0 = now_ns();
			CHECK("VFIO_DEVICE_RESET", ic(rng, VFIO_DEVICE_RESET, NULL));
			flr = min_u64(flr, now_ns() - t0);
			if (n)
				CHECK("IOMMU_IOAS_UNMAP",
				      ioas_unmap(iommufd, ioas, IOVA_BASE, n * 2 * MIB));
		}
		printf("csv,flr,%d,%lu\n", n, flr);
		fflush(stdout);
	}
	close(fd);
	close(rng);
	close(iommufd);
	close(edu);
	close(ivshmem);
}

/*
 * Attach, negotiate, map and detach costs through the test importer, per
 * call: the least of ROUNDS rounds of BATCH calls each, so that a round in
 * which a background kthread ran (it counts too, on the one vCPU) does not
 * decide the result.
 */
static void bench_attach(void)
{
	enum { ROUNDS = 5, BATCH = 64 };
	struct dmabuf_ic_test_export e = {
		.nr_offers = 2, .offers = { DMABUF_IC_TEST_SGT, DMABUF_IC_TEST_PHYS_LIST },
		.nr_pages = 1,
	};
	struct iommu_dmabuf_info info = { .size = sizeof(info) };
	uint64_t nofd = ~0ULL, memfd_ns = ~0ULL, withfd = ~0ULL, bufinfo = ~0ULL;
	uint64_t att = ~0ULL, map = ~0ULL, det = ~0ULL, t0;
	long slab_att, slab_map, s0, s1, s2;
	int dev, iommufd, fd, memfd, ids[BATCH], ctx[4];

	dev = open("/dev/dmabuf_ic_test", O_RDWR);
	iommufd = open("/dev/iommu", O_RDWR);
	memfd = memfd_create("bench", 0);
	if (dev < 0 || iommufd < 0 || memfd < 0)
		die("/dev/dmabuf_ic_test, /dev/iommu or a memfd", errno);
	fd = ic(dev, DMABUF_IC_TEST_EXPORT, &e);
	CHECK("export", fd);

	for (int r = 0; r < ROUNDS; r++) {
		/* iommufd's query: alone, with a fd that is no dma-buf, and
		 * with the dma-buf (negotiation, nothing attached). No room
		 * for the accepted list: EMSGSIZE after the answer.
		 */
		info.flags = 0;
		t0 = now_ns();
		for (int i = 0; i < BATCH; i++) {
			info.num_accepts = 0;
			if (ic(iommufd, IOMMU_DMABUF_GET_INFO, &info) != -EMSGSIZE)
				die("IOMMU_DMABUF_GET_INFO", EINVAL);
		}
		nofd = min_u64(nofd, (now_ns() - t0) / BATCH);
		info.flags = IOMMU_DMABUF_INFO_FD;
		info.fd = memfd;
		t0 = now_ns();
		for (int i = 0; i < BATCH; i++)
			if (ic(iommufd, IOMMU_DMABUF_GET_INFO, &info) != -EINVAL)
				die("IOMMU_DMABUF_GET_INFO with a memfd", EINVAL);
		memfd_ns = min_u64(memfd_ns, (now_ns() - t0) / BATCH);
		info.fd = fd;
		t0 = now_ns();
		for (int i = 0; i < BATCH; i++) {
			info.num_accepts = 0;
			if (ic(iommufd, IOMMU_DMABUF_GET_INFO, &info) != -EMSGSIZE)
				die("IOMMU_DMABUF_GET_INFO with a dma-buf", EINVAL);
		}
		withfd = min_u64(withfd, (now_ns() - t0) / BATCH);
		/* The dma-buf's own query (counts only: EMSGSIZE). */
		t0 = now_ns();
		for (int i = 0; i < BATCH; i++) {
			struct dma_buf_ic_info di = { .size = sizeof(di) };

			if (ic(fd, DMA_BUF_IOCTL_IC_INFO, &di) != -EMSGSIZE)
				die("DMA_BUF_IOCTL_IC_INFO", EINVAL);
		}
		bufinfo = min_u64(bufinfo, (now_ns() - t0) / BATCH);

		t0 = now_ns();
		for (int i = 0; i < BATCH; i++) {
			struct dmabuf_ic_test_attach a = {
				.fd = fd, .nr_accepts = 1,
				.flags = DMABUF_IC_TEST_ATTACH_PHYS_READER,
				.accepts = { DMABUF_IC_TEST_PHYS_LIST },
			};

			CHECK("attach", ic(dev, DMABUF_IC_TEST_ATTACH, &a));
			ids[i] = a.id;
		}
		att = min_u64(att, (now_ns() - t0) / BATCH);
		t0 = now_ns();
		for (int i = 0; i < BATCH; i++) {
			struct dmabuf_ic_test_map m = { .id = ids[i] };

			CHECK("map", ic(dev, DMABUF_IC_TEST_MAP, &m));
		}
		map = min_u64(map, (now_ns() - t0) / BATCH);
		t0 = now_ns();
		for (int i = 0; i < BATCH; i++)
			CHECK("detach", ic(dev, DMABUF_IC_TEST_DETACH, &ids[i]));
		det = min_u64(det, (now_ns() - t0) / BATCH);
	}

	/*
	 * Memory: slab grows by pages, so count over 1024 attachments (four
	 * contexts of the test module's 256), then map them all.
	 */
	for (int c = 0; c < 4; c++) {
		ctx[c] = open("/dev/dmabuf_ic_test", O_RDWR);
		CHECK("open", ctx[c]);
	}
	s0 = slab_bytes();
	for (int c = 0; c < 4; c++)
		for (int i = 0; i < DMABUF_IC_TEST_MAX_ATTACHMENTS; i++) {
			struct dmabuf_ic_test_attach a = {
				.fd = fd, .nr_accepts = 1,
				.flags = DMABUF_IC_TEST_ATTACH_PHYS_READER,
				.accepts = { DMABUF_IC_TEST_PHYS_LIST },
			};

			CHECK("attach", ic(ctx[c], DMABUF_IC_TEST_ATTACH, &a));
		}
	s1 = slab_bytes();
	for (int c = 0; c < 4; c++)
		for (int i = 1; i <= DMABUF_IC_TEST_MAX_ATTACHMENTS; i++) {
			struct dmabuf_ic_test_map m = { .id = i };

			CHECK("map", ic(ctx[c], DMABUF_IC_TEST_MAP, &m));
		}
	s2 = slab_bytes();
	for (int c = 0; c < 4; c++)
		close(ctx[c]);
	slab_att = (s1 - s0) / (4 * DMABUF_IC_TEST_MAX_ATTACHMENTS);
	slab_map = (s2 - s1) / (4 * DMABUF_IC_TEST_MAX_ATTACHMENTS);
	printf("csv,attach,%d,%lu,%lu,%lu,%lu,%lu,%lu,%lu,%ld,%ld\n", BATCH, nofd,
	       memfd_ns, withfd, bufinfo, att, map, det, slab_att, slab_map);
	close(memfd);
	close(fd);
	close(dev);
	close(iommufd);
}

/*
 * Around each measured part of a profile: system calls that nothing else in
 * the guest makes, whose kernel handlers start and stop the counting of
 * scripts/profile/insn_count.c. What they return does not matter.
 */
static void profile_gate(bool begin)
{
	syscall(begin ? SYS_getcpu : SYS_sched_get_priority_max, 0, 0, 0);
}

/*
 * What a profile measures: the revoke of 1024 maps, the map and unmap of
 * 2 MiB, or the unmap alone.
 */
enum profile { PROFILE_REVOKE, PROFILE_MAP, PROFILE_UNMAP };

/*
 * For a profile taken from the host (scripts/bench_profile.sh; the bench
 * itself does not run this): revokes 1024 maps again and again, or maps
 * and unmaps 2 MiB with IOMMU_IOAS_MAP_FILE, each measured part between
 * two gates (for PROFILE_UNMAP only the unmap is).
 */
static void run_profile(enum profile what)
{
	bool revoke = what == PROFILE_REVOKE;
	struct vfio_region_dma_range r = { 0, 2 * MIB };
	int edu, ivshmem, iommufd, fd;
	__u32 ioas = iommufd_pair(&edu, &ivshmem, &iommufd);

	fd = get_dma_buf(ivshmem, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC, &r, 1);
	CHECK("export", fd);
	for (int i = 0; i < (revoke ? 8 : 2000); i++) {
		if (revoke) {
			map_areas(iommufd, ioas, fd, 1024, false);
			settle();
		} else if (what == PROFILE_UNMAP) {
			CHECK("IOMMU_IOAS_MAP_FILE",
			      map_file(iommufd, ioas, fd, 2 * MIB, IOVA_BASE));
		}
		profile_gate(true);
		if (revoke) {
			set_command(ivshmem, 0, PCI_COMMAND_MEMORY);
		} else {
			if (what == PROFILE_MAP)
				CHECK("IOMMU_IOAS_MAP_FILE",
				      map_file(iommufd, ioas, fd, 2 * MIB,
					       IOVA_BASE));
			CHECK("IOMMU_IOAS_UNMAP",
			      ioas_unmap(iommufd, ioas, IOVA_BASE, 2 * MIB));
		}
		profile_gate(false);
		if (revoke) {
			set_command(ivshmem, PCI_COMMAND_MEMORY, 0);
			CHECK("IOMMU_IOAS_UNMAP",
			      ioas_unmap(iommufd, ioas, IOVA_BASE, 1024 * 2 * MIB));
		}
	}
	close(fd);
	close(iommufd);
	close(edu);
	close(ivshmem);
}

/* Whether the kernel command line has @word (a whole parameter). */
static bool cmdline_has(const char *word)
{
	char line[4096], *tok, *save;
	FILE *f = fopen("/proc/cmdline", "r");
	bool found = false;

	if (!f || !fgets(line, sizeof(line), f))
		die("/proc/cmdline", errno);
	fclose(f);
	for (tok = strtok_r(line, "\n ", &save); tok; tok = strtok_r(NULL, "\n ", &save))
		found |= !strcmp(tok, word);
	return found;
}

/*
 * The first export of the BAR, which may set up per-BAR state: its time,
 * and the memory it takes (MemFree and Slab before and after; struct pages
 * for the whole BAR would be 64 bytes per 4 KiB page of it).
 */
static void bench_first_export(int ivshmem)
{
	struct vfio_region_dma_range page = { 0, 4096 };
	long free0, slab0, free1, slab1;
	uint64_t t0, t1;
	int fd;

	free0 = meminfo_bytes("MemFree");
	slab0 = slab_bytes();
	t0 = now_ns();
	fd = get_dma_buf(ivshmem, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC, &page, 1);
	t1 = now_ns();
	CHECK("first export", fd);
	free1 = meminfo_bytes("MemFree");
	slab1 = slab_bytes();
	printf("csv,info,first_export_ns,%lu\n", t1 - t0);
	printf("csv,info,first_export_memfree_drop_bytes,%ld\n", free0 - free1);
	printf("csv,info,first_export_slab_bytes,%ld\n", slab1 - slab0);
	close(fd);
}

int main(void)
{
	bool mainline = cmdline_has("dmabuf_ic.bench=mainline");
	int ivshmem, iommufd;
	char bdf[256];
	__u64 bar;

	if (cmdline_has("dmabuf_ic.bench=profile-revoke")) {
		run_profile(PROFILE_REVOKE);
		return 0;
	}
	if (cmdline_has("dmabuf_ic.bench=profile-map")) {
		run_profile(PROFILE_MAP);
		return 0;
	}
	if (cmdline_has("dmabuf_ic.bench=profile-unmap")) {
		run_profile(PROFILE_UNMAP);
		return 0;
	}
	printf("csv,info,uapi,%s\n", mainline ? "mainline" : "project");
	ivshmem = vfio_bind("0x1af4", "0x1110", bdf, NULL);
	if (ivshmem < 0)
		die("no ivshmem bound to vfio-pci", ENODEV);
	iommufd = iommufd_bind(ivshmem);
	CHECK("bind", iommufd);
	bar = bar_size(ivshmem, VFIO_PCI_BAR2_REGION_INDEX, NULL);
	printf("csv,info,bar_bytes,%llu\n", (unsigned long long)bar);
	bench_first_export(ivshmem);
	close(iommufd);
	close(ivshmem);

	/* Mainline's uAPI only, from here to the project's part. */
	bench_dmabuf_map(bar);
	bench_type1_map(bar);
	bench_revoke();
	if (!mainline)
		bench_attach();
	return 0;
}
