// SPDX-License-Identifier: GPL-2.0

//! What an importer holds while a buffer is mapped: the mapping types of the
//! built-in interconnects.
//!
//! [`PhysRanges`] is the mapping of [`PhysList`](super::interconnect::PhysList):
//! the physical address ranges that make up the buffer, in order.
//! [`SgtMapping`] is the mapping of [`Sgt`](super::interconnect::Sgt): a
//! scatter-gather table, DMA-mapped for the importer's device.
//!
//! Importers only ever see a mapping through a shared reference that lives
//! no longer than the reservation lock guard it was obtained under; the core
//! owns the value and drops it when the mapping ends.

use crate::{
    alloc::{flags::GFP_KERNEL, KBox, KVec},
    bindings,
    device::Device,
    error::{code::*, to_result, Result},
    page::{Page, PAGE_SIZE},
    scatterlist::SGTable,
    sync::{aref::ARef, Arc},
};
use core::{ffi::c_void, ptr::NonNull};

/// One physically contiguous range of a buffer.
///
/// Laid out as C's `struct phys_vec`, which C exporters and importers use.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhysRange {
    /// Physical address of the first byte; page aligned.
    pub addr: bindings::phys_addr_t,
    /// Length in bytes; a non-zero multiple of the page size.
    pub len: usize,
}

// The C interface hands `struct phys_vec` arrays over as `PhysRange` slices.
crate::static_assert!(
    core::mem::size_of::<PhysRange>() == core::mem::size_of::<bindings::phys_vec>()
);
crate::static_assert!(
    core::mem::offset_of!(PhysRange, addr) == core::mem::offset_of!(bindings::phys_vec, paddr)
);
crate::static_assert!(
    core::mem::offset_of!(PhysRange, len) == core::mem::offset_of!(bindings::phys_vec, len)
);

impl PhysRange {
    /// Returns the range of one page of memory.
    pub fn of_page(page: &Page) -> Self {
        Self {
            // SAFETY: `page` is an allocated page.
            addr: unsafe { bindings::page_to_phys(page.as_ptr()) },
            len: PAGE_SIZE,
        }
    }
}

/// The physical ranges that make up a buffer, in buffer order.
///
/// A list is either owned or shared ([`PhysRanges::share`]): an exporter
/// whose ranges never change keeps one checked list and hands every mapping
/// a shared handle on it, which costs no allocation.
///
/// # Invariants
///
/// The list is not empty; every range is page aligned, has a non-zero
/// length that is a multiple of the page size and does not wrap around the
/// address space; `total` is the sum of the lengths and fits in `u64`. A
/// shared list is another `PhysRanges`, which holds the same invariants.
pub struct PhysRanges {
    ranges: RangeStore,
    total: u64,
}

/// Where the ranges of a [`PhysRanges`] are.
enum RangeStore {
    /// Its own copy.
    Owned(KVec<PhysRange>),
    /// Those of a list that this one shares; the reference keeps them alive.
    Shared(Arc<PhysRanges>),
}

