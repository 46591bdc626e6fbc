// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU_IOAS_MAP_FILE with a dma-buf: iommufd imports the buffer through the
 * dma-buf interconnect framework (include/linux/dma-buf-interconnect.h),
 * accepting only the physical range list, and maps those ranges as MMIO
 * into every domain of the IOAS.
 *
 * The pages of such an area are a struct iopt_pages whose ->dmabuf is set:
 * no user memory, no pinning, no accounting. Which (area, domain) pairs hold
 * the mapping is tracked under pages->mutex, because the exporter's revoke
 * arrives with the dma-buf's reservation lock held, and domains_rwsem comes
 * before that lock on the map path. The lock order is:
 *
 *   exporter's lock -> dma_resv -> pages->mutex
 *   domains_rwsem -> pages->mutex
 *
 * A revoke unmaps every tracked pair and marks the pages revoked; from then
 * on filling a domain maps nothing (and succeeds), and nothing is ever
 * mapped again: userspace unmaps the area and maps the buffer anew.
 */
#include <linux/dma-buf.h>
#include <linux/dma-buf-interconnect.h>
#include <linux/dma-resv.h>
#include <linux/iommu.h>
#include <linux/cred.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"
#include "iommufd_private.h"

/*
 * What iommufd accepts, for IOMMU_IOAS_MAP_FILE and IOMMU_DMABUF_GET_INFO:
 * the physical ranges, which it maps into its domains itself.
 */
#define IOMMUFD_DMABUF_NR_ACCEPTS 1

static void iommufd_dmabuf_accepts(struct dma_buf_ic_entry *accepts)
{
	accepts[0] = (struct dma_buf_ic_entry){ dma_buf_ic_phys_list, 0 };
}

/* The dma-buf side of a struct iopt_pages. */
struct iopt_pages_dmabuf {
	struct dma_buf_ic_attachment *attach;
	/* The exporter's ranges; valid until revoked (then never read). */
	const struct dma_buf_ic_phys_range *ranges;
	unsigned int nr_ranges;
	/* Byte offset of the mapped slice in the buffer. */
	u64 start;
	bool revoked;
	/* Of struct iopt_dmabuf_track: where the slice is mapped. */
	struct list_head tracker;
};

struct iopt_dmabuf_track {
	struct list_head node;
	struct iopt_area *area;
	struct iommu_domain *domain;
};

static void iopt_dmabuf_unmap(struct iopt_area *area,
			      struct iommu_domain *domain)
{
	size_t len = iopt_area_length(area);

	WARN_ON(iommu_unmap(domain, iopt_area_iova(area), len) != len);
}

/* Called by the framework with the reservation lock held. */
static void iopt_dmabuf_invalidate(void *priv)
{
	struct iopt_pages *pages = priv;
	struct iopt_dmabuf_track *track;

	mutex_lock(&pages->mutex);
	if (!pages->dmabuf->revoked) {
		list_for_each_entry(track, &pages->dmabuf->tracker, node)
			iopt_dmabuf_unmap(track->area, track->domain);
		pages->dmabuf->revoked = true;
	}
	mutex_unlock(&pages->mutex);
}

static const struct dma_buf_ic_importer_ops iopt_dmabuf_importer_ops = {
	.invalidate = iopt_dmabuf_invalidate,
};

/* Maps the slice of the ranges at the area's IOVA; all or nothing. */
static int iopt_dmabuf_map(struct iopt_area *area, struct iopt_pages *pages,
			   struct iommu_domain *domain)
{
	struct iopt_pages_dmabuf *dmabuf = pages->dmabuf;
	unsigned long iova = iopt_area_iova(area);
	u64 skip = dmabuf->start, left = iopt_area_length(area);
	/* MMIO: never cacheable, whatever the IOAS maps user memory with. */
	int prot = (area->iommu_prot & ~IOMMU_CACHE) | IOMMU_MMIO;
	size_t mapped = 0;
	unsigned int i;
	int rc;

