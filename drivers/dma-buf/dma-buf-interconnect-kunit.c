// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the C interface of the dma-buf interconnect framework:
 * a C exporter and a C importer negotiate, through a private interconnect
 * defined here and the built-in ones, map, and get revoked; an exporter
 * that maps its own attachment while it maps; a buffer of an exporter
 * outside the framework whose memory is ready only when a fence signals;
 * importers that finish their invalidation once all are invalidated.
 */
#include <kunit/test.h>
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-buf-interconnect.h>
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kref.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#define NR_PAGES 2

/* A private interconnect: a link that matches importers on the same link. */
static bool test_link_match(u64 offer, u64 accept)
{
	return offer == accept;
}

static const struct dma_buf_ic_type test_link = {
	.name = "kunit-link",
	.match = test_link_match,
};

struct test_exporter {
	struct page *pages[NR_PAGES];
	struct phys_vec ranges[NR_PAGES];
	int maps, unmaps;
	bool released;
};

static struct sg_table *test_map_sgt(void *priv,
				     struct dma_buf_attachment *attach,
				     enum dma_data_direction dir)
{
	struct test_exporter *exp = priv;
	struct sg_table *sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	int ret;

	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table_from_pages(sgt, exp->pages, NR_PAGES, 0,
					NR_PAGES * PAGE_SIZE, GFP_KERNEL);
	if (!ret) {
		ret = dma_map_sgtable(attach->dev, sgt, dir, 0);
		if (ret)
			sg_free_table(sgt);
	}
	if (ret) {
		kfree(sgt);
		return ERR_PTR(ret);
	}
	exp->maps++;
	return sgt;
}

static void test_unmap_sgt(void *priv, struct dma_buf_attachment *attach,
			   struct sg_table *sgt, enum dma_data_direction dir)
{
	struct test_exporter *exp = priv;

	dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	sg_free_table(sgt);
	kfree(sgt);
	exp->unmaps++;
}

static int test_map_private(void *priv, const struct dma_buf_ic_type *type,
			    struct dma_buf_attachment *attach, u64 *cookie)
{
	struct test_exporter *exp = priv;

	if (type != &test_link)
		return -EINVAL;
	exp->maps++;
	*cookie = 0xc00c1e;
	return 0;
}

static void test_unmap_private(void *priv, const struct dma_buf_ic_type *type,
			       struct dma_buf_attachment *attach, u64 cookie)
{
	struct test_exporter *exp = priv;

	if (type == &test_link && cookie == 0xc00c1e)
		exp->unmaps++;
}

static void test_release(void *priv)
{
	struct test_exporter *exp = priv;

	exp->released = true;
}

static const struct dma_buf_ic_exporter_ops test_exporter_ops = {
	.map_sgt = test_map_sgt,
	.unmap_sgt = test_unmap_sgt,
	.map_private = test_map_private,
	.unmap_private = test_unmap_private,
	.release = test_release,
};

static void test_invalidate(void *priv)
{
	int *invalidations = priv;

	(*invalidations)++;
}

static const struct dma_buf_ic_importer_ops test_importer_ops = {
	.invalidate = test_invalidate,
};

struct ic_kunit {
	struct device *dev;
	struct test_exporter exp;
	struct dma_buf_ic_export_info info;
	struct dma_buf_ic_entry offers[3];
	int invalidations;
};

