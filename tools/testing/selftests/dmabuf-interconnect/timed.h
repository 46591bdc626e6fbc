/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tests that run for as long as the guest asks (STRESS_SECONDS,
 * FUZZ_SECONDS: 10 by default, longer under scripts/soak.sh). The harness
 * kills a test at its timeout, 30 s unless the test is defined with
 * TEST_F_TIMEOUT(), so these are, with TIMED_TEST_TIMEOUT; a longer time
 * than it leaves room for fails at once instead of being cut short.
 */
#ifndef DMABUF_IC_SELFTEST_TIMED_H
#define DMABUF_IC_SELFTEST_TIMED_H

#include <stdlib.h>

#define TIMED_TEST_TIMEOUT	900
/* Setup, joining the threads and the checks after them take less. */
#define TIMED_TEST_MAX_SECONDS	(TIMED_TEST_TIMEOUT - 120)

/* The seconds the environment variable @var asks for, or 0 if invalid. */
static inline int timed_test_seconds(const char *var)
{
	const char *env = getenv(var);
	int seconds = env ? atoi(env) : 10;

	return seconds > 0 && seconds <= TIMED_TEST_MAX_SECONDS ? seconds : 0;
}

#endif
