// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO_DEVICE_FEATURE_DMA_BUF on a real PCI device: QEMU's ivshmem-plain,
 * whose BAR2 is memory, bound to vfio-pci and opened through the VFIO
 * device cdev and iommufd. The importer is the dma-buf interconnect test
 * module (CONFIG_DMABUF_INTERCONNECT_TEST), which counts invalidations.
 */
#define _GNU_SOURCE
#include <linux/dma-buf.h>
#include <linux/iommufd.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h>

#include "../kselftest_harness.h"
#include "../../../../drivers/dma-buf/dmabuf-ic-test.h"
#include "vfio_utils.h"

#define IVSHMEM_VENDOR "0x1af4"
#define IVSHMEM_DEVICE "0x1110"

/*
 * Attaches an importer of the physical list (one that only reads the ranges
 * back); its id, or -errno.
 */
static int attach(int ic_dev, int fd, __u32 flags)
{
	struct dmabuf_ic_test_attach a = {
		.fd = fd, .flags = flags | DMABUF_IC_TEST_ATTACH_PHYS_READER,
		.nr_accepts = 1,
		.accepts = { DMABUF_IC_TEST_PHYS_LIST },
	};
	int rc = ic(ic_dev, DMABUF_IC_TEST_ATTACH, &a);

	return rc ? rc : (int)a.id;
}

/* Attaches accepting @accepts (@nr entries) with @flags; id or -errno. */
static int attach_accepting(int ic_dev, int fd, __u32 flags,
			    const __u32 *accepts, __u32 nr, __u32 *negotiated)
{
	struct dmabuf_ic_test_attach a = {
		.fd = fd, .flags = flags, .nr_accepts = nr,
	};
	int rc;

	memcpy(a.accepts, accepts, nr * sizeof(*accepts));
	rc = ic(ic_dev, DMABUF_IC_TEST_ATTACH, &a);
	if (!rc && negotiated)
		*negotiated = a.negotiated;
	return rc ? rc : (int)a.id;
}

/*
 * Attaches a scatter-gather importer with peer-to-peer DMA for QEMU's edu,
 * a PCI device that can reach the BAR; id or -errno (-ENXIO: no edu).
 */
static int attach_for_edu(int ic_dev, int fd, __u32 *negotiated)
{
	struct dmabuf_ic_test_attach a = {
		.fd = fd, .nr_accepts = 1, .accepts = { DMABUF_IC_TEST_SGT },
		.flags = DMABUF_IC_TEST_ATTACH_INVALIDATE |
			 DMABUF_IC_TEST_ATTACH_SGT_P2P |
			 DMABUF_IC_TEST_ATTACH_PCI_DEV,
	};
	char bdf[256];
	int rc;

	if (!find_pci("0x1234", "0x11e8", bdf) || !pci_test_id(bdf, &a.pci_dev))
		return -ENXIO;
	rc = ic(ic_dev, DMABUF_IC_TEST_ATTACH, &a);
	if (!rc && negotiated)
		*negotiated = a.negotiated;
	return rc ? rc : (int)a.id;
}

static int map(int ic_dev, __u32 id, struct dmabuf_ic_test_map *m)
{
	memset(m, 0, sizeof(*m));
	m->id = id;
	return ic(ic_dev, DMABUF_IC_TEST_MAP, m);
}

static struct dmabuf_ic_test_status status(int ic_dev, __u32 id)
{
	struct dmabuf_ic_test_status s = { .id = id };

	if (ic(ic_dev, DMABUF_IC_TEST_STATUS, &s))
		s.negotiated = -1U;
	return s;
}

FIXTURE(vfio)
{
	int device, iommufd, ic_dev;
	__u64 bar2_size, config_offset;
};