static int ic_kunit_init(struct kunit *test)
{
	struct ic_kunit *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->dev = root_device_register("dma_buf_ic_kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t->dev));
	KUNIT_ASSERT_EQ(test, 0, dma_coerce_mask_and_coherent(t->dev, DMA_BIT_MASK(64)));
	for (i = 0; i < NR_PAGES; i++) {
		t->exp.pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		KUNIT_ASSERT_NOT_NULL(test, t->exp.pages[i]);
		t->exp.ranges[i].paddr = page_to_phys(t->exp.pages[i]);
		t->exp.ranges[i].len = PAGE_SIZE;
	}
	/* Offers: the link on id 5 first, then the physical list, then sgt. */
	t->offers[0] = (struct dma_buf_ic_entry){ &test_link, 5 };
	t->offers[1] = (struct dma_buf_ic_entry){ dma_buf_ic_phys_list, 0 };
	t->offers[2] = (struct dma_buf_ic_entry){ dma_buf_ic_sgt, 0 };
	t->info = (struct dma_buf_ic_export_info){
		.name = "dma_buf_ic_kunit",
		.size = NR_PAGES * PAGE_SIZE,
		.offers = t->offers,
		.nr_offers = 3,
		.revocable = true,
		.ranges = t->exp.ranges,
		.nr_ranges = NR_PAGES,
		.ops = &test_exporter_ops,
		.priv = &t->exp,
	};
	test->priv = t;
	return 0;
}

static void ic_kunit_exit(struct kunit *test)
{
	struct ic_kunit *t = test->priv;
	int i;

	for (i = 0; i < NR_PAGES; i++)
		if (t->exp.pages[i])
			__free_page(t->exp.pages[i]);
	if (!IS_ERR_OR_NULL(t->dev))
		root_device_unregister(t->dev);
}

static int attach_one(struct ic_kunit *t, struct dma_buf_ic_attachment *attach,
		      struct dma_buf *buf, const struct dma_buf_ic_type *type,
		      u64 data, bool honours)
{
	struct dma_buf_ic_entry accept = { type, data };

	return dma_buf_ic_attach(attach, buf, t->dev, &accept, 1, honours,
				 &test_importer_ops, &t->invalidations);
}

/*
 * The physical list through the entry point for importers that program an
 * IOMMU. This test keeps that promise by mapping the ranges for nothing: it
 * only compares them.
 */
static int attach_phys(struct ic_kunit *t, struct dma_buf_ic_attachment *attach,
		       struct dma_buf *buf)
{
	struct dma_buf_ic_entry accept = { dma_buf_ic_phys_list, 0 };

	return dma_buf_ic_attach_iommu(attach, buf, t->dev, &accept, 1,
				       &test_importer_ops, &t->invalidations);
}

/* Each side's choice, private and built-in, through the C interface. */
static void ic_kunit_negotiation(struct kunit *test)
{
	struct ic_kunit *t = test->priv;
	const struct phys_vec *ranges;
	struct dma_buf_ic_attachment link, phys, sgt, none;
	struct dma_buf_ic_export *export;
	unsigned int nr, dev_refs;
	struct dma_buf *buf;
	u64 cookie = 0;
	long buf_refs;

	export = dma_buf_ic_export(&t->info, &buf);
	KUNIT_ASSERT_FALSE(test, IS_ERR(export));
	buf_refs = file_count(buf->file);
	dev_refs = kref_read(&t->dev->kobj.kref);

	/* Same link: the exporter's first choice. */
	KUNIT_ASSERT_EQ(test, 0, attach_one(t, &link, buf, &test_link, 5, true));
	KUNIT_EXPECT_PTR_EQ(test, &test_link, dma_buf_ic_negotiated(&link));
	/* Another link, no other choice: refused. */
	KUNIT_EXPECT_EQ(test, -EOPNOTSUPP,
			attach_one(t, &none, buf, &test_link, 6, true));
	/* A revocable buffer needs an importer that honours invalidation. */
	KUNIT_EXPECT_EQ(test, -EOPNOTSUPP,
			attach_one(t, &none, buf, dma_buf_ic_sgt, 0, false));
	/* Physical addresses only for importers that program an IOMMU. */
	KUNIT_EXPECT_EQ(test, -EPERM,
			attach_one(t, &none, buf, dma_buf_ic_phys_list, 0, true));
	KUNIT_EXPECT_EQ(test, -EPERM,
			PTR_ERR(dma_buf_ic_negotiate(buf, t->dev, &t->offers[1],
						     1, true)));
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_ic_phys_list,
			    dma_buf_ic_negotiate_iommu(buf, t->dev,
						       &t->offers[1], 1));
	KUNIT_ASSERT_EQ(test, 0, attach_phys(t, &phys, buf));
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_ic_phys_list, dma_buf_ic_negotiated(&phys));
	KUNIT_ASSERT_EQ(test, 0, attach_one(t, &sgt, buf, dma_buf_ic_sgt, 0, true));
	KUNIT_EXPECT_PTR_EQ(test, dma_buf_ic_sgt, dma_buf_ic_negotiated(&sgt));
	/* As with dma_buf_attach(), the importer holds the references. */
	KUNIT_EXPECT_EQ(test, buf_refs, file_count(buf->file));
	KUNIT_EXPECT_EQ(test, dev_refs, kref_read(&t->dev->kobj.kref));

	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_map_private(&link, &cookie));
	KUNIT_EXPECT_EQ(test, 0xc00c1eULL, cookie);
	/* Only through the negotiated interconnect. */
	KUNIT_EXPECT_EQ(test, -EINVAL, dma_buf_ic_map_phys(&link, &ranges, &nr));
	/* ... and a refused map leaves nothing mapped (no EBUSY below). */
	KUNIT_EXPECT_EQ(test, -EINVAL, dma_buf_ic_map_private(&phys, &cookie));
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_map_phys(&phys, &ranges, &nr));
	KUNIT_EXPECT_EQ(test, NR_PAGES, nr);
	KUNIT_EXPECT_EQ(test, t->exp.ranges[1].paddr, ranges[1].paddr);
	KUNIT_EXPECT_FALSE(test, IS_ERR(dma_buf_ic_map_sgt(&sgt)));
	KUNIT_EXPECT_EQ(test, 2, t->exp.maps);
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_unmap(&link));
	KUNIT_EXPECT_EQ(test, -ENOENT, dma_buf_ic_unmap(&link));
	KUNIT_EXPECT_EQ(test, 1, t->exp.unmaps);
	dma_resv_unlock(buf->resv);

	/* Revoke ends every mapping through the exporter's callbacks. */
	dma_buf_ic_export_revoke(export);
	KUNIT_EXPECT_EQ(test, 3, t->invalidations);
	KUNIT_EXPECT_EQ(test, 2, t->exp.unmaps);
	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, -ENODEV, dma_buf_ic_map_phys(&phys, &ranges, &nr));
	dma_resv_unlock(buf->resv);
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_export_unrevoke(export));
	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_map_private(&link, &cookie));
	dma_resv_unlock(buf->resv);

	/* Detaching a mapped attachment unmaps it. */
	dma_buf_ic_detach(&link);
	KUNIT_EXPECT_EQ(test, 3, t->exp.unmaps);
	dma_buf_ic_detach(&phys);
	dma_buf_ic_detach(&sgt);
	/* The importer's memory holds the next attachment after a detach. */
	KUNIT_ASSERT_EQ(test, 0, attach_one(t, &link, buf, &test_link, 5, true));
	KUNIT_EXPECT_PTR_EQ(test, &test_link, dma_buf_ic_negotiated(&link));
	dma_buf_ic_detach(&link);

	dma_buf_ic_export_revoke_permanently(export);
	KUNIT_EXPECT_EQ(test, -ENODEV, dma_buf_ic_export_unrevoke(export));
	KUNIT_EXPECT_EQ(test, -ENODEV,
			attach_one(t, &none, buf, dma_buf_ic_sgt, 0, true));

	/* The state goes with the last of the handle and the buffer. */
	KUNIT_EXPECT_TRUE(test, dma_buf_ic_export_has_buffer(export));
	dma_buf_ic_export_put(export);
	KUNIT_EXPECT_FALSE(test, t->exp.released);
	dma_buf_put(buf);
	flush_delayed_fput();
	KUNIT_EXPECT_TRUE(test, t->exp.released);
}

