// SPDX-License-Identifier: GPL-2.0-only
/*
 * End-to-end peer-to-peer DMA through the IOMMU, in QEMU: ivshmem's BAR2 is
 * exported by VFIO as a dma-buf, imported into an iommufd IOAS with
 * IOMMU_IOAS_MAP_FILE, and QEMU's edu device, attached to that IOAS, writes
 * into it with its DMA engine. Then memory is disabled on ivshmem: the
 * mapping is revoked and edu's DMA is blocked by the IOMMU (the guest logs
 * a DMAR fault); re-enabling memory maps nothing by itself; mapping again
 * makes DMA work again.
 *
 * The same through the exporter's second offer, a DMA-mapped scatter-gather
 * table of the BAR's peer-to-peer pages: the test module's importer maps it
 * for edu through the DMA API (edu has no driver and sits in its default
 * IOMMU domain), and edu copies within ivshmem's BAR; revoke unmaps it.
 *
 * Runs as a kselftest, or with -v as the main job's demo, which narrates.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "../../../../drivers/dma-buf/dmabuf-ic-test.h"
#include "edu.h"
#include "ic_info.h"
#include "narrate.h"
#include "vfio_utils.h"

/* Below 4095 bytes: a 4096-byte transfer trips QEMU 7.2's range check. */
#define XFER 2048
#define IOVA_RAM 0x100000UL
#define IOVA_BAR 0x200000UL

static void *map_region(int device, __u32 index, __u64 *size, __u64 *offset)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };
	void *p;

	if (ic(device, VFIO_DEVICE_GET_REGION_INFO, &info))
		return NULL;
	*size = info.size;
	*offset = info.offset;
	if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return NULL;
	p = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, device,
		 info.offset);
	return p == MAP_FAILED ? NULL : p;
}

/* RAM (at IOVA_RAM) -> edu's buffer -> @iova, by DMA. */
static bool copy_to(void *edu, void *ram, char fill, __u64 iova)
{
	memset(ram, fill, XFER);
	return edu_dma(edu, IOVA_RAM, EDU_BUFFER, XFER, 0) &&
	       edu_dma(edu, EDU_BUFFER, iova, XFER, EDU_CMD_TO_RAM);
}

/* RAM (at IOVA_RAM) -> edu's buffer -> the BAR (at IOVA_BAR), by DMA. */
static bool copy_to_bar(void *edu, void *ram, char fill)
{
	return copy_to(edu, ram, fill, IOVA_BAR);
}

/* Whether the first @n bytes of the mapped BAR are all @c. */
static bool all(void *bar, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (__atomic_load_n((char *)bar + i, __ATOMIC_SEQ_CST) != c)
			return false;
	return true;
}

FIXTURE(p2p)
{
	int iommufd, edu, ivshmem, dmabuf;
	__u32 ioas_id;
	void *edu_bar0, *ram, *bar2;
	__u64 bar2_size;
};

/* Maps the buffer's first page at IOVA_BAR. */
static int map_bar_slice(int iommufd, __u32 ioas_id, int dmabuf)
{
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas_id, .fd = dmabuf, .start = 0,
		.length = PAGE, .iova = IOVA_BAR,
	};

	return ic(iommufd, IOMMU_IOAS_MAP_FILE, &map);
}

