// SPDX-License-Identifier: GPL-2.0

//! Importing dma-bufs through a negotiated interconnect.
//!
//! [`attach`] negotiates, before anything is attached, which interconnect
//! the importer will use: with the exporter's [`OfferList`] for buffers made
//! by [`super::exporter::export`], and with an implied offer of the classic
//! scatter-gather table ([`SGT`]) for buffers of other exporters. Then it
//! attaches dynamically, so that the exporter can invalidate the attachment:
//! [`Importer::invalidate`] runs with the buffer's reservation lock held and
//! must stop every access before it returns.

use super::{
    exporter::{ExportCore, MapRequest, Mapped, MappedValue},
    interconnect::{
        negotiate, AcceptList, AnyInfo, Interconnect, InterconnectType, OfferList, SgtAccept,
        SgtOffer, TypeRef, SGT,
    },
    mapping::SgtMapping,
    DmaBuf, ResvLocked,
};
use crate::{
    bindings, device::Device, error::from_err_ptr, prelude::*, str::CStr, sync::aref::ARef,
};
use core::{
    cell::UnsafeCell,
    mem::{ManuallyDrop, MaybeUninit},
    ptr::NonNull,
    sync::atomic::{AtomicBool, Ordering},
};

/// The driver side of an importer.
pub trait Importer: Send + Sync + 'static {
    /// Stops every access to the buffer through this attachment.
    ///
    /// Called when the exporter revokes access or moves the buffer, with the
    /// buffer's reservation lock held. When it returns, no CPU and no device
    /// may reach the buffer's memory through this importer any more: the
    /// core then drops the attachment's mapping. It may take the importer's
    /// own locks, which come after the reservation lock. It must not map
    /// again (the importer's user decides when to), and it must not drop the
    /// [`Attachment`]: detaching takes the reservation lock.
    ///
    /// An importer that implements [`Importer::invalidate_done`] may leave
    /// the last step of stopping (waiting for an IOTLB flush, say) to it.
    fn invalidate(&self, resv: &ResvLocked<'_>);

    /// Finishes what [`Importer::invalidate`] started, once the exporter has
    /// invalidated every attachment of the buffer. Optional.
    ///
    /// When the exporter revokes access, the core first calls
    /// [`Importer::invalidate`] for every attachment of the buffer, then
    /// this once for every importer whose attachment held a mapping at its
    /// invalidation (never for one that held none), still with the
    /// reservation lock held and before the exporter's revoke returns. An
    /// importer with several attachments to one buffer (one per mapped
    /// area, say) can so do once, here, the work that each invalidation
    /// would otherwise repeat: one IOTLB flush per IOMMU domain for all of
    /// them. Only when this returns must the importer have stopped every
    /// access through this attachment. The rules of
    /// [`Importer::invalidate`] hold: no mapping again, no detaching.
    ///
    /// For buffers of other exporters, which end their invalidation
    /// without telling the framework, this runs right after the
    /// attachment's own invalidation.
    fn invalidate_done(&self, _resv: &ResvLocked<'_>) {}
}

/// The `dma_buf_attach_ops` of the attachments made by [`attach`] for
/// importers that cannot reach PCI MMIO through a scatter-gather table.
static IMPORT_OPS: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
    allow_peer2peer: false,
    invalidate_mappings: Some(import_invalidate),
};

/// The same for importers that can ([`SgtAccept::allow_peer_to_peer`]):
/// exporters outside the framework learn it from `allow_peer2peer`.
static IMPORT_OPS_P2P: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
    allow_peer2peer: true,
    invalidate_mappings: Some(import_invalidate),
};

/// Returns true if `ops` are those of an attachment made by [`attach`].
pub(crate) fn is_framework_importer(ops: *const bindings::dma_buf_attach_ops) -> bool {
    core::ptr::eq(ops, &IMPORT_OPS) || core::ptr::eq(ops, &IMPORT_OPS_P2P)
}

