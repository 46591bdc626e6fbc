// SPDX-License-Identifier: GPL-2.0

//! The C interface of the interconnect framework.
//!
//! C exporters and importers take part through the same traits as Rust
//! ones: a C exporter is an [`Exporter`] whose map calls its C callbacks,
//! a C importer an [`Importer`] whose invalidation calls its C callback.
//! C code defines private interconnects as static `struct dma_buf_ic_type`
//! objects, which negotiate with `u64` data on both sides.
//!
//! This file is the whole C face: every function here is exported to C
//! with `#[export]`, which checks it against its prototype in the header,
//! and does nothing but translate between C's arguments and the Rust API.
//!
//! C header: [`include/linux/dma-buf-interconnect.h`](srctree/include/linux/dma-buf-interconnect.h)

use super::{
    discovery::{info_ioctl, notify_ioctl},
    exporter::{export_raw, Export, Exporter, MapRequest, Mapped},
    importer::{attach_in, negotiate_for, Attachment, Importer, Slot},
    interconnect::{
        AcceptList, AnyInfo, CType, Entry, InterconnectType, OfferList, PhysList, PhysListAccess,
        Sgt, TypeRef, PHYS_LIST, SGT,
    },
    mapping::{PhysRange, PhysRanges, SgtMapping},
    DmaBuf, ResvLocked,
};
use crate::{
    bindings,
    device::Device,
    error::{from_err_ptr, from_result},
    prelude::*,
    str::CStr,
    sync::{aref::ARef, Arc},
    uaccess::UserPtr,
};
use core::{mem::ManuallyDrop, ptr::NonNull};

/// The scatter-gather table interconnect, for C.
#[no_mangle]
#[allow(non_upper_case_globals)]
static dma_buf_ic_sgt: &InterconnectType<Sgt> = &SGT;

/// The physical-range-list interconnect, for C.
#[no_mangle]
#[allow(non_upper_case_globals)]
static dma_buf_ic_phys_list: &InterconnectType<PhysList> = &PHYS_LIST;

/// Returns the interconnect that C code names by `ty`: one of those that
/// this file publishes to C, or else a C-defined one.
///
/// # Safety
///
/// `ty` is a static object with a static name that is never written.
unsafe fn type_from_c(ty: &'static bindings::dma_buf_ic_type) -> TypeRef {
    let published = [TypeRef::from(&SGT), TypeRef::from(&PHYS_LIST)];
    match published.into_iter().find(|t| core::ptr::eq(t.as_c(), ty)) {
        Some(t) => t,
        // SAFETY: Not the C view of a Rust type (those are all published
        // above), and static as the caller guarantees.
        None => unsafe { CType::from_c(ty) },
    }
}

/// Which list a C entry belongs to.
#[derive(Clone, Copy)]
enum Side<'a> {
    /// An exporter's offers, for memory of the given provider device.
    Offer(Option<&'a Device>),
    /// An importer's acceptances, through the generic entry points; whether
    /// it honours invalidation.
    Accept(bool),
    /// The acceptances of an importer that programs an IOMMU itself,
    /// through the `_iommu` entry points; it honours invalidation.
    IommuAccept,
}

/// Decodes the entries of a C offer or accept list and hands each to `add`
/// in order; each interconnect decodes its own entry data.
///
/// # Safety
///
/// `entries` points to `nr` entries, each naming a static interconnect.
/// With [`Side::IommuAccept`], the importer keeps the promise that
/// [`PhysListAccess::new`] asks for.
unsafe fn decode_entries(
    entries: *const bindings::dma_buf_ic_entry,
    nr: c_uint,
    side: Side<'_>,
    mut add: impl FnMut(Entry) -> Result,
) -> Result {
    if entries.is_null() || nr == 0 {
        return Err(EINVAL);
    }
    // SAFETY: Guaranteed by the caller.
    let entries = unsafe { core::slice::from_raw_parts(entries, nr as usize) };
    for e in entries {
        // SAFETY: By the caller's guarantee the type is a static object.
        let ty = unsafe { type_from_c(e.type_.as_ref().ok_or(EINVAL)?) };
        let info = match side {
            Side::IommuAccept if ty.is(&PHYS_LIST) => {
                if e.data != 0 {
                    return Err(EINVAL);
                }
                // SAFETY: The importer keeps the promise, as the caller
                // guarantees for this side. A box of this zero-sized value
                // allocates nothing.
                let access: AnyInfo = KBox::new(unsafe { PhysListAccess::new() }, GFP_KERNEL)?;
                access
            }
            Side::Offer(provider) => ty.hooks().info_from_c(e.data, false, provider)?,
            Side::Accept(_) | Side::IommuAccept => ty.hooks().info_from_c(e.data, true, None)?,
        };
        add(Entry::raw(ty, info))?;
    }
    Ok(())
}

