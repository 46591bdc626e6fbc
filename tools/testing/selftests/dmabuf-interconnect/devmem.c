// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshmem-devmem, the GPU-like exporter: buffers allocated in the memory
 * BAR of a QEMU ivshmem device and exported as dma-bufs. The guest has
 * three ivshmem devices: VFIO takes the first (lowest address), the two
 * others stay with ivshmem-devmem: the exporter ("A", the last) and a peer
 * ("B") that imports through the driver's private interconnect.
 *
 * Checked: allocation cycles and the allocator's accounting; every bad
 * input with its errno and nothing left behind; what each importer
 * negotiates (the peer: the private link; iommufd: the physical range; a
 * DMA-API importer: the peer-to-peer table), as DMA_BUF_IOCTL_IC_INFO and
 * IOMMU_DMABUF_GET_INFO report it; copies over the private link; edu's
 * peer-to-peer DMA into a buffer through iommufd (no VFIO export) and
 * through the DMA API, read back through the driver's mapping of the BAR;
 * a reset revoking every buffer (edu blocked, mapping fails with ENODEV)
 * and, once over, letting userspace map again; unbinding the exporter with
 * live mappings, the buffers outliving it.
 *
 * The tests run in order: the last one unbinds A and binds it again.
 * With -v (the main job's demo) the iommufd test narrates.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/iommufd.h>
#include <linux/ivshmem_devmem.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "../../../../drivers/dma-buf/dmabuf-ic-test.h"
#include "edu.h"
#include "fail_nth.h"
#include "ic_info.h"
#include "narrate.h"
#include "vfio_utils.h"

#define XFER 2048
#define IOVA_RAM 0x100000UL
#define IOVA_BUF 0x200000UL
#define LINK_NAME "ivshmem-devmem-link"

/* One device of the driver: its misc device, opened, and what it is. */
struct devmem {
	int fd;
	char node[64];
	struct ivshmem_devmem_info info;
};

/*
 * Opens the two devices of the driver with the highest PCI addresses: @a,
 * the exporter, and @b, the peer. False if there are not two.
 */
static bool open_pair(struct devmem *a, struct devmem *b)
{
	struct devmem found[8];
	int n = 0, i;

	for (i = 0; i < 8 && n < 8; i++) {
		struct devmem *d = &found[n];

		snprintf(d->node, sizeof(d->node), "/dev/ivshmem-devmem%d", i);
		d->fd = open(d->node, O_RDWR | O_CLOEXEC);
		if (d->fd < 0)
			continue;
		memset(&d->info, 0, sizeof(d->info));
		if (ic(d->fd, IVSHMEM_DEVMEM_INFO, &d->info)) {
			close(d->fd);
			continue;
		}
		n++;
	}
	a->fd = -1;
	b->fd = -1;
	for (i = 0; i < n; i++) {
		struct devmem *d = &found[i];

		if (a->fd < 0 || strcmp(d->info.bdf, a->info.bdf) > 0) {
			if (b->fd >= 0)
				close(b->fd);
			*b = *a;
			*a = *d;
		} else if (b->fd < 0 || strcmp(d->info.bdf, b->info.bdf) > 0) {
			if (b->fd >= 0)
				close(b->fd);
			*b = *d;
		} else {
			close(d->fd);
		}
	}
	return a->fd >= 0 && b->fd >= 0;
}

static struct ivshmem_devmem_info info_of(int dev)
{
	struct ivshmem_devmem_info info = {};

	if (ic(dev, IVSHMEM_DEVMEM_INFO, &info))
		info.mem_size = -1ULL;
	return info;
}

/* Allocates @size bytes: 0 or -errno; the result in @out. */
static int alloc_buf(int dev, __u64 size, struct ivshmem_devmem_alloc *out)
{
	memset(out, 0, sizeof(*out));
	out->size = size;
	out->fd = -1;
	return ic(dev, IVSHMEM_DEVMEM_ALLOC, out);
}

static int free_buf(int dev, __u32 handle)
{
	struct ivshmem_devmem_free f = { .handle = handle };

	return ic(dev, IVSHMEM_DEVMEM_FREE, &f);
}

static int rw(int dev, __u32 handle, bool write, __u64 offset, void *data,
	      __u64 len)
{
	struct ivshmem_devmem_rw r = {
		.handle = handle,
		.flags = write ? IVSHMEM_DEVMEM_RW_WRITE : 0,
		.offset = offset, .len = len, .data = (uintptr_t)data,
	};

	return ic(dev, IVSHMEM_DEVMEM_RW, &r);
}

static int reset(int dev, __u32 flags)
{
	struct ivshmem_devmem_reset r = { .flags = flags };

	return ic(dev, IVSHMEM_DEVMEM_RESET, &r);
}

/* Imports @fd: the import's handle, or -errno. */
static int import(int dev, int fd)
{
	struct ivshmem_devmem_import i = { .fd = fd };
	int rc = ic(dev, IVSHMEM_DEVMEM_IMPORT, &i);

	return rc ? rc : (int)i.handle;
}

static int copy(int dev, __u32 import, __u32 handle, __u64 src, __u64 dst,
		__u64 len)
{
	struct ivshmem_devmem_copy c = {
		.import = import, .handle = handle,
		.src_offset = src, .dst_offset = dst, .len = len,
	};

	return ic(dev, IVSHMEM_DEVMEM_COPY, &c);
}

/* Whether @len bytes at @offset of a buffer are all @c. */
static bool holds(int dev, __u32 handle, __u64 offset, char c, size_t len)
{
	char *data = malloc(len);
	bool ok;

	ok = data && !rw(dev, handle, false, offset, data, len);
	for (size_t i = 0; ok && i < len; i++)
		ok = data[i] == c;
	free(data);
	return ok;
}

static int fill(int dev, __u32 handle, __u64 offset, char c, size_t len)
{
	char *data = malloc(len);
	int rc;

	if (!data)
		return -ENOMEM;
	memset(data, c, len);
	rc = rw(dev, handle, true, offset, data, len);
	free(data);
	return rc;
}

/* The interconnect the attachment of importer @who negotiated, or NULL. */
static const char *negotiated(struct report *r, const char *who)
{
	for (__u32 i = 0; i < r->info.num_attachments && i < 8; i++)
		if (!strcmp(r->attachments[i].importer, who))
			return r->attachments[i].interconnect;
	return NULL;
}

/* edu on VFIO and iommufd, attached to a new IOAS with RAM at IOVA_RAM. */
struct edu_ioas {
	int edu, iommufd;
	__u32 ioas_id;
	void *bar0, *ram;
	char bdf[256];
};

static bool edu_ioas_setup(struct edu_ioas *e)
{
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.length = PAGE, .iova = IOVA_RAM,
	};
	struct vfio_region_info reg = {
		.argsz = sizeof(reg), .index = VFIO_PCI_BAR0_REGION_INDEX,
	};

	e->edu = vfio_bind("0x1234", "0x11e8", e->bdf, NULL);
	if (e->edu < 0)
		return false;
	e->iommufd = iommufd_bind(e->edu);
	if (e->iommufd < 0 || ic(e->iommufd, IOMMU_IOAS_ALLOC, &alloc))
		return false;
	e->ioas_id = alloc.out_ioas_id;
	attach.pt_id = e->ioas_id;
	if (ic(e->edu, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return false;
	e->ram = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->ram == MAP_FAILED)
		return false;
	map.ioas_id = e->ioas_id;
	map.user_va = (uintptr_t)e->ram;
	if (ic(e->iommufd, IOMMU_IOAS_MAP, &map) ||
	    ic(e->edu, VFIO_DEVICE_GET_REGION_INFO, &reg))
		return false;
	e->bar0 = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       e->edu, reg.offset);
	if (e->bar0 == MAP_FAILED)
		return false;
	set_command(e->edu, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0);
	return true;
}