/// The part of an attachment that does not depend on the importer.
///
/// # Invariants
///
/// `invalidate` and `invalidate_done` are `invalidate_adapter::<T>` and
/// `invalidate_done_adapter::<T>` for the `T` of the [`AttachInner`] that
/// starts with this core. `done_pending` is only changed with the
/// reservation lock of the attached buffer held; it is set while the
/// importer's [`Importer::invalidate_done`] is owed. `mapping` is only accessed
/// with the reservation lock of the attached buffer held, and no reference
/// to it lives across a call into the exporter or the importer (which may
/// reach the same attachment again); when it holds a mapping of a buffer
/// made by [`super::exporter::export`], that mapping is counted in the
/// buffer's [`ExportCore::mapping_count`]. `dev` is the importer's device,
/// alive as long as the core: the [`InnerHome`] of the attachment keeps it.
struct AttachCore {
    negotiated: TypeRef,
    /// What the importer stated for the negotiated interconnect; the rest
    /// of its accept list is not kept.
    accepted: AnyInfo,
    dev: NonNull<Device>,
    mapping: UnsafeCell<Option<Mapped>>,
    invalidate: unsafe fn(*const AttachCore, &ResvLocked<'_>),
    invalidate_done: unsafe fn(*const AttachCore, &ResvLocked<'_>),
    done_pending: AtomicBool,
}

impl AttachCore {
    /// Returns the importer's device.
    #[inline]
    fn dev(&self) -> &Device {
        // SAFETY: By the type invariant the device lives as long as `self`.
        unsafe { self.dev.as_ref() }
    }

    /// Returns true if the attachment holds a mapping.
    ///
    /// # Safety
    ///
    /// `resv` holds the lock of the attached buffer, as the mapping cell's
    /// invariant asks.
    unsafe fn is_mapped_locked(&self, _resv: &ResvLocked<'_>) -> bool {
        // SAFETY: The lock is held; changes to the cell need a mutable
        // borrow of a lock proof, which the shared borrow of `_resv` rules
        // out meanwhile.
        unsafe { &*self.mapping.get() }.is_some()
    }

    /// Ends the current mapping, if any; returns whether there was one.
    ///
    /// # Safety
    ///
    /// `resv` holds the lock of the attached buffer, and no reference into
    /// the mapping is alive.
    #[inline]
    unsafe fn unmap_locked(&self, resv: &ResvLocked<'_>) -> bool {
        // SAFETY: The lock is held and, as the caller guarantees, nothing
        // borrows the mapping; the mutable borrow ends with the statement,
        // before the exporter's code runs in `drop` below.
        let Some(mapped) = (unsafe { &mut *self.mapping.get() }).take() else {
            return false;
        };
        // Undoes the exporter's mapping (for example a DMA mapping).
        drop(mapped);
        if let Some(export) = ExportCore::of(resv.buf()) {
            export.unmapped_locked(self.dev());
        }
        true
    }
}

#[repr(C)]
struct AttachInner<T: Importer> {
    // First, so that a pointer to the core is a pointer to the whole.
    core: AttachCore,
    importer: T,
}

/// Calls the importer's invalidation.
///
/// # Safety
///
/// `core` points to the core of a live `AttachInner<T>`.
unsafe fn invalidate_adapter<T: Importer>(core: *const AttachCore, resv: &ResvLocked<'_>) {
    // SAFETY: Guaranteed by the caller; `AttachInner<T>` is `#[repr(C)]`
    // with the core first.
    let inner = unsafe { &*core.cast::<AttachInner<T>>() };
    inner.importer.invalidate(resv);
}

/// Calls the importer's [`Importer::invalidate_done`].
///
/// # Safety
///
/// As for [`invalidate_adapter`].
unsafe fn invalidate_done_adapter<T: Importer>(core: *const AttachCore, resv: &ResvLocked<'_>) {
    // SAFETY: As in `invalidate_adapter`.
    let inner = unsafe { &*core.cast::<AttachInner<T>>() };
    inner.importer.invalidate_done(resv);
}

/// Calls [`Importer::invalidate_done`] for every attachment of the buffer
/// whose invalidation left it owed; the caller holds the reservation lock
/// and has just invalidated every attachment of the buffer.
pub(crate) fn finish_invalidation(resv: &ResvLocked<'_>) {
    // SAFETY: The buffer is alive and its attachment list is protected by
    // the reservation lock, which `resv` proves held: no attachment is
    // added or removed meanwhile (detaching takes the lock), so every entry
    // and the inner its `importer_priv` points to stay alive.
    unsafe {
        let head = core::ptr::addr_of_mut!((*resv.buf().as_raw()).attachments);
        let mut pos = (*head).next;
        while pos != head {
            let raw = crate::container_of!(pos, bindings::dma_buf_attachment, node);
            if is_framework_importer((*raw).importer_ops) {
                // Attachments with these ops were made by `attach`, with
                // `importer_priv` pointing to the core of a live inner.
                let core = &*(*raw).importer_priv.cast::<AttachCore>();
                // INVARIANT: Changed under the reservation lock.
                if core.done_pending.swap(false, Ordering::Relaxed) {
                    // By the type invariant of `AttachCore`, the adapter
                    // matches the importer's type.
                    (core.invalidate_done)(core, resv);
                }
            }
            pos = (*pos).next;
        }
    }
}

/// Called by the dma-buf core, with the reservation lock held, when the
/// exporter invalidates its attachments.
///
/// # Safety
///
/// `attach` is a live attachment made by [`attach`].
unsafe extern "C" fn import_invalidate(attach: *mut bindings::dma_buf_attachment) {
    // SAFETY: `attach` is live; `attach` (the function) set `importer_priv`
    // to the core of an `AttachInner` that outlives the attachment.
    let attach_core = unsafe { &*(*attach).importer_priv.cast::<AttachCore>() };
    // SAFETY: The attachment holds its buffer alive.
    let buf = unsafe { DmaBuf::from_raw((*attach).dmabuf) };
    // SAFETY: The dma-buf core calls `invalidate_mappings` with the
    // reservation lock held (`dma_buf_invalidate_mappings` asserts it).
    let resv = unsafe { ResvLocked::assume_held(buf) };
    // SAFETY: The lock is held.
    let was_mapped = unsafe { attach_core.is_mapped_locked(&resv) };
    // SAFETY: By the type invariant of `AttachCore`, `invalidate` matches
    // the attachment's importer type.
    unsafe { (attach_core.invalidate)(attach_core, &resv) };
    // The importer no longer uses the mapping: end it now, so that the
    // exporter's revoke returns with every mapping gone.
    // SAFETY: The lock is held; references into the mapping only live as
    // long as a borrow of a lock proof, and the importer holds none here.
    unsafe { attach_core.unmap_locked(&resv) };
    if !was_mapped {
        // Nothing was mapped: nothing to finish.
        return;
    }
    if ExportCore::of(buf).is_some_and(ExportCore::is_invalidating) {
        // The exporter's revoke calls `finish_invalidation` once it has
        // invalidated every attachment.
        // INVARIANT: Changed under the reservation lock.
        attach_core.done_pending.store(true, Ordering::Relaxed);
    } else {
        // Another exporter: its invalidation may go on with other
        // attachments, but nothing tells the framework when it ends.
        // SAFETY: As for `invalidate` above.
        unsafe { (attach_core.invalidate_done)(attach_core, &resv) };
    }
}

/// An importer's attachment to a dma-buf; detaches on drop.
///
/// The attachment holds at most one mapping at a time, made by
/// [`Attachment::map`] through the negotiated interconnect. The importer
/// sees it only through references that borrow the reservation lock proof,
/// so no reference to it survives the lock; the mapping itself ends at
/// [`Attachment::unmap`], when the importer is invalidated, or at the latest
/// when the attachment is dropped. Dropping takes the reservation lock:
/// do not drop an attachment while holding a lock that the importer's
/// invalidation takes.
///
/// # Invariants
///
/// `inner` points to an initialised `AttachInner<T>` that does not move
/// while the attachment exists: a box that the attachment owns, made by
/// `KBox::into_raw`, if `home` is `InnerHome::Boxed`, or memory that a C
/// importer lent for as long as it is attached (a `Slot`) if `home` is
/// `InnerHome::Slot`. `raw` is an attachment of `buf` made by
/// `dma_buf_dynamic_attach` with `IMPORT_OPS` or `IMPORT_OPS_P2P` and
/// `importer_priv` pointing to `inner`, whose first field is the core; it
/// stays attached until `drop`. `buf`, and the device in the core, stay
/// alive until `drop` has detached: `home` keeps them.
pub struct Attachment<T: Importer> {
    inner: NonNull<AttachInner<T>>,
    home: InnerHome,
    raw: NonNull<bindings::dma_buf_attachment>,
    buf: NonNull<DmaBuf>,
}

/// Where the inner of an [`Attachment`] lives, and so who frees it; and
/// what keeps the buffer and the importer's device alive while attached.
enum InnerHome {
    /// A box of the attachment's own, freed when it is dropped; the
    /// attachment holds a reference to the buffer and one to the device.
    Boxed {
        _buf: ARef<DmaBuf>,
        _dev: ARef<Device>,
    },
    /// A [`Slot`] of a C importer's, only dropped in place. The importer
    /// holds a reference to the buffer and keeps its device alive until it
    /// detaches, as `dma_buf_attach()` asks of importers too.
    Slot,
}

impl InnerHome {
    /// Drops `inner`, and frees it if it has a box of its own; then drops
    /// the references to the buffer and the device, if `self` holds them.
    ///
    /// # Safety
    ///
    /// `inner` is initialised and lives in `self`: a box made by
    /// `KBox::into_raw` for [`InnerHome::Boxed`]. Nothing uses it, the
    /// buffer or the device after this call unless it holds a reference
    /// of its own.
    #[inline]
    unsafe fn drop_inner<T: Importer>(self, inner: NonNull<AttachInner<T>>) {
        match self {
            // SAFETY: A box of its own, as the caller guarantees. The
            // references go after it, with `self`, when this returns.
            InnerHome::Boxed { .. } => drop(unsafe { KBox::from_raw(inner.as_ptr()) }),
            // SAFETY: Initialised and no longer used, as the caller
            // guarantees; the memory is the slot owner's.
            InnerHome::Slot => unsafe { core::ptr::drop_in_place(inner.as_ptr()) },
        }
    }
}

/// Room for an attachment inside an importer's own object, for the C
/// interface: its `struct dma_buf_ic_attachment` holds one.
///
/// Between [`attach_in`] and the drop of the [`Attachment`] that
/// [`Attachment::from_slot`] takes back, both fields are initialised and
/// the slot must not move; otherwise it holds nothing.
#[repr(C)]
pub(crate) struct Slot<T: Importer> {
    inner: MaybeUninit<AttachInner<T>>,
    raw: MaybeUninit<NonNull<bindings::dma_buf_attachment>>,
}

// SAFETY: The raw attachment is only detached in `drop`, and the inner only
// dropped there; the inner is owned like a box (its importer is `Send` and
// `Sync`, its mapping cell only used with the buffer's reservation lock held,
// which serialises all threads); the buffer and the device are reference
// counted kernel objects that any thread may use and drop (`DmaBuf` and
// `Device` are `Send` and `Sync`).
unsafe impl<T: Importer> Send for Attachment<T> {}
// SAFETY: See `Send`: shared access reads immutable fields, or the mapping
// cell under the reservation lock.
unsafe impl<T: Importer> Sync for Attachment<T> {}

impl<T: Importer> Attachment<T> {
    /// Takes back the attachment that [`attach_in`] left in `slot`.
    ///
    /// # Safety
    ///
    /// `slot` holds an attachment made by [`attach_in`] with this `T`, and
    /// it is taken back only once (or, for borrowing, into a
    /// [`ManuallyDrop`] that is never dropped, while it is not taken back).
    pub(crate) unsafe fn from_slot(slot: NonNull<Slot<T>>) -> Self {
        let slot = slot.as_ptr();
        // No reference to the slot is made here: other threads, or the
        // exporter's callback on this thread, may hold one to its inner.
        // SAFETY: By the caller's guarantee `attach_in` initialised `raw`,
        // and the slot is valid for reads while attached.
        let raw = unsafe { core::ptr::addr_of!((*slot).raw).read().assume_init() };
        // SAFETY: `raw` is attached, so its buffer is alive: the C importer
        // holds a reference to it until it detaches.
        let buf = NonNull::from(unsafe { DmaBuf::from_raw((*raw.as_ptr()).dmabuf) });
        // INVARIANT: `attach_in` initialised the inner in the slot, which
        // the C importer does not move while attached, and attached `raw` as
        // described, with `importer_priv` pointing to that inner; the C
        // importer keeps the buffer and the device alive until it detaches,
        // which drops the attachment.
        Self {
            // SAFETY: A field of the non-NULL `slot`; `MaybeUninit` has the
            // layout of what it holds.
            inner: unsafe { NonNull::new_unchecked(core::ptr::addr_of_mut!((*slot).inner).cast()) },
            home: InnerHome::Slot,
            raw,
            buf,
        }
    }

    fn inner(&self) -> &AttachInner<T> {
        // SAFETY: By the type invariant `inner` is initialised and stays
        // valid while `self` exists.
        unsafe { self.inner.as_ref() }
    }

    /// Returns the interconnect negotiated at attach time; it never changes.
    pub fn negotiated(&self) -> TypeRef {
        self.inner().core.negotiated
    }

    /// Returns the importer's state.
    pub fn importer(&self) -> &T {
        &self.inner().importer
    }

    /// Returns the attached buffer.
    #[inline]
    pub fn buf(&self) -> &DmaBuf {
        // SAFETY: By the type invariant the buffer lives as long as `self`.
        unsafe { self.buf.as_ref() }
    }

    fn check_lock(&self, resv: &ResvLocked<'_>) -> Result {
        if core::ptr::eq(resv.buf().as_raw(), self.buf().as_raw()) {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    /// Maps the buffer through the negotiated interconnect `ty` and returns
    /// the mapping, which stays in the attachment until it ends.
    ///
    /// Fails with `EINVAL` if `resv` is the lock of another buffer or `ty`
    /// is not the negotiated interconnect, with `EBUSY` if the attachment is
    /// already mapped, with `ENODEV` if the exporter revoked access, and with
    /// whatever the exporter's map returns. Nothing stays mapped on failure.
    ///
    /// # Examples
    ///
    /// An exporter that imports its own buffer may look at the attachment
    /// that it is mapping, from its [`super::exporter::Exporter::map`]:
    ///
    /// ```
    /// # use kernel::prelude::*;
    /// use kernel::dma_buf::{exporter::*, importer::*, interconnect::*, ResvLocked};
    /// use kernel::{device::Device, new_mutex, sync::{Arc, Mutex}};
    ///
    /// struct Loop;
    /// impl Interconnect for Loop {
    ///     type Offer = ();
    ///     type Accept = ();
    ///     type Mapping = u32;
    /// }
    /// static LOOP: InterconnectType<Loop> = InterconnectType::new(c"doctest-loop");
    /// struct Nobody;
    /// impl Importer for Nobody {
    ///     fn invalidate(&self, _resv: &ResvLocked<'_>) {}
    /// }
    /// type Me = Arc<Mutex<Option<Arc<Attachment<Nobody>>>>>;
    /// struct SelfImporter(Me);
    /// impl Exporter for SelfImporter {
    ///     fn map(&self, req: &MapRequest<'_>) -> Result<Mapped> {
    ///         // The attachment being mapped is not mapped yet.
    ///         let me = self.0.lock();
    ///         let a = me.as_ref().ok_or(EINVAL)?;
    ///         assert!(a.mapping(req.resv(), &LOOP).is_none());
    ///         assert!(!a.is_mapped(req.resv()));
    ///         Mapped::new(req, &LOOP, 7)
    ///     }
    /// }
    ///
    /// // SAFETY: The doctests are built into the kernel, whose modules are NULL.
    /// static DOCTEST: kernel::ThisModule =
    ///     unsafe { kernel::ThisModule::from_ptr(core::ptr::null_mut()) };
    /// let me: Me = Arc::pin_init(new_mutex!(None), GFP_KERNEL)?;
    /// let mut offers = OfferList::new();
    /// offers.offer(&LOOP, ())?;
    /// let (_state, buf) = export(SelfImporter(me.clone()), offers, 4096, c"doctest", &DOCTEST)?;
    /// let faux = kernel::faux::Registration::new(c"dmabuf_self_import_doctest", None)?;
    /// let mut accepts = AcceptList::new();
    /// accepts.accept(&LOOP, ())?;
    /// let a = Arc::new(attach(&buf, faux.as_ref(), accepts, Nobody)?, GFP_KERNEL)?;
    /// *me.lock() = Some(a.clone());
    /// {
    ///     let mut resv = buf.lock_resv();
    ///     assert_eq!(*a.map(&mut resv, &LOOP)?, 7);
    /// }
    /// // The exporter's reference to its own attachment goes first: it keeps
    /// // the buffer, and so the exporter, alive.
    /// *me.lock() = None;
    /// # Ok::<(), Error>(())
    /// ```
    #[inline]
    pub fn map<'r, I: Interconnect>(
        &'r self,
        resv: &'r mut ResvLocked<'_>,
        ty: &'static InterconnectType<I>,
    ) -> Result<&'r I::Mapping> {
        if !self.inner().core.negotiated.is(ty) {
            return Err(EINVAL);
        }
        // The exporter's mapping was checked to be of the negotiated type.
        self.map_any(resv)?.get::<I>().ok_or(EINVAL)
    }

    /// Maps the buffer through the negotiated interconnect, whatever it is;
    /// see [`Attachment::map`].
    ///
    /// The exporter's map runs with no reference to the attachment's
    /// mapping cell alive: it gets a shared lock proof, with which it may
    /// reach this very attachment (an exporter that imports its own buffer)
    /// and read the cell through [`Attachment::mapping`]. The cell is
    /// checked again once the exporter returns.
    #[inline]
    pub(crate) fn map_any<'r>(&'r self, resv: &'r mut ResvLocked<'_>) -> Result<&'r Mapped> {
        self.check_lock(resv)?;
        // SAFETY: The lock is held (checked above); `is_mapped_locked` only
        // reads the cell, through a borrow that ends before it returns.
        if unsafe { self.inner().core.is_mapped_locked(resv) } {
            return Err(EBUSY);
        }
        let mapped = self.map_exporter(resv)?;
        // SAFETY: As above.
        if unsafe { self.inner().core.is_mapped_locked(resv) } {
            // Something mapped the attachment while the exporter ran, for
            // example the exporter itself; keep that mapping, end this one.
            self.end_mapping(resv, mapped);
            return Err(EBUSY);
        }
        // SAFETY: The lock is held, and `resv` is borrowed mutably by this
        // function, so the importer holds no reference into the cell; no
        // other code runs from here until the returned reference, which
        // borrows `resv` as long as it lives, is gone.
        let slot = unsafe { &mut *self.inner().core.mapping.get() };
        Ok(slot.insert(mapped))
    }