/* Bad export descriptions fail and still release the exporter's data. */
static void ic_kunit_bad_export(struct kunit *test)
{
	struct ic_kunit *t = test->priv;
	struct dma_buf_ic_export_info info;
	struct dma_buf_ic_entry dup[2] = {
		{ dma_buf_ic_sgt, 0 }, { dma_buf_ic_sgt, 0 },
	};
	struct dma_buf *buf = NULL;

	info = t->info;
	info.nr_offers = 0;
	KUNIT_EXPECT_EQ(test, -EINVAL, PTR_ERR(dma_buf_ic_export(&info, &buf)));
	KUNIT_EXPECT_TRUE(test, t->exp.released);

	t->exp.released = false;
	info = t->info;
	info.offers = dup;
	info.nr_offers = 2;
	KUNIT_EXPECT_EQ(test, -EINVAL, PTR_ERR(dma_buf_ic_export(&info, &buf)));
	KUNIT_EXPECT_TRUE(test, t->exp.released);

	/* The physical list must cover the buffer exactly. */
	t->exp.released = false;
	info = t->info;
	info.nr_ranges = 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, PTR_ERR(dma_buf_ic_export(&info, &buf)));
	info.ranges = NULL;
	KUNIT_EXPECT_EQ(test, -EINVAL, PTR_ERR(dma_buf_ic_export(&info, &buf)));
	KUNIT_EXPECT_NULL(test, buf);
}