/// Runs `f` on a C importer's accept list, built in place.
///
/// # Safety
///
/// As for [`decode_entries`].
unsafe fn with_accept_list<R>(
    accepts: *const bindings::dma_buf_ic_entry,
    nr_accepts: c_uint,
    side: Side<'_>,
    f: impl FnOnce(&mut AcceptList) -> Result<R>,
) -> Result<R> {
    let honours = match side {
        Side::Accept(honours) => honours,
        Side::IommuAccept => true,
        Side::Offer(_) => return Err(EINVAL),
    };
    let mut list = AcceptList::new();
    list.set_honours_invalidation(honours);
    // SAFETY: Guaranteed by the caller.
    unsafe { decode_entries(accepts, nr_accepts, side, |entry| list.accept_raw(entry)) }?;
    f(&mut list)
}

/// A mapping through a C-defined interconnect; dropping it calls the
/// exporter's `unmap_private`.
///
/// # Invariants
///
/// `cookie` came from `map_private(priv_, ty, attach, ..)` of `ops`, which
/// stay valid, and `attach` attached, while the value exists.
struct CMapping {
    cookie: u64,
    ty: *const bindings::dma_buf_ic_type,
    ops: &'static bindings::dma_buf_ic_exporter_ops,
    priv_: *mut c_void,
    attach: NonNull<bindings::dma_buf_attachment>,
}

// SAFETY: The C exporter's callbacks may run on any thread.
unsafe impl Send for CMapping {}
// SAFETY: Shared references only read the cookie.
unsafe impl Sync for CMapping {}

impl Drop for CMapping {
    fn drop(&mut self) {
        if let Some(unmap) = self.ops.unmap_private {
            // SAFETY: By the type invariant this undoes `map_private`.
            unsafe { unmap(self.priv_, self.ty, self.attach.as_ptr(), self.cookie) };
        }
    }
}

/// An exporter written in C.
///
/// # Invariants
///
/// `ops` and `priv_` are the C exporter's, valid until `ops.release`
/// runs in `drop`; `ranges`, if any, cover the buffer exactly. They are
/// checked once, at export, and every mapping through
/// [`PhysList`] shares them: a map copies and allocates nothing, and the
/// reference count keeps them alive as long as a mapping does.
struct CExporter {
    ops: &'static bindings::dma_buf_ic_exporter_ops,
    priv_: *mut c_void,
    ranges: Option<Arc<PhysRanges>>,
}

// SAFETY: The C exporter's callbacks may run on any thread.
unsafe impl Send for CExporter {}
// SAFETY: As for `Send`; the Rust fields are immutable.
unsafe impl Sync for CExporter {}

impl Drop for CExporter {
    fn drop(&mut self) {
        if let Some(release) = self.ops.release {
            // SAFETY: By the type invariant `priv_` is the exporter's, and
            // nothing uses it after this.
            unsafe { release(self.priv_) };
        }
    }
}