    /// Ends a mapping that `map_exporter` made but that never went into the
    /// attachment.
    fn end_mapping(&self, _resv: &ResvLocked<'_>, mapped: Mapped) {
        drop(mapped);
        if let Some(export) = ExportCore::of(self.buf()) {
            export.unmapped_locked(self.inner().core.dev());
        }
    }

    /// Asks the exporter for a mapping through the negotiated interconnect.
    ///
    /// Touches nothing of the attachment but its immutable fields, so that
    /// the exporter may reach the attachment while it runs.
    #[inline]
    fn map_exporter(&self, resv: &ResvLocked<'_>) -> Result<Mapped> {
        let core = &self.inner().core;
        Ok(match ExportCore::of(self.buf()) {
            Some(export) => export.map_locked(&MapRequest {
                ty: core.negotiated,
                offers: export.offers(),
                accepted: &*core.accepted,
                dev: core.dev(),
                resv,
                attach: self.raw,
                dir: bindings::dma_data_direction_DMA_BIDIRECTIONAL,
            })?,
            // Buffers of other exporters only offer the scatter-gather table.
            None => {
                // SAFETY: `raw` stays attached while the attachment holds the
                // mapping, and the lock is held.
                let sgt = unsafe { SgtMapping::map_foreign(self.raw) }?;
                // A dynamic exporter may still be moving the buffer into
                // place: its kernel fences say when the memory is ready.
                resv.wait_fences(bindings::dma_resv_usage_DMA_RESV_USAGE_KERNEL);
                Mapped {
                    ty: TypeRef::from(&SGT),
                    value: MappedValue::Boxed(KBox::new(sgt, GFP_KERNEL)?),
                }
            }
        })
    }