static void edu_ioas_close(struct edu_ioas *e)
{
	close(e->iommufd);
	close(e->edu);
}

/* Maps the first page of the dma-buf @fd at IOVA_BUF: 0 or -errno. */
static int map_file(struct edu_ioas *e, int fd)
{
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = e->ioas_id, .fd = fd, .start = 0,
		.length = PAGE, .iova = IOVA_BUF,
	};

	return ic(e->iommufd, IOMMU_IOAS_MAP_FILE, &map);
}

static int unmap_iova(struct edu_ioas *e)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = e->ioas_id,
		.iova = IOVA_BUF, .length = PAGE,
	};

	return ic(e->iommufd, IOMMU_IOAS_UNMAP, &unmap);
}

/* edu writes XFER bytes of @c from RAM into the buffer at IOVA_BUF. */
static bool edu_write(struct edu_ioas *e, char c)
{
	memset(e->ram, c, XFER);
	return edu_dma(e->bar0, IOVA_RAM, EDU_BUFFER, XFER, 0) &&
	       edu_dma(e->bar0, EDU_BUFFER, IOVA_BUF, XFER, EDU_CMD_TO_RAM);
}

FIXTURE(devmem)
{
	struct devmem a, b;
};

FIXTURE_SETUP(devmem)
{
	if (!open_pair(&self->a, &self->b))
		SKIP(return, "needs two ivshmem devices bound to ivshmem-devmem");
	/* Nothing allocated: earlier tests left nothing behind. */
	ASSERT_EQ(self->a.info.mem_size, self->a.info.mem_free);
	ASSERT_EQ(0, self->a.info.nr_buffers);
	ASSERT_EQ(0, self->a.info.flags);
	ASSERT_EQ(self->b.info.mem_size, self->b.info.mem_free);
}

FIXTURE_TEARDOWN(devmem)
{
	if (self->a.fd >= 0)
		close(self->a.fd);
	if (self->b.fd >= 0)
		close(self->b.fd);
}

TEST_F(devmem, alloc_free_cycles)
{
	const __u64 sizes[] = { PAGE, 3 * PAGE, 16 * PAGE, PAGE, 64 * PAGE };
	struct ivshmem_devmem_alloc bufs[5], whole, more;
	__u64 size = self->a.info.mem_size, used = 0;
	int dev = self->a.fd;

	for (int round = 0; round < 3; round++) {
		used = 0;
		for (int i = 0; i < 5; i++) {
			ASSERT_EQ(0, alloc_buf(dev, sizes[i], &bufs[i]));
			ASSERT_LE(0, bufs[i].fd);
			ASSERT_NE(0, bufs[i].handle);
			ASSERT_EQ(0, bufs[i].offset % PAGE);
			ASSERT_GE(size, bufs[i].offset + sizes[i]);
			/* No two buffers overlap. */
			for (int j = 0; j < i; j++)
				ASSERT_TRUE(bufs[i].offset + sizes[i] <= bufs[j].offset ||
					    bufs[j].offset + sizes[j] <= bufs[i].offset);
			used += sizes[i];
			ASSERT_EQ(size - used, info_of(dev).mem_free);
			ASSERT_EQ((__u64)lseek(bufs[i].fd, 0, SEEK_END), sizes[i]);
		}
		ASSERT_EQ(5, info_of(dev).nr_buffers);
		/* Each buffer keeps its own bytes. */
		for (int i = 0; i < 5; i++)
			ASSERT_EQ(0, fill(dev, bufs[i].handle, 0, 'a' + i, PAGE));
		for (int i = 0; i < 5; i++)
			ASSERT_TRUE(holds(dev, bufs[i].handle, 0, 'a' + i, PAGE));
		/*
		 * The memory returns once both the handle and the dma-buf are
		 * gone, in either order.
		 */
		for (int i = 0; i < 5; i++) {
			if (i % 2) {
				ASSERT_EQ(0, free_buf(dev, bufs[i].handle));
				ASSERT_EQ(size - used, info_of(dev).mem_free);
				close(bufs[i].fd);
			} else {
				close(bufs[i].fd);
				ASSERT_EQ(size - used, info_of(dev).mem_free);
				ASSERT_EQ(0, free_buf(dev, bufs[i].handle));
			}
			used -= sizes[i];
			ASSERT_EQ(size - used, info_of(dev).mem_free);
		}
		ASSERT_EQ(0, info_of(dev).nr_buffers);
	}

	/* The whole memory in one buffer; then nothing is left. */
	ASSERT_EQ(0, alloc_buf(dev, size, &whole));
	ASSERT_EQ(0, whole.offset);
	ASSERT_EQ(-ENOSPC, alloc_buf(dev, PAGE, &more));
	ASSERT_EQ(0, free_buf(dev, whole.handle));
	close(whole.fd);
	ASSERT_EQ(size, info_of(dev).mem_free);
}

