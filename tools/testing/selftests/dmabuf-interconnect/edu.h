/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * QEMU's edu device as a DMA engine for the tests (hw/misc/edu.c): its
 * DMA registers in BAR0 and its 4 KiB internal buffer, which a DMA copies
 * from or to an IOVA.
 */
#ifndef __DMABUF_IC_EDU_H
#define __DMABUF_IC_EDU_H

#include <linux/types.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_START 1
/* From edu's buffer to the IOVA; without it, from the IOVA to the buffer. */
#define EDU_CMD_TO_RAM 2
/* edu's buffer, as a DMA address of edu's own. */
#define EDU_BUFFER 0x40000

/* MMIO accessors: the compiler must neither drop nor merge them. */
static inline void mmio_write64(void *bar, unsigned long off, __u64 val)
{
	__atomic_store_n((__u64 *)((char *)bar + off), val, __ATOMIC_SEQ_CST);
}

static inline __u64 mmio_read64(void *bar, unsigned long off)
{
	return __atomic_load_n((__u64 *)((char *)bar + off), __ATOMIC_SEQ_CST);
}

/* Starts one DMA of @count bytes; edu runs it 100 ms later. */
static inline void edu_start(void *bar0, __u64 src, __u64 dst, __u64 count,
			     __u64 cmd)
{
	mmio_write64(bar0, EDU_DMA_SRC, src);
	mmio_write64(bar0, EDU_DMA_DST, dst);
	mmio_write64(bar0, EDU_DMA_COUNT, count);
	mmio_write64(bar0, EDU_DMA_CMD, cmd | EDU_CMD_START);
}

/* Waits for the DMA to finish; false if it has not after 2 seconds. */
static inline bool edu_wait(void *bar0)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (mmio_read64(bar0, EDU_DMA_CMD) & EDU_CMD_START) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 2)
			return false;
		usleep(500);
	}
	return true;
}

/* Runs one DMA to its end; false if it does not finish in 2 seconds. */
static inline bool edu_dma(void *bar0, __u64 src, __u64 dst, __u64 count,
			   __u64 cmd)
{
	edu_start(bar0, src, dst, count, cmd);
	return edu_wait(bar0);
}

#endif /* __DMABUF_IC_EDU_H */