    /// Returns the current mapping, if the attachment is mapped through `ty`.
    pub fn mapping<'r, I: Interconnect>(
        &'r self,
        resv: &'r ResvLocked<'_>,
        ty: &'static InterconnectType<I>,
    ) -> Option<&'r I::Mapping> {
        self.check_lock(resv).ok()?;
        if !self.negotiated().is(ty) {
            return None;
        }
        // SAFETY: The lock is held, and changes to the cell need a mutable
        // borrow of a lock proof, which `resv`'s borrow rules out.
        unsafe { &*self.inner().core.mapping.get() }
            .as_ref()
            .and_then(|m| m.get::<I>())
    }

    /// Returns true if the attachment is mapped, whatever the interconnect;
    /// false for the lock of another buffer.
    pub fn is_mapped(&self, resv: &ResvLocked<'_>) -> bool {
        // SAFETY: `check_lock` made sure `resv` holds this buffer's lock.
        self.check_lock(resv).is_ok() && unsafe { self.inner().core.is_mapped_locked(resv) }
    }

    /// Ends the current mapping.
    ///
    /// Fails with `EINVAL` if `resv` is the lock of another buffer and with
    /// `ENOENT` if nothing is mapped (for example after an invalidation).
    pub fn unmap(&self, resv: &mut ResvLocked<'_>) -> Result {
        self.check_lock(resv)?;
        // SAFETY: The lock is held and `resv` is borrowed mutably, so no
        // reference into the mapping is alive.
        if unsafe { self.inner().core.unmap_locked(resv) } {
            Ok(())
        } else {
            Err(ENOENT)
        }
    }
}