TEST_F(devmem, bad_input)
{
	struct ivshmem_devmem_alloc buf, bad, dst;
	struct ivshmem_devmem_import imp = { .fd = -1 };
	struct ivshmem_devmem_unimport u = {};
	struct ivshmem_devmem_rw r = {};
	__u64 size = self->a.info.mem_size;
	int dev = self->a.fd, memfd, peer, id;
	char data[8];

	/* Allocation. */
	ASSERT_EQ(-EINVAL, alloc_buf(dev, 0, &bad));
	ASSERT_EQ(-EINVAL, alloc_buf(dev, 100, &bad));
	ASSERT_EQ(-EINVAL, alloc_buf(dev, PAGE + 1, &bad));
	ASSERT_EQ(-EINVAL, alloc_buf(dev, size + PAGE, &bad));
	ASSERT_EQ(-EINVAL, alloc_buf(dev, 1ULL << 63, &bad));
	ASSERT_EQ(-EINVAL, alloc_buf(dev, -(__u64)PAGE, &bad));
	memset(&bad, 0, sizeof(bad));
	bad.size = PAGE;
	bad.flags = 1;
	ASSERT_EQ(-EINVAL, ic(dev, IVSHMEM_DEVMEM_ALLOC, &bad));
	bad.flags = 0;
	bad.reserved = 1;
	ASSERT_EQ(-EINVAL, ic(dev, IVSHMEM_DEVMEM_ALLOC, &bad));
	ASSERT_EQ(-EFAULT, ic(dev, IVSHMEM_DEVMEM_ALLOC, (void *)8));
	ASSERT_EQ(-ENOTTY, ic(dev, _IO(IVSHMEM_DEVMEM_IOCTL_BASE, 0x3f), NULL));

	/* Freeing. */
	ASSERT_EQ(0, alloc_buf(dev, 2 * PAGE, &buf));
	ASSERT_EQ(-ENOENT, free_buf(dev, 0));
	ASSERT_EQ(-ENOENT, free_buf(dev, buf.handle + 100));
	ASSERT_EQ(-ENOENT, free_buf(dev, -1U));

	/* Reading and writing. */
	ASSERT_EQ(-EINVAL, rw(dev, buf.handle, false, 2, data, 4));
	ASSERT_EQ(-EINVAL, rw(dev, buf.handle, false, 0, data, 3));
	ASSERT_EQ(-EINVAL, rw(dev, buf.handle, false, 0, data, 0));
	ASSERT_EQ(-EINVAL, rw(dev, buf.handle, false, 2 * PAGE - 4, data, 8));
	ASSERT_EQ(-EINVAL, rw(dev, buf.handle, false, -4ULL, data, 8));
	ASSERT_EQ(-EINVAL, rw(dev, buf.handle, false, 0, data,
			      IVSHMEM_DEVMEM_RW_MAX + 4));
	ASSERT_EQ(-ENOENT, rw(dev, buf.handle + 1, false, 0, data, 4));
	ASSERT_EQ(-EFAULT, rw(dev, buf.handle, false, 0, (void *)8, 4));
	ASSERT_EQ(-EFAULT, rw(dev, buf.handle, true, 0, (void *)8, 4));
	r.handle = buf.handle;
	r.flags = 2;
	r.len = 4;
	r.data = (uintptr_t)data;
	ASSERT_EQ(-EINVAL, ic(dev, IVSHMEM_DEVMEM_RW, &r));

	/* Reset. */
	ASSERT_EQ(-EINVAL, reset(dev, 4));
	ASSERT_EQ(-EINVAL, reset(dev, IVSHMEM_DEVMEM_RESET_ENTER |
				       IVSHMEM_DEVMEM_RESET_EXIT));
	ASSERT_EQ(-EALREADY, reset(dev, IVSHMEM_DEVMEM_RESET_EXIT));
	ASSERT_EQ(0, reset(dev, IVSHMEM_DEVMEM_RESET_ENTER));
	ASSERT_EQ(-EALREADY, reset(dev, IVSHMEM_DEVMEM_RESET_ENTER));
	ASSERT_EQ(-EBUSY, alloc_buf(dev, PAGE, &bad));
	ASSERT_EQ(-EBUSY, rw(dev, buf.handle, false, 0, data, 4));
	ASSERT_EQ(IVSHMEM_DEVMEM_IN_RESET, info_of(dev).flags);
	ASSERT_EQ(0, reset(dev, IVSHMEM_DEVMEM_RESET_EXIT));
	ASSERT_EQ(0, info_of(dev).flags);

	/* Importing and copying. */
	peer = self->b.fd;
	ASSERT_EQ(-EBADF, import(peer, -1));
	memfd = memfd_create("devmem", MFD_CLOEXEC);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(-EINVAL, import(peer, memfd));
	close(memfd);
	imp.fd = buf.fd;
	imp.handle = 1;
	ASSERT_EQ(-EINVAL, ic(peer, IVSHMEM_DEVMEM_IMPORT, &imp));
	ASSERT_EQ(-ENOENT, copy(peer, 1, 1, 0, 0, 4));

	/* Freeing a buffer that an importer has mapped is refused. */
	ASSERT_EQ(0, alloc_buf(peer, PAGE, &dst));
	id = import(peer, buf.fd);
	ASSERT_LT(0, id);
	ASSERT_EQ(-ENOENT, copy(peer, id, dst.handle + 1, 0, 0, 4));
	ASSERT_EQ(-EINVAL, copy(peer, id, dst.handle, 0, PAGE - 4, 8));
	ASSERT_EQ(-EINVAL, copy(peer, id, dst.handle, 2 * PAGE - 4, 0, 8));
	ASSERT_EQ(-EINVAL, copy(peer, id, dst.handle, 2, 0, 4));
	/* The copy maps the import: the buffer cannot be freed. */
	ASSERT_EQ(0, copy(peer, id, dst.handle, 0, 0, 4));
	ASSERT_EQ(-EBUSY, free_buf(dev, buf.handle));
	u.handle = id;
	u.reserved = 1;
	ASSERT_EQ(-EINVAL, ic(peer, IVSHMEM_DEVMEM_UNIMPORT, &u));
	u.reserved = 0;
	ASSERT_EQ(0, ic(peer, IVSHMEM_DEVMEM_UNIMPORT, &u));
	ASSERT_EQ(-ENOENT, ic(peer, IVSHMEM_DEVMEM_UNIMPORT, &u));
	ASSERT_EQ(0, free_buf(peer, dst.handle));
	close(dst.fd);
	ASSERT_EQ(0, free_buf(dev, buf.handle));
	/* Double free. */
	ASSERT_EQ(-ENOENT, free_buf(dev, buf.handle));
	close(buf.fd);

	/* Nothing was left behind. */
	ASSERT_EQ(size, info_of(dev).mem_free);
	ASSERT_EQ(0, info_of(dev).nr_buffers);
	ASSERT_EQ(self->b.info.mem_size, info_of(peer).mem_free);
}

