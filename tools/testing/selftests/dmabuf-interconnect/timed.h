/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tests that run for as long as the guest asks (STRESS_SECONDS,
 * FUZZ_SECONDS: 10 by default, longer under scripts/soak.sh, which reads
 * TIMED_TEST_MAX_SECONDS here). The harness kills a test at its timeout,
 * 30 s unless the test is defined with TEST_F_TIMEOUT(), so these are, with
 * TIMED_TEST_TIMEOUT and a fixture of no state; a longer time than the
 * timeout leaves room for fails at once instead of being cut short.
 */
#ifndef DMABUF_IC_SELFTEST_TIMED_H
#define DMABUF_IC_SELFTEST_TIMED_H

#include <stdlib.h>

#include "../kselftest_harness.h"

#define TIMED_TEST_MAX_SECONDS 780
/* Setup, joining the threads and the checks after them take less. */
#define TIMED_TEST_TIMEOUT (TIMED_TEST_MAX_SECONDS + 120)

/* The seconds that the environment variable @var asks for, 1 to the maximum */
static inline int timed_test_seconds(struct __test_metadata *_metadata,
				     const char *var)
{
	const char *env = getenv(var);
	int seconds = env ? atoi(env) : 10;

	ASSERT_TRUE(seconds > 0 && seconds <= TIMED_TEST_MAX_SECONDS)
		TH_LOG("%s: 1 to %d", var, TIMED_TEST_MAX_SECONDS);
	return seconds;
}

#endif