	for (i = 0; i < dmabuf->nr_ranges && left; i++) {
		const struct dma_buf_ic_phys_range *r = &dmabuf->ranges[i];
		u64 len;

		if (skip >= r->len) {
			skip -= r->len;
			continue;
		}
		len = min(r->len - skip, left);
		/* iommu_map() picks the largest page sizes that fit. */
		rc = iommu_map(domain, iova + mapped, r->addr + skip, len, prot,
			       GFP_KERNEL_ACCOUNT);
		if (rc)
			goto err_unmap;
		mapped += len;
		left -= len;
		skip = 0;
	}
	/* The slice was checked against the buffer, which the ranges cover. */
	if (WARN_ON(left)) {
		rc = -EINVAL;
		goto err_unmap;
	}
	return 0;

err_unmap:
	if (mapped)
		WARN_ON(iommu_unmap(domain, iova, mapped) != mapped);
	return rc;
}

/**
 * iopt_dmabuf_fill_domain() - Map a dma-buf area into a domain
 * @area: the area
 * @pages: its pages (area->pages may still be NULL)
 * @domain: the domain
 *
 * Maps nothing, and succeeds, once the exporter revoked access; the domain
 * is remembered either way so that unfilling it stays symmetric.
 *
 * Return: 0, or a negative errno of iommu_map() or -ENOMEM.
 */
int iopt_dmabuf_fill_domain(struct iopt_area *area, struct iopt_pages *pages,
			    struct iommu_domain *domain)
{
	struct iopt_dmabuf_track *track;
	int rc;

	lockdep_assert_held(&pages->mutex);

	track = kzalloc(sizeof(*track), GFP_KERNEL_ACCOUNT);
	if (!track)
		return -ENOMEM;
	if (!pages->dmabuf->revoked) {
		rc = iopt_dmabuf_map(area, pages, domain);
		if (rc) {
			kfree(track);
			return rc;
		}
	}
	track->area = area;
	track->domain = domain;
	list_add_tail(&track->node, &pages->dmabuf->tracker);
	return 0;
}

/**
 * iopt_dmabuf_unfill_domain() - Unmap a dma-buf area from a domain
 * @area: the area
 * @pages: its pages
 * @domain: the domain, filled before by iopt_dmabuf_fill_domain()
 */
void iopt_dmabuf_unfill_domain(struct iopt_area *area,
			       struct iopt_pages *pages,
			       struct iommu_domain *domain)
{
	struct iopt_dmabuf_track *track;

	lockdep_assert_held(&pages->mutex);

	list_for_each_entry(track, &pages->dmabuf->tracker, node) {
		if (track->area != area || track->domain != domain)
			continue;
		if (!pages->dmabuf->revoked)
			iopt_dmabuf_unmap(area, domain);
		list_del(&track->node);
		kfree(track);
		return;
	}
	WARN_ON(true);
}

/**
 * iopt_dmabuf_fill_domains() - Map a new dma-buf area into every domain
 * @area: the area, not yet in the domains_itree
 * @pages: its pages (area->pages is NULL)
 *
 * On failure all domains are left unchanged.
 *
 * Return: 0, or the errno of the first domain that failed.
 */
