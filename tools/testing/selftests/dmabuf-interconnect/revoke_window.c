// SPDX-License-Identifier: GPL-2.0-only
/*
 * Revoke must end a DMA-API importer's access before it returns, also when
 * the IOMMU defers IOTLB flushes: with iommu.strict=0 the DMA domain
 * (DMA-FQ) unmaps an IOVA at once but flushes the IOTLB up to about 10 ms
 * later (the flush queue's timer), and until then a device may still reach
 * the page through a cached translation.
 *
 * The check needs a DMA that lands within that window, right after revoke
 * returns. QEMU's edu starts a DMA 100 ms (virtual clock) after its
 * command, so a DMA started after revoke always lands after the flush, and
 * p2p_dma's check that "edu's copy right after revoke is blocked" passes
 * whatever revoke does in lazy mode. Here edu's DMA is started before
 * revoke, and revoke timed so that the DMA lands from 2 ms before to 10 ms
 * after revoke returns, one offset per trial:
 *
 *   1. the test importer maps ivshmem's BAR page for edu (scatter-gather
 *      offer, DMA API, edu's default domain) at IOVA;
 *   2. edu reads the page (0xc3) into its buffer: the translation is now
 *      in QEMU's IOTLB; the page is filled with 0xa1;
 *   3. edu is told to read the page again (it will, 100 ms later);
 *   4. at the trial's time, memory is disabled on ivshmem (the revoke:
 *      the importer is invalidated and unmaps) and enabled again; once
 *      revoke has returned, the page is filled with 0xb2;
 *   5. edu's read lands; mapped again, edu writes its buffer into the
 *      page's second half.
 *
 * 0xb2 there means that edu read the page after revoke had returned: a
 * stale translation, and the test fails. 0xa1 means that the read landed
 * before the revoke; anything else (0xc3, zeroes, all-ones) that it was
 * blocked, or hit the BAR while memory was disabled. The test also
 * requires that some reads landed after revoke returned, or the window
 * was not probed at all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "../../../../drivers/dma-buf/dmabuf-ic-test.h"
#include "edu.h"
#include "vfio_utils.h"

/* edu runs a DMA this long after its command (QEMU's hw/misc/edu.c). */
#define EDU_DELAY_NS 100000000LL
#define XFER 2048
#define TRIALS 25

static __s64 now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void sleep_until(__s64 ns)
{
	struct timespec t = { .tv_sec = ns / 1000000000LL,
			      .tv_nsec = ns % 1000000000LL };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
}

static void fill(void *bar, int c)
{
	for (size_t i = 0; i < XFER; i++)
		__atomic_store_n((char *)bar + i, (char)c, __ATOMIC_SEQ_CST);
}

/* The byte that the first half of @bar holds throughout, or -1. */
static int uniform(void *bar)
{
	char c = __atomic_load_n((char *)bar, __ATOMIC_SEQ_CST);

	for (size_t i = 1; i < XFER; i++)
		if (__atomic_load_n((char *)bar + i, __ATOMIC_SEQ_CST) != c)
			return -1;
	return (unsigned char)c;
}

/* The test importer's mapping for edu: its DMA address, or 0. */
static __u64 importer_map(int ic_dev, __u32 id)
{
	struct dmabuf_ic_test_map m = { .id = id };

	if (ic(ic_dev, DMABUF_IC_TEST_MAP, &m) || m.length != PAGE)
		return 0;
	return m.addr;
}

/* Memory disable and enable on ivshmem: the revoke. */
static void memory_toggle(int ivshmem)
{
	set_command(ivshmem, 0, PCI_COMMAND_MEMORY);
	set_command(ivshmem, PCI_COMMAND_MEMORY, 0);
}