/* Interconnects nobody offers, to fill lists up to the limit and past it. */
static const struct dma_buf_ic_type unoffered[DMA_BUF_IC_MAX_ENTRIES] = {
	[0 ... DMA_BUF_IC_MAX_ENTRIES - 1] = { .name = "kunit-unoffered" },
};

/*
 * Lists of up to DMA_BUF_IC_MAX_ENTRIES entries work, the match in any slot;
 * longer ones are refused with EINVAL and leave nothing attached.
 */
static void ic_kunit_list_limit(struct kunit *test)
{
	struct ic_kunit *t = test->priv;
	struct dma_buf_ic_entry list[DMA_BUF_IC_MAX_ENTRIES + 1];
	struct dma_buf_ic_attachment attach;
	struct dma_buf_ic_export_info info;
	struct dma_buf_ic_export *export;
	struct dma_buf *buf;
	int i;

	for (i = 0; i < DMA_BUF_IC_MAX_ENTRIES; i++)
		list[i] = (struct dma_buf_ic_entry){ &unoffered[i], 0 };
	export = dma_buf_ic_export(&t->info, &buf);
	KUNIT_ASSERT_FALSE(test, IS_ERR(export));

	/*
	 * The link on id 5 in each slot of a full list: the attachment keeps
	 * the winner's information and frees the others' on both sides of it
	 * (KASAN and kmemleak check that each is freed once).
	 */
	for (i = 0; i < DMA_BUF_IC_MAX_ENTRIES; i++) {
		list[i] = (struct dma_buf_ic_entry){ &test_link, 5 };
		KUNIT_EXPECT_PTR_EQ(test, &test_link,
				    dma_buf_ic_negotiate(buf, t->dev, list,
							 DMA_BUF_IC_MAX_ENTRIES,
							 true));
		KUNIT_ASSERT_EQ(test, 0,
				dma_buf_ic_attach(&attach, buf, t->dev, list,
						  DMA_BUF_IC_MAX_ENTRIES, true,
						  &test_importer_ops,
						  &t->invalidations));
		KUNIT_EXPECT_PTR_EQ(test, &test_link,
				    dma_buf_ic_negotiated(&attach));
		dma_buf_ic_detach(&attach);
		list[i] = (struct dma_buf_ic_entry){ &unoffered[i], 0 };
	}

	/* One more entry, even one that would match, is one too many. */
	list[DMA_BUF_IC_MAX_ENTRIES - 1] = (struct dma_buf_ic_entry){
		&unoffered[DMA_BUF_IC_MAX_ENTRIES - 1], 0 };
	list[DMA_BUF_IC_MAX_ENTRIES] = (struct dma_buf_ic_entry){ &test_link, 5 };
	KUNIT_EXPECT_EQ(test, -EINVAL,
			PTR_ERR(dma_buf_ic_negotiate(buf, t->dev, list,
						     DMA_BUF_IC_MAX_ENTRIES + 1,
						     true)));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			dma_buf_ic_attach(&attach, buf, t->dev, list,
					  DMA_BUF_IC_MAX_ENTRIES + 1, true,
					  &test_importer_ops,
					  &t->invalidations));
	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_TRUE(test, list_empty(&buf->attachments));
	dma_resv_unlock(buf->resv);
	dma_buf_ic_export_put(export);
	dma_buf_put(buf);
	flush_delayed_fput();

	/* The same for offers. */
	info = t->info;
	info.offers = list;
	info.nr_offers = DMA_BUF_IC_MAX_ENTRIES + 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, PTR_ERR(dma_buf_ic_export(&info, &buf)));
	info.nr_offers = DMA_BUF_IC_MAX_ENTRIES;
	export = dma_buf_ic_export(&info, &buf);
	KUNIT_ASSERT_FALSE(test, IS_ERR(export));
	dma_buf_ic_export_put(export);
	dma_buf_put(buf);
	flush_delayed_fput();
}

/*
 * Reachability is part of negotiation: the table of a provider's MMIO is
 * skipped for an importer whose device cannot reach it (here the provider
 * is no PCI device at all), which falls back to its next choice.
 */