/* The private link: the peer copies by the CPU, without the DMA API. */
TEST_F(devmem, link_copy)
{
	struct ivshmem_devmem_alloc src, dst;
	struct report r;
	int id;

	ASSERT_EQ(0, alloc_buf(self->a.fd, 2 * PAGE, &src));
	ASSERT_EQ(0, alloc_buf(self->b.fd, 2 * PAGE, &dst));
	ASSERT_EQ(0, fill(self->a.fd, src.handle, 0, 0x11, PAGE));
	ASSERT_EQ(0, fill(self->a.fd, src.handle, PAGE, 0x22, PAGE));
	id = import(self->b.fd, src.fd);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, query(src.fd, &r));
	ASSERT_EQ(1, r.info.num_attachments);
	ASSERT_STREQ(self->b.info.bdf, r.attachments[0].importer);
	ASSERT_STREQ(LINK_NAME, r.attachments[0].interconnect);
	ASSERT_EQ(DMA_BUF_IC_ATTACHMENT_NEGOTIATED, r.attachments[0].flags);

	/* Crossed: the source's second page onto the first, and back. */
	ASSERT_EQ(0, copy(self->b.fd, id, dst.handle, PAGE, 0, PAGE));
	ASSERT_EQ(0, copy(self->b.fd, id, dst.handle, 0, PAGE, PAGE));
	ASSERT_TRUE(holds(self->b.fd, dst.handle, 0, 0x22, PAGE));
	ASSERT_TRUE(holds(self->b.fd, dst.handle, PAGE, 0x11, PAGE));
	ASSERT_EQ(0, query(src.fd, &r));
	ASSERT_EQ(DMA_BUF_IC_ATTACHMENT_NEGOTIATED | DMA_BUF_IC_ATTACHMENT_MAPPED,
		  r.attachments[0].flags);

	/* A device importing its own buffer takes the link too. */
	id = import(self->a.fd, src.fd);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, query(src.fd, &r));
	ASSERT_EQ(2, r.info.num_attachments);
	ASSERT_STREQ(LINK_NAME, negotiated(&r, self->a.info.bdf));

	/* Closing the files detaches and frees everything. */
	close(src.fd);
	close(dst.fd);
	close(self->a.fd);
	close(self->b.fd);
	self->a.fd = -1;
	self->b.fd = -1;
	ASSERT_TRUE(open_pair(&self->a, &self->b));
	ASSERT_EQ(self->a.info.mem_size, self->a.info.mem_free);
	ASSERT_EQ(self->b.info.mem_size, self->b.info.mem_free);
}

/*
 * Each importer gets its own interconnect: the peer the private link,
 * iommufd the physical range, the DMA API the peer-to-peer table; the
 * discovery ioctls say so. Then edu DMAs into the buffer through iommufd.
 */