FIXTURE_SETUP(vfio)
{
	struct vfio_region_info info = { .argsz = sizeof(info) };
	char bdf[256];

	self->device = -1;
	self->iommufd = -1;
	self->ic_dev = open("/dev/dmabuf_ic_test", O_RDWR);
	if (self->ic_dev < 0)
		SKIP(return, "no /dev/dmabuf_ic_test");
	self->device = vfio_bind(IVSHMEM_VENDOR, IVSHMEM_DEVICE, bdf, NULL);
	if (self->device < 0)
		SKIP(return, "no ivshmem bound to vfio-pci with a VFIO cdev");
	self->iommufd = iommufd_bind(self->device);
	ASSERT_LE(0, self->iommufd);
	self->config_offset = config_offset(self->device);
	ASSERT_NE(0, self->config_offset);

	info.index = VFIO_PCI_BAR2_REGION_INDEX;
	ASSERT_EQ(0, ic(self->device, VFIO_DEVICE_GET_REGION_INFO, &info));
	self->bar2_size = info.size;
	ASSERT_LE(4 * PAGE, self->bar2_size);
}

FIXTURE_TEARDOWN(vfio)
{
	if (self->ic_dev < 0)
		return;
	if (self->device >= 0)
		close(self->device);
	if (self->iommufd >= 0)
		close(self->iommufd);
	close(self->ic_dev);
}

TEST_F(vfio, probe)
{
	struct vfio_device_feature probe = {
		.argsz = sizeof(probe),
		.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
			 VFIO_DEVICE_FEATURE_DMA_BUF,
	};

	ASSERT_EQ(0, ic(self->device, VFIO_DEVICE_FEATURE, &probe));
	probe.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_DMA_BUF;
	ASSERT_EQ(-EINVAL, ic(self->device, VFIO_DEVICE_FEATURE, &probe));
}

/*
 * ivshmem's BAR2 buffers offer the physical list first and a scatter-gather
 * table of P2P memory second.
 */
TEST_F(vfio, offers_phys_list_then_p2p_sgt)
{
	const __u32 sgt = DMABUF_IC_TEST_SGT, both[] = { DMABUF_IC_TEST_SGT,
							 DMABUF_IC_TEST_PHYS_LIST };
	const __u32 inval = DMABUF_IC_TEST_ATTACH_INVALIDATE;
	struct vfio_region_dma_range page = { PAGE, PAGE };
	struct dmabuf_ic_test_map m;
	__u32 negotiated;
	int fd, id;

	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	fd = get_dma_buf(self->device, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC,
			 &page, 1);
	ASSERT_LE(0, fd);
	/* The exporter's order wins over the importer's. */
	id = attach_accepting(self->ic_dev, fd, inval | DMABUF_IC_TEST_ATTACH_SGT_P2P |
			      DMABUF_IC_TEST_ATTACH_PHYS_READER, both, 2, &negotiated);
	ASSERT_LT(0, id);
	ASSERT_EQ(DMABUF_IC_TEST_PHYS_LIST, negotiated);
	/* An importer not trusted with physical addresses is refused. */
	ASSERT_EQ(-EPERM, attach_accepting(self->ic_dev, fd, inval, both, 2, NULL));
	/* MMIO: only importers that can reach P2P memory get the table. */
	ASSERT_EQ(-EOPNOTSUPP, attach_accepting(self->ic_dev, fd, inval, &sgt, 1, NULL));
	/*
	 * ... and only if their device reaches the BAR: the test device is no
	 * PCI device, so negotiation skips the offer and nothing is attached
	 * (a map would fail: dma_buf_phys_vec_to_sgt() cannot map for it).
	 */
	ASSERT_EQ(-EOPNOTSUPP,
		  attach_accepting(self->ic_dev, fd, inval | DMABUF_IC_TEST_ATTACH_SGT_P2P,
				   &sgt, 1, &negotiated));
	/* edu can: it gets the table, mapped for it. */
	id = attach_for_edu(self->ic_dev, fd, &negotiated);
	ASSERT_LT(0, id);
	ASSERT_EQ(DMABUF_IC_TEST_SGT, negotiated);
	ASSERT_EQ(0, map(self->ic_dev, id, &m));
	ASSERT_EQ(PAGE, m.length);
	ASSERT_EQ(1, status(self->ic_dev, id).mapped);
	close(fd);
}

/* The buffer's flags as DMA_BUF_IOCTL_IC_INFO reports them, or ~0. */
static __u32 info_flags(int fd, struct dma_buf_ic_offer *offers, __u32 num)
{
	struct dma_buf_ic_info info = {
		.size = sizeof(info), .num_offers = num,
		.offers_uptr = (uintptr_t)offers,
	};

	if (ic(fd, DMA_BUF_IOCTL_IC_INFO, &info) || info.num_offers != num)
		return ~0U;
	return info.out_flags;
}