impl<T: Importer> Drop for Attachment<T> {
    #[inline]
    fn drop(&mut self) {
        let resv = self.buf().lock_resv();
        // SAFETY: The lock is held, and `&mut self` rules out references
        // into the mapping, which borrow `self`.
        unsafe { self.inner().core.unmap_locked(&resv) };
        drop(resv);
        // SAFETY: By the type invariant `raw` is attached to `buf`. Detaching
        // takes the reservation lock, so no invalidation runs on `inner`
        // after this returns.
        unsafe { bindings::dma_buf_detach(self.buf().as_raw(), self.raw.as_ptr()) };
        let home = core::mem::replace(&mut self.home, InnerHome::Slot);
        // SAFETY: Detached, nothing reaches `inner` any more, and `self`
        // goes without using the buffer again: by the type invariant `inner`
        // lives in `home`, and is dropped once, here, with the references
        // `home` holds.
        unsafe { home.drop_inner(self.inner) };
    }
}

/// What a buffer of another exporter offers: the classic scatter-gather
/// table, revocable if the exporter can move the buffer (it has `pin`).
fn foreign_offers(buf: &DmaBuf) -> Result<OfferList> {
    // SAFETY: By the type invariant of `DmaBuf` the buffer is alive, and its
    // ops are set once at export time.
    let dynamic = unsafe { (*(*buf.as_raw()).ops).pin.is_some() };
    let mut offers = OfferList::new();
    offers
        .offer(&SGT, SgtOffer::default())?
        .set_revocable(dynamic);
    Ok(offers)
}