TEST(sgt_dma_in_the_flush_window)
{
	struct vfio_region_dma_range first_page = { 0, PAGE };
	struct dmabuf_ic_test_attach a = {
		.flags = DMABUF_IC_TEST_ATTACH_INVALIDATE |
			 DMABUF_IC_TEST_ATTACH_SGT_P2P |
			 DMABUF_IC_TEST_ATTACH_PCI_DEV,
		.nr_accepts = 1, .accepts = { DMABUF_IC_TEST_SGT },
	};
	int ivshmem, iommufd, dmabuf, ic_dev, before = 0, after = 0, stale = 0;
	struct vfio_region_info info = {
		.argsz = sizeof(info), .index = VFIO_PCI_BAR2_REGION_INDEX,
	};
	char edu_bdf[256], ivshmem_bdf[256];
	__s64 revoke_ns, t;
	void *edu, *bar2;
	__u64 iova;

	ic_dev = open("/dev/dmabuf_ic_test", O_RDWR);
	if (ic_dev < 0)
		SKIP(return, "no /dev/dmabuf_ic_test");
	if (!find_pci("0x1234", "0x11e8", edu_bdf))
		SKIP(return, "no QEMU edu");
	ivshmem = vfio_bind("0x1af4", "0x1110", ivshmem_bdf, NULL);
	if (ivshmem < 0)
		SKIP(return, "no ivshmem bound to vfio-pci with a VFIO cdev");
	iommufd = iommufd_bind(ivshmem);
	ASSERT_LE(0, iommufd);
	ASSERT_EQ(0, ic(ivshmem, VFIO_DEVICE_GET_REGION_INFO, &info));
	bar2 = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ivshmem,
		    info.offset);
	ASSERT_NE(MAP_FAILED, bar2);
	set_command(ivshmem, PCI_COMMAND_MEMORY, 0);
	ASSERT_TRUE(pci_driverless_bus_master(edu_bdf));
	edu = pci_sysfs_bar0(edu_bdf, 1 << 20);
	ASSERT_NE(NULL, edu);
	dmabuf = get_dma_buf(ivshmem, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC,
			     &first_page, 1);
	ASSERT_LE(0, dmabuf);
	ASSERT_TRUE(pci_test_id(edu_bdf, &a.pci_dev));
	a.fd = dmabuf;
	ASSERT_EQ(0, ic(ic_dev, DMABUF_IC_TEST_ATTACH, &a));
	ASSERT_EQ(DMABUF_IC_TEST_SGT, a.negotiated);

	/* How long a revoke takes here, to time the trials around its end. */
	ASSERT_NE(0, importer_map(ic_dev, a.id));
	t = now_ns();
	memory_toggle(ivshmem);
	revoke_ns = now_ns() - t;

	for (int i = 0; i < TRIALS; i++) {
		/* From 2 ms before to 10 ms after revoke returns. */
		__s64 land = -2000000LL + i * 500000LL, start, returned;
		int got;

		iova = importer_map(ic_dev, a.id);
		ASSERT_NE(0, iova);
		fill(bar2, 0xc3);
		edu_start(edu, iova, EDU_BUFFER, XFER, 0);
		ASSERT_TRUE(edu_wait(edu));
		fill(bar2, 0xa1);

		start = now_ns();
		edu_start(edu, iova, EDU_BUFFER, XFER, 0);
		sleep_until(start + EDU_DELAY_NS - land - revoke_ns);
		t = now_ns();
		memory_toggle(ivshmem);
		fill(bar2, 0xb2);
		returned = now_ns() - start;
		/* The next trial aims with what revokes take lately. */
		revoke_ns = (revoke_ns + start + returned - t) / 2;
		ASSERT_TRUE(edu_wait(edu));

		/* edu's buffer into the page's second half, mapped again. */
		fill(bar2 + XFER, 0);
		iova = importer_map(ic_dev, a.id);
		ASSERT_NE(0, iova);
		edu_start(edu, EDU_BUFFER, iova + XFER, XFER, EDU_CMD_TO_RAM);
		ASSERT_TRUE(edu_wait(edu));
		got = uniform(bar2 + XFER);
		TH_LOG("trial %2d: edu's read landed %+6.2f ms after revoke returned: it read %s",
		       i, (EDU_DELAY_NS - returned) / 1e6,
		       got == 0xb2 ? "0xb2, AFTER revoke returned (stale IOTLB)" :
		       got == 0xa1 ? "0xa1, before the revoke" :
		       "nothing (blocked, or memory disabled)");
		if (got == 0xb2)
			stale++;
		else if (got == 0xa1)
			before++;
		else if (returned < EDU_DELAY_NS)
			after++;
		ASSERT_EQ(0, ic(ic_dev, DMABUF_IC_TEST_UNMAP, &a.id));
	}
	TH_LOG("%d trials, a revoke takes about %.2f ms: %d read before it,",
	       TRIALS, revoke_ns / 1e6, before);
	TH_LOG("  %d blocked after it returned, %d stale", after, stale);
	ASSERT_EQ(0, stale);
	/* Some reads landed after revoke returned: the window was probed. */
	ASSERT_LE(3, after);

	ASSERT_EQ(0, ic(ic_dev, DMABUF_IC_TEST_DETACH, &a.id));
	close(ic_dev);
	close(dmabuf);
	munmap(bar2, PAGE);
	close(iommufd);
	close(ivshmem);
}

TEST_HARNESS_MAIN