/*
 * What a VMM asks before it maps: the buffer's offers and state, and what
 * iommufd would negotiate; revoke and close show in the state.
 */
TEST_F(vfio, discovery)
{
	const __u32 negotiates = DMA_BUF_IC_INFO_NEGOTIATES | DMA_BUF_IC_INFO_REVOCABLE;
	struct vfio_region_dma_range page = { 0, PAGE };
	struct iommu_dmabuf_info info = {
		.size = sizeof(info), .flags = IOMMU_DMABUF_INFO_FD,
	};
	struct dma_buf_ic_offer offers[2];
	int fd;

	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	fd = get_dma_buf(self->device, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC,
			 &page, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(negotiates, info_flags(fd, offers, 2));
	ASSERT_STREQ("phys-list", offers[0].name);
	ASSERT_STREQ("sgt", offers[1].name);
	ASSERT_EQ(DMA_BUF_IC_OFFER_P2P, offers[1].flags);
	info.fd = fd;
	ASSERT_EQ(-EMSGSIZE, ic(self->iommufd, IOMMU_DMABUF_GET_INFO, &info));
	ASSERT_STREQ("phys-list", info.out_interconnect);

	set_command(self->device, 0, PCI_COMMAND_MEMORY);
	ASSERT_EQ(negotiates | DMA_BUF_IC_INFO_REVOKED, info_flags(fd, offers, 2));
	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	ASSERT_EQ(negotiates, info_flags(fd, offers, 2));
	close(self->device);
	self->device = -1;
	ASSERT_EQ(negotiates | DMA_BUF_IC_INFO_REVOKED |
		  DMA_BUF_IC_INFO_REVOKED_FOR_GOOD, info_flags(fd, offers, 2));
	ASSERT_EQ(-ENODEV, ic(self->iommufd, IOMMU_DMABUF_GET_INFO, &info));
	close(fd);
}

/*
 * The BAR, revoked when memory is disabled (the importer is invalidated
 * before the write returns and maps fail), usable again, but not mapped
 * again, once memory is enabled.
 */
TEST_F(vfio, memory_disable_revokes)
{
	struct vfio_region_dma_range whole = { 0, self->bar2_size };
	struct dmabuf_ic_test_map m;
	int fd, id;

	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	fd = get_dma_buf(self->device, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC,
			 &whole, 1);
	ASSERT_LE(0, fd);
	/* Revocable: importers must honour invalidation. */
	ASSERT_EQ(-EOPNOTSUPP, attach(self->ic_dev, fd, 0));
	id = attach(self->ic_dev, fd, DMABUF_IC_TEST_ATTACH_INVALIDATE);
	ASSERT_LT(0, id);
	ASSERT_EQ(DMABUF_IC_TEST_PHYS_LIST, status(self->ic_dev, id).negotiated);
	ASSERT_EQ(0, map(self->ic_dev, id, &m));
	ASSERT_EQ(1, m.nr_segments);
	ASSERT_EQ(self->bar2_size, m.length);

	set_command(self->device, 0, PCI_COMMAND_MEMORY);
	ASSERT_EQ(1, status(self->ic_dev, id).invalidations);
	ASSERT_EQ(0, status(self->ic_dev, id).mapped);
	ASSERT_EQ(-ENODEV, map(self->ic_dev, id, &m));

	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	ASSERT_EQ(0, status(self->ic_dev, id).mapped);
	ASSERT_EQ(0, map(self->ic_dev, id, &m));
	ASSERT_EQ(1, status(self->ic_dev, id).invalidations);

	/* Exported while memory is disabled: revoked from the start. */
	set_command(self->device, 0, PCI_COMMAND_MEMORY);
	close(fd);
	fd = get_dma_buf(self->device, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC,
			 &whole, 1);
	ASSERT_LE(0, fd);
	id = attach(self->ic_dev, fd, DMABUF_IC_TEST_ATTACH_INVALIDATE);
	ASSERT_LT(0, id);
	ASSERT_EQ(-ENODEV, map(self->ic_dev, id, &m));
	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	ASSERT_EQ(0, map(self->ic_dev, id, &m));
	close(fd);
}

/* Entering low power revokes; leaving it allows mapping again. */
TEST_F(vfio, low_power_revokes)
{
	struct vfio_region_dma_range whole = { 0, self->bar2_size };
	struct vfio_device_feature pm = { .argsz = sizeof(pm) };
	struct dmabuf_ic_test_map m;
	int fd, id, fd2, id2;

	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	fd = get_dma_buf(self->device, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC,
			 &whole, 1);
	ASSERT_LE(0, fd);
	id = attach(self->ic_dev, fd, DMABUF_IC_TEST_ATTACH_INVALIDATE);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, map(self->ic_dev, id, &m));

	pm.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	ASSERT_EQ(0, ic(self->device, VFIO_DEVICE_FEATURE, &pm));
	ASSERT_EQ(1, status(self->ic_dev, id).invalidations);
	ASSERT_EQ(-ENODEV, map(self->ic_dev, id, &m));
	/*
	 * Exported in low power: revoked from the start, although memory is
	 * enabled (the ioctl woke the device, which stays in low power for
	 * the user until LOW_POWER_EXIT).
	 */
	fd2 = get_dma_buf(self->device, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC,
			  &whole, 1);
	ASSERT_LE(0, fd2);
	id2 = attach(self->ic_dev, fd2, DMABUF_IC_TEST_ATTACH_INVALIDATE);
	ASSERT_LT(0, id2);
	ASSERT_EQ(-ENODEV, map(self->ic_dev, id2, &m));
	pm.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT;
	ASSERT_EQ(0, ic(self->device, VFIO_DEVICE_FEATURE, &pm));
	/* Memory is still enabled: usable again, but nothing was remapped. */
	ASSERT_EQ(0, status(self->ic_dev, id).mapped);
	ASSERT_EQ(0, map(self->ic_dev, id, &m));
	ASSERT_EQ(0, map(self->ic_dev, id2, &m));
	close(fd2);
	close(fd);
}