TEST_F(devmem, negotiation_and_iommufd_p2p)
{
	struct dmabuf_ic_test_attach ta = {
		.flags = DMABUF_IC_TEST_ATTACH_INVALIDATE | DMABUF_IC_TEST_ATTACH_SGT_P2P |
			 DMABUF_IC_TEST_ATTACH_PCI_DEV,
		.nr_accepts = 2, .accepts = { DMABUF_IC_TEST_PHYS_LIST, DMABUF_IC_TEST_SGT },
	};
	struct iommu_dmabuf_info info = { .size = sizeof(info) };
	struct iommu_dmabuf_interconnect accepts[4];
	struct ivshmem_devmem_alloc buf;
	struct edu_ioas e;
	struct report r;
	int ic_dev, id;

	ic_dev = open("/dev/dmabuf_ic_test", O_RDWR);
	ASSERT_LE(0, ic_dev);
	ASSERT_EQ(0, alloc_buf(self->a.fd, 4 * PAGE, &buf));
	ASSERT_EQ(0, fill(self->a.fd, buf.handle, 0, 0, 4 * PAGE));
	SAY("%s (ivshmem %s, %llu KiB of device memory): allocated 16 KiB at offset 0x%llx,\n"
	    "  exported as dma-buf fd %d\n", self->a.node, self->a.info.bdf,
	    (unsigned long long)self->a.info.mem_size >> 10,
	    (unsigned long long)buf.offset, buf.fd);

	ASSERT_EQ(0, query(buf.fd, &r));
	ASSERT_EQ(DMA_BUF_IC_INFO_NEGOTIATES | DMA_BUF_IC_INFO_REVOCABLE, r.info.out_flags);
	ASSERT_EQ(3, r.info.num_offers);
	ASSERT_STREQ(LINK_NAME, r.offers[0].name);
	ASSERT_STREQ("phys-list", r.offers[1].name);
	ASSERT_STREQ("sgt", r.offers[2].name);
	ASSERT_EQ(DMA_BUF_IC_OFFER_P2P, r.offers[2].flags);
	SAY("DMA_BUF_IOCTL_IC_INFO: revocable; offers %s, %s, %s (peer-to-peer)\n",
	    r.offers[0].name, r.offers[1].name, r.offers[2].name);

	/* The DMA-API importer: an ordinary one may not take phys-list. */
	ASSERT_TRUE(edu_ioas_setup(&e));
	ASSERT_TRUE(pci_test_id(e.bdf, &ta.pci_dev));
	ta.fd = buf.fd;
	ASSERT_EQ(-EPERM, ic(ic_dev, DMABUF_IC_TEST_ATTACH, &ta));
	ta.nr_accepts = 1;
	ta.accepts[0] = DMABUF_IC_TEST_SGT;
	ASSERT_EQ(0, ic(ic_dev, DMABUF_IC_TEST_ATTACH, &ta));
	ASSERT_EQ(DMABUF_IC_TEST_SGT, ta.negotiated);

	/* iommufd: what it would negotiate, then what it did. */
	info.flags = IOMMU_DMABUF_INFO_FD;
	info.fd = buf.fd;
	info.num_accepts = 4;
	info.accepts_uptr = (uintptr_t)accepts;
	ASSERT_EQ(0, ic(e.iommufd, IOMMU_DMABUF_GET_INFO, &info));
	ASSERT_STREQ("phys-list", info.out_interconnect);
	ASSERT_EQ(0, map_file(&e, buf.fd));

	id = import(self->b.fd, buf.fd);
	ASSERT_LT(0, id);

	ASSERT_EQ(0, query(buf.fd, &r));
	ASSERT_EQ(3, r.info.num_attachments);
	ASSERT_STREQ("sgt", negotiated(&r, e.bdf));
	ASSERT_STREQ("phys-list", negotiated(&r, "iommu"));
	ASSERT_STREQ(LINK_NAME, negotiated(&r, self->b.info.bdf));
	SAY("three importers, three interconnects (DMA_BUF_IOCTL_IC_INFO):\n"
	    "  %s (ivshmem-devmem, the peer): %s\n"
	    "  iommu (IOMMU_IOAS_MAP_FILE into IOAS %u of edu %s): %s\n"
	    "  %s (the test module for edu, DMA API): %s\n",
	    self->b.info.bdf, negotiated(&r, self->b.info.bdf), e.ioas_id,
	    e.bdf, negotiated(&r, "iommu"), e.bdf, negotiated(&r, e.bdf));

	/* Real peer-to-peer DMA, from a non-VFIO exporter, through iommufd. */
	ASSERT_TRUE(edu_write(&e, 0x5c));
	ASSERT_TRUE(holds(self->a.fd, buf.handle, 0, 0x5c, XFER));
	ASSERT_TRUE(holds(self->a.fd, buf.handle, XFER, 0, XFER));
	SAY("edu's DMA wrote %d bytes of 0x5c into the buffer through iommufd (no VFIO\n"
	    "  export); read back through the driver's mapping of the BAR\n", XFER);

	ASSERT_EQ(0, ic(ic_dev, DMABUF_IC_TEST_DETACH, &ta.id));
	ASSERT_EQ(0, unmap_iova(&e));
	edu_ioas_close(&e);
	close(ic_dev);
	close(buf.fd);
	ASSERT_EQ(0, free_buf(self->a.fd, buf.handle));
}

/*
 * The DMA API's path: edu, driverless, copies within the buffer, mapped by
 * the test module's framework importer or, with @classic, by its classic
 * importer, which uses mainline's dma-buf API only.
 */
static void sgt_dma(struct __test_metadata *_metadata, int dev, bool classic)
{
	struct dmabuf_ic_test_attach ta = {
		.flags = DMABUF_IC_TEST_ATTACH_INVALIDATE | DMABUF_IC_TEST_ATTACH_SGT_P2P |
			 DMABUF_IC_TEST_ATTACH_PCI_DEV |
			 (classic ? DMABUF_IC_TEST_ATTACH_CLASSIC : 0),
		.nr_accepts = 1, .accepts = { DMABUF_IC_TEST_SGT },
	};
	struct dmabuf_ic_test_map m = {};
	struct dmabuf_ic_test_status st = {};
	struct ivshmem_devmem_alloc buf;
	char edu_bdf[256];
	int ic_dev;
	void *edu;

	ic_dev = open("/dev/dmabuf_ic_test", O_RDWR);
	ASSERT_LE(0, ic_dev);
	ASSERT_TRUE(find_pci("0x1234", "0x11e8", edu_bdf));
	ASSERT_TRUE(pci_driverless_bus_master(edu_bdf));
	edu = pci_sysfs_bar0(edu_bdf, 1 << 20);
	ASSERT_NE(NULL, edu);
	ASSERT_EQ(0, alloc_buf(dev, PAGE, &buf));
	ASSERT_EQ(0, fill(dev, buf.handle, 0, 0x3e, XFER));
	ASSERT_EQ(0, fill(dev, buf.handle, XFER, 0, XFER));
	ASSERT_TRUE(pci_test_id(edu_bdf, &ta.pci_dev));
	ta.fd = buf.fd;
	ASSERT_EQ(0, ic(ic_dev, DMABUF_IC_TEST_ATTACH, &ta));
	ASSERT_EQ(DMABUF_IC_TEST_SGT, ta.negotiated);
	m.id = ta.id;
	ASSERT_EQ(0, ic(ic_dev, DMABUF_IC_TEST_MAP, &m));
	ASSERT_EQ(PAGE, m.length);
	ASSERT_TRUE(edu_dma(edu, m.addr, EDU_BUFFER, XFER, 0));
	ASSERT_TRUE(edu_dma(edu, EDU_BUFFER, m.addr + XFER, XFER, EDU_CMD_TO_RAM));
	ASSERT_TRUE(holds(dev, buf.handle, XFER, 0x3e, XFER));

	/* A reset revokes: the mapping ends, edu's next copy is blocked. */
	ASSERT_EQ(0, reset(dev, IVSHMEM_DEVMEM_RESET_ENTER));
	st.id = ta.id;
	ASSERT_EQ(0, ic(ic_dev, DMABUF_IC_TEST_STATUS, &st));
	ASSERT_EQ(0, st.mapped);
	ASSERT_EQ(1, st.invalidations);
	ASSERT_EQ(-ENODEV, ic(ic_dev, DMABUF_IC_TEST_MAP, &m));
	ASSERT_EQ(0, reset(dev, IVSHMEM_DEVMEM_RESET_EXIT));
	ASSERT_EQ(0, fill(dev, buf.handle, 0, 0x4f, XFER));
	ASSERT_TRUE(edu_dma(edu, m.addr, EDU_BUFFER, XFER, 0));
	ASSERT_TRUE(edu_dma(edu, EDU_BUFFER, m.addr + XFER, XFER, EDU_CMD_TO_RAM));
	ASSERT_TRUE(holds(dev, buf.handle, XFER, 0x3e, XFER));
	/* Mapped again (maybe elsewhere): DMA works again. */
	ASSERT_EQ(0, ic(ic_dev, DMABUF_IC_TEST_MAP, &m));
	ASSERT_TRUE(edu_dma(edu, m.addr, EDU_BUFFER, XFER, 0));
	ASSERT_TRUE(edu_dma(edu, EDU_BUFFER, m.addr + XFER, XFER, EDU_CMD_TO_RAM));
	ASSERT_TRUE(holds(dev, buf.handle, XFER, 0x4f, XFER));

	ASSERT_EQ(0, ic(ic_dev, DMABUF_IC_TEST_DETACH, &ta.id));
	close(ic_dev);
	close(buf.fd);
	ASSERT_EQ(0, free_buf(dev, buf.handle));
}