impl Exporter for CExporter {
    fn map(&self, req: &MapRequest<'_>) -> Result<Mapped> {
        let ty = req.interconnect();
        let attach = req.raw_attachment();
        let dir = req.direction();
        if ty.is(&PHYS_LIST) {
            let ranges = self.ranges.as_ref().ok_or(EINVAL)?;
            Mapped::new(req, &PHYS_LIST, PhysRanges::share(ranges))
        } else if ty.is(&SGT) {
            let (Some(map), Some(unmap)) = (self.ops.map_sgt, self.ops.unmap_sgt) else {
                return Err(EOPNOTSUPP);
            };
            // SAFETY: The C exporter's callback, with its data and a live
            // attachment, under the reservation lock as documented.
            let table = from_err_ptr(unsafe { map(self.priv_, attach.as_ptr(), dir) })?;
            let table = NonNull::new(table).ok_or(ENOMEM)?;
            // SAFETY: `unmap` undoes `map`, with the same data, attachment
            // and direction; the mapping ends before the attachment does.
            let sgt = unsafe { SgtMapping::from_callback(table, attach, dir, unmap, self.priv_) };
            Mapped::new(req, &SGT, sgt)
        } else {
            let map = self.ops.map_private.ok_or(EOPNOTSUPP)?;
            let mut cookie = 0u64;
            // SAFETY: The C exporter's callback, with its data, a C type
            // (only C types reach here besides the published ones) and a
            // live attachment, under the reservation lock as documented.
            crate::error::to_result(unsafe {
                map(self.priv_, ty.as_c(), attach.as_ptr(), &mut cookie)
            })?;
            // INVARIANT: `cookie` came from `map_private`; the mapping ends
            // before the attachment does.
            let mapping = CMapping {
                cookie,
                ty: ty.as_c(),
                ops: self.ops,
                priv_: self.priv_,
                attach,
            };
            Mapped::new_raw(req, KBox::new(mapping, GFP_KERNEL)?)
        }
    }
}

/// Exports a buffer for a C exporter; see `dma_buf_ic_export()`.
///
/// Returns the exporter's handle and stores one reference to the new
/// buffer in `*dmabuf`; an `ERR_PTR` on failure, after releasing `priv`.
///
/// # Safety
///
/// `info` and `dmabuf` are valid; `info` describes its lists as the C
/// header says, with a static name, and `ops` outlives the export.
#[export]
unsafe extern "C" fn dma_buf_ic_export(
    info: *const bindings::dma_buf_ic_export_info,
    dmabuf: *mut *mut bindings::dma_buf,
) -> *mut bindings::dma_buf_ic_export {
    // SAFETY: Guaranteed by the caller.
    let info = unsafe { &*info };
    // SAFETY: The caller keeps the ops valid while the export lives.
    let Some(ops) = (unsafe { info.ops.as_ref() }) else {
        return EINVAL.to_ptr();
    };
    // From here on, dropping `exporter` releases `priv`.
    // INVARIANT: The C exporter's ops and data; the ranges follow below.
    let mut exporter = CExporter {
        ops,
        priv_: info.priv_,
        ranges: None,
    };
    let result = (|| -> Result<(Arc<Export<CExporter>>, ARef<DmaBuf>)> {
        if info.name.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: The caller passes a static, NUL-terminated name.
        let name: &'static CStr = unsafe { CStr::from_char_ptr(info.name) };
        // SAFETY: The caller passes NULL or a live device; the offers that
        // keep it take a reference to it.
        let provider =
            (!info.provider.is_null()).then(|| unsafe { Device::from_raw(info.provider) });
        let mut offers = OfferList::new();
        // SAFETY: The caller passes `nr_offers` entries.
        unsafe {
            decode_entries(
                info.offers,
                info.nr_offers,
                Side::Offer(provider),
                |entry| offers.offer_raw(entry),
            )
        }?;
        offers.set_revocable(info.revocable);
        if offers.types().any(|t| t.is(&PHYS_LIST)) {
            if info.ranges.is_null() || info.nr_ranges == 0 {
                return Err(EINVAL);
            }
            // SAFETY: The caller passes `nr_ranges` `struct phys_vec`s, laid
            // out as `PhysRange`.
            let ranges = unsafe {
                core::slice::from_raw_parts(
                    info.ranges.cast::<PhysRange>(),
                    info.nr_ranges as usize,
                )
            };
            let ranges = PhysRanges::new(ranges)?;
            if ranges.total_len() != info.size as u64 {
                return Err(EINVAL);
            }
            exporter.ranges = Some(Arc::new(ranges, GFP_KERNEL)?);
        }
        export_raw(exporter, offers, info.size, name, info.owner, info.flags)
    })();
    match result {
        Ok((state, buf)) => {
            // The caller owns this reference now.
            // SAFETY: `dmabuf` is valid for writes.
            unsafe { *dmabuf = ManuallyDrop::new(buf).as_raw() };
            Arc::into_raw(state).cast_mut().cast()
        }
        Err(e) => e.to_ptr(),
    }
}

