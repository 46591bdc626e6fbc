/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Deterministic fault injection for the dmabuf-interconnect kselftests:
 * make the nth fault-injection site (a slab allocation through failslab, or
 * a page allocation of any order through fail_page_alloc) that this thread
 * reaches fail, for n = 1, 2, ... until a run reaches none. Needs
 * CONFIG_FAULT_INJECTION, CONFIG_FAULT_INJECTION_DEBUG_FS, CONFIG_FAILSLAB,
 * CONFIG_FAIL_PAGE_ALLOC and debugfs. Include it with _GNU_SOURCE defined
 * (for gettid()).
 */
#ifndef __DMABUF_IC_FAIL_NTH_H
#define __DMABUF_IC_FAIL_NTH_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest.h"

struct fail_nth {
	int fd;
	unsigned int nth;
	char missing[96];	/* the knob fail_nth_open() could not set */
};

/* Writes @val to the debugfs file @knob; false if it is missing. */
static inline bool fail_nth_knob(const char *knob, const char *val)
{
	char path[128];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/%s", knob);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

/*
 * Opens this thread's fail-nth file and lets both failslab and
 * fail_page_alloc fail what this thread allocates: sleeping allocations,
 * highmem pages, and pages of every order (fail_page_alloc spares order 0
 * by default). The knobs stay set: they only matter to a thread that arms
 * its fail-nth, the probability of random failures stays 0. Returns false,
 * with the first knob that is missing in @f->missing, if the kernel lacks
 * any of it: a walk without it would test less than it says.
 */
static inline bool fail_nth_open(struct fail_nth *f)
{
	static const char *const knobs[][2] = {
		{ "failslab/ignore-gfp-wait", "N" },
		{ "fail_page_alloc/ignore-gfp-wait", "N" },
		{ "fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "fail_page_alloc/min-order", "0" },
	};
	char path[64];

	f->fd = -1;
	f->nth = 0;
	f->missing[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++) {
		if (!fail_nth_knob(knobs[i][0], knobs[i][1])) {
			snprintf(f->missing, sizeof(f->missing),
				 "/sys/kernel/debug/%s", knobs[i][0]);
			return false;
		}
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", gettid());
	f->fd = open(path, O_RDWR);
	if (f->fd < 0)
		snprintf(f->missing, sizeof(f->missing), "%s", path);
	return f->fd >= 0;
}

/* The lowest free fd: a failed call that leaked an fd would raise it. */
static inline int lowest_free_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
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