/// Returns what `buf` offers: its exporter's list, or for buffers of other
/// exporters the implied classic offer.
#[inline]
pub(crate) fn with_offers<R>(buf: &DmaBuf, f: impl FnOnce(&OfferList) -> R) -> Result<R> {
    match ExportCore::of(buf) {
        Some(export) => Ok(f(export.offers())),
        None => Ok(f(&foreign_offers(buf)?)),
    }
}

/// Returns the interconnect that [`attach`] would negotiate for `accepts`
/// and the device `dev`, without attaching, or the error it would fail with
/// (`EOPNOTSUPP`, `ENODEV`). What is true now may change before an attach.
pub fn negotiate_for(buf: &DmaBuf, accepts: &AcceptList, dev: &Device) -> Result<TypeRef> {
    Ok(negotiate_index(buf, accepts, dev)?.0)
}

/// [`negotiate_for`], with the index of the winning entry in `accepts`.
#[inline]
fn negotiate_index(buf: &DmaBuf, accepts: &AcceptList, dev: &Device) -> Result<(TypeRef, usize)> {
    if ExportCore::of(buf).is_some_and(ExportCore::is_revoked_permanently) {
        return Err(ENODEV);
    }
    with_offers(buf, |offers| {
        let n = negotiate(offers, accepts, dev)?;
        Ok((offers.type_at(n.offer), n.accept))
    })?
}

/// What the framework can tell of one attachment of a buffer.
pub struct AttachmentView<'a> {
    /// The name of the importer's device.
    pub importer: &'a CStr,
    /// The negotiated interconnect, if the importer attached with [`attach`].
    pub negotiated: Option<TypeRef>,
    /// Whether the importer holds a mapping made through the framework.
    pub mapped: bool,
}

/// Calls `f` for every attachment of the buffer whose reservation lock
/// `resv` holds, made by [`attach`] or by any other importer.
pub fn for_each_attachment(resv: &ResvLocked<'_>, mut f: impl FnMut(&AttachmentView<'_>)) {
    let unknown = c"?";
    // SAFETY: The buffer is alive, and its attachment list is protected by
    // the reservation lock, which `resv` proves held: no entry is added or
    // removed, and each attachment and its device stay alive, meanwhile;
    // the same lock is the one `is_mapped_locked` asks for.
    unsafe {
        let head = core::ptr::addr_of_mut!((*resv.buf().as_raw()).attachments);
        let mut pos = (*head).next;
        while pos != head {
            let raw = crate::container_of!(pos, bindings::dma_buf_attachment, node);
            // The kobject name is the device name once the device is added.
            let name = (*(*raw).dev).kobj.name;
            let importer = if name.is_null() {
                unknown
            } else {
                CStr::from_char_ptr(name)
            };
            let core = if is_framework_importer((*raw).importer_ops) {
                // Attachments with these ops were made by `attach`, with
                // `importer_priv` pointing to the core of a live inner.
                Some(&*(*raw).importer_priv.cast::<AttachCore>())
            } else {
                None
            };
            f(&AttachmentView {
                importer,
                negotiated: core.map(|c| c.negotiated),
                mapped: core.is_some_and(|c| c.is_mapped_locked(resv)),
            });
            pos = (*pos).next;
        }
    }
}