FIXTURE_SETUP(p2p)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.length = PAGE, .iova = IOVA_RAM,
	};
	struct vfio_region_dma_range first_page = { 0, PAGE };
	char edu_bdf[256], ivshmem_bdf[256];
	__u64 size, off;

	self->edu = vfio_bind("0x1234", "0x11e8", edu_bdf, NULL);
	self->ivshmem = vfio_bind("0x1af4", "0x1110", ivshmem_bdf, NULL);
	if (self->edu < 0 || self->ivshmem < 0)
		SKIP(return, "needs QEMU's edu and ivshmem-plain with intel-iommu");
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
	bind.iommufd = self->iommufd;
	ASSERT_EQ(0, ic(self->edu, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	ASSERT_EQ(0, ic(self->ivshmem, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	self->ioas_id = alloc.out_ioas_id;
	attach.pt_id = self->ioas_id;
	ASSERT_EQ(0, ic(self->edu, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
	SAY("edu %s and ivshmem %s are bound to vfio-pci and iommufd; edu is attached to IOAS %u\n",
	    edu_bdf, ivshmem_bdf, self->ioas_id);

	/* Memory for edu to read from, at IOVA_RAM. */
	self->ram = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->ram);
	map.ioas_id = self->ioas_id;
	map.user_va = (uintptr_t)self->ram;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_MAP, &map));

	self->edu_bar0 = map_region(self->edu, VFIO_PCI_BAR0_REGION_INDEX, &size, &off);
	ASSERT_NE(NULL, self->edu_bar0);
	self->bar2 = map_region(self->ivshmem, VFIO_PCI_BAR2_REGION_INDEX,
				&self->bar2_size, &off);
	ASSERT_NE(NULL, self->bar2);
	set_command(self->edu, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0);
	set_command(self->ivshmem, PCI_COMMAND_MEMORY, 0);

	self->dmabuf = get_dma_buf(self->ivshmem, VFIO_PCI_BAR2_REGION_INDEX, 0,
				   O_CLOEXEC, &first_page, 1);
	ASSERT_LE(0, self->dmabuf);
	SAY("exported ivshmem BAR2 [0x0, 0x%lx) of 0x%llx bytes as dma-buf fd %d\n",
	    PAGE, (unsigned long long)self->bar2_size, self->dmabuf);
	ASSERT_EQ(0, map_bar_slice(self->iommufd, self->ioas_id, self->dmabuf));
	SAY("IOMMU_IOAS_MAP_FILE: the BAR page is at IOVA 0x%lx (MMIO), RAM at IOVA 0x%lx\n",
	    IOVA_BAR, IOVA_RAM);
}

FIXTURE_TEARDOWN(p2p)
{
	if (self->dmabuf > 0)
		close(self->dmabuf);
	if (self->iommufd > 0)
		close(self->iommufd);
	if (self->edu >= 0)
		close(self->edu);
	if (self->ivshmem >= 0)
		close(self->ivshmem);
}

TEST_F(p2p, dma_revoke_and_map_again)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = self->ioas_id,
		.iova = IOVA_BAR, .length = PAGE,
	};
	void *edu = self->edu_bar0;

	/* Peer-to-peer: edu's DMA engine writes into ivshmem's BAR. */
	memset(self->bar2, 0, XFER);
	ASSERT_TRUE(copy_to_bar(edu, self->ram, 0x5a));
	ASSERT_TRUE(all(self->bar2, 0x5a, XFER));
	SAY("edu DMA wrote %d bytes of 0x5a to IOVA 0x%lx: ivshmem's BAR holds them\n"
	    "  (peer-to-peer DMA through the IOMMU)\n", XFER, IOVA_BAR);

	/* Memory disable on ivshmem: the mapping is revoked before it returns. */
	set_command(self->ivshmem, 0, PCI_COMMAND_MEMORY);
	set_command(self->ivshmem, PCI_COMMAND_MEMORY, 0);
	SAY("memory disabled and enabled again on ivshmem: the mapping was revoked\n");
	/* Nothing is remapped by itself: edu's DMA is blocked (DMAR fault). */
	ASSERT_TRUE(copy_to_bar(edu, self->ram, 0x33));
	ASSERT_TRUE(all(self->bar2, 0x5a, XFER));
	SAY("edu DMA of 0x33 to IOVA 0x%lx was blocked by the IOMMU: the BAR still holds 0x5a\n",
	    IOVA_BAR);
	/* A new map of the revoked area's IOVA needs an unmap first. */
	ASSERT_EQ(-EEXIST, map_bar_slice(self->iommufd, self->ioas_id, self->dmabuf));
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_UNMAP, &unmap));
	ASSERT_EQ(0, map_bar_slice(self->iommufd, self->ioas_id, self->dmabuf));
	ASSERT_TRUE(copy_to_bar(edu, self->ram, 0x77));
	ASSERT_TRUE(all(self->bar2, 0x77, XFER));
	SAY("unmapped and mapped again: edu DMA of 0x77 reached the BAR again\n");
}

/*
 * A dma-buf of two ranges that are not contiguous in the BAR (QEMU exports
 * one range per mmappable area): iommufd maps it as one area, and edu's DMA
 * reaches both ranges through it, each at its own place in the BAR.
 */
#define IOVA_TWO 0x400000UL
/* The buffer's access state (DMA_BUF_IC_INFO_*), or -1. */
static int access_state(int dmabuf)
{
	struct dma_buf_ic_info info = { .size = sizeof(info) };
	int rc = ic(dmabuf, DMA_BUF_IOCTL_IC_INFO, &info);

	/* No room for the lists: EMSGSIZE, with the state filled in. */
	return rc && rc != -EMSGSIZE ? -1 : (int)info.out_flags;
}