/// Borrows the export state behind a C handle.
///
/// # Safety
///
/// `handle` comes from [`dma_buf_ic_export`] and was not put.
unsafe fn export_state<'a>(handle: *mut bindings::dma_buf_ic_export) -> &'a Export<CExporter> {
    // SAFETY: Guaranteed by the caller: the handle is an `Arc` reference.
    unsafe { &*handle.cast::<Export<CExporter>>() }
}

/// Revokes access, synchronously; see `ExportCore::revoke`.
///
/// # Safety
///
/// `handle` comes from [`dma_buf_ic_export`] and was not put.
#[export]
unsafe extern "C" fn dma_buf_ic_export_revoke(handle: *mut bindings::dma_buf_ic_export) {
    // SAFETY: Guaranteed by the caller.
    unsafe { export_state(handle) }.revoke();
}

/// Allows mapping again; `-ENODEV` after a permanent revoke.
///
/// # Safety
///
/// `handle` comes from [`dma_buf_ic_export`] and was not put.
#[export]
unsafe extern "C" fn dma_buf_ic_export_unrevoke(handle: *mut bindings::dma_buf_ic_export) -> c_int {
    // SAFETY: Guaranteed by the caller.
    from_result(|| unsafe { export_state(handle) }.unrevoke().map(|()| 0))
}

/// Revokes access for good.
///
/// # Safety
///
/// `handle` comes from [`dma_buf_ic_export`] and was not put.
#[export]
unsafe extern "C" fn dma_buf_ic_export_revoke_permanently(
    handle: *mut bindings::dma_buf_ic_export,
) {
    // SAFETY: Guaranteed by the caller.
    unsafe { export_state(handle) }.revoke_permanently();
}

/// Drops the exporter's handle; the state lives on while the buffer does.
///
/// # Safety
///
/// `handle` comes from [`dma_buf_ic_export`] and is not used again.
#[export]
unsafe extern "C" fn dma_buf_ic_export_put(handle: *mut bindings::dma_buf_ic_export) {
    // SAFETY: Guaranteed by the caller: this gives up its `Arc` reference.
    drop(unsafe { Arc::<Export<CExporter>>::from_raw(handle.cast_const().cast()) });
}

/// Returns whether the buffer still exists.
///
/// # Safety
///
/// `handle` comes from [`dma_buf_ic_export`] and was not put.
#[export]
unsafe extern "C" fn dma_buf_ic_export_has_buffer(
    handle: *mut bindings::dma_buf_ic_export,
) -> bool {
    // SAFETY: Guaranteed by the caller.
    unsafe { export_state(handle) }.has_buffer()
}

/// An importer written in C.
///
/// # Invariants
///
/// `ops` and `priv_` are the C importer's, valid while it is attached.
struct CImporter {
    ops: &'static bindings::dma_buf_ic_importer_ops,
    priv_: *mut c_void,
}

// SAFETY: The C importer's callback may run on any thread.
unsafe impl Send for CImporter {}
// SAFETY: As for `Send`.
unsafe impl Sync for CImporter {}

impl Importer for CImporter {
    fn invalidate(&self, _resv: &ResvLocked<'_>) {
        if let Some(invalidate) = self.ops.invalidate {
            // SAFETY: By the type invariant the importer's callback and data.
            unsafe { invalidate(self.priv_) };
        }
    }