impl PhysRanges {
    /// Checks and copies `ranges`.
    ///
    /// Fails with `EINVAL` if the list is empty or a range is empty or not
    /// page aligned, and with `EOVERFLOW` if a range wraps around the address
    /// space or the lengths do not add up in 64 bits.
    ///
    /// # Examples
    ///
    /// ```
    /// # use kernel::prelude::*;
    /// use kernel::dma_buf::mapping::{PhysRange, PhysRanges};
    ///
    /// let r = PhysRanges::new(&[
    ///     PhysRange { addr: 0x1000_0000, len: 0x2000 },
    ///     PhysRange { addr: 0x2000_0000, len: 0x1000 },
    /// ])?;
    /// assert_eq!(r.total_len(), 0x3000);
    /// assert_eq!(r.ranges().len(), 2);
    ///
    /// assert_eq!(PhysRanges::new(&[]).err(), Some(EINVAL));
    /// let unaligned = PhysRange { addr: 0x1000_0800, len: 0x1000 };
    /// assert_eq!(PhysRanges::new(&[unaligned]).err(), Some(EINVAL));
    /// let empty = PhysRange { addr: 0x1000_0000, len: 0 };
    /// assert_eq!(PhysRanges::new(&[empty]).err(), Some(EINVAL));
    /// let wraps = PhysRange { addr: u64::MAX - 0xfff, len: 0x2000 };
    /// assert_eq!(PhysRanges::new(&[wraps]).err(), Some(EOVERFLOW));
    /// let huge = PhysRange { addr: 0, len: 1 << 63 };
    /// assert_eq!(PhysRanges::new(&[huge, huge]).err(), Some(EOVERFLOW));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn new(ranges: &[PhysRange]) -> Result<Self> {
        if ranges.is_empty() {
            return Err(EINVAL);
        }
        let page_mask = PAGE_SIZE as u64 - 1;
        let mut total: u64 = 0;
        let mut list = KVec::with_capacity(ranges.len(), GFP_KERNEL)?;
        for r in ranges {
            let len = r.len as u64;
            if len == 0 || (r.addr | len) & page_mask != 0 {
                return Err(EINVAL);
            }
            r.addr.checked_add(len - 1).ok_or(EOVERFLOW)?;
            total = total.checked_add(len).ok_or(EOVERFLOW)?;
            list.push(*r, GFP_KERNEL)?;
        }
        // INVARIANT: Every range and the total were checked above.
        Ok(Self {
            ranges: RangeStore::Owned(list),
            total,
        })
    }

    /// Returns a list with the same ranges as `this`, which it shares: no
    /// copy and no allocation, only a reference count.
    ///
    /// # Examples
    ///
    /// ```
    /// # use kernel::prelude::*;
    /// use kernel::dma_buf::mapping::{PhysRange, PhysRanges};
    /// use kernel::sync::Arc;
    ///
    /// let r = [PhysRange { addr: 0x1000_0000, len: 0x2000 }];
    /// let kept = Arc::new(PhysRanges::new(&r)?, GFP_KERNEL)?;
    /// let shared = PhysRanges::share(&kept);
    /// assert_eq!(shared.ranges(), &r);
    /// assert_eq!(shared.total_len(), 0x2000);
    /// // The very same ranges, not a copy.
    /// assert!(core::ptr::eq(shared.ranges(), kept.ranges()));
    /// drop(kept);
    /// // The shared list keeps them alive.
    /// assert_eq!(shared.ranges(), &r);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn share(this: &Arc<PhysRanges>) -> Self {
        // INVARIANT: The ranges and total of a checked list.
        Self {
            ranges: RangeStore::Shared(this.clone()),
            total: this.total,
        }
    }

    /// Returns the list that this one shares, or this one if it owns its
    /// ranges.
    pub(crate) fn into_shared(self) -> core::result::Result<Arc<PhysRanges>, Self> {
        match self.ranges {
            RangeStore::Shared(other) => Ok(other),
            RangeStore::Owned(_) => Err(self),
        }
    }

    /// Returns the ranges in buffer order.
    pub fn ranges(&self) -> &[PhysRange] {
        match &self.ranges {
            RangeStore::Owned(list) => list,
            RangeStore::Shared(other) => other.ranges(),
        }
    }

    /// Returns the sum of the range lengths.
    pub fn total_len(&self) -> u64 {
        self.total
    }
}

/// A memory BAR of a PCI device, as the DMA layer needs it to map the
/// BAR's MMIO for other devices, peer to peer ([`SgtMapping::map_mmio`]).
///
/// # Invariants
///
/// `raw` is a copy of the `p2pdma_provider` of BAR `bar` of the PCI device
/// `owner`, which holds the physical range `start..start + len`. The copy
/// stays valid after the driver unbinds, when the original is freed: it
/// only names the device, which `owner` keeps referenced, and its bus
/// offset; the DMA layer finds the device's peer-to-peer state through the
/// device, under RCU, and treats a device without one as unreachable.
pub struct BarProvider {
    raw: bindings::p2pdma_provider,
    owner: ARef<Device>,
    start: u64,
    len: u64,
}

// SAFETY: `raw` only holds the address of the device that `owner` keeps
// alive, and an offset; nothing in it is tied to a thread.
unsafe impl Send for BarProvider {}
// SAFETY: As for `Send`; the value is never changed after `new`.
unsafe impl Sync for BarProvider {}