static void ic_kunit_unreachable_provider(struct kunit *test)
{
	struct ic_kunit *t = test->priv;
	struct dma_buf_ic_entry offers[] = {
		{ dma_buf_ic_sgt, DMA_BUF_IC_SGT_P2P }, { &test_link, 7 },
	};
	struct dma_buf_ic_entry accepts[] = {
		{ dma_buf_ic_sgt, DMA_BUF_IC_SGT_P2P }, { &test_link, 7 },
	};
	struct dma_buf_ic_export_info info = t->info;
	struct dma_buf_ic_export *export;
	struct dma_buf_ic_attachment a;
	struct dma_buf *buf;

	info.offers = offers;
	info.nr_offers = ARRAY_SIZE(offers);
	info.provider = t->dev;
	export = dma_buf_ic_export(&info, &buf);
	KUNIT_ASSERT_FALSE(test, IS_ERR(export));

	KUNIT_EXPECT_PTR_EQ(test, &test_link,
			    dma_buf_ic_negotiate(buf, t->dev, accepts, 2, true));
	KUNIT_ASSERT_EQ(test, 0,
			dma_buf_ic_attach(&a, buf, t->dev, accepts, 2, true,
					  &test_importer_ops,
					  &t->invalidations));
	KUNIT_EXPECT_PTR_EQ(test, &test_link, dma_buf_ic_negotiated(&a));
	dma_buf_ic_detach(&a);
	/* No second choice: nothing is attached. */
	KUNIT_EXPECT_EQ(test, -EOPNOTSUPP,
			dma_buf_ic_attach(&a, buf, t->dev, accepts, 1, true,
					  &test_importer_ops,
					  &t->invalidations));
	dma_buf_ic_export_put(export);
	dma_buf_put(buf);
	flush_delayed_fput();
	KUNIT_EXPECT_TRUE(test, t->exp.released);
}

/*
 * An exporter that, while it maps an attachment, maps that same attachment
 * again (it imports its own buffer). The framework holds no reference into
 * the attachment across the exporter's callback: the nested map wins, the
 * outer one is ended and fails with EBUSY, and the count of mappings stays
 * right, so that a revoke returns.
 */
struct self_importer {
	struct dma_buf_ic_attachment self;
	int depth, maps, unmaps, nested_ret;
	u64 nested_cookie, last_unmapped;
	bool attached, released;
};

static int self_map_private(void *priv, const struct dma_buf_ic_type *type,
			    struct dma_buf_attachment *attach, u64 *cookie)
{
	struct self_importer *s = priv;

	s->maps++;
	if (s->attached && !s->depth) {
		s->depth++;
		s->nested_ret = dma_buf_ic_map_private(&s->self,
						       &s->nested_cookie);
		s->depth--;
		*cookie = 1;
	} else {
		*cookie = 2;
	}
	return 0;
}

static void self_unmap_private(void *priv, const struct dma_buf_ic_type *type,
			       struct dma_buf_attachment *attach, u64 cookie)
{
	struct self_importer *s = priv;

	s->unmaps++;
	s->last_unmapped = cookie;
}

static void self_release(void *priv)
{
	struct self_importer *s = priv;

	s->released = true;
}

static const struct dma_buf_ic_exporter_ops self_exporter_ops = {
	.map_private = self_map_private,
	.unmap_private = self_unmap_private,
	.release = self_release,
};

static void ic_kunit_self_import(struct kunit *test)
{
	struct ic_kunit *t = test->priv;
	struct dma_buf_ic_entry offer = { &test_link, 5 };
	struct dma_buf_ic_export_info info = {
		.name = "dma_buf_ic_kunit_self",
		.size = PAGE_SIZE,
		.offers = &offer,
		.nr_offers = 1,
		.revocable = true,
		.ops = &self_exporter_ops,
	};
	struct self_importer s = {};
	struct dma_buf_ic_export *export;
	struct dma_buf *buf;
	u64 cookie = 0;
	int ret;

	info.priv = &s;
	export = dma_buf_ic_export(&info, &buf);
	KUNIT_ASSERT_FALSE(test, IS_ERR(export));
	KUNIT_ASSERT_EQ(test, 0, attach_one(t, &s.self, buf, &test_link, 5, true));
	s.attached = true;

	dma_resv_lock(buf->resv, NULL);
	/*
	 * Asserted: had the outer mapping replaced the nested one, the count
	 * of mappings would never drop to zero and the revoke below would
	 * wait forever.
	 */
	ret = dma_buf_ic_map_private(&s.self, &cookie);
	if (ret != -EBUSY)
		dma_resv_unlock(buf->resv);
	KUNIT_ASSERT_EQ(test, -EBUSY, ret);
	KUNIT_EXPECT_EQ(test, 0, s.nested_ret);
	KUNIT_EXPECT_EQ(test, 2ULL, s.nested_cookie);
	KUNIT_EXPECT_EQ(test, 2, s.maps);
	/* The outer mapping, ended without ever being the attachment's. */
	KUNIT_EXPECT_EQ(test, 1, s.unmaps);
	KUNIT_EXPECT_EQ(test, 1ULL, s.last_unmapped);
	/* The nested one is the attachment's until it is unmapped. */
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_unmap(&s.self));
	KUNIT_EXPECT_EQ(test, 2ULL, s.last_unmapped);
	KUNIT_EXPECT_EQ(test, -ENOENT, dma_buf_ic_unmap(&s.self));
	dma_resv_unlock(buf->resv);

	/* Every mapping counted has ended: the revoke does not wait. */
	dma_buf_ic_export_revoke(export);
	KUNIT_EXPECT_EQ(test, 1, t->invalidations);
	KUNIT_EXPECT_EQ(test, 2, s.unmaps);
	s.attached = false;
	dma_buf_ic_detach(&s.self);
	dma_buf_ic_export_put(export);
	dma_buf_put(buf);
	flush_delayed_fput();
	KUNIT_EXPECT_TRUE(test, s.released);
}