    fn invalidate_done(&self, _resv: &ResvLocked<'_>) {
        if let Some(done) = self.ops.invalidate_done {
            // SAFETY: By the type invariant the importer's callback and data.
            unsafe { done(self.priv_) };
        }
    }
}

// A C importer's `struct dma_buf_ic_attachment` is the room for the
// framework's state of its attachment.
static_assert!(
    core::mem::size_of::<Slot<CImporter>>()
        <= core::mem::size_of::<bindings::dma_buf_ic_attachment>()
);
static_assert!(
    core::mem::align_of::<Slot<CImporter>>()
        <= core::mem::align_of::<bindings::dma_buf_ic_attachment>()
);

/// The slot in a C importer's attachment; by the static assertions above,
/// the C structure has the room and the alignment of one.
///
/// # Safety
///
/// `attach` is not NULL.
unsafe fn slot(attach: *const bindings::dma_buf_ic_attachment) -> NonNull<Slot<CImporter>> {
    // SAFETY: Guaranteed by the caller.
    unsafe { NonNull::new_unchecked(attach.cast_mut().cast()) }
}

/// Attaches a C importer whose acceptances are decoded for `side`, into
/// its `attach`.
///
/// # Safety
///
/// As for [`dma_buf_ic_attach`]; with [`Side::IommuAccept`], as for
/// [`dma_buf_ic_attach_iommu`].
// The arguments of the C entry points, and which side decodes the list.
#[expect(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn attach_c(
    attach: *mut bindings::dma_buf_ic_attachment,
    dmabuf: *mut bindings::dma_buf,
    dev: *mut bindings::device,
    accepts: *const bindings::dma_buf_ic_entry,
    nr_accepts: c_uint,
    side: Side<'_>,
    ops: *const bindings::dma_buf_ic_importer_ops,
    priv_: *mut c_void,
) -> Result {
    // SAFETY: Guaranteed by the caller.
    let ops = unsafe { ops.as_ref() }.ok_or(EINVAL)?;
    if attach.is_null() || dmabuf.is_null() || dev.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: Both are live, and the caller's reference keeps the buffer
    // alive during this call.
    let (buf, dev) = unsafe { (DmaBuf::from_raw(dmabuf), Device::from_raw(dev)) };
    // SAFETY: Guaranteed by the caller, including that `attach`, checked not
    // to be NULL above, is writable, attached to nothing, and stays in place
    // while attached, and that the buffer and the device stay alive
    // meanwhile.
    unsafe {
        with_accept_list(accepts, nr_accepts, side, |list| {
            // INVARIANT: The caller keeps `ops` and `priv_` valid while
            // attached.
            attach_in(slot(attach), buf, dev, list, CImporter { ops, priv_ })
        })
    }
}