/*
 * What a VMM does with DMA_BUF_IOCTL_IC_NOTIFY instead of shadowing the
 * device's command register: it waits on an eventfd, reads the state when
 * it fires, and maps again once access is allowed. The registration lasts
 * while iommufd holds the buffer, after the VMM closed its own fd.
 */
TEST_F(p2p, revoke_events)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = self->ioas_id,
		.iova = IOVA_BAR, .length = PAGE,
	};
	struct dma_buf_ic_notify n = { .size = sizeof(n), .flags = 0 };
	struct iommu_ioas_map_file map2 = {
		.size = sizeof(map2),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		.ioas_id = self->ioas_id, .length = PAGE, .iova = IOVA_BAR + PAGE,
	};
	struct vfio_region_dma_range first_page = { 0, PAGE };
	int efd, efd2, other;

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	efd2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, efd2);
	n.eventfd = efd;
	ASSERT_EQ(0, ic(self->dmabuf, DMA_BUF_IOCTL_IC_NOTIFY, &n));
	/* A second buffer, mapped, watched, and its fd closed. */
	other = get_dma_buf(self->ivshmem, VFIO_PCI_BAR2_REGION_INDEX, 0,
			    O_CLOEXEC, &first_page, 1);
	ASSERT_LE(0, other);
	map2.fd = other;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_MAP_FILE, &map2));
	n.eventfd = efd2;
	ASSERT_EQ(0, ic(other, DMA_BUF_IOCTL_IC_NOTIFY, &n));
	close(other);
	ASSERT_EQ(0, events(efd));

	set_command(self->ivshmem, 0, PCI_COMMAND_MEMORY);
	ASSERT_EQ(1, events(efd));
	ASSERT_EQ(1, events(efd2));
	ASSERT_TRUE(access_state(self->dmabuf) & DMA_BUF_IC_INFO_REVOKED);
	SAY("memory disabled on ivshmem: the eventfd fired, DMA_BUF_IOCTL_IC_INFO says revoked\n");
	ASSERT_TRUE(copy_to_bar(self->edu_bar0, self->ram, 0x44));

	set_command(self->ivshmem, PCI_COMMAND_MEMORY, 0);
	/* edu's DMA while revoked was blocked. */
	ASSERT_FALSE(all(self->bar2, 0x44, XFER));
	ASSERT_EQ(1, events(efd));
	ASSERT_EQ(1, events(efd2));
	ASSERT_FALSE(access_state(self->dmabuf) & DMA_BUF_IC_INFO_REVOKED);
	SAY("memory enabled: the eventfd fired again, access is allowed: map again\n");
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_UNMAP, &unmap));
	ASSERT_EQ(0, map_bar_slice(self->iommufd, self->ioas_id, self->dmabuf));
	ASSERT_TRUE(copy_to_bar(self->edu_bar0, self->ram, 0x45));
	ASSERT_TRUE(all(self->bar2, 0x45, XFER));
	SAY("mapped again: edu DMA of 0x45 reached the BAR\n");

	unmap.iova = IOVA_BAR + PAGE;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_UNMAP, &unmap));
	close(efd);
	close(efd2);
}

TEST_F(p2p, two_ranges)
{
	struct vfio_region_dma_range ranges[2] = { { 0, PAGE }, { 2 * PAGE, PAGE } };
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = self->ioas_id, .start = 0, .length = 2 * PAGE,
		.iova = IOVA_TWO,
	};
	char *bar = self->bar2;
	int dmabuf;

	dmabuf = get_dma_buf(self->ivshmem, VFIO_PCI_BAR2_REGION_INDEX, 0,
			     O_CLOEXEC, ranges, 2);
	ASSERT_LE(0, dmabuf);
	map.fd = dmabuf;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_MAP_FILE, &map));
	SAY("a dma-buf of BAR2 pages 0 and 2 is mapped at IOVA 0x%lx, 2 pages\n", IOVA_TWO);

	memset(bar, 0, 3 * PAGE);
	ASSERT_TRUE(copy_to(self->edu_bar0, self->ram, 0x21, IOVA_TWO));
	ASSERT_TRUE(copy_to(self->edu_bar0, self->ram, 0x22, IOVA_TWO + PAGE));
	ASSERT_TRUE(all(bar, 0x21, XFER));
	/* The buffer's second page is the BAR's third: the second range. */
	ASSERT_TRUE(all(bar + 2 * PAGE, 0x22, XFER));
	ASSERT_TRUE(all(bar + PAGE, 0, PAGE));
	SAY("edu DMA reached both ranges: BAR2 page 0 holds 0x21, page 2 holds 0x22,\n"
	    "  page 1 is untouched\n");
	close(dmabuf);
}