TEST_F(devmem, sgt_p2p_dma)
{
	sgt_dma(_metadata, self->a.fd, false);
}

TEST_F(devmem, classic_sgt_p2p_dma)
{
	sgt_dma(_metadata, self->a.fd, true);
}

/*
 * Fault injection: the nth allocation of the calling thread fails, for
 * n = 1, 2, ... until a call reaches no more sites. Each failed call must
 * fail with ENOMEM and leave nothing behind (no memory allocated on the
 * device, no file descriptor, no attachment); each call that succeeds must
 * have done all its work.
 */
TEST_F(devmem, fail_nth_alloc_import_copy)
{
	struct ivshmem_devmem_alloc buf, src, dst;
	int failures = 0, lowest, rc, id;
	struct fail_nth nth;
	struct report r;
	bool fired;

	if (!fail_nth_open(&nth))
		TH_LOG("no %s (CONFIG_FAULT_INJECTION_DEBUG_FS, FAILSLAB, FAIL_PAGE_ALLOC)",
		       nth.missing);
	ASSERT_LE(0, nth.fd);

	/* Allocation and export. */
	lowest = lowest_free_fd();
	do {
		ASSERT_GT(1000, nth.nth);
		ASSERT_TRUE(fail_nth_arm(&nth));
		rc = alloc_buf(self->a.fd, 2 * PAGE, &buf);
		fired = fail_nth_disarm(&nth);
		if (rc) {
			ASSERT_TRUE(fired);
			ASSERT_EQ(-ENOMEM, rc);
			ASSERT_EQ(lowest, lowest_free_fd());
			failures++;
		} else {
			ASSERT_EQ(lowest, buf.fd);
			ASSERT_EQ(0, fill(self->a.fd, buf.handle, 0, 0x2a, 2 * PAGE));
			close(buf.fd);
			ASSERT_EQ(0, free_buf(self->a.fd, buf.handle));
		}
		ASSERT_EQ(self->a.info.mem_size, info_of(self->a.fd).mem_free);
		ASSERT_EQ(0, info_of(self->a.fd).nr_buffers);
	} while (fired);
	TH_LOG("walk alloc: %u sites reached, %d failed the call", nth.nth - 1, failures);
	ASSERT_LT(0, failures);

	/* Import and a copy over the link (which maps the import). */
	ASSERT_EQ(0, alloc_buf(self->a.fd, PAGE, &src));
	ASSERT_EQ(0, alloc_buf(self->b.fd, PAGE, &dst));
	ASSERT_EQ(0, fill(self->a.fd, src.handle, 0, 0x3b, PAGE));
	nth.nth = 0;
	failures = 0;
	do {
		ASSERT_GT(1000, nth.nth);
		ASSERT_EQ(0, fill(self->b.fd, dst.handle, 0, 0, PAGE));
		ASSERT_TRUE(fail_nth_arm(&nth));
		id = import(self->b.fd, src.fd);
		rc = id < 0 ? id : copy(self->b.fd, id, dst.handle, 0, 0, PAGE);
		fired = fail_nth_disarm(&nth);
		if (rc) {
			ASSERT_TRUE(fired);
			ASSERT_EQ(-ENOMEM, rc);
			failures++;
		} else {
			ASSERT_TRUE(holds(self->b.fd, dst.handle, 0, 0x3b, PAGE));
		}
		if (id > 0) {
			struct ivshmem_devmem_unimport u = { .handle = id };

			ASSERT_EQ(0, ic(self->b.fd, IVSHMEM_DEVMEM_UNIMPORT, &u));
		}
		ASSERT_EQ(0, query(src.fd, &r));
		ASSERT_EQ(0, r.info.num_attachments);
	} while (fired);
	TH_LOG("walk import+copy: %u sites reached, %d failed the call", nth.nth - 1,
	       failures);
	ASSERT_LT(0, failures);
	close(nth.fd);
	close(src.fd);
	close(dst.fd);
	ASSERT_EQ(0, free_buf(self->a.fd, src.handle));
	ASSERT_EQ(0, free_buf(self->b.fd, dst.handle));
	ASSERT_EQ(self->a.info.mem_size, info_of(self->a.fd).mem_free);
	ASSERT_EQ(self->b.info.mem_size, info_of(self->b.fd).mem_free);
}

