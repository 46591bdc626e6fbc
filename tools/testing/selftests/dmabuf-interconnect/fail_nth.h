/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Deterministic fault injection for the dmabuf-interconnect kselftests:
 * make the nth fault-injection site (an allocation, through failslab and
 * fail_page_alloc) that this thread reaches fail, for n = 1, 2, ... until
 * a run reaches none. Needs CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB and
 * debugfs. Include it with _GNU_SOURCE defined (for gettid()).
 */
#ifndef __DMABUF_IC_FAIL_NTH_H
#define __DMABUF_IC_FAIL_NTH_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct fail_nth {
	int fd;
	unsigned int nth;
};

static inline bool fail_nth_knob_off(const char *knob)
{
	char path[128];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/%s", knob);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return false;
	ok = write(fd, "N", 1) == 1;
	close(fd);
	return ok;
}

/*
 * Opens this thread's fail-nth file and lets failslab (needed) and
 * fail_page_alloc (if built) fail sleeping allocations too. False if the
 * kernel has no fault injection.
 */
static inline bool fail_nth_open(struct fail_nth *f)
{
	char path[64];

	fail_nth_knob_off("fail_page_alloc/ignore-gfp-wait");
	if (!fail_nth_knob_off("failslab/ignore-gfp-wait"))
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", gettid());
	f->fd = open(path, O_RDWR);
	f->nth = 0;
	return f->fd >= 0;
}

/* Arms the next site: the (++nth)th one reached fails. */
static inline bool fail_nth_arm(struct fail_nth *f)
{
	char val[16];

	snprintf(val, sizeof(val), "%u", ++f->nth);
	return pwrite(f->fd, val, strlen(val), 0) == (ssize_t)strlen(val);
}

/* Disarms; returns whether the armed site was reached (and failed). */
static inline bool fail_nth_disarm(struct fail_nth *f)
{
	char val[16] = "";
	bool fired;

	/* What is left to count: "0" once the site was reached. */
	fired = pread(f->fd, val, sizeof(val) - 1, 0) > 0 && val[0] == '0';
	if (pwrite(f->fd, "0", 1, 0) != 1)
		return fired;
	return fired;
}

#endif /* __DMABUF_IC_FAIL_NTH_H */