/*
 * Low power with a wake-up eventfd: any access through VFIO wakes the
 * device, signals the eventfd and leaves low power, as LOW_POWER_EXIT
 * does; the buffers can be mapped again then.
 */
TEST_F(vfio, low_power_wakeup_restores)
{
	struct vfio_region_dma_range whole = { 0, self->bar2_size };
	struct {
		struct vfio_device_feature hdr;
		struct vfio_device_low_power_entry_with_wakeup wake;
	} pm = { .hdr = { .argsz = sizeof(pm) } };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct dmabuf_ic_test_map m;
	char bdf[256], path[320], state[32] = "";
	struct pollfd p = {};
	int fd, id, efd;
	__u64 n;

	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	fd = get_dma_buf(self->device, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC,
			 &whole, 1);
	ASSERT_LE(0, fd);
	id = attach(self->ic_dev, fd, DMABUF_IC_TEST_ATTACH_INVALIDATE);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, map(self->ic_dev, id, &m));
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);

	pm.hdr.flags = VFIO_DEVICE_FEATURE_SET |
		       VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
	pm.wake.wakeup_eventfd = efd;
	ASSERT_EQ(0, ic(self->device, VFIO_DEVICE_FEATURE, &pm));
	ASSERT_EQ(1, status(self->ic_dev, id).invalidations);
	ASSERT_EQ(-ENODEV, map(self->ic_dev, id, &m));
	/* The PM core suspends it asynchronously: wait for that. */
	ASSERT_TRUE(find_pci(IVSHMEM_VENDOR, IVSHMEM_DEVICE, bdf));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/power/runtime_status", bdf);
	for (int i = 0; i < 500; i++) {
		if (read_line(path, state, sizeof(state)) && !strcmp(state, "suspended"))
			break;
		usleep(10000);
	}
	ASSERT_STREQ("suspended", state);
	/* An access through VFIO wakes it. */
	ASSERT_EQ(0, ic(self->device, VFIO_DEVICE_GET_INFO, &info));
	p.fd = efd;
	p.events = POLLIN;
	ASSERT_EQ(1, poll(&p, 1, 5000));
	ASSERT_EQ(sizeof(n), read(efd, &n, sizeof(n)));
	ASSERT_EQ(0, map(self->ic_dev, id, &m));
	close(efd);
	close(fd);
}