/*
 * An exporter outside the framework that moves its buffer (it has pin, so
 * it is dynamic): the memory is ready only when its kernel fence signals.
 * A framework importer's map returns only after that.
 */
struct late_fence {
	struct dma_fence base;	/* first: the default release kfree()s it */
	spinlock_t lock;
	struct delayed_work work;
};

static const char *late_fence_name(struct dma_fence *fence)
{
	return "dma_buf_ic_kunit";
}

static const struct dma_fence_ops late_fence_ops = {
	.get_driver_name = late_fence_name,
	.get_timeline_name = late_fence_name,
};

static void late_fence_signal(struct work_struct *work)
{
	struct late_fence *f = container_of(work, struct late_fence, work.work);

	dma_fence_signal(&f->base);
	dma_fence_put(&f->base);
}

/*
 * Adds to @buf a fence of @usage that signals @ms milliseconds from now;
 * returns it with a reference for the caller, or NULL.
 */
static struct late_fence *late_fence_add(struct dma_buf *buf,
					 enum dma_resv_usage usage,
					 unsigned int ms)
{
	struct late_fence *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return NULL;
	spin_lock_init(&f->lock);
	dma_fence_init(&f->base, &late_fence_ops, &f->lock,
		       dma_fence_context_alloc(1), 1);
	INIT_DELAYED_WORK(&f->work, late_fence_signal);
	dma_resv_lock(buf->resv, NULL);
	if (dma_resv_reserve_fences(buf->resv, 1)) {
		dma_resv_unlock(buf->resv);
		dma_fence_put(&f->base);
		return NULL;
	}
	dma_resv_add_fence(buf->resv, &f->base, usage);
	dma_resv_unlock(buf->resv);
	/* The work's reference; the buffer holds its own, the caller one. */
	dma_fence_get(&f->base);
	dma_fence_get(&f->base);
	schedule_delayed_work(&f->work, msecs_to_jiffies(ms));
	return f;
}

static int foreign_pin(struct dma_buf_attachment *attach)
{
	return 0;
}

static void foreign_unpin(struct dma_buf_attachment *attach)
{
}

static struct sg_table *foreign_map(struct dma_buf_attachment *attach,
				    enum dma_data_direction dir)
{
	return test_map_sgt(attach->dmabuf->priv, attach, dir);
}

static void foreign_unmap(struct dma_buf_attachment *attach,
			  struct sg_table *sgt, enum dma_data_direction dir)
{
	test_unmap_sgt(attach->dmabuf->priv, attach, sgt, dir);
}

static void foreign_release(struct dma_buf *buf)
{
	test_release(buf->priv);
}

static const struct dma_buf_ops foreign_ops = {
	.pin = foreign_pin,
	.unpin = foreign_unpin,
	.map_dma_buf = foreign_map,
	.unmap_dma_buf = foreign_unmap,
	.release = foreign_release,
};