int iopt_dmabuf_fill_domains(struct iopt_area *area, struct iopt_pages *pages)
{
	struct iommu_domain *domain, *undo;
	unsigned long index, undo_index;
	int rc = 0;

	lockdep_assert_held(&area->iopt->domains_rwsem);

	mutex_lock(&pages->mutex);
	xa_for_each(&area->iopt->domains, index, domain) {
		rc = iopt_dmabuf_fill_domain(area, pages, domain);
		if (rc)
			break;
	}
	if (rc) {
		xa_for_each(&area->iopt->domains, undo_index, undo) {
			if (undo_index == index)
				break;
			iopt_dmabuf_unfill_domain(area, pages, undo);
		}
	} else {
		area->storage_domain = xa_load(&area->iopt->domains, 0);
		interval_tree_insert(&area->pages_node, &pages->domains_itree);
	}
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_dmabuf_unfill_domains() - Unmap a dma-buf area from every domain
 * @area: the area
 * @pages: its pages (area->pages is NULL)
 */
void iopt_dmabuf_unfill_domains(struct iopt_area *area,
				struct iopt_pages *pages)
{
	struct iommu_domain *domain;
	unsigned long index;

	lockdep_assert_held(&area->iopt->domains_rwsem);

	mutex_lock(&pages->mutex);
	if (area->storage_domain) {
		xa_for_each(&area->iopt->domains, index, domain)
			iopt_dmabuf_unfill_domain(area, pages, domain);
		interval_tree_remove(&area->pages_node, &pages->domains_itree);
		area->storage_domain = NULL;
	}
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_alloc_dmabuf_pages() - Import the slice of a dma-buf
 * @fd: the dma-buf
 * @start: byte offset of the slice, page aligned
 * @length: bytes in the slice, page aligned
 * @writable: whether the IOMMU may write
 *
 * Attaches to the buffer, negotiating the physical range list, and maps
 * it.
 *
 * Return: the pages, or an ERR_PTR: EBADF (not an open fd), EOPNOTSUPP (not
 * a dma-buf, or the exporter does not offer its physical ranges), EINVAL
 * (empty, unaligned or beyond the buffer), EOVERFLOW, ENODEV (revoked),
 * ENOMEM.
 */
struct iopt_pages *iopt_alloc_dmabuf_pages(int fd, u64 start, u64 length,
					   bool writable)
{
	struct dma_buf_ic_entry accepts[IOMMUFD_DMABUF_NR_ACCEPTS];
	struct iopt_pages_dmabuf *dmabuf;
	struct iopt_pages *pages;
	struct dma_buf *buf;
	u64 end;
	int rc;

	if (!length || length > SIZE_MAX - PAGE_SIZE)
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(start, length, &end))
		return ERR_PTR(-EOVERFLOW);
	if (!PAGE_ALIGNED(start) || !PAGE_ALIGNED(length))
		return ERR_PTR(-EINVAL);

	buf = dma_buf_get(fd);
	if (IS_ERR(buf))
		/* EINVAL here means "open, but not a dma-buf". */
		return ERR_PTR(PTR_ERR(buf) == -EINVAL ? -EOPNOTSUPP :
							 PTR_ERR(buf));
	if (end > buf->size) {
		rc = -EINVAL;
		goto err_put_buf;
	}

	rc = -ENOMEM;
	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		goto err_put_buf;
	dmabuf = kzalloc(sizeof(*dmabuf), GFP_KERNEL_ACCOUNT);
	if (!dmabuf)
		goto err_free_pages;
	INIT_LIST_HEAD(&dmabuf->tracker);
	dmabuf->start = start;

	kref_init(&pages->kref);
	xa_init_flags(&pages->pinned_pfns, XA_FLAGS_ACCOUNT);
	/* A lock class of its own: it nests inside dma_resv. */
	mutex_init(&pages->mutex);
	pages->source_mm = current->mm;
	mmgrab(pages->source_mm);
	pages->source_task = current->group_leader;
	get_task_struct(current->group_leader);
	pages->source_user = get_uid(current_user());
	pages->npages = length >> PAGE_SHIFT;
	pages->access_itree = RB_ROOT_CACHED;
	pages->domains_itree = RB_ROOT_CACHED;
	pages->writable = writable;
	pages->account_mode = IOPT_PAGES_ACCOUNT_NONE;
	pages->dmabuf = dmabuf;

	iommufd_dmabuf_accepts(accepts);
	dmabuf->attach = dma_buf_ic_attach(buf, iommufd_global_device(),
					   accepts, ARRAY_SIZE(accepts), true,
					   &iopt_dmabuf_importer_ops, pages);
	if (IS_ERR(dmabuf->attach)) {
		rc = PTR_ERR(dmabuf->attach);
		dmabuf->attach = NULL;
		goto err_release;
	}
	dma_resv_lock(buf->resv, NULL);
	rc = dma_buf_ic_map_phys(dmabuf->attach, &dmabuf->ranges,
				 &dmabuf->nr_ranges);
	dma_resv_unlock(buf->resv);
	if (rc)
		goto err_release;
	/* The attachment holds the buffer from here on. */
	dma_buf_put(buf);
	return pages;

err_release:
	iopt_put_pages(pages);
	dma_buf_put(buf);
	return ERR_PTR(rc);
err_free_pages:
	kfree(pages);
err_put_buf:
	dma_buf_put(buf);
	return ERR_PTR(rc);
}

/* Called from iopt_release_pages(): every area and domain is gone. */
void iopt_dmabuf_release(struct iopt_pages *pages)
{
	WARN_ON(!list_empty(&pages->dmabuf->tracker));
	/* Takes the reservation lock; ends the mapping, if not revoked. */
	if (pages->dmabuf->attach)
		dma_buf_ic_detach(pages->dmabuf->attach);
	kfree(pages->dmabuf);
	pages->dmabuf = NULL;
}

int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	struct iopt_pages *pages;
	unsigned int flags = 0;
	int prot = 0;
	int rc;

	if (cmd->flags & ~(IOMMU_IOAS_MAP_FIXED_IOVA |
			   IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))
		return -EOPNOTSUPP;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags &
	      (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	if (cmd->flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOMMU_WRITE;
	if (cmd->flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOMMU_READ;
	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	pages = iopt_alloc_dmabuf_pages(cmd->fd, cmd->start, cmd->length,
					prot & IOMMU_WRITE);
	if (IS_ERR(pages)) {
		rc = PTR_ERR(pages);
		goto out_put;
	}
	/* Consumes the pages reference, also on failure. */
	rc = iopt_map_file_pages(ucmd->ictx, &ioas->iopt, &iova, pages,
				 cmd->length, prot, flags);
	if (rc)
		goto out_put;

	cmd->iova = iova;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_dmabuf_get_info(struct iommufd_ucmd *ucmd)
{
	struct dma_buf_ic_entry accepts[IOMMUFD_DMABUF_NR_ACCEPTS];
	struct iommu_dmabuf_info *cmd = ucmd->cmd;
	struct iommu_dmabuf_interconnect __user *uptr;
	const struct dma_buf_ic_type *type;
	u32 given = cmd->num_accepts;
	struct dma_buf *buf;
	unsigned int i;
	int rc;

	if (cmd->flags & ~IOMMU_DMABUF_INFO_FD || cmd->__reserved)
		return -EINVAL;
	iommufd_dmabuf_accepts(accepts);

	memset(cmd->out_interconnect, 0, sizeof(cmd->out_interconnect));
	if (cmd->flags & IOMMU_DMABUF_INFO_FD) {
		buf = dma_buf_get(cmd->fd);
		if (IS_ERR(buf))
			return PTR_ERR(buf);
		/* The same question IOMMU_IOAS_MAP_FILE's attach asks. */
		type = dma_buf_ic_negotiate(buf, accepts, ARRAY_SIZE(accepts),
					    true);
		dma_buf_put(buf);
		if (IS_ERR(type))
			return PTR_ERR(type);
		strscpy(cmd->out_interconnect, type->name);
	}

	uptr = u64_to_user_ptr(cmd->accepts_uptr);
	for (i = 0; i < min_t(u32, given, ARRAY_SIZE(accepts)); i++) {
		struct iommu_dmabuf_interconnect entry = {};

		strscpy(entry.name, accepts[i].type->name);
		if (copy_to_user(&uptr[i], &entry, sizeof(entry)))
			return -EFAULT;
	}
	cmd->out_capabilities = IOMMU_DMABUF_CAP_MAP_FILE |
				IOMMU_DMABUF_CAP_REVOKE;
	cmd->num_accepts = ARRAY_SIZE(accepts);
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		return rc;
	return given < ARRAY_SIZE(accepts) ? -EMSGSIZE : 0;
}