/*
 * IOMMU_IOAS_MAP_FILE of a memfd, which the dma-buf import must not have
 * disturbed: edu's DMA lands in the memfd's pages.
 */
#define IOVA_MEMFD 0x600000UL
TEST_F(p2p, memfd_map_file)
{
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = self->ioas_id, .start = 0, .length = PAGE,
		.iova = IOVA_MEMFD,
	};
	char *mem;
	int memfd;

	memfd = memfd_create("p2p_dma", 0);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, PAGE));
	mem = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 0, PAGE);
	map.fd = memfd;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_MAP_FILE, &map));
	ASSERT_TRUE(copy_to(self->edu_bar0, self->ram, 0x3c, IOVA_MEMFD));
	ASSERT_TRUE(all(mem, 0x3c, XFER));
	SAY("IOMMU_IOAS_MAP_FILE of a memfd at IOVA 0x%lx: edu's DMA landed in its pages\n",
	    IOVA_MEMFD);
	munmap(mem, PAGE);
	close(memfd);
}

/*
 * No regression for today's VMMs: legacy VFIO type1 maps the mmapped BAR
 * and edu's DMA reaches it, also while a dma-buf of the same BAR exists.
 */
TEST(legacy_type1_p2p)
{
	char edu_bdf[256], ivshmem_bdf[256];
	int edu_group, ivshmem_group, container, edu, ivshmem, dmabuf, g1, g2;
	void *ram, *bar0, *bar2;
	__u64 size, off;
	struct vfio_region_dma_range first_page = { 0, PAGE };

	if (vfio_bind("0x1234", "0x11e8", edu_bdf, &edu_group) ||
	    vfio_bind("0x1af4", "0x1110", ivshmem_bdf, &ivshmem_group))
		SKIP(return, "needs QEMU's edu and ivshmem-plain with intel-iommu");
	container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, container);
	ASSERT_EQ(VFIO_API_VERSION, ioctl(container, VFIO_GET_API_VERSION));
	edu = type1_device(container, edu_group, edu_bdf, &g1);
	ASSERT_LE(0, edu);
	ivshmem = type1_device(container, ivshmem_group, ivshmem_bdf, &g2);
	ASSERT_LE(0, ivshmem);

	ram = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ram);
	bar0 = map_region(edu, VFIO_PCI_BAR0_REGION_INDEX, &size, &off);
	ASSERT_NE(NULL, bar0);
	bar2 = map_region(ivshmem, VFIO_PCI_BAR2_REGION_INDEX, &size, &off);
	ASSERT_NE(NULL, bar2);
	set_command(edu, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0);
	set_command(ivshmem, PCI_COMMAND_MEMORY, 0);
	ASSERT_EQ(0, type1_map(container, ram, IOVA_RAM, PAGE));
	ASSERT_EQ(0, type1_map(container, bar2, IOVA_BAR, PAGE));

	memset(bar2, 0, XFER);
	ASSERT_TRUE(copy_to_bar(bar0, ram, 0x42));
	ASSERT_TRUE(all(bar2, 0x42, XFER));
	/* A dma-buf of the same BAR changes nothing for type1. */
	dmabuf = get_dma_buf(ivshmem, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC,
			     &first_page, 1);
	ASSERT_LE(0, dmabuf);
	ASSERT_TRUE(copy_to_bar(bar0, ram, 0x24));
	ASSERT_TRUE(all(bar2, 0x24, XFER));
	SAY("legacy VFIO type1: edu DMA reached ivshmem's mmapped BAR,\n"
	    "  with and without a dma-buf of it\n");
	close(dmabuf);
	close(edu);
	close(ivshmem);
	close(g1);
	close(g2);
	close(container);
}

/* The test importer's mapping for edu: its DMA address, or 0. */
static __u64 importer_map(int ic_dev, __u32 id)
{
	struct dmabuf_ic_test_map m = { .id = id };

	if (ic(ic_dev, DMABUF_IC_TEST_MAP, &m) || m.length != PAGE)
		return 0;
	return m.addr;
}

/* edu copies the BAR's first half onto its second half, both at @iova. */
static bool copy_within_bar(void *edu, __u64 iova)
{
	return edu_dma(edu, iova, EDU_BUFFER, XFER, 0) &&
	       edu_dma(edu, EDU_BUFFER, iova + XFER, XFER, EDU_CMD_TO_RAM);
}

