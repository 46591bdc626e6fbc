/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Rust half of the dma-buf interconnect test module (dmabuf_ic_test.rs),
 * as called by its C half (dmabuf-ic-test-dev.c). Also read by bindgen, so
 * the Rust definitions are checked against these prototypes.
 */
#ifndef _DMABUF_IC_TEST_RS_H
#define _DMABUF_IC_TEST_RS_H

#include <linux/types.h>
#include "dmabuf-ic-test.h"

struct device;

/* A new context whose importers use @dev; an ERR_PTR on failure. */
void *dmabuf_ic_test_rs_open(struct device *dev);
/* Detaches the context's attachments, revokes its buffers for good. */
void dmabuf_ic_test_rs_release(void *ctx);

/* One function per command; each returns 0 (EXPORT: the fd) or -errno. */
int dmabuf_ic_test_rs_export(void *ctx, struct dmabuf_ic_test_export *args);
int dmabuf_ic_test_rs_revoke(void *ctx, struct dmabuf_ic_test_revoke *args);
/* @dev: the importer's device, or NULL for the context's (the test device) */
int dmabuf_ic_test_rs_attach(void *ctx, struct dmabuf_ic_test_attach *args,
			     struct device *dev);
int dmabuf_ic_test_rs_detach(void *ctx, u32 id);
int dmabuf_ic_test_rs_map(void *ctx, struct dmabuf_ic_test_map *args);
int dmabuf_ic_test_rs_unmap(void *ctx, u32 id);
int dmabuf_ic_test_rs_status(void *ctx, struct dmabuf_ic_test_status *args);
int dmabuf_ic_test_rs_buf_status(void *ctx,
				 struct dmabuf_ic_test_buf_status *args);

#endif /* _DMABUF_IC_TEST_RS_H */