/// Returns 0 for `Ok`, the negative errno for `Err`: what the C entry
/// points that return nothing else return.
#[inline(always)]
fn errno(result: Result) -> c_int {
    match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Attaches a C importer; see `dma_buf_ic_attach()`.
///
/// # Safety
///
/// `attach` is valid for writes, attached to nothing, and neither moves nor
/// goes away until [`dma_buf_ic_detach`]; `dmabuf` and `dev` are live, and
/// until the attachment is detached (if this succeeds) the caller holds a
/// reference to `dmabuf` and keeps `dev` alive; `accepts` points to
/// `nr_accepts` entries naming static interconnects, and `ops` and `priv_`
/// stay valid until the attachment is detached.
#[export]
unsafe extern "C" fn dma_buf_ic_attach(
    attach: *mut bindings::dma_buf_ic_attachment,
    dmabuf: *mut bindings::dma_buf,
    dev: *mut bindings::device,
    accepts: *const bindings::dma_buf_ic_entry,
    nr_accepts: c_uint,
    honours_invalidation: bool,
    ops: *const bindings::dma_buf_ic_importer_ops,
    priv_: *mut c_void,
) -> c_int {
    // SAFETY: Guaranteed by the caller.
    errno(unsafe {
        attach_c(
            attach,
            dmabuf,
            dev,
            accepts,
            nr_accepts,
            Side::Accept(honours_invalidation),
            ops,
            priv_,
        )
    })
}

/// Attaches a C importer that programs IOMMU page tables itself; see
/// `dma_buf_ic_attach_iommu()`.
///
/// # Safety
///
/// As for [`dma_buf_ic_attach`]; in addition, the importer keeps the
/// promise of [`PhysListAccess::new`], which is the documented contract of
/// this entry point: it hands the physical ranges to no CPU mapping and no
/// device, only to IOMMU page tables of its own, and has removed them from
/// those, with the IOTLB flushed, before its invalidate callback returns
/// (its `invalidate_done` callback, if it has one).
#[export]
unsafe extern "C" fn dma_buf_ic_attach_iommu(
    attach: *mut bindings::dma_buf_ic_attachment,
    dmabuf: *mut bindings::dma_buf,
    dev: *mut bindings::device,
    accepts: *const bindings::dma_buf_ic_entry,
    nr_accepts: c_uint,
    ops: *const bindings::dma_buf_ic_importer_ops,
    priv_: *mut c_void,
) -> c_int {
    // SAFETY: Guaranteed by the caller, including the promise that
    // `Side::IommuAccept` asks for.
    errno(unsafe {
        attach_c(
            attach,
            dmabuf,
            dev,
            accepts,
            nr_accepts,
            Side::IommuAccept,
            ops,
            priv_,
        )
    })
}

/// Borrows the attachment in a C importer's `attach`: the returned value is
/// never dropped, `attach` keeps the attachment.
///
/// # Safety
///
/// `attach` was attached by [`dma_buf_ic_attach`] or
/// [`dma_buf_ic_attach_iommu`] and is not detached while the returned value
/// lives.
unsafe fn attachment(
    attach: *const bindings::dma_buf_ic_attachment,
) -> ManuallyDrop<Attachment<CImporter>> {
    // SAFETY: By the caller's guarantee `attach` is not NULL and its slot
    // holds what `attach_in` left there for an `Attachment<CImporter>`, not
    // taken back; `ManuallyDrop` keeps it from being taken back here, as
    // `from_slot` allows for borrowing.
    ManuallyDrop::new(unsafe { Attachment::from_slot(slot(attach)) })
}

/// Tells what an attach with `side` would negotiate, without attaching.
///
/// # Safety
///
/// As for [`dma_buf_ic_negotiate`]; with [`Side::IommuAccept`], as for
/// [`dma_buf_ic_negotiate_iommu`].
unsafe fn negotiate_c(
    dmabuf: *mut bindings::dma_buf,
    dev: *mut bindings::device,
    accepts: *const bindings::dma_buf_ic_entry,
    nr_accepts: c_uint,
    side: Side<'_>,
) -> *const bindings::dma_buf_ic_type {
    let result = (|| -> Result<TypeRef> {
        if dmabuf.is_null() || dev.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: The caller's reference keeps the buffer alive, and the
        // device is live.
        let (buf, dev) = unsafe { (DmaBuf::from_raw(dmabuf), Device::from_raw(dev)) };
        // SAFETY: Guaranteed by the caller.
        unsafe {
            with_accept_list(accepts, nr_accepts, side, |list| {
                negotiate_for(buf, list, dev)
            })
        }
    })();
    match result {
        Ok(ty) => ty.as_c(),
        Err(e) => e.to_ptr(),
    }
}

/// Tells what [`dma_buf_ic_attach`] would negotiate, without attaching.
///
/// # Safety
///
/// `dmabuf` and `dev` are live, the caller holds a reference to `dmabuf`,
/// and `accepts` points to `nr_accepts` entries naming static
/// interconnects.
#[export]
unsafe extern "C" fn dma_buf_ic_negotiate(
    dmabuf: *mut bindings::dma_buf,
    dev: *mut bindings::device,
    accepts: *const bindings::dma_buf_ic_entry,
    nr_accepts: c_uint,
    honours_invalidation: bool,
) -> *const bindings::dma_buf_ic_type {
    // SAFETY: Guaranteed by the caller.
    unsafe {
        negotiate_c(
            dmabuf,
            dev,
            accepts,
            nr_accepts,
            Side::Accept(honours_invalidation),
        )
    }
}

/// Tells what [`dma_buf_ic_attach_iommu`] would negotiate.
///
/// # Safety
///
/// As for [`dma_buf_ic_negotiate`], and the importer keeps the promise of
/// [`dma_buf_ic_attach_iommu`] for anything it attaches to.
#[export]
unsafe extern "C" fn dma_buf_ic_negotiate_iommu(
    dmabuf: *mut bindings::dma_buf,
    dev: *mut bindings::device,
    accepts: *const bindings::dma_buf_ic_entry,
    nr_accepts: c_uint,
) -> *const bindings::dma_buf_ic_type {
    // SAFETY: Guaranteed by the caller, the promise included.
    unsafe { negotiate_c(dmabuf, dev, accepts, nr_accepts, Side::IommuAccept) }
}

/// Runs `DMA_BUF_IOCTL_IC_INFO`; called by the dma-buf core's ioctl.
///
/// # Safety
///
/// `dmabuf` is live for the call (its file is), and `arg` is the ioctl's
/// user pointer.
#[export]
unsafe extern "C" fn dma_buf_ic_info_ioctl(
    dmabuf: *mut bindings::dma_buf,
    arg: *mut c_void,
) -> c_long {
    // SAFETY: Guaranteed by the caller.
    let buf = unsafe { DmaBuf::from_raw(dmabuf) };
    match info_ioctl(buf, UserPtr::from_ptr(arg)) {
        Ok(()) => 0,
        // Widening: errnos are small negative numbers.
        Err(e) => e.to_errno() as c_long,
    }
}

/// `DMA_BUF_IOCTL_IC_NOTIFY` on `dmabuf`; see `include/uapi/linux/dma-buf.h`.
///
/// # Safety
///
/// `dmabuf` is live for the call (its file is), and `arg` is the ioctl's
/// user pointer.
#[export]
unsafe extern "C" fn dma_buf_ic_notify_ioctl(
    dmabuf: *mut bindings::dma_buf,
    arg: *mut c_void,
) -> c_long {
    // SAFETY: Guaranteed by the caller.
    let buf = unsafe { DmaBuf::from_raw(dmabuf) };
    match notify_ioctl(buf, UserPtr::from_ptr(arg)) {
        Ok(()) => 0,
        // Widening: errnos are small negative numbers.
        Err(e) => e.to_errno() as c_long,
    }
}

/// Detaches, ending the mapping if any; takes the reservation lock.
///
/// # Safety
///
/// `attach` was attached by [`dma_buf_ic_attach`] or
/// [`dma_buf_ic_attach_iommu`] and not detached since; it holds nothing
/// afterwards.
#[export]
unsafe extern "C" fn dma_buf_ic_detach(attach: *mut bindings::dma_buf_ic_attachment) {
    // SAFETY: `attach` is not NULL and its slot holds what `attach_in` left
    // there for an `Attachment<CImporter>`, not taken back, and the caller
    // gives it up.
    drop(unsafe { Attachment::<CImporter>::from_slot(slot(attach)) });
}

/// Returns the negotiated interconnect.
///
/// # Safety
///
/// `attach` was attached by [`dma_buf_ic_attach`] or
/// [`dma_buf_ic_attach_iommu`] and not detached since.
#[export]
unsafe extern "C" fn dma_buf_ic_negotiated(
    attach: *const bindings::dma_buf_ic_attachment,
) -> *const bindings::dma_buf_ic_type {
    // SAFETY: Guaranteed by the caller.
    unsafe { attachment(attach) }.negotiated().as_c()
}

/// Returns the proof that the caller holds the reservation lock.
///
/// # Safety
///
/// The caller holds the reservation lock of the attachment's buffer.
unsafe fn assume_locked<'a>(a: &'a Attachment<CImporter>) -> ResvLocked<'a> {
    // SAFETY: The buffer is alive; lockdep checks the caller's claim.
    unsafe { bindings::dma_resv_assert_held((*a.buf().as_raw()).resv) };
    // SAFETY: Guaranteed by the caller.
    unsafe { ResvLocked::assume_held(a.buf()) }
}