/* What the threads of the race share. */
struct race {
	int a, b, buf_fd, import, dst, iommufd;
	__u32 buf, ioas_id;
	bool stop;
	/* Calls that ended as the device's state allows, and the others. */
	unsigned long done[4], bad;
	int bad_errno;
};

static void race_bad(struct race *r, int rc)
{
	__atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED);
	r->bad_errno = rc;
}

/* Resets the exporter, over and over. */
static void *race_reset(void *arg)
{
	struct race *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		int rc = reset(r->a, 0);

		if (rc)
			race_bad(r, rc);
		else
			r->done[0]++;
	}
	return NULL;
}

/* The peer copies from the buffer: done, or ENODEV while it is revoked. */
static void *race_copy(void *arg)
{
	struct race *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		int rc = copy(r->b, r->import, r->dst, 0, 0, PAGE);

		if (rc && rc != -ENODEV)
			race_bad(r, rc);
		else
			r->done[1]++;
	}
	return NULL;
}

/* iommufd maps and unmaps it: done, or ENODEV while it is revoked. */
static void *race_map(void *arg)
{
	struct race *r = arg;
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = r->ioas_id, .fd = r->buf_fd, .length = PAGE,
		.iova = IOVA_BUF,
	};
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = r->ioas_id,
		.iova = IOVA_BUF, .length = PAGE,
	};

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		int rc = ic(r->iommufd, IOMMU_IOAS_MAP_FILE, &map);

		if (!rc)
			rc = ic(r->iommufd, IOMMU_IOAS_UNMAP, &unmap);
		if (rc && rc != -ENODEV)
			race_bad(r, rc);
		else
			r->done[2]++;
	}
	return NULL;
}

/* Buffers come and go beside it: done, or EBUSY while in reset. */
static void *race_alloc(void *arg)
{
	struct race *r = arg;
	struct ivshmem_devmem_alloc a;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		int rc = alloc_buf(r->a, PAGE, &a);

		if (!rc) {
			close(a.fd);
			rc = free_buf(r->a, a.handle);
		}
		if (rc && rc != -EBUSY)
			race_bad(r, rc);
		else
			r->done[3]++;
	}
	return NULL;
}

/*
 * Two seconds of resets against the peer's copies, iommufd's map and unmap
 * and allocations: every call ends as the state allows, and nothing is left
 * behind (the guest's checkers catch lock-order, memory and reference
 * errors).
 */
TEST_F(devmem, race_reset_copy_map)
{
	void *(*fn[])(void *) = { race_reset, race_copy, race_map, race_alloc };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct ivshmem_devmem_alloc buf, dst;
	struct race r = { .a = self->a.fd, .b = self->b.fd };
	pthread_t threads[4];

	ASSERT_EQ(0, alloc_buf(self->a.fd, PAGE, &buf));
	ASSERT_EQ(0, alloc_buf(self->b.fd, PAGE, &dst));
	r.buf = buf.handle;
	r.buf_fd = buf.fd;
	r.dst = dst.handle;
	r.import = import(self->b.fd, buf.fd);
	ASSERT_LT(0, r.import);
	r.iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, r.iommufd);
	ASSERT_EQ(0, ic(r.iommufd, IOMMU_IOAS_ALLOC, &ioas));
	r.ioas_id = ioas.out_ioas_id;

	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, fn[i], &r));
	sleep(2);
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	TH_LOG("resets %lu, copies %lu, maps %lu, allocations %lu",
	       r.done[0], r.done[1], r.done[2], r.done[3]);
	ASSERT_EQ(0, r.bad) TH_LOG("last unexpected errno %d", r.bad_errno);
	for (int i = 0; i < 4; i++)
		ASSERT_LT(0, r.done[i]);
	ASSERT_EQ(0, info_of(self->a.fd).flags);

	close(r.iommufd);
	close(buf.fd);
	close(dst.fd);
	close(self->a.fd);
	close(self->b.fd);
	self->a.fd = -1;
	self->b.fd = -1;
	ASSERT_TRUE(open_pair(&self->a, &self->b));
	ASSERT_EQ(self->a.info.mem_size, self->a.info.mem_free);
	ASSERT_EQ(self->b.info.mem_size, self->b.info.mem_free);
}

/*
 * A reset revokes every buffer: iommufd's mapping is gone (edu's DMA is
 * blocked), mapping fails with ENODEV, the peer's copy too; after it,
 * nothing is mapped again by itself, and mapping again works. The 0x63
 * here is the last write into the start of the exporter's memory that this
 * program lets through (the tests after it only try DMAs that the IOMMU
 * blocks): scripts/test.sh finds it in the memory's file on the host, and
 * not the blocked ones. Tests that write there go before this one.
 */