static void ic_kunit_foreign_fence(struct kunit *test)
{
	struct ic_kunit *t = test->priv;
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct dma_buf_ic_attachment a;
	struct late_fence *fence;
	struct sg_table *sgt;
	struct dma_buf *buf;

	exp_info.ops = &foreign_ops;
	exp_info.size = NR_PAGES * PAGE_SIZE;
	exp_info.flags = O_RDWR;
	exp_info.priv = &t->exp;
	buf = dma_buf_export(&exp_info);
	KUNIT_ASSERT_FALSE(test, IS_ERR(buf));

	fence = late_fence_add(buf, DMA_RESV_USAGE_KERNEL, 200);
	KUNIT_ASSERT_NOT_NULL(test, fence);

	/* A dynamic exporter can move the buffer: invalidation is a must. */
	KUNIT_EXPECT_EQ(test, -EOPNOTSUPP,
			attach_one(t, &a, buf, dma_buf_ic_sgt, 0, false));
	KUNIT_ASSERT_EQ(test, 0, attach_one(t, &a, buf, dma_buf_ic_sgt, 0, true));
	dma_resv_lock(buf->resv, NULL);
	sgt = dma_buf_ic_map_sgt(&a);
	KUNIT_EXPECT_FALSE(test, IS_ERR(sgt));
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(&fence->base));
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_unmap(&a));
	dma_resv_unlock(buf->resv);
	dma_buf_ic_detach(&a);
	KUNIT_EXPECT_EQ(test, 1, t->exp.maps);
	KUNIT_EXPECT_EQ(test, 1, t->exp.unmaps);

	/* Whatever happened above, the work has run before the test ends. */
	flush_delayed_work(&fence->work);
	dma_fence_put(&fence->base);
	dma_buf_put(buf);
	flush_delayed_fput();
	KUNIT_EXPECT_TRUE(test, t->exp.released);
}

/*
 * Work queued on a framework buffer before a revoke ends before the revoke
 * returns: it waits for every fence, the last usage (BOOKKEEP) included.
 */
static void ic_kunit_revoke_waits_for_fences(struct kunit *test)
{
	struct ic_kunit *t = test->priv;
	struct dma_buf_ic_export *export;
	struct late_fence *fence;
	struct dma_buf *buf;

	export = dma_buf_ic_export(&t->info, &buf);
	KUNIT_ASSERT_FALSE(test, IS_ERR(export));
	fence = late_fence_add(buf, DMA_RESV_USAGE_BOOKKEEP, 200);
	KUNIT_ASSERT_NOT_NULL(test, fence);

	dma_buf_ic_export_revoke(export);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(&fence->base));

	flush_delayed_work(&fence->work);
	dma_fence_put(&fence->base);
	dma_buf_ic_export_put(export);
	dma_buf_put(buf);
	flush_delayed_fput();
	KUNIT_EXPECT_TRUE(test, t->exp.released);
}

/* An importer that finishes its invalidation late: counts each step. */
struct done_importer {
	int *invalidated;	/* every invalidation of the buffer, shared */
	int invalidations;
	int dones;
	int invalidated_at_done;	/* *invalidated at the last done */
};

static void done_invalidate(void *priv)
{
	struct done_importer *imp = priv;

	imp->invalidations++;
	(*imp->invalidated)++;
}

static void done_invalidate_done(void *priv)
{
	struct done_importer *imp = priv;

	imp->dones++;
	imp->invalidated_at_done = *imp->invalidated;
}

static const struct dma_buf_ic_importer_ops done_importer_ops = {
	.invalidate = done_invalidate,
	.invalidate_done = done_invalidate_done,
};

/* Counts into the shared count, and has no invalidate_done. */
static void plain_invalidate(void *priv)
{
	(*(int *)priv)++;
}

static const struct dma_buf_ic_importer_ops plain_importer_ops = {
	.invalidate = plain_invalidate,
};

/*
 * invalidate_done: once per importer that held a mapping, after every
 * attachment of the buffer was invalidated, before the revoke returns;
 * never for an importer that held no mapping. Mappings of the physical
 * list share the exporter's ranges instead of copying them.
 */
