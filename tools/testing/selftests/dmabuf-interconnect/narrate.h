/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tests that double as the main job's demo: with -v as their first
 * argument they narrate what they do (SAY()), otherwise they run as plain
 * kselftests.
 */
#ifndef DMABUF_IC_NARRATE_H
#define DMABUF_IC_NARRATE_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../kselftest_harness.h"

static bool narrate;
#define SAY(...) do { if (narrate) printf(__VA_ARGS__); } while (0)

/* main(): takes -v off the arguments, then runs the harness. */
static inline int narrated_harness_run(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "-v")) {
		narrate = true;
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	return test_harness_run(argc, argv);
}

#endif