TEST_F(devmem, reset_revokes_and_restores)
{
	struct ivshmem_devmem_alloc buf, other, dst;
	struct dma_buf_ic_notify n = { .size = sizeof(n) };
	struct edu_ioas e;
	struct report r;
	eventfd_t count;
	int id, efd;

	ASSERT_EQ(0, alloc_buf(self->a.fd, PAGE, &buf));
	ASSERT_EQ(0, alloc_buf(self->a.fd, PAGE, &other));
	ASSERT_EQ(0, alloc_buf(self->b.fd, PAGE, &dst));
	ASSERT_EQ(0, fill(self->a.fd, buf.handle, 0, 0, PAGE));
	ASSERT_EQ(0, fill(self->a.fd, other.handle, 0, 0x77, PAGE));
	ASSERT_TRUE(edu_ioas_setup(&e));
	ASSERT_EQ(0, map_file(&e, buf.fd));
	id = import(self->b.fd, other.fd);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, copy(self->b.fd, id, dst.handle, 0, 0, PAGE));
	ASSERT_TRUE(edu_write(&e, 0x61));
	ASSERT_TRUE(holds(self->a.fd, buf.handle, 0, 0x61, XFER));

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	n.eventfd = efd;
	ASSERT_EQ(0, ic(buf.fd, DMA_BUF_IOCTL_IC_NOTIFY, &n));
	ASSERT_EQ(0, reset(self->a.fd, IVSHMEM_DEVMEM_RESET_ENTER));
	/* The holder of the mapping hears of it (DMA_BUF_IOCTL_IC_NOTIFY). */
	ASSERT_EQ(0, eventfd_read(efd, &count));
	ASSERT_EQ(1, count);
	/* Both buffers: revoked, nobody mapped. */
	ASSERT_EQ(0, query(buf.fd, &r));
	ASSERT_EQ(DMA_BUF_IC_INFO_NEGOTIATES | DMA_BUF_IC_INFO_REVOCABLE |
		  DMA_BUF_IC_INFO_REVOKED, r.info.out_flags);
	ASSERT_EQ(DMA_BUF_IC_ATTACHMENT_NEGOTIATED, r.attachments[0].flags);
	ASSERT_EQ(0, query(other.fd, &r));
	ASSERT_EQ(DMA_BUF_IC_ATTACHMENT_NEGOTIATED, r.attachments[0].flags);
	/* edu's DMA hits no mapping: the IOMMU blocks it. */
	ASSERT_TRUE(edu_write(&e, 0x62));
	ASSERT_EQ(-ENODEV, copy(self->b.fd, id, dst.handle, 0, 0, PAGE));
	ASSERT_EQ(0, unmap_iova(&e));
	ASSERT_EQ(-ENODEV, map_file(&e, buf.fd));
	ASSERT_EQ(0, reset(self->a.fd, IVSHMEM_DEVMEM_RESET_EXIT));
	ASSERT_EQ(0, eventfd_read(efd, &count));
	ASSERT_EQ(1, count);
	close(efd);
	ASSERT_TRUE(holds(self->a.fd, buf.handle, 0, 0x61, XFER));

	/* Restored: nothing mapped by itself; userspace maps again. */
	ASSERT_EQ(0, query(other.fd, &r));
	ASSERT_EQ(DMA_BUF_IC_ATTACHMENT_NEGOTIATED, r.attachments[0].flags);
	ASSERT_EQ(0, map_file(&e, buf.fd));
	ASSERT_TRUE(edu_write(&e, 0x63));
	ASSERT_TRUE(holds(self->a.fd, buf.handle, 0, 0x63, XFER));
	ASSERT_EQ(0, fill(self->a.fd, other.handle, 0, 0x78, PAGE));
	ASSERT_EQ(0, copy(self->b.fd, id, dst.handle, 0, 0, PAGE));
	ASSERT_TRUE(holds(self->b.fd, dst.handle, 0, 0x78, PAGE));

	ASSERT_EQ(0, unmap_iova(&e));
	edu_ioas_close(&e);
	close(buf.fd);
	close(other.fd);
	close(dst.fd);
}

/*
 * Unbinding the exporter with live mappings: every buffer is revoked for
 * good, the buffers and files outlive the device, and their memory goes
 * with them. Then the device is bound again.
 */
TEST_F(devmem, unbind_with_live_mappings)
{
	struct ivshmem_devmem_alloc buf, dst, none;
	struct iommu_dmabuf_info info = { .size = sizeof(info) };
	struct iommu_dmabuf_interconnect accepts[4];
	char path[300], data[4];
	struct edu_ioas e;
	struct report r;
	int id;

	ASSERT_EQ(0, alloc_buf(self->a.fd, 2 * PAGE, &buf));
	ASSERT_EQ(0, alloc_buf(self->b.fd, PAGE, &dst));
	ASSERT_TRUE(edu_ioas_setup(&e));
	ASSERT_EQ(0, map_file(&e, buf.fd));
	id = import(self->b.fd, buf.fd);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, copy(self->b.fd, id, dst.handle, 0, 0, PAGE));

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind",
		 self->a.info.bdf);
	ASSERT_TRUE(write_str(path, self->a.info.bdf));

	ASSERT_EQ(0, query(buf.fd, &r));
	ASSERT_EQ(DMA_BUF_IC_INFO_NEGOTIATES | DMA_BUF_IC_INFO_REVOCABLE |
		  DMA_BUF_IC_INFO_REVOKED | DMA_BUF_IC_INFO_REVOKED_FOR_GOOD,
		  r.info.out_flags);
	ASSERT_EQ(2, r.info.num_attachments);
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(DMA_BUF_IC_ATTACHMENT_NEGOTIATED, r.attachments[i].flags);
	/* edu is blocked, nobody maps, the exporter's file does nothing. */
	ASSERT_TRUE(edu_write(&e, 0x71));
	ASSERT_EQ(-ENODEV, copy(self->b.fd, id, dst.handle, 0, 0, PAGE));
	ASSERT_EQ(0, unmap_iova(&e));
	ASSERT_EQ(-ENODEV, map_file(&e, buf.fd));
	info.flags = IOMMU_DMABUF_INFO_FD;
	info.fd = buf.fd;
	info.num_accepts = 4;
	info.accepts_uptr = (uintptr_t)accepts;
	ASSERT_EQ(-ENODEV, ic(e.iommufd, IOMMU_DMABUF_GET_INFO, &info));
	ASSERT_EQ(-ENODEV, rw(self->a.fd, buf.handle, false, 0, data, 4));
	ASSERT_EQ(-ENODEV, alloc_buf(self->a.fd, PAGE, &none));
	ASSERT_EQ(-ENODEV, reset(self->a.fd, 0));
	ASSERT_EQ(-ENODEV, import(self->b.fd, buf.fd));
	ASSERT_EQ(-ENODEV, import(self->a.fd, buf.fd));
	/* The buffer and the files outlive the device. */
	edu_ioas_close(&e);
	close(buf.fd);
	close(dst.fd);
	close(self->a.fd);
	close(self->b.fd);
	self->a.fd = -1;
	self->b.fd = -1;

	/* Bound again: all its memory is free. */
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/ivshmem_devmem/bind");
	ASSERT_TRUE(write_str(path, self->a.info.bdf));
	ASSERT_TRUE(open_pair(&self->a, &self->b));
	ASSERT_EQ(self->a.info.mem_size, self->a.info.mem_free);
	ASSERT_EQ(0, self->a.info.nr_buffers);
}

int main(int argc, char **argv)
{
	return narrated_harness_run(argc, argv);
}