impl BarProvider {
    /// Sets up peer-to-peer DMA from BAR `bar` of `pdev` (`pcim_p2pdma_init()`,
    /// managed: undone when the driver unbinds).
    ///
    /// Fails with `EINVAL` if `bar` is not a memory BAR, with `EOPNOTSUPP`
    /// if the device's BARs cannot be mapped by other devices, and with
    /// `ENOMEM`.
    pub fn new(pdev: &crate::pci::Device<crate::device::Bound>, bar: u32) -> Result<Self> {
        let start = pdev.resource_start(bar)?;
        let len = pdev.resource_len(bar)?;
        let bar_index = i32::try_from(bar).map_err(|_| EINVAL)?;
        let dev: &Device<crate::device::Bound> = pdev.as_ref();
        // SAFETY: A `pci::Device` is a `struct pci_dev`, whose embedded
        // `struct device` `dev` is.
        let raw_pdev = unsafe { crate::container_of!(dev.as_raw(), bindings::pci_dev, dev) };
        // SAFETY: `raw_pdev` is bound to its driver (`pdev` is `Bound`),
        // which the managed allocation is tied to.
        to_result(unsafe { bindings::pcim_p2pdma_init(raw_pdev) })?;
        // SAFETY: As above; `pcim_p2pdma_init` succeeded and `bar_index` is
        // a BAR number (`resource_len` checked it).
        let provider = unsafe { bindings::pcim_p2pdma_provider(raw_pdev, bar_index) };
        if provider.is_null() {
            return Err(EINVAL);
        }
        // INVARIANT: Copied from the BAR's provider, which is valid while the
        // device is bound; `owner` is the provider's device.
        Ok(Self {
            // SAFETY: `provider` is not NULL and valid while `pdev` is bound.
            raw: unsafe { provider.read() },
            owner: dev.into(),
            start,
            len,
        })
    }

    /// Returns the device whose BAR this is.
    pub fn device(&self) -> &Device {
        &self.owner
    }

    /// Returns where the BAR starts in the physical address space.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Returns the BAR's size in bytes.
    pub fn size(&self) -> u64 {
        self.len
    }

    /// Returns true if `range` lies in the BAR.
    fn holds(&self, range: &PhysRange) -> bool {
        let (start, len) = (range.addr, range.len as u64);
        start >= self.start && len <= self.len && start - self.start <= self.len - len
    }
}

/// Where an [`SgtMapping`] came from, which decides how it is undone.
enum SgtOwner {
    /// Mapped by another exporter's `map_dma_buf` for this attachment.
    Foreign(NonNull<bindings::dma_buf_attachment>),
    /// Mapped by this framework from pages, for `dev`.
    Pages(ARef<Device>),
    /// Mapped by `dma_buf_phys_vec_to_sgt()` for this attachment, peer to
    /// peer, with the direction it was mapped for.
    Mmio(
        NonNull<bindings::dma_buf_attachment>,
        bindings::dma_data_direction,
    ),
    /// Mapped by a C exporter's `map_sgt`, undone by its `unmap_sgt`.
    Callback {
        unmap: UnmapSgt,
        priv_: *mut c_void,
        attach: NonNull<bindings::dma_buf_attachment>,
        dir: bindings::dma_data_direction,
    },
}

/// The `unmap_sgt` callback of a C exporter.
pub(crate) type UnmapSgt = unsafe extern "C" fn(
    *mut c_void,
    *mut bindings::dma_buf_attachment,
    *mut bindings::sg_table,
    bindings::dma_data_direction,
);

/// A scatter-gather table, DMA-mapped for the importer's device.
///
/// # Invariants
///
/// `table` is a DMA-mapped table: for `SgtOwner::Foreign`, the one that
/// `dma_buf_map_attachment` returned for that attachment, which stays
/// attached while this value exists; for `SgtOwner::Pages`, one allocated
/// as a `KBox`, filled by `sg_alloc_table_from_pages` and mapped by
/// `dma_map_sgtable` for that device, whose pages stay allocated while this
/// value exists; for `SgtOwner::Mmio`, one that `dma_buf_phys_vec_to_sgt`
/// returned for that attachment and direction, which stays attached while
/// this value exists; for `SgtOwner::Callback`, one that the C exporter's
/// `map_sgt` returned for `priv_`, `attach` and `dir`, which `unmap` undoes
/// and which stays attached while this value exists.
pub struct SgtMapping {
    table: NonNull<bindings::sg_table>,
    owner: SgtOwner,
}

// SAFETY: The table is only read through `&self`, and unmapping it in `drop`
// may happen on any thread.
unsafe impl Send for SgtMapping {}
// SAFETY: Shared references only read the table.
unsafe impl Sync for SgtMapping {}