/// Maps through the physical range list; see the C header.
///
/// # Safety
///
/// `attach` was attached by [`dma_buf_ic_attach`] or
/// [`dma_buf_ic_attach_iommu`] and not detached since, the caller holds
/// the buffer's reservation lock, and the out pointers are valid for writes.
#[export]
unsafe extern "C" fn dma_buf_ic_map_phys(
    attach: *mut bindings::dma_buf_ic_attachment,
    ranges: *mut *const bindings::phys_vec,
    nr_ranges: *mut c_uint,
) -> c_int {
    // SAFETY: Guaranteed by the caller.
    let a = unsafe { attachment(attach) };
    // SAFETY: Guaranteed by the caller.
    let mut resv = unsafe { assume_locked(&a) };
    errno(a.map(&mut resv, &PHYS_LIST).map(|mapped| {
        let list = mapped.ranges();
        // The ranges stay in the attachment until the mapping ends, which
        // only happens under the lock the caller holds, or later.
        // SAFETY: Both are valid for writes.
        unsafe {
            *ranges = list.as_ptr().cast();
            *nr_ranges = list.len() as c_uint;
        }
    }))
}

/// Maps through the scatter-gather table; see the C header.
///
/// # Safety
///
/// `attach` was attached by [`dma_buf_ic_attach`] or
/// [`dma_buf_ic_attach_iommu`] and not detached since, and the caller holds
/// the buffer's reservation lock.
#[export]
unsafe extern "C" fn dma_buf_ic_map_sgt(
    attach: *mut bindings::dma_buf_ic_attachment,
) -> *mut bindings::sg_table {
    // SAFETY: Guaranteed by the caller.
    let a = unsafe { attachment(attach) };
    // SAFETY: Guaranteed by the caller.
    let mut resv = unsafe { assume_locked(&a) };
    match a.map(&mut resv, &SGT) {
        Ok(sgt) => sgt.as_raw(),
        Err(e) => e.to_ptr(),
    }
}