/*
 * Arms fail_function to fail vfio_user_config_write() once with -EIO;
 * returns NULL, or the knob that could not be set.
 */
static const char *fail_next_config_write(void)
{
	static const char *const knobs[][2] = {
		/* An empty line removes every injection point, then one. */
		{ "inject", "\n" },
		{ "inject", "vfio_user_config_write" },
		/* -EIO, as the unsigned long the file takes. */
		{ "vfio_user_config_write/retval", "0xfffffffffffffffb" },
		{ "probability", "100" },
		{ "interval", "1" },
		{ "times", "1" },
		{ "verbose", "1" },
	};
	static char path[128];

	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/fail_function/%s",
			 knobs[i][0]);
		if (!write_str(path, knobs[i][1]))
			return path;
	}
	return NULL;
}

/* Writes PCI_COMMAND through VFIO; 0 or -errno. */
static int write_command(int device, __u16 cmd)
{
	__u64 off = config_offset(device) + PCI_COMMAND;

	return pwrite(device, &cmd, 2, off) == 2 ? 0 : -errno;
}

/* The memory enable bit as the hardware has it (sysfs, not VFIO). */
static int hw_memory_enabled(const char *bdf)
{
	char path[300];
	__u16 cmd = 0;
	int fd, n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = pread(fd, &cmd, 2, PCI_COMMAND);
	close(fd);
	return n == 2 ? !!(cmd & PCI_COMMAND_MEMORY) : -1;
}

/*
 * A PCI_COMMAND write that the hardware refuses (fault injection) after
 * VFIO revoked the buffers keeps them revoked, in both directions, and a
 * write that succeeds later brings them in line.
 */
TEST_F(vfio, failed_command_write_keeps_revoked)
{
	struct vfio_region_dma_range whole = { 0, self->bar2_size };
	struct dmabuf_ic_test_map m;
	const char *knob;
	__u16 cmd = 0;
	char bdf[256];
	int fd, id;

	ASSERT_TRUE(find_pci(IVSHMEM_VENDOR, IVSHMEM_DEVICE, bdf));
	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	ASSERT_EQ(2, pread(self->device, &cmd, 2, self->config_offset + PCI_COMMAND));
	fd = get_dma_buf(self->device, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC,
			 &whole, 1);
	ASSERT_LE(0, fd);
	id = attach(self->ic_dev, fd, DMABUF_IC_TEST_ATTACH_INVALIDATE);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, map(self->ic_dev, id, &m));

	/* Disabling fails in the hardware, which keeps decoding... */
	knob = fail_next_config_write();
	ASSERT_EQ(NULL, knob) TH_LOG("cannot set %s: %s", knob, strerror(errno));
	ASSERT_EQ(-EIO, write_command(self->device, cmd & ~PCI_COMMAND_MEMORY));
	ASSERT_EQ(1, hw_memory_enabled(bdf));
	/* ... but the buffers were revoked and stay so. */
	ASSERT_EQ(1, status(self->ic_dev, id).invalidations);
	ASSERT_EQ(-ENODEV, map(self->ic_dev, id, &m));
	/* A write that succeeds brings both in line. */
	ASSERT_EQ(0, write_command(self->device, cmd & ~PCI_COMMAND_MEMORY));
	ASSERT_EQ(0, hw_memory_enabled(bdf));
	ASSERT_EQ(-ENODEV, map(self->ic_dev, id, &m));

	/* Enabling fails in the hardware: still revoked. */
	knob = fail_next_config_write();
	ASSERT_EQ(NULL, knob) TH_LOG("cannot set %s: %s", knob, strerror(errno));
	ASSERT_EQ(-EIO, write_command(self->device, cmd | PCI_COMMAND_MEMORY));
	ASSERT_EQ(0, hw_memory_enabled(bdf));
	ASSERT_EQ(-ENODEV, map(self->ic_dev, id, &m));
	ASSERT_EQ(0, write_command(self->device, cmd | PCI_COMMAND_MEMORY));
	ASSERT_EQ(1, hw_memory_enabled(bdf));
	ASSERT_EQ(0, map(self->ic_dev, id, &m));
	write_str("/sys/kernel/debug/fail_function/inject", "\n");
	close(fd);
}