impl SgtMapping {
    /// Maps `pages` for `dev`, for bidirectional DMA, as one table.
    ///
    /// # Safety
    ///
    /// The pages must stay allocated while the returned value exists: an
    /// exporter keeps them in its state, which the buffer, and so every
    /// attachment and mapping of it, keeps alive.
    pub unsafe fn map_pages(dev: &Device, pages: &[Page]) -> Result<Self> {
        let mut raw: KVec<*mut bindings::page> = KVec::with_capacity(pages.len(), GFP_KERNEL)?;
        for p in pages {
            raw.push(p.as_ptr(), GFP_KERNEL)?;
        }
        let n = u32::try_from(raw.len()).map_err(|_| EINVAL)?;
        // SAFETY: All-zero is the empty state of a table.
        let table: KBox<bindings::sg_table> =
            KBox::new(unsafe { core::mem::zeroed() }, GFP_KERNEL)?;
        // Owned through the raw pointer from here on; `free_table` frees it.
        // SAFETY: `KBox::into_raw` never returns NULL.
        let table = unsafe { NonNull::new_unchecked(KBox::into_raw(table)) };
        // SAFETY: `table` is a zeroed table and `raw` holds `n` pages that
        // the caller keeps allocated.
        let ret = unsafe {
            bindings::sg_alloc_table_from_pages_segment(
                table.as_ptr(),
                raw.as_mut_ptr(),
                n,
                0,
                n as usize * PAGE_SIZE,
                u32::MAX,
                bindings::GFP_KERNEL,
            )
        };
        if let Err(e) = to_result(ret) {
            // SAFETY: The table was allocated above and is not used again.
            drop(unsafe { KBox::from_raw(table.as_ptr()) });
            return Err(e);
        }
        // SAFETY: The table was filled above and `dev` is a live device.
        let ret = unsafe {
            bindings::dma_map_sgtable(
                dev.as_raw(),
                table.as_ptr(),
                bindings::dma_data_direction_DMA_BIDIRECTIONAL,
                0,
            )
        };
        if let Err(e) = to_result(ret) {
            // SAFETY: The table was filled above, is not mapped and is not
            // used again.
            unsafe {
                bindings::sg_free_table(table.as_ptr());
                drop(KBox::from_raw(table.as_ptr()));
            }
            return Err(e);
        }
        // INVARIANT: Allocated, filled and mapped for `dev` as required.
        Ok(Self {
            table,
            owner: SgtOwner::Pages(dev.into()),
        })
    }

    /// Maps `ranges`, MMIO of the BAR that `provider` describes, for the
    /// importer of `req`, peer to peer: through the host bridge or straight
    /// to the bus address, as the PCI topology between the BAR's device and
    /// the importer's asks (`dma_buf_phys_vec_to_sgt()`).
    ///
    /// Fails with `EINVAL` if a range lies outside the BAR or the ranges and
    /// `req`'s buffer differ in size, and with what the DMA layer returns
    /// (`EINVAL` when the importer cannot reach the BAR).
    pub fn map_mmio(
        req: &super::exporter::MapRequest<'_>,
        provider: &BarProvider,
        ranges: &PhysRanges,
    ) -> Result<Self> {
        let size = usize::try_from(ranges.total_len()).map_err(|_| EINVAL)?;
        if size != req.resv().buf().size() || !ranges.ranges().iter().all(|r| provider.holds(r)) {
            return Err(EINVAL);
        }
        let attach = req.raw_attachment();
        let dir = req.direction();
        let list = ranges.ranges();
        // SAFETY: `attach` is the importer's live attachment, whose buffer's
        // reservation lock `req` proves held; `provider.raw` is a copy of the
        // BAR's provider whose `owner` `provider` keeps referenced (see
        // `BarProvider`); `PhysRange` has the layout of `phys_vec` (see the
        // assertions above), and the function only reads the array.
        let table = crate::error::from_err_ptr(unsafe {
            bindings::dma_buf_phys_vec_to_sgt(
                attach.as_ptr(),
                core::ptr::from_ref(&provider.raw).cast_mut(),
                list.as_ptr().cast_mut().cast(),
                list.len(),
                size,
                dir,
            )
        })?;
        // INVARIANT: Returned by `dma_buf_phys_vec_to_sgt` for `attach` and
        // `dir`; the core ends mappings before their attachment goes.
        Ok(Self {
            table: NonNull::new(table).ok_or(ENOMEM)?,
            owner: SgtOwner::Mmio(attach, dir),
        })
    }

    /// Maps a buffer of another exporter through its `map_dma_buf`.
    ///
    /// # Safety
    ///
    /// `attach` is a live attachment whose buffer's reservation lock the
    /// caller holds, and it stays attached while the returned value exists.
    pub(crate) unsafe fn map_foreign(
        attach: NonNull<bindings::dma_buf_attachment>,
    ) -> Result<Self> {
        // SAFETY: Guaranteed by the caller.
        let table = crate::error::from_err_ptr(unsafe {
            bindings::dma_buf_map_attachment(
                attach.as_ptr(),
                bindings::dma_data_direction_DMA_BIDIRECTIONAL,
            )
        })?;
        // INVARIANT: Returned by `dma_buf_map_attachment` for `attach`.
        Ok(Self {
            table: NonNull::new(table).ok_or(EINVAL)?,
            owner: SgtOwner::Foreign(attach),
        })
    }