/// Attaches `dev` to `buf` through the first interconnect that the exporter
/// offers and `accepts` accepts.
///
/// Fails with `EOPNOTSUPP` if there is none, or if the buffer is revocable
/// and the importer does not honour invalidation, and with `ENODEV` if the
/// exporter revoked access for good; nothing is attached then.
///
/// # Examples
///
/// ```
/// # use kernel::prelude::*;
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use kernel::{bindings, device::Device, page::Page};
/// use kernel::dma_buf::{exporter::*, importer::*, interconnect::*, mapping::*, ResvLocked};
///
/// // An exporter of one page of memory, as a physical range.
/// struct Bar(Page);
/// impl Exporter for Bar {
///     fn map(&self, req: &MapRequest<'_>) -> Result<Mapped> {
///         let ranges = PhysRanges::new(&[PhysRange::of_page(&self.0)])?;
///         Mapped::new(req, &PHYS_LIST, ranges)
///     }
/// }
/// #[derive(Default)]
/// struct Iommu {
///     invalidated: AtomicU32,
/// }
/// impl Importer for Iommu {
///     fn invalidate(&self, _resv: &ResvLocked<'_>) {
///         self.invalidated.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// let name = c"dmabuf_doctest".as_char_ptr();
/// // SAFETY: The name is a valid string; no module owns the device.
/// let raw = unsafe { bindings::__root_device_register(name, core::ptr::null_mut()) };
/// let raw = kernel::error::from_err_ptr(raw)?;
/// // SAFETY: The device is registered until `root_device_unregister` below.
/// let dev = unsafe { Device::from_raw(raw) };
///
/// let mut offers = OfferList::new();
/// offers
///     .offer(&PHYS_LIST, ())?
///     .offer(&SGT, SgtOffer { peer_to_peer: true, provider: None })?
///     .set_revocable(true);
/// let page = Page::alloc_page(GFP_KERNEL)?;
/// let phys = PhysRange::of_page(&page);
/// // SAFETY: The doctests are built into the kernel, whose modules are NULL.
/// static DOCTEST: kernel::ThisModule =
///     unsafe { kernel::ThisModule::from_ptr(core::ptr::null_mut()) };
/// let (state, buf) = export(Bar(page), offers, 4096, c"doctest", &DOCTEST)?;
///
/// // SAFETY: This importer only compares the ranges; it maps them nowhere.
/// let access = || unsafe { PhysListAccess::new() };
/// let mut accepts = AcceptList::new();
/// accepts.accept(&PHYS_LIST, access())?.set_honours_invalidation(true);
/// let a = attach(&buf, dev, accepts, Iommu::default())?;
/// assert!(a.negotiated().is(&PHYS_LIST));
/// assert_eq!(buf.lock_resv().attachment_count(), 1);
///
/// // Refused, and nothing left attached: no common interconnect...
/// let mut sgt_only = AcceptList::new();
/// sgt_only.accept(&SGT, SgtAccept::default())?.set_honours_invalidation(true);
/// let e = attach(&buf, dev, sgt_only, Iommu::default());
/// assert_eq!(e.err(), Some(EOPNOTSUPP));
/// // ... or an importer that cannot be invalidated.
/// let mut nonrev = AcceptList::new();
/// nonrev.accept(&PHYS_LIST, access())?;
/// assert_eq!(attach(&buf, dev, nonrev, Iommu::default()).err(), Some(EOPNOTSUPP));
/// assert_eq!(buf.lock_resv().attachment_count(), 1);
///
/// // Mapping hands out the exporter's ranges, through the negotiated type only.
/// {
///     let mut resv = buf.lock_resv();
///     assert_eq!(a.map(&mut resv, &SGT).err(), Some(EINVAL));
///     let ranges = a.map(&mut resv, &PHYS_LIST)?;
///     assert_eq!(ranges.ranges(), &[phys]);
///     assert_eq!(a.map(&mut resv, &PHYS_LIST).err(), Some(EBUSY));
///     assert_eq!(state.mapping_count(), 1);
/// }
///
/// // Revoke invalidates once and ends the mapping before it returns...
/// state.revoke();
/// state.revoke();
/// assert_eq!(a.importer().invalidated.load(Ordering::Relaxed), 1);
/// assert_eq!(state.mapping_count(), 0);
/// {
///     let mut resv = buf.lock_resv();
///     assert!(a.mapping(&resv, &PHYS_LIST).is_none());
///     assert_eq!(a.unmap(&mut resv).err(), Some(ENOENT));
///     // ... and mapping fails while revoked.
///     assert_eq!(a.map(&mut resv, &PHYS_LIST).err(), Some(ENODEV));
/// }
/// // Unrevoke calls nobody and maps nothing: no automatic remap.
/// state.unrevoke()?;
/// assert_eq!(a.importer().invalidated.load(Ordering::Relaxed), 1);
/// assert_eq!(state.mapping_count(), 0);
/// {
///     let mut resv = buf.lock_resv();
///     a.map(&mut resv, &PHYS_LIST)?;
///     a.unmap(&mut resv)?;
///     a.map(&mut resv, &PHYS_LIST)?;
/// }
/// assert_eq!(state.mapping_count(), 1);
///
/// // Dropping a mapped attachment ends its mapping and detaches.
/// drop(a);
/// assert_eq!(state.mapping_count(), 0);
/// assert_eq!(buf.lock_resv().attachment_count(), 0);
///
/// // A buffer revoked for good takes no new importers.
/// state.revoke_permanently();
/// let mut accepts = AcceptList::new();
/// accepts.accept(&PHYS_LIST, access())?.set_honours_invalidation(true);
/// assert_eq!(attach(&buf, dev, accepts, Iommu::default()).err(), Some(ENODEV));
/// drop(buf);
/// // SAFETY: `raw` was registered above and has no other user.
/// unsafe { bindings::root_device_unregister(raw) };
/// # Ok::<(), Error>(())
/// ```
pub fn attach<T: Importer>(
    buf: &DmaBuf,
    dev: &Device,
    mut accepts: AcceptList,
    importer: T,
) -> Result<Attachment<T>> {
    attach_with(buf, dev, &mut accepts, importer)
}