static void ic_kunit_invalidate_done(struct kunit *test)
{
	struct ic_kunit *t = test->priv;
	struct dma_buf_ic_entry accept = { dma_buf_ic_phys_list, 0 };
	struct done_importer imp[3] = {};
	struct dma_buf_ic_attachment a[3], plain;
	const struct phys_vec *ranges[3], *plain_ranges;
	struct dma_buf_ic_export *export;
	unsigned int nr, i;
	struct dma_buf *buf;
	int invalidated = 0;

	export = dma_buf_ic_export(&t->info, &buf);
	KUNIT_ASSERT_FALSE(test, IS_ERR(export));
	for (i = 0; i < 3; i++) {
		imp[i].invalidated = &invalidated;
		KUNIT_ASSERT_EQ(test, 0,
				dma_buf_ic_attach_iommu(&a[i], buf, t->dev,
							&accept, 1,
							&done_importer_ops,
							&imp[i]));
	}
	KUNIT_ASSERT_EQ(test, 0,
			dma_buf_ic_attach_iommu(&plain, buf, t->dev, &accept, 1,
						&plain_importer_ops,
						&invalidated));

	/* a[0], a[1] and plain map; a[2] does not. */
	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_map_phys(&a[0], &ranges[0], &nr));
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_map_phys(&a[1], &ranges[1], &nr));
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_map_phys(&plain, &plain_ranges, &nr));
	dma_resv_unlock(buf->resv);
	/* The exporter's ranges, shared, not one copy per mapping. */
	KUNIT_EXPECT_PTR_EQ(test, ranges[0], ranges[1]);
	KUNIT_EXPECT_PTR_EQ(test, ranges[0], plain_ranges);
	KUNIT_EXPECT_EQ(test, NR_PAGES, nr);
	KUNIT_EXPECT_EQ(test, t->exp.ranges[1].paddr, ranges[0][1].paddr);

	dma_buf_ic_export_revoke(export);
	KUNIT_EXPECT_EQ(test, 4, invalidated);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, 1, imp[i].invalidations);
	KUNIT_EXPECT_EQ(test, 1, imp[0].dones);
	KUNIT_EXPECT_EQ(test, 1, imp[1].dones);
	KUNIT_EXPECT_EQ(test, 0, imp[2].dones);
	/* Every attachment was invalidated before the first done. */
	KUNIT_EXPECT_EQ(test, 4, imp[0].invalidated_at_done);
	KUNIT_EXPECT_EQ(test, 4, imp[1].invalidated_at_done);

	/* A second revoke changes nothing and calls nobody. */
	dma_buf_ic_export_revoke(export);
	KUNIT_EXPECT_EQ(test, 4, invalidated);
	KUNIT_EXPECT_EQ(test, 1, imp[0].dones);

	/* Nothing mapped: invalidated, never done. */
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_export_unrevoke(export));
	dma_buf_ic_export_revoke(export);
	KUNIT_EXPECT_EQ(test, 8, invalidated);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, i < 2 ? 1 : 0, imp[i].dones);

	/* Only the importer that mapped again finishes, once. */
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_export_unrevoke(export));
	dma_resv_lock(buf->resv, NULL);
	KUNIT_EXPECT_EQ(test, 0, dma_buf_ic_map_phys(&a[2], &ranges[2], &nr));
	dma_resv_unlock(buf->resv);
	dma_buf_ic_export_revoke(export);
	KUNIT_EXPECT_EQ(test, 12, invalidated);
	KUNIT_EXPECT_EQ(test, 1, imp[0].dones);
	KUNIT_EXPECT_EQ(test, 1, imp[1].dones);
	KUNIT_EXPECT_EQ(test, 1, imp[2].dones);
	KUNIT_EXPECT_EQ(test, 12, imp[2].invalidated_at_done);

	/* Detaching ends no invalidation: no done either. */
	for (i = 0; i < 3; i++)
		dma_buf_ic_detach(&a[i]);
	dma_buf_ic_detach(&plain);
	KUNIT_EXPECT_EQ(test, 1, imp[2].dones);
	dma_buf_ic_export_put(export);
	dma_buf_put(buf);
	flush_delayed_fput();
	KUNIT_EXPECT_TRUE(test, t->exp.released);
}

static struct kunit_case ic_kunit_cases[] = {
	KUNIT_CASE(ic_kunit_negotiation),
	KUNIT_CASE(ic_kunit_bad_export),
	KUNIT_CASE(ic_kunit_list_limit),
	KUNIT_CASE(ic_kunit_unreachable_provider),
	KUNIT_CASE(ic_kunit_self_import),
	KUNIT_CASE(ic_kunit_foreign_fence),
	KUNIT_CASE(ic_kunit_revoke_waits_for_fences),
	KUNIT_CASE(ic_kunit_invalidate_done),
	{}
};

static struct kunit_suite ic_kunit_suite = {
	.name = "dma-buf-interconnect-c",
	.init = ic_kunit_init,
	.exit = ic_kunit_exit,
	.test_cases = ic_kunit_cases,
};

kunit_test_suite(ic_kunit_suite);

MODULE_DESCRIPTION("KUnit tests of the dma-buf interconnect C interface");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("DMA_BUF");