/* Closing the device revokes for good; the buffer lives on. */
TEST_F(vfio, close_device_revokes_for_good)
{
	struct vfio_region_dma_range ranges[2] = {
		{ 0, PAGE }, { 2 * PAGE, 2 * PAGE },
	};
	struct dmabuf_ic_test_map m;
	int fd, id;

	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	fd = get_dma_buf(self->device, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC,
			 ranges, 2);
	ASSERT_LE(0, fd);
	id = attach(self->ic_dev, fd, DMABUF_IC_TEST_ATTACH_INVALIDATE);
	ASSERT_LT(0, id);
	ASSERT_EQ(0, map(self->ic_dev, id, &m));
	ASSERT_EQ(2, m.nr_segments);
	ASSERT_EQ(3 * PAGE, m.length);

	close(self->device);
	self->device = -1;
	ASSERT_EQ(1, status(self->ic_dev, id).invalidations);
	ASSERT_EQ(-ENODEV, map(self->ic_dev, id, &m));
	ASSERT_EQ(-ENODEV, attach(self->ic_dev, fd, DMABUF_IC_TEST_ATTACH_INVALIDATE));
	close(fd);
	ASSERT_EQ(0, ic(self->ic_dev, DMABUF_IC_TEST_DETACH, &(__u32){ id }));
}

/* iommufd imports the BAR and refuses it once revoked. */
TEST_F(vfio, iommufd_import)
{
	struct vfio_region_dma_range whole = { 0, self->bar2_size };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map_file map_file = {
		.size = sizeof(map_file),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.length = PAGE,
	};
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	__u64 iova;
	int fd;

	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	fd = get_dma_buf(self->device, VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC,
			 &whole, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	map_file.ioas_id = alloc.out_ioas_id;
	map_file.fd = fd;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_MAP_FILE, &map_file));
	iova = map_file.iova;
	set_command(self->device, 0, PCI_COMMAND_MEMORY);
	map_file.iova = 0;
	ASSERT_EQ(-ENODEV, ic(self->iommufd, IOMMU_IOAS_MAP_FILE, &map_file));
	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	unmap.ioas_id = alloc.out_ioas_id;
	unmap.iova = iova;
	unmap.length = PAGE;
	ASSERT_EQ(0, ic(self->iommufd, IOMMU_IOAS_UNMAP, &unmap));
	ASSERT_EQ(PAGE, unmap.length);
	close(fd);
}

/* Every bad request has its errno and creates nothing. */
TEST_F(vfio, bad_input)
{
	struct vfio_region_dma_range page = { 0, PAGE };
	struct vfio_region_dma_range r;
	struct feature_dma_buf f;
	int free_fd = dup(0);

	close(free_fd);
#define GET(region, flags, open, rng, nr) \
	get_dma_buf(self->device, region, flags, open, rng, nr)
	ASSERT_EQ(-EINVAL, GET(VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC, &page, 0));
	ASSERT_EQ(-EINVAL, GET(VFIO_PCI_BAR2_REGION_INDEX, 1, O_CLOEXEC, &page, 1));
	/* BAR0 is 256 bytes of registers: a page does not fit. */
	ASSERT_EQ(-EINVAL, GET(VFIO_PCI_BAR0_REGION_INDEX, 0, O_CLOEXEC, &page, 1));
	/*
	 * BAR1 does not exist on ivshmem-plain; ROM, config, VGA are not BARs:
	 * mainline's ENODEV.
	 */
	ASSERT_EQ(-ENODEV, GET(VFIO_PCI_BAR1_REGION_INDEX, 0, O_CLOEXEC, &page, 1));
	ASSERT_EQ(-ENODEV, GET(VFIO_PCI_ROM_REGION_INDEX, 0, O_CLOEXEC, &page, 1));
	ASSERT_EQ(-ENODEV, GET(VFIO_PCI_CONFIG_REGION_INDEX, 0, O_CLOEXEC, &page, 1));
	ASSERT_EQ(-ENODEV, GET(VFIO_PCI_VGA_REGION_INDEX, 0, O_CLOEXEC, &page, 1));
	r = (struct vfio_region_dma_range){ 0, 0 };
	ASSERT_EQ(-EINVAL, GET(VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC, &r, 1));
	r = (struct vfio_region_dma_range){ 100, PAGE };
	ASSERT_EQ(-EINVAL, GET(VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC, &r, 1));
	r = (struct vfio_region_dma_range){ 0, PAGE + 1 };
	ASSERT_EQ(-EINVAL, GET(VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC, &r, 1));
	r = (struct vfio_region_dma_range){ self->bar2_size, PAGE };
	ASSERT_EQ(-EINVAL, GET(VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC, &r, 1));
	r = (struct vfio_region_dma_range){ -PAGE, 2 * PAGE };
	ASSERT_EQ(-EOVERFLOW, GET(VFIO_PCI_BAR2_REGION_INDEX, 0, O_CLOEXEC, &r, 1));
#undef GET
	/*
	 * More ranges than argsz holds (patches/0008): refused, whatever user
	 * memory follows the argument.
	 */
	memset(&f, 0, sizeof(f));
	f.hdr.argsz = sizeof(f);
	f.hdr.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_BUF;
	f.get.region_index = VFIO_PCI_BAR2_REGION_INDEX;
	f.ranges[0] = page;
	f.ranges[1] = page;
	f.get.nr_ranges = 3;
	ASSERT_EQ(-EINVAL, ic(self->device, VFIO_DEVICE_FEATURE, &f));
	f.get.nr_ranges = 257;
	ASSERT_EQ(-EINVAL, ic(self->device, VFIO_DEVICE_FEATURE, &f));
	/* No fd was created. */
	r.offset = dup(0);
	close(r.offset);
	ASSERT_EQ(free_fd, r.offset);
}