/// [`attach`] with a list that the caller built in place; the list is
/// emptied once negotiation succeeds, whatever happens after.
pub(crate) fn attach_with<T: Importer>(
    buf: &DmaBuf,
    dev: &Device,
    accepts: &mut AcceptList,
    importer: T,
) -> Result<Attachment<T>> {
    let (ops, inner) = negotiate_inner(buf, dev, accepts, importer)?;
    let inner = KBox::into_raw(KBox::new(inner, GFP_KERNEL)?);
    let home = InnerHome::Boxed {
        _buf: buf.into(),
        _dev: dev.into(),
    };
    // SAFETY: `inner` is a box given up to the attachment, which frees it
    // whatever happens; `home` holds references to the buffer and the
    // device.
    unsafe { attach_at(buf, dev, ops, NonNull::new_unchecked(inner), home) }
}

/// [`attach_with`] into the slot of a C importer, which it leaves attached
/// for [`Attachment::from_slot`] to take back.
///
/// # Safety
///
/// `slot` is valid for writes, holds no attachment, and stays where it is
/// until the attachment is taken back and dropped, if this succeeds; until
/// then the caller also holds a reference to `buf` and keeps `dev` alive.
#[inline]
pub(crate) unsafe fn attach_in<T: Importer>(
    slot: NonNull<Slot<T>>,
    buf: &DmaBuf,
    dev: &Device,
    accepts: &mut AcceptList,
    importer: T,
) -> Result {
    let (ops, inner) = negotiate_inner(buf, dev, accepts, importer)?;
    let slot = slot.as_ptr();
    // SAFETY: `slot` is valid for writes, as the caller guarantees.
    let at = unsafe { (*slot).inner.write(inner) };
    // SAFETY: `at` was just initialised in a slot that stays in place
    // while attached, as the caller guarantees; the attachment drops it,
    // whatever happens. The caller keeps the buffer and the device alive
    // until then.
    let attachment = unsafe { attach_at(buf, dev, ops, NonNull::from(at), InnerHome::Slot) }?;
    // The slot keeps the attachment for `from_slot`.
    let attachment = ManuallyDrop::new(attachment);
    // Through a pointer to the field alone: an invalidation may already
    // hold a reference to the inner.
    // SAFETY: As above.
    unsafe { core::ptr::addr_of_mut!((*slot).raw).write(MaybeUninit::new(attachment.raw)) };
    Ok(())
}

/// Negotiates, and makes the state of an attachment of `importer`, with the
/// ops to attach it with.
#[inline]
fn negotiate_inner<T: Importer>(
    buf: &DmaBuf,
    dev: &Device,
    accepts: &mut AcceptList,
    importer: T,
) -> Result<(&'static bindings::dma_buf_attach_ops, AttachInner<T>)> {
    let (negotiated, index) = negotiate_index(buf, accepts, dev)?;
    let accepted = accepts.take_info(index);
    // Exporters outside the framework learn from the ops whether the
    // importer can reach PCI MMIO through the table they map.
    let p2p = negotiated.is(&SGT)
        && accepted
            .downcast_ref::<SgtAccept>()
            .is_some_and(|a| a.allow_peer_to_peer);
    let ops = if p2p { &IMPORT_OPS_P2P } else { &IMPORT_OPS };
    // INVARIANT: Both adapters match `importer`; nothing is mapped yet, so
    // nothing is owed.
    let inner = AttachInner {
        core: AttachCore {
            negotiated,
            accepted,
            dev: NonNull::from(dev),
            mapping: UnsafeCell::new(None),
            invalidate: invalidate_adapter::<T>,
            invalidate_done: invalidate_done_adapter::<T>,
            done_pending: AtomicBool::new(false),
        },
        importer,
    };
    Ok((ops, inner))
}

/// Attaches `dev` to `buf` with `ops` and the state `inner`, which lives
/// in `home`.
///
/// # Safety
///
/// `inner` is initialised and stays in place until the returned attachment
/// is dropped: a box made by `KBox::into_raw` if `home` is
/// [`InnerHome::Boxed`], a [`Slot`]'s inner otherwise. It is given up: the
/// attachment drops it, or this function if the attach fails. `buf` and
/// `dev` stay alive until then, as `home` says: `dev` is the device in the
/// core of `inner`.
#[inline]
unsafe fn attach_at<T: Importer>(
    buf: &DmaBuf,
    dev: &Device,
    ops: &'static bindings::dma_buf_attach_ops,
    inner: NonNull<AttachInner<T>>,
    home: InnerHome,
) -> Result<Attachment<T>> {
    // The core is the first field of the `#[repr(C)]` inner: the pointer to
    // the inner is one to the core, which `importer_priv` holds.
    // SAFETY: `buf` and `dev` are alive; the ops are static and `inner`
    // stays valid until the attachment is detached in `Attachment::drop`.
    let raw = unsafe {
        bindings::dma_buf_dynamic_attach(buf.as_raw(), dev.as_raw(), ops, inner.as_ptr().cast())
    };
    let raw = match from_err_ptr(raw) {
        // `dma_buf_dynamic_attach` returns an attachment or an error.
        Ok(raw) => NonNull::new(raw).ok_or(EINVAL),
        Err(e) => Err(e),
    };
    match raw {
        // INVARIANT: `raw` was just attached as described, and `inner`,
        // `buf` and the device are as the caller guarantees.
        Ok(raw) => Ok(Attachment {
            inner,
            home,
            raw,
            buf: NonNull::from(buf),
        }),
        Err(e) => {
            // SAFETY: Nothing is attached, and the caller gave `inner` up.
            unsafe { home.drop_inner(inner) };
            Err(e)
        }
    }
}