    /// Wraps a table that a C exporter mapped for `attach`.
    ///
    /// # Safety
    ///
    /// `table` was returned by the exporter's `map_sgt(priv_, attach, dir)`,
    /// and `unmap(priv_, attach, table, dir)` undoes it; both may be called
    /// with the reservation lock held, `priv_` stays valid and `attach`
    /// attached while the value exists.
    pub(crate) unsafe fn from_callback(
        table: NonNull<bindings::sg_table>,
        attach: NonNull<bindings::dma_buf_attachment>,
        dir: bindings::dma_data_direction,
        unmap: UnmapSgt,
        priv_: *mut c_void,
    ) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            table,
            owner: SgtOwner::Callback {
                unmap,
                priv_,
                attach,
                dir,
            },
        }
    }

    /// Returns the DMA address and length of every DMA segment.
    pub fn dma_segments(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        // SAFETY: By the type invariant the table is mapped and stays so,
        // unchanged, while `self` is borrowed.
        let table = unsafe { SGTable::from_raw(self.table.as_ptr()) };
        table.iter().map(|sg| (sg.dma_address(), sg.dma_len()))
    }

    /// Returns the raw table, for importers that hand it to C code.
    pub fn as_raw(&self) -> *mut bindings::sg_table {
        self.table.as_ptr()
    }
}

impl Drop for SgtMapping {
    fn drop(&mut self) {
        let dir = bindings::dma_data_direction_DMA_BIDIRECTIONAL;
        match &self.owner {
            SgtOwner::Foreign(attach) => {
                // SAFETY: By the type invariant the table belongs to `attach`,
                // which is still attached; the core drops mappings with the
                // reservation lock held.
                unsafe {
                    bindings::dma_buf_unmap_attachment(attach.as_ptr(), self.table.as_ptr(), dir)
                };
            }
            SgtOwner::Mmio(attach, dir) => {
                // SAFETY: By the type invariant `dma_buf_phys_vec_to_sgt`
                // made the table for `attach` and `dir`; the core drops
                // mappings with the reservation lock held.
                unsafe { bindings::dma_buf_free_sgt(attach.as_ptr(), self.table.as_ptr(), *dir) };
            }
            SgtOwner::Callback {
                unmap,
                priv_,
                attach,
                dir,
            } => {
                // SAFETY: By the type invariant `unmap` undoes the exporter's
                // mapping of `table` for `attach`.
                unsafe { unmap(*priv_, attach.as_ptr(), self.table.as_ptr(), *dir) };
            }
            SgtOwner::Pages(dev) => {
                // SAFETY: By the type invariant the table was mapped for `dev`
                // and allocated as a `KBox`; nothing uses it after this.
                unsafe {
                    bindings::dma_unmap_sgtable(dev.as_raw(), self.table.as_ptr(), dir, 0);
                    bindings::sg_free_table(self.table.as_ptr());
                    drop(KBox::from_raw(self.table.as_ptr()));
                }
            }
        }
    }
}

/// Makes the DMA-API unmaps of `dev` that already happened reach its IOTLB.
///
/// In lazy mode (`iommu.strict=0`: the default DMA domain uses a flush
/// queue) an unmap clears the IOMMU page table but leaves the IOTLB entry
/// until a deferred flush, during which the device can still reach the
/// memory. A revoke must not return before that: the framework calls this
/// for the importer's device whenever a mapping ends while its buffer is
/// revoked. Strict domains flush at unmap time and need nothing here.
pub(crate) fn flush_dma_unmaps(dev: &Device) {
    #[cfg(CONFIG_IOMMU_API)]
    // SAFETY: `dev` is alive. Its group pointer is read once; a device that
    // had a DMA-API mapping through its IOMMU keeps its group, and the
    // group its default domain, while the device is bound to its importer
    // (the DMA API asks that of its callers). The flush only touches the
    // domain's own IOTLB state, under the IOMMU driver's locks.
    unsafe {
        let raw = dev.as_raw();
        if core::ptr::read_volatile(core::ptr::addr_of!((*raw).iommu_group)).is_null() {
            return;
        }
        let domain = bindings::iommu_get_dma_domain(raw);
        if !domain.is_null() && (*domain).type_ & bindings::__IOMMU_DOMAIN_DMA_FQ != 0 {
            bindings::iommu_flush_iotlb_all(domain);
        }
    }
}