/*
 * A PCIe device with FLR and power management (QEMU's virtio-rng-pci behind
 * a root port): its 16 KiB memory BAR4 is revoked by FLR through
 * VFIO_DEVICE_RESET or through the PCIe capability, by a hot reset of the
 * root port's bus, and by D3hot.
 */
#define VIRTIO_VENDOR "0x1af4"
#define VIRTIO_RNG_DEVICE "0x1044"
#define VIRTIO_BAR VFIO_PCI_BAR4_REGION_INDEX

FIXTURE(pcie)
{
	int device, iommufd, ic_dev, fd, id;
	__u64 config_offset;
};

FIXTURE_SETUP(pcie)
{
	struct vfio_region_dma_range whole = { 0, 4 * PAGE };
	struct dmabuf_ic_test_map m;
	char bdf[256];

	self->device = -1;
	self->iommufd = -1;
	self->ic_dev = open("/dev/dmabuf_ic_test", O_RDWR);
	if (self->ic_dev < 0)
		SKIP(return, "no /dev/dmabuf_ic_test");
	self->device = vfio_bind(VIRTIO_VENDOR, VIRTIO_RNG_DEVICE, bdf, NULL);
	if (self->device < 0)
		SKIP(return, "no virtio-rng-pci behind a PCIe root port");
	self->iommufd = iommufd_bind(self->device);
	ASSERT_LE(0, self->iommufd);
	self->config_offset = config_offset(self->device);
	ASSERT_NE(0, self->config_offset);

	/* A mapped importer of the whole BAR. */
	set_command(self->device, PCI_COMMAND_MEMORY, 0);
	self->fd = get_dma_buf(self->device, VIRTIO_BAR, 0, O_CLOEXEC, &whole, 1);
	ASSERT_LE(0, self->fd);
	self->id = attach(self->ic_dev, self->fd, DMABUF_IC_TEST_ATTACH_INVALIDATE);
	ASSERT_LT(0, self->id);
	ASSERT_EQ(0, map(self->ic_dev, self->id, &m));
	ASSERT_EQ(4 * PAGE, m.length);
}

FIXTURE_TEARDOWN(pcie)
{
	if (self->ic_dev < 0)
		return;
	if (self->device >= 0)
		close(self->device);
	if (self->iommufd >= 0)
		close(self->iommufd);
	close(self->ic_dev);
}

/* Offset of the capability @id in config space, or 0. */
static __u8 find_cap(int device, __u64 config, __u8 id)
{
	__u8 pos = 0, cap[2];

	if (pread(device, &pos, 1, config + PCI_CAPABILITY_LIST) != 1)
		return 0;
	for (int n = 0; pos && n < 48; n++) {
		if (pread(device, cap, 2, config + pos) != 2)
			return 0;
		if (cap[0] == id)
			return pos;
		pos = cap[1];
	}
	return 0;
}

