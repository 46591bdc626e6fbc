/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the VFIO selftests of the dma-buf interconnect: find a
 * PCI device, bind it to vfio-pci, open it, and ask it for a dma-buf.
 */
#ifndef __DMABUF_IC_VFIO_UTILS_H
#define __DMABUF_IC_VFIO_UTILS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL

/* Returns the ioctl's result, or -errno. */
static inline int ic(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static inline bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, len, f);
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return ok;
}

static inline bool write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

/*
 * Finds the PCI device @vendor:@device (as sysfs spells them, "0x1af4") with
 * the lowest address and stores that in @bdf (256 bytes). Returns false if
 * there is none.
 */
static inline bool find_pci(const char *vendor, const char *device, char *bdf)
{
	char path[700], val[64];
	struct dirent *d;
	DIR *dir;

	bdf[0] = 0;
	dir = opendir("/sys/bus/pci/devices");
	if (!dir)
		return false;
	while ((d = readdir(dir))) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", d->d_name);
		if (!read_line(path, val, sizeof(val)) || strcmp(val, vendor))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", d->d_name);
		/* The lowest address: sysfs lists devices in no set order. */
		if (read_line(path, val, sizeof(val)) && !strcmp(val, device) &&
		    (!bdf[0] || strcmp(d->d_name, bdf) < 0))
			snprintf(bdf, 256, "%s", d->d_name);
	}
	closedir(dir);
	return bdf[0];
}

/* The address of the PCI device @bdf as the test module takes it. */
static inline bool pci_test_id(const char *bdf, __u32 *id)
{
	unsigned int dom, bus, dev, fn;

	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
		return false;
	*id = dom << 16 | bus << 8 | dev << 3 | fn;
	return true;
}

/* Unbinds @bdf from its driver, if any, and enables memory and DMA on it. */
static inline bool pci_driverless_bus_master(const char *bdf)
{
	char path[300];
	__u16 cmd;
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
	write_str(path, bdf);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	write_str(path, "\n");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/enable", bdf);
	if (!write_str(path, "1"))
		return false;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return false;
	ok = pread(fd, &cmd, 2, PCI_COMMAND) == 2;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	ok = ok && pwrite(fd, &cmd, 2, PCI_COMMAND) == 2;
	close(fd);
	return ok;
}

/* The sysfs mapping of the first @size bytes of @bdf's BAR0, or NULL. */
static inline void *pci_sysfs_bar0(const char *bdf, size_t size)
{
	char path[300];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * Finds the device @vendor:@device, binds it to vfio-pci and stores its
 * address in @bdf (256 bytes). Returns its VFIO cdev opened, or -1. With
 * @group, stores its IOMMU group number there instead and returns 0, for
 * the legacy group interface.
 */
static inline int vfio_bind(const char *vendor, const char *device, char *bdf,
			    int *group)
{
	char path[700], cdev[300] = "", link[300] = "";
	struct dirent *d;
	DIR *dir;

	if (!find_pci(vendor, device, bdf))
		return -1;

	/* A driver may hold it (ivshmem-devmem binds every ivshmem). */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	if (readlink(path, link, sizeof(link) - 1) > 0 && !strstr(link, "/vfio-pci")) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		write_str(path, bdf);
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	write_str(path, "vfio-pci");
	write_str("/sys/bus/pci/drivers_probe", bdf);
	if (group) {
		memset(link, 0, sizeof(link));
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
		if (readlink(path, link, sizeof(link) - 1) < 0)
			return -1;
		*group = atoi(strrchr(link, '/') + 1);
		return 0;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "vfio", 4))
			snprintf(cdev, sizeof(cdev), "/dev/vfio/devices/%s", d->d_name);
	closedir(dir);
	return cdev[0] ? open(cdev, O_RDWR) : -1;
}

/* Opens /dev/iommu and binds the device cdev to it: the iommufd, or -errno. */
static inline int iommufd_bind(int device)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	int iommufd = open("/dev/iommu", O_RDWR), rc;

	if (iommufd < 0)
		return -errno;
	bind.iommufd = iommufd;
	rc = ic(device, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (rc) {
		close(iommufd);
		return rc;
	}
	return iommufd;
}

/* VFIO_DEVICE_FEATURE_DMA_BUF with room for two ranges. */
struct feature_dma_buf {
	struct vfio_device_feature hdr;
	struct vfio_device_feature_dma_buf get;
	struct vfio_region_dma_range ranges[2];
};

/* Returns the dma-buf fd of up to two ranges of a region, or -errno. */
static inline int get_dma_buf(int device, __u32 region, __u32 flags,
			      __u32 open_flags,
			      const struct vfio_region_dma_range *ranges,
			      __u32 nr)
{
	struct feature_dma_buf f = {
		.hdr = {
			.argsz = sizeof(f),
			.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_BUF,
		},
		.get = { .region_index = region, .open_flags = open_flags,
			 .flags = flags, .nr_ranges = nr },
	};

	memcpy(f.ranges, ranges, (nr > 2 ? 2 : nr) * sizeof(*ranges));
	return ic(device, VFIO_DEVICE_FEATURE, &f);
}

/* Offset of the config space region in the device fd. */
static inline __u64 config_offset(int device)
{
	struct vfio_region_info info = {
		.argsz = sizeof(info), .index = VFIO_PCI_CONFIG_REGION_INDEX,
	};

	return ic(device, VFIO_DEVICE_GET_REGION_INFO, &info) ? 0 : info.offset;
}

/* Sets and clears bits of the command register through VFIO. */
static inline void set_command(int device, __u16 set, __u16 clear)
{
	__u64 off = config_offset(device) + PCI_COMMAND;
	__u16 cmd = 0;

	if (pread(device, &cmd, 2, off) != 2)
		abort();
	cmd = (cmd | set) & ~clear;
	if (pwrite(device, &cmd, 2, off) != 2)
		abort();
}

/*
 * Opens the device @bdf of group @group_nr through the type1 container; the
 * group's fd goes to *@group (closing it releases the group).
 */
static inline int type1_device(int container, int group_nr, const char *bdf,
			       int *group_fd)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[64];
	int group;

	snprintf(path, sizeof(path), "/dev/vfio/%d", group_nr);
	group = open(path, O_RDWR);
	*group_fd = group;
	if (group < 0 || ic(group, VFIO_GROUP_GET_STATUS, &status) ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE) ||
	    ic(group, VFIO_GROUP_SET_CONTAINER, &container))
		return -1;
	/* The first group sets the IOMMU model; later ones may not. */
	ic(container, VFIO_SET_IOMMU, (void *)VFIO_TYPE1v2_IOMMU);
	return ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
}

static inline int type1_map(int container, void *vaddr, __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr, .iova = iova, .size = size,
	};

	return ic(container, VFIO_IOMMU_MAP_DMA, &map);
}

#endif /* __DMABUF_IC_VFIO_UTILS_H */
