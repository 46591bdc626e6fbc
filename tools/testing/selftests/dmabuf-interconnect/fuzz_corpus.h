/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Seeds of fuzz.c that found new (call, errno) outcomes when they were
 * added; they run first, as regression cases. Add the seeds a run prints.
 */
#ifndef __DMABUF_IC_FUZZ_CORPUS_H
#define __DMABUF_IC_FUZZ_CORPUS_H

#include <stdint.h>

static const uint64_t fuzz_corpus[] = {
	1, 2, 3, 4, 5, 6, 7, 8,
	/* The first run in the iommu guest, with VFIO. */
	1795518702, 1795518740, 1795518741, 1795518805, 1795518890,
	1795518901, 1795518948,
};

#endif /* __DMABUF_IC_FUZZ_CORPUS_H */