/*
 * The scatter-gather offer: VFIO's dma-buf of ivshmem's BAR page, imported
 * by the test module for edu (PCI_DEV) through the DMA API, as a framework
 * importer or, with @classic, as a classic importer that uses mainline's
 * dma-buf API only. Needs a CPU that Linux trusts to route peer-to-peer
 * through the host bridge (the guest's CPU says AMD family 17h) and edu
 * with a 32-bit DMA mask.
 */
static void check_sgt_p2p_dma(struct __test_metadata *_metadata, bool classic)
{
	struct vfio_region_dma_range first_page = { 0, PAGE };
	struct dmabuf_ic_test_attach a = {
		.flags = DMABUF_IC_TEST_ATTACH_INVALIDATE |
			 DMABUF_IC_TEST_ATTACH_SGT_P2P |
			 DMABUF_IC_TEST_ATTACH_PCI_DEV |
			 (classic ? DMABUF_IC_TEST_ATTACH_CLASSIC : 0),
		.nr_accepts = 1, .accepts = { DMABUF_IC_TEST_SGT },
	};
	struct dmabuf_ic_test_status st = {};
	char edu_bdf[256], ivshmem_bdf[256];
	int ivshmem, iommufd, dmabuf, ic_dev;
	__u64 size, off, iova;
	void *edu, *bar2;

	ic_dev = open("/dev/dmabuf_ic_test", O_RDWR);
	if (ic_dev < 0 || !find_pci("0x1234", "0x11e8", edu_bdf))
		SKIP(return, "needs /dev/dmabuf_ic_test and QEMU's edu");
	ivshmem = vfio_bind("0x1af4", "0x1110", ivshmem_bdf, NULL);
	ASSERT_LE(0, ivshmem);
	iommufd = iommufd_bind(ivshmem);
	ASSERT_LE(0, iommufd);
	bar2 = map_region(ivshmem, VFIO_PCI_BAR2_REGION_INDEX, &size, &off);
	ASSERT_NE(NULL, bar2);
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
	/* Not the physical list (not accepted): VFIO's second offer. */
	ASSERT_EQ(DMABUF_IC_TEST_SGT, a.negotiated);
	iova = importer_map(ic_dev, a.id);
	ASSERT_NE(0, iova);
	SAY("scatter-gather offer: the test importer mapped ivshmem's BAR page for edu %s\n"
	    "  through the DMA API at IOVA 0x%llx\n", edu_bdf, (unsigned long long)iova);

	memset(bar2, 0x5a, XFER);
	memset(bar2 + XFER, 0, XFER);
	ASSERT_TRUE(copy_within_bar(edu, iova));
	ASSERT_TRUE(all(bar2 + XFER, 0x5a, XFER));
	SAY("edu DMA copied %d bytes within ivshmem's BAR (read and write peer-to-peer)\n", XFER);

	/* Memory disable on ivshmem: unmapped for edu before it returns. */
	set_command(ivshmem, 0, PCI_COMMAND_MEMORY);
	st.id = a.id;
	ASSERT_EQ(0, ic(ic_dev, DMABUF_IC_TEST_STATUS, &st));
	ASSERT_EQ(1, st.invalidations);
	ASSERT_EQ(0, st.mapped);
	set_command(ivshmem, PCI_COMMAND_MEMORY, 0);
	/* The IOVA is gone from edu's domain: the IOMMU blocks both copies. */
	memset(bar2, 0x66, XFER);
	ASSERT_TRUE(copy_within_bar(edu, iova));
	ASSERT_TRUE(all(bar2 + XFER, 0x5a, XFER));
	SAY("memory disabled on ivshmem: the importer was invalidated and its mapping ended;\n"
	    "  edu's next copy was blocked by the IOMMU\n");
	/* Map again, maybe at another IOVA: DMA works again. */
	iova = importer_map(ic_dev, a.id);
	ASSERT_NE(0, iova);
	ASSERT_TRUE(copy_within_bar(edu, iova));
	ASSERT_TRUE(all(bar2 + XFER, 0x66, XFER));
	SAY("mapped again at IOVA 0x%llx: edu copied 0x66 within the BAR\n",
	    (unsigned long long)iova);

	ASSERT_EQ(0, ic(ic_dev, DMABUF_IC_TEST_DETACH, &a.id));
	close(ic_dev);
	close(dmabuf);
	close(iommufd);
	close(ivshmem);
}

TEST(sgt_p2p_dma)
{
	check_sgt_p2p_dma(_metadata, false);
}

/* The same, by an importer that knows nothing of interconnects. */
TEST(classic_sgt_p2p_dma)
{
	check_sgt_p2p_dma(_metadata, true);
}

int main(int argc, char **argv)
{
	return narrated_harness_run(argc, argv);
}
