/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The commands of /dev/dmabuf_ic_test (drivers/dma-buf/dmabuf-ic-test.h)
 * that several kselftests use the same way. Each returns 0 or -errno.
 */
#ifndef __DMABUF_IC_TEST_DEV_H
#define __DMABUF_IC_TEST_DEV_H

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../../../../drivers/dma-buf/dmabuf-ic-test.h"

static inline int ic(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static inline int do_map(int dev, __u32 id, struct dmabuf_ic_test_map *m)
{
	memset(m, 0, sizeof(*m));
	m->id = id;
	return ic(dev, DMABUF_IC_TEST_MAP, m);
}

/* A command whose argument is an attachment id (UNMAP, DETACH). */
static inline int do_id(int dev, unsigned long cmd, __u32 id)
{
	return ic(dev, cmd, &id);
}

static inline int do_revoke(int dev, int fd, __u32 op)
{
	struct dmabuf_ic_test_revoke r = { .fd = fd, .op = op };

	return ic(dev, DMABUF_IC_TEST_REVOKE, &r);
}

/* An attachment's state; negotiated is -1U if the query failed. */
static inline struct dmabuf_ic_test_status status(int dev, __u32 id)
{
	struct dmabuf_ic_test_status s = { .id = id };

	if (ic(dev, DMABUF_IC_TEST_STATUS, &s))
		s.negotiated = -1U;
	return s;
}

/* A buffer's state; revoked is -1U if the query failed. */
static inline struct dmabuf_ic_test_buf_status buf_status(int dev, int fd)
{
	struct dmabuf_ic_test_buf_status s = { .fd = fd };

	if (ic(dev, DMABUF_IC_TEST_BUF_STATUS, &s))
		s.revoked = -1U;
	return s;
}

#endif /* __DMABUF_IC_TEST_DEV_H */