/*
 * Invalidated once, and not remapped; usable again since the reset left
 * memory enabled (the reset restores the command register).
 */
static void expect_revoked_then_usable(struct __test_metadata *_metadata,
				       int ic_dev, __u32 id)
{
	struct dmabuf_ic_test_map m;

	ASSERT_EQ(1, status(ic_dev, id).invalidations);
	ASSERT_EQ(0, status(ic_dev, id).mapped);
	ASSERT_EQ(0, map(ic_dev, id, &m));
}

/*
 * A 16 KiB BAR offers the table too: 7.2 maps MMIO for peer-to-peer
 * through the BAR's p2pdma provider, without struct pages, so the BAR's
 * size does not matter.
 */
TEST_F(pcie, small_bar_offers_sgt_too)
{
	const __u32 sgt = DMABUF_IC_TEST_SGT;
	__u32 negotiated = 0;

	ASSERT_EQ(-EOPNOTSUPP, attach_accepting(self->ic_dev, self->fd,
						DMABUF_IC_TEST_ATTACH_INVALIDATE |
						DMABUF_IC_TEST_ATTACH_SGT_P2P, &sgt, 1,
						&negotiated));
	ASSERT_LT(0, attach_for_edu(self->ic_dev, self->fd, &negotiated));
	ASSERT_EQ(DMABUF_IC_TEST_SGT, negotiated);
	close(self->fd);
}

TEST_F(pcie, device_reset_revokes)
{
	ASSERT_EQ(0, ic(self->device, VFIO_DEVICE_RESET, NULL));
	expect_revoked_then_usable(_metadata, self->ic_dev, self->id);
	close(self->fd);
}

TEST_F(pcie, flr_through_config_revokes)
{
	__u8 exp = find_cap(self->device, self->config_offset, PCI_CAP_ID_EXP);
	__u16 devctl;

	ASSERT_NE(0, exp);
	ASSERT_EQ(2, pread(self->device, &devctl, 2,
			   self->config_offset + exp + PCI_EXP_DEVCTL));
	devctl |= PCI_EXP_DEVCTL_BCR_FLR;
	ASSERT_EQ(2, pwrite(self->device, &devctl, 2,
			    self->config_offset + exp + PCI_EXP_DEVCTL));
	expect_revoked_then_usable(_metadata, self->ic_dev, self->id);
	close(self->fd);
}

/*
 * A secondary bus reset of the root port, asked for by the iommufd owner of
 * every device below it (a cdev-opened device passes no group fds).
 */
TEST_F(pcie, hot_reset_revokes)
{
	struct vfio_pci_hot_reset reset = {
		.argsz = sizeof(reset),
	};

	ASSERT_EQ(0, ic(self->device, VFIO_DEVICE_PCI_HOT_RESET, &reset));
	expect_revoked_then_usable(_metadata, self->ic_dev, self->id);
	close(self->fd);
}

TEST_F(pcie, d3hot_revokes)
{
	__u8 pm = find_cap(self->device, self->config_offset, PCI_CAP_ID_PM);
	struct dmabuf_ic_test_map m;
	__u16 pmcsr;

	ASSERT_NE(0, pm);
	ASSERT_EQ(2, pread(self->device, &pmcsr, 2,
			   self->config_offset + pm + PCI_PM_CTRL));
	pmcsr = (pmcsr & ~PCI_PM_CTRL_STATE_MASK) | 3;
	ASSERT_EQ(2, pwrite(self->device, &pmcsr, 2,
			    self->config_offset + pm + PCI_PM_CTRL));
	ASSERT_EQ(1, status(self->ic_dev, self->id).invalidations);
	ASSERT_EQ(-ENODEV, map(self->ic_dev, self->id, &m));
	/* Back in D0 with memory enabled: usable, not remapped. */
	pmcsr &= ~PCI_PM_CTRL_STATE_MASK;
	ASSERT_EQ(2, pwrite(self->device, &pmcsr, 2,
			    self->config_offset + pm + PCI_PM_CTRL));
	expect_revoked_then_usable(_metadata, self->ic_dev, self->id);
	close(self->fd);
}

TEST_HARNESS_MAIN