/// Maps through the negotiated C-defined interconnect; see the C header.
///
/// # Safety
///
/// `attach` was attached by [`dma_buf_ic_attach`] or
/// [`dma_buf_ic_attach_iommu`] and not detached since, the caller holds
/// the buffer's reservation lock, and `cookie` is valid for writes.
#[export]
unsafe extern "C" fn dma_buf_ic_map_private(
    attach: *mut bindings::dma_buf_ic_attachment,
    cookie: *mut u64,
) -> c_int {
    // SAFETY: Guaranteed by the caller.
    let a = unsafe { attachment(attach) };
    // SAFETY: Guaranteed by the caller.
    let mut resv = unsafe { assume_locked(&a) };
    from_result(|| {
        // Only C-defined interconnects map to a cookie; refuse the others
        // before anything is mapped.
        let ty = a.negotiated();
        if ty.is(&SGT) || ty.is(&PHYS_LIST) {
            return Err(EINVAL);
        }
        let mapped = a.map_any(&mut resv)?;
        let mapping = mapped.get_raw::<CMapping>().ok_or(EINVAL)?;
        // SAFETY: Valid for writes.
        unsafe { *cookie = mapping.cookie };
        Ok(0)
    })
}

/// Ends the mapping; `-ENOENT` if nothing is mapped.
///
/// # Safety
///
/// `attach` was attached by [`dma_buf_ic_attach`] or
/// [`dma_buf_ic_attach_iommu`] and not detached since, and the caller holds
/// the buffer's reservation lock.
#[export]
unsafe extern "C" fn dma_buf_ic_unmap(attach: *mut bindings::dma_buf_ic_attachment) -> c_int {
    // SAFETY: Guaranteed by the caller.
    let a = unsafe { attachment(attach) };
    // SAFETY: Guaranteed by the caller.
    let mut resv = unsafe { assume_locked(&a) };
    from_result(|| a.unmap(&mut resv).map(|()| 0))
}
