// SPDX-License-Identifier: GPL-2.0

//! Exporting dma-bufs whose importers negotiate an interconnect.
//!
//! [`export()`] creates a dma-buf whose `dma_buf_ops` belong to this module.
//! The driver keeps an [`Arc<Export<T>>`]: its state `T`, the interconnects
//! it offers, and whether access is revoked. The state may outlive the
//! buffer (userspace closed every fd) and the buffer may outlive the
//! driver's interest in it, so neither holds the other alive: the buffer
//! holds a reference to the [`Export`], and the [`Export`] knows its buffer
//! only while the buffer exists.
//!
//! Revocation is marked under the buffer's reservation lock, so a mapping
//! path that checks the state under the same lock never sees a stale answer.
//!
//! Importers that know nothing of interconnects (classic importers, which
//! attach with `dma_buf_dynamic_attach()` and map with
//! `dma_buf_map_attachment()`) are served from the [`SGT`] offer, as if
//! they accepted only that: peer-to-peer capable if they allow it, and
//! honouring invalidation if they implement `invalidate_mappings`.

use super::{
    discovery::EventFd,
    importer::{finish_invalidation, is_framework_importer},
    interconnect::{
        negotiate, AcceptList, AnyInfo, Interconnect, InterconnectType, OfferList, SgtAccept,
        TypeRef, SGT,
    },
    mapping::{flush_dma_unmaps, PhysRanges, SgtMapping},
    DmaBuf, ResvLocked,
};
use crate::{
    bindings,
    device::Device,
    error::{from_err_ptr, from_result},
    prelude::*,
    str::CStr,
    sync::{aref::ARef, Arc, CondVar, Mutex},
    ThisModule,
};

/// The file flags of buffers exported from Rust.
const O_RDWR: c_int = bindings::O_RDWR as c_int;
use core::{
    any::{Any, TypeId},
    ptr::NonNull,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};

/// The driver side of an exported dma-buf.
pub trait Exporter: Send + Sync + 'static {
    /// Maps the buffer for one importer through the interconnect that was
    /// negotiated for its attachment ([`MapRequest::interconnect`]).
    ///
    /// Called with the buffer's reservation lock held and only while access
    /// is not revoked. The returned mapping ends when the core drops it, at
    /// the latest before [`ExportCore::revoke`] returns.
    fn map(&self, req: &MapRequest<'_>) -> Result<Mapped>;

    /// Called once when the buffer is released: its last file reference and
    /// its last attachment are gone, and nothing can map it any more.
    ///
    /// The state lives on while the driver holds an [`Arc<Export<Self>>`];
    /// a driver that lists its buffers (to revoke them all on a reset, say)
    /// drops its reference here. Called without the reservation lock, from
    /// the buffer's release, which may run in any process context.
    fn released(&self) {}
}

/// One importer's request to map a buffer, as the exporter sees it.
pub struct MapRequest<'a> {
    pub(crate) ty: TypeRef,
    pub(crate) offers: &'a OfferList,
    /// What the importer stated for the negotiated interconnect `ty`.
    pub(crate) accepted: &'a (dyn Any + Send + Sync),
    pub(crate) dev: &'a Device,
    pub(crate) resv: &'a ResvLocked<'a>,
    /// The importer's `struct dma_buf_attachment`, attached to the buffer
    /// for as long as the mapping exists.
    pub(crate) attach: NonNull<bindings::dma_buf_attachment>,
    pub(crate) dir: bindings::dma_data_direction,
}

impl<'a> MapRequest<'a> {
    /// Returns the interconnect negotiated for the attachment.
    pub fn interconnect(&self) -> TypeRef {
        self.ty
    }

    /// Returns what the exporter offered for `ty`, if it offered it.
    pub fn offer<I: Interconnect>(&self, ty: &'static InterconnectType<I>) -> Option<&'a I::Offer> {
        self.offers.info(ty)
    }

    /// Returns what the importer stated when it accepted `ty`, if `ty` is
    /// the negotiated interconnect (an attachment keeps nothing else of its
    /// accept list).
    pub fn accept<I: Interconnect>(
        &self,
        ty: &'static InterconnectType<I>,
    ) -> Option<&'a I::Accept> {
        if self.ty.is(ty) {
            self.accepted.downcast_ref()
        } else {
            None
        }
    }

    /// Returns the importer's device.
    pub fn device(&self) -> &'a Device {
        self.dev
    }

    /// Returns the proof that the reservation lock is held.
    pub fn resv(&self) -> &'a ResvLocked<'a> {
        self.resv
    }

    /// Returns the direction of the DMA the importer will do.
    pub fn direction(&self) -> bindings::dma_data_direction {
        self.dir
    }

    /// Returns the importer's raw attachment, for exporters whose mapping
    /// helpers take it (`dma_buf_phys_vec_to_sgt()`).
    pub(crate) fn raw_attachment(&self) -> NonNull<bindings::dma_buf_attachment> {
        self.attach
    }
}

/// A mapping made by an exporter, before the core hands it to the importer.
///
/// # Invariants
///
/// `value` holds an `I::Mapping` for the interconnect `I` that `ty` is.
pub struct Mapped {
    pub(crate) ty: TypeRef,
    /// Dropping it ends the mapping.
    pub(crate) value: MappedValue,
}

/// Where a [`Mapped`] keeps the exporter's mapping.
pub(crate) enum MappedValue {
    /// In a box of its own, whatever its type.
    Boxed(AnyInfo),
    /// Physical ranges, the mapping of
    /// [`PhysList`](super::interconnect::PhysList), that share a list of
    /// the exporter's ([`PhysRanges::share`]): only the shared list is
    /// kept, so such a map allocates nothing.
    Shared(Arc<PhysRanges>),
}

impl Mapped {
    /// Wraps the mapping `value` of the interconnect `ty`.
    ///
    /// Fails with `EINVAL` if `ty` is not the interconnect that `req` asks
    /// for, so an exporter cannot hand an importer a mapping of another kind.
    #[inline]
    pub fn new<I: Interconnect>(
        req: &MapRequest<'_>,
        ty: &'static InterconnectType<I>,
        value: I::Mapping,
    ) -> Result<Self> {
        if !req.ty.is(ty) {
            return Err(EINVAL);
        }
        // Shared physical ranges keep only the list they share; anything
        // else goes into a box.
        let mut slot = Some(value);
        let any: &mut dyn Any = &mut slot;
        let ranges = any
            .downcast_mut::<Option<PhysRanges>>()
            .and_then(Option::take);
        let value = match ranges.map(PhysRanges::into_shared) {
            Some(Ok(shared)) => MappedValue::Shared(shared),
            Some(Err(owned)) => MappedValue::Boxed(KBox::new(owned, GFP_KERNEL)?),
            None => match slot {
                Some(value) => MappedValue::Boxed(KBox::new(value, GFP_KERNEL)?),
                // Cannot happen: only a successful downcast takes the value.
                None => return Err(EINVAL),
            },
        };
        // INVARIANT: `value` is an `I::Mapping` and `ty` is `I`'s type.
        Ok(Self {
            ty: TypeRef::from(ty),
            value,
        })
    }

    /// Wraps a mapping of an interconnect defined in C, which has no
    /// Rust mapping type; it is for the negotiated interconnect of `req`.
    pub(crate) fn new_raw(req: &MapRequest<'_>, value: AnyInfo) -> Result<Self> {
        // INVARIANT: C-defined interconnects have no `Interconnect` type
        // whose `Mapping` could be asked for, so no typed access can go
        // wrong; the C interface reads it back as the type it stored.
        Ok(Self {
            ty: req.ty,
            value: MappedValue::Boxed(value),
        })
    }

    /// Returns the mapping as an `I::Mapping`, if it is one.
    pub(crate) fn get<I: Interconnect>(&self) -> Option<&I::Mapping> {
        self.get_raw::<I::Mapping>()
    }

    /// Returns the mapping as a `T`, if it is one.
    #[inline]
    pub(crate) fn get_raw<T: 'static>(&self) -> Option<&T> {
        match &self.value {
            MappedValue::Boxed(value) => value.downcast_ref(),
            // Of a type known here, so the check costs no call.
            MappedValue::Shared(ranges) => (&**ranges as &dyn Any).downcast_ref(),
        }
    }
}

/// The state of one exported dma-buf, shared by the driver and the buffer.
///
/// `core` comes first so that the buffer's callbacks, which are the same
/// for every exporter, can reach it without knowing `T`.
#[repr(C)]
#[pin_data]
pub struct Export<T: Exporter> {
    #[pin]
    core: ExportCore,
    exporter: T,
}

/// The part of an [`Export`] that does not depend on the driver.
///
/// # Invariants
///
/// `buf` is the buffer created by [`export()`] for this state while that
/// buffer exists, and `None` from the moment its release callback runs.
/// `revoked` changes only while the buffer's reservation lock is held, or
/// after the buffer is gone; once `dead` is set, `revoked` stays set.
/// `invalidating` is set, under the reservation lock, only while a revoke
/// invalidates the buffer's attachments.
/// `mappings` counts the mappings that importers hold, framework and
/// classic importers alike; it changes only under the reservation lock, and
/// `unmapped` is signalled, under `wait_lock`, whenever it drops to zero
/// while `revoked` is set (only then does anyone wait for it).
/// `drop_export`, `map` and `released` are the functions of the `Export<T>`
/// whose `core` this is, whose `T` has the type id `exporter`.
#[pin_data]
pub struct ExportCore {
    offers: OfferList,
    #[pin]
    buf: Mutex<Option<NonNull<bindings::dma_buf>>>,
    revoked: AtomicBool,
    dead: AtomicBool,
    invalidating: AtomicBool,
    mappings: AtomicUsize,
    #[pin]
    wait_lock: Mutex<()>,
    #[pin]
    unmapped: CondVar,
    /// The eventfds of `DMA_BUF_IOCTL_IC_NOTIFY`, while the buffer exists.
    #[pin]
    watchers: Mutex<KVec<EventFd>>,
    exporter: TypeId,
    drop_export: unsafe fn(*const c_void),
    map: unsafe fn(*const ExportCore, &MapRequest<'_>) -> Result<Mapped>,
    released: unsafe fn(*const ExportCore),
}

// SAFETY: The raw buffer pointer is only used under the `buf` mutex, which
// the release callback takes before the buffer is freed; everything else is
// `Send`.
unsafe impl Send for ExportCore {}
// SAFETY: See `Send`; shared access goes through the mutexes or atomics.
unsafe impl Sync for ExportCore {}

impl<T: Exporter> core::ops::Deref for Export<T> {
    type Target = ExportCore;

    fn deref(&self) -> &ExportCore {
        &self.core
    }
}

impl<T: Exporter> Export<T> {
    /// Returns the driver's state.
    pub fn exporter(&self) -> &T {
        &self.exporter
    }

    /// Drops the reference that a buffer's `priv` holds.
    ///
    /// # Safety
    ///
    /// `ptr` comes from `Arc::<Export<T>>::into_raw` and is not used again.
    unsafe fn drop_export(ptr: *const c_void) {
        // SAFETY: Guaranteed by the caller.
        drop(unsafe { Arc::<Self>::from_raw(ptr.cast()) });
    }

    /// Calls the driver's [`Exporter::map`].
    ///
    /// # Safety
    ///
    /// `core` is the core of a live `Export<T>`.
    unsafe fn map(core: *const ExportCore, req: &MapRequest<'_>) -> Result<Mapped> {
        // SAFETY: Guaranteed by the caller; `Export<T>` is `#[repr(C)]` with
        // the core first.
        let this = unsafe { &*core.cast::<Self>() };
        this.exporter.map(req)
    }

    /// Calls the driver's [`Exporter::released`].
    ///
    /// # Safety
    ///
    /// `core` is the core of a live `Export<T>`.
    unsafe fn released(core: *const ExportCore) {
        // SAFETY: As for `map`.
        let this = unsafe { &*core.cast::<Self>() };
        this.exporter.released();
    }

    /// Returns the export state of `buf` if it was exported by [`export()`]
    /// with a driver state of type `T`.
    pub fn of(buf: &DmaBuf) -> Option<&Self> {
        let core = ExportCore::of(buf)?;
        if core.exporter != TypeId::of::<T>() {
            return None;
        }
        // SAFETY: By the type invariant of `ExportCore`, a core whose type
        // id is `T`'s is the first field of an `Export<T>`, which lives as
        // long as the core does.
        Some(unsafe { &*core::ptr::from_ref(core).cast::<Self>() })
    }
}

/// The lock class names of every [`ExportCore`]'s locks.
static BUF_LOCK_NAME: &CStr = c"dma_buf::ExportCore::buf";
static WAIT_LOCK_NAME: &CStr = c"dma_buf::ExportCore::wait_lock";
static UNMAPPED_NAME: &CStr = c"dma_buf::ExportCore::unmapped";
static WATCHERS_NAME: &CStr = c"dma_buf::ExportCore::watchers";

impl ExportCore {
    /// Initialises the core of an `Export<T>` whose `T` has the type id
    /// `exporter` and whose functions are `drop_export`, `map` and
    /// `released`.
    ///
    /// The lock class names are statics, not `new_mutex!`'s constants: the
    /// initialiser may be instantiated in the exporter's crate, where a
    /// constant would get an address of its own, and lockdep refuses one
    /// class key with two name addresses.
    fn new(
        offers: OfferList,
        exporter: TypeId,
        drop_export: unsafe fn(*const c_void),
        map: unsafe fn(*const ExportCore, &MapRequest<'_>) -> Result<Mapped>,
        released: unsafe fn(*const ExportCore),
    ) -> impl PinInit<Self, Error> {
        // INVARIANT: The caller passes the functions of the `Export<T>`
        // whose core this becomes; nothing is revoked or mapped yet.
        try_pin_init!(ExportCore {
            offers,
            buf <- Mutex::new(None, BUF_LOCK_NAME, crate::static_lock_class!()),
            revoked: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            invalidating: AtomicBool::new(false),
            mappings: AtomicUsize::new(0),
            wait_lock <- Mutex::new((), WAIT_LOCK_NAME, crate::static_lock_class!()),
            unmapped <- CondVar::new(UNMAPPED_NAME, crate::static_lock_class!()),
            watchers <- Mutex::new(KVec::new(), WATCHERS_NAME, crate::static_lock_class!()),
            exporter,
            drop_export,
            map,
            released,
        })
    }

    /// Returns the export state of `buf`, or `None` if another exporter
    /// (not this framework) created it.
    pub fn of(buf: &DmaBuf) -> Option<&ExportCore> {
        // SAFETY: By the type invariant of `DmaBuf` the buffer is alive, and
        // `ops` and `priv` are written once at export time, before anyone
        // else can reach the buffer; read through raw places, without a
        // reference to the whole structure, which others write.
        let (ops, priv_) = unsafe {
            let raw = buf.as_raw();
            ((*raw).ops, (*raw).priv_)
        };
        if !core::ptr::eq(ops, &EXPORT_OPS) {
            return None;
        }
        // The buffer was made by `export`: `priv` holds a reference to an
        // `Export<T>`, which starts with its core.
        // SAFETY: That reference is dropped only when the buffer is freed,
        // which cannot happen while `buf` is borrowed.
        Some(unsafe { &*priv_.cast::<ExportCore>() })
    }

    /// Returns what the buffer offers to importers.
    pub fn offers(&self) -> &OfferList {
        &self.offers
    }

    /// Returns true if access is revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::Relaxed)
    }

    /// Returns true if access was revoked for good.
    pub fn is_revoked_permanently(&self) -> bool {
        self.dead.load(Ordering::Relaxed)
    }

    /// Returns true while a revoke invalidates the buffer's attachments; the
    /// caller holds the reservation lock.
    pub(crate) fn is_invalidating(&self) -> bool {
        self.invalidating.load(Ordering::Relaxed)
    }

    /// Returns the number of mappings that importers hold.
    pub fn mapping_count(&self) -> usize {
        self.mappings.load(Ordering::Relaxed)
    }

    /// Maps the buffer for an importer, with the reservation lock held.
    ///
    /// Fails with `ENODEV` while access is revoked, and with `EINVAL` if the
    /// exporter returns a mapping of another interconnect, or physical
    /// ranges that do not cover the buffer exactly.
    #[inline]
    pub(crate) fn map_locked(&self, req: &MapRequest<'_>) -> Result<Mapped> {
        // Read under the reservation lock, which `set_revoked` holds while
        // it changes the state: no map can slip past a revoke.
        if self.is_revoked() {
            return Err(ENODEV);
        }
        // SAFETY: By the type invariant `map` matches the `Export<T>` that
        // starts with `self`, which is alive while `self` is borrowed.
        let mapped = unsafe { (self.map)(self, req) }?;
        if mapped.ty != req.ty {
            return Err(EINVAL);
        }
        // The interconnect's own checks, for example that physical ranges
        // cover the buffer exactly.
        req.ty
            .hooks()
            .check_mapping_any(&mapped, req.resv.buf().size())?;
        // INVARIANT: Counted under the reservation lock.
        self.mappings.fetch_add(1, Ordering::Relaxed);
        Ok(mapped)
    }

    /// Records that the importer's device `dev` dropped a mapping made by
    /// `map_locked`; the caller holds the reservation lock.
    ///
    /// A mapping that ends while the buffer is revoked has its device's
    /// lazy IOTLB flushed first: a revoke returns only when no device can
    /// reach the memory any more, and waits for this count to drop to zero.
    #[inline]
    pub(crate) fn unmapped_locked(&self, dev: &Device) {
        // Exact: `revoked` only changes under the reservation lock.
        let revoked = self.is_revoked();
        if revoked {
            flush_dma_unmaps(dev);
        }
        // INVARIANT: Counted under the reservation lock; the last one wakes
        // a revoke that waits for every mapping to end. Only a revoke waits,
        // in `set_revoked`, and `revoked` stays set while it does (an
        // unrevoke needs the `buf` mutex, which the revoke holds until it is
        // done waiting): with `revoked` clear, nobody waits.
        if self.mappings.fetch_sub(1, Ordering::Relaxed) == 1 && revoked {
            let _guard = self.wait_lock.lock();
            self.unmapped.notify_all();
        }
    }

    /// Waits until no importer holds a mapping.
    fn wait_unmapped(&self) {
        let mut guard = self.wait_lock.lock();
        while self.mappings.load(Ordering::Relaxed) != 0 {
            self.unmapped.wait(&mut guard);
        }
    }

    /// Returns true while the buffer exists (some fd or reference is live).
    pub fn has_buffer(&self) -> bool {
        self.buf.lock().is_some()
    }

    /// Revokes access to the buffer, synchronously.
    ///
    /// Under the reservation lock: marks the buffer revoked, invalidates
    /// every attachment (framework importers stop all access before their
    /// invalidate callback returns, or their
    /// [`Importer::invalidate_done`](super::importer::Importer::invalidate_done),
    /// called once all are invalidated; their mapping ends with it) and
    /// waits for the buffer's fences of every usage. Then, without the lock,
    /// waits until classic importers have unmapped too. From then on mapping
    /// fails with `ENODEV` until [`ExportCore::unrevoke`]. Importers never
    /// map again by themselves.
    ///
    /// Must be called after the exporter's own locks are taken and with no
    /// importer lock held (lock order: exporter, reservation, importer).
    pub fn revoke(&self) {
        self.set_revoked(true);
    }

    /// Allows new mappings again after [`ExportCore::revoke`].
    ///
    /// Nothing is mapped again automatically: importers map when their user
    /// asks them to. Fails with `ENODEV` after
    /// [`ExportCore::revoke_permanently`].
    pub fn unrevoke(&self) -> Result {
        if self.set_revoked(false) {
            Ok(())
        } else {
            Err(ENODEV)
        }
    }

    /// Revokes access for good, for example because the device that backs
    /// the buffer is gone. The buffer itself may live on; it then only
    /// reports that it is revoked.
    pub fn revoke_permanently(&self) {
        let first = !self.dead.swap(true, Ordering::Relaxed);
        let was_revoked = self.is_revoked();
        self.set_revoked(true);
        // `set_revoked` reports a change of `revoked` only.
        if first && was_revoked {
            self.notify_watchers();
        }
    }

    /// Sets the revoked state; returns false, changing nothing, when asked
    /// to unrevoke a buffer that is revoked for good.
    fn set_revoked(&self, revoked: bool) -> bool {
        let buf = self.buf.lock();
        let Some(raw) = *buf else {
            if !revoked && self.is_revoked_permanently() {
                return false;
            }
            // INVARIANT: The buffer is gone; nobody can map it any more.
            self.revoked.store(revoked, Ordering::Relaxed);
            return true;
        };
        // SAFETY: By the type invariant `raw` is alive while `buf` is locked:
        // the release callback waits for this mutex before the buffer is
        // freed.
        let dmabuf = unsafe { DmaBuf::from_raw(raw.as_ptr()) };
        let resv = dmabuf.lock_resv();
        // `dead` is set before the reservation lock is taken by
        // `revoke_permanently`, so checking it here, under the lock, closes
        // the race with a concurrent unrevoke.
        if !revoked && self.is_revoked_permanently() {
            return false;
        }
        // INVARIANT: The reservation lock is held.
        let was = self.revoked.swap(revoked, Ordering::Relaxed);
        if revoked && !was {
            // Every importer's invalidation runs, and the core drops the
            // mappings of framework importers, before this returns; then the
            // framework importers that held one finish their invalidation,
            // once each.
            // INVARIANT: Set and cleared under the reservation lock.
            self.invalidating.store(true, Ordering::Relaxed);
            // SAFETY: The reservation lock is held, as required.
            unsafe { bindings::dma_buf_invalidate_mappings(raw.as_ptr()) };
            self.invalidating.store(false, Ordering::Relaxed);
            finish_invalidation(&resv);
            // Work that was queued on the buffer before the revoke ends
            // before the memory goes away.
            resv.wait_fences(bindings::dma_resv_usage_DMA_RESV_USAGE_BOOKKEEP);
        }
        drop(resv);
        if revoked && !was {
            // Classic importers unmap from their invalidation callback or
            // soon after it (`dma_buf_attach_revocable()` importers only).
            self.wait_unmapped();
        }
        drop(buf);
        if revoked != was {
            self.notify_watchers();
        }
        true
    }

    /// Signals every eventfd registered with `DMA_BUF_IOCTL_IC_NOTIFY`:
    /// the access state changed.
    fn notify_watchers(&self) {
        for watcher in self.watchers.lock().iter() {
            watcher.signal();
        }
    }

    /// Registers `eventfd` to be signalled on every change of the access
    /// state; `EEXIST` if it is registered, `ENOSPC` past
    /// `DMA_BUF_IC_NOTIFY_MAX`.
    pub(crate) fn add_watcher(&self, eventfd: EventFd) -> Result {
        let mut watchers = self.watchers.lock();
        if watchers.contains(&eventfd) {
            return Err(EEXIST);
        }
        if watchers.len() >= bindings::DMA_BUF_IC_NOTIFY_MAX as usize {
            return Err(ENOSPC);
        }
        watchers.push(eventfd, GFP_KERNEL)?;
        Ok(())
    }

    /// Stops signalling `eventfd`; `ENOENT` if it is not registered.
    pub(crate) fn remove_watcher(&self, eventfd: &EventFd) -> Result {
        let mut watchers = self.watchers.lock();
        let i = watchers.iter().position(|w| w == eventfd).ok_or(ENOENT)?;
        drop(watchers.remove(i));
        Ok(())
    }
}

/// The `dma_buf_ops` of every buffer made by [`export()`]; its address tells
/// this framework's buffers from other exporters'.
///
/// There is no `pin`: a revocable buffer's memory can go away whatever the
/// importer wants, and `dma_buf_pin()` without the callback succeeds, as
/// for mainline's VFIO exporter.
static EXPORT_OPS: bindings::dma_buf_ops = bindings::dma_buf_ops {
    attach: Some(export_attach),
    detach: Some(export_detach),
    map_dma_buf: Some(export_map_dma_buf),
    unmap_dma_buf: Some(export_unmap_dma_buf),
    release: Some(export_release),
    // SAFETY: All other callbacks are optional; zero means absent.
    ..unsafe { core::mem::zeroed() }
};

/// What the framework keeps for the attachment of a classic importer, in
/// its `priv`.
///
/// # Invariants
///
/// `accepted` never changes after `export_attach`; `mappings` is only
/// reached, under the reservation lock, through a reference to that field
/// alone that lives across no call into the exporter, so that an exporter
/// that maps or unmaps the same attachment from its own callbacks creates
/// no second reference to what another one points to.
struct ClassicAttach {
    /// What the importer accepts, as far as it can tell: the table.
    accepted: SgtAccept,
    /// The importer's current mappings; there may be more than one.
    mappings: KVec<Mapped>,
}

/// Returns what a classic importer accepts: the scatter-gather table,
/// peer-to-peer capable if it said so, honouring invalidation if it
/// implements it.
///
/// # Safety
///
/// `attach` is a live attachment whose importer fields are set.
unsafe fn classic_accepts(attach: *mut bindings::dma_buf_attachment) -> Result<AcceptList> {
    // SAFETY: Guaranteed by the caller; the fields are set before `attach`
    // is called and never change.
    let (p2p, revocable) = unsafe {
        (
            (*attach).peer2peer,
            bindings::dma_buf_attach_revocable(attach),
        )
    };
    let mut accepts = AcceptList::new();
    accepts
        .accept(
            &SGT,
            SgtAccept {
                allow_peer_to_peer: p2p,
            },
        )?
        .set_honours_invalidation(revocable);
    Ok(accepts)
}

/// Lets framework importers attach (they negotiated before attaching), and
/// classic importers if the buffer offers them the table.
///
/// Classic importers get `ENODEV` while access is revoked, and
/// `EOPNOTSUPP` if the buffer does not offer them the table.
///
/// # Safety
///
/// Called by the dma-buf core with a live buffer made by [`export()`] and a
/// new attachment.
unsafe extern "C" fn export_attach(
    dmabuf: *mut bindings::dma_buf,
    attach: *mut bindings::dma_buf_attachment,
) -> c_int {
    // SAFETY: The attachment is live and its importer fields are set.
    if is_framework_importer(unsafe { (*attach).importer_ops }) {
        return 0;
    }
    from_result(|| {
        // SAFETY: The dma-buf core holds a reference to the buffer.
        let core = ExportCore::of(unsafe { DmaBuf::from_raw(dmabuf) }).ok_or(EINVAL)?;
        if core.is_revoked() {
            return Err(ENODEV);
        }
        // SAFETY: As above.
        let accepts = unsafe { classic_accepts(attach) }?;
        // SAFETY: The importer's device outlives its attachment.
        let dev = unsafe { Device::from_raw((*attach).dev) };
        let offer = negotiate(&core.offers, &accepts, dev)?.offer;
        if !core.offers.type_at(offer).is(&SGT) {
            return Err(EOPNOTSUPP);
        }
        let accepted = *accepts.info(&SGT).ok_or(EINVAL)?;
        let state = KBox::new(
            ClassicAttach {
                accepted,
                mappings: KVec::new(),
            },
            GFP_KERNEL,
        )?;
        // SAFETY: `priv` belongs to the exporter; `export_detach` frees it.
        unsafe { (*attach).priv_ = KBox::into_raw(state).cast() };
        Ok(0)
    })
}

/// Frees what `export_attach` kept for a classic importer.
///
/// An importer should unmap before it detaches; one that did not has its
/// mappings ended here, as its unmaps would have, so that no revoke waits
/// for them forever.
///
/// # Safety
///
/// Called by the dma-buf core, without the reservation lock, with a live
/// attachment of a buffer made by [`export()`] that is no longer on the
/// buffer's list, once; the importer holds a reference to the buffer.
unsafe extern "C" fn export_detach(
    dmabuf: *mut bindings::dma_buf,
    attach: *mut bindings::dma_buf_attachment,
) {
    // SAFETY: The attachment is live; `priv` is ours.
    let state = unsafe { (*attach).priv_ };
    if state.is_null() {
        return;
    }
    // SAFETY: `export_attach` set it to a boxed `ClassicAttach`; the
    // attachment is off the buffer's list, so nothing else uses it now.
    let mut state = unsafe { KBox::from_raw(state.cast::<ClassicAttach>()) };
    if state.mappings.is_empty() {
        return;
    }
    // SAFETY: The importer's reference keeps the buffer alive.
    let buf = unsafe { DmaBuf::from_raw(dmabuf) };
    // SAFETY: The importer's device outlives its attachment.
    let dev = unsafe { Device::from_raw((*attach).dev) };
    // Mappings end under the reservation lock, as in `export_unmap_dma_buf`.
    let _resv = buf.lock_resv();
    while let Some(mapped) = state.mappings.pop() {
        classic_unmapped(buf, dev, mapped);
    }
}

/// Ends a classic importer's mapping, with the reservation lock held.
fn classic_unmapped(buf: &DmaBuf, dev: &Device, mapped: Mapped) {
    // Dropping the mapping undoes it through the exporter.
    drop(mapped);
    if let Some(core) = ExportCore::of(buf) {
        core.unmapped_locked(dev);
    }
}

/// Maps the buffer for a classic importer through the table offer.
///
/// # Safety
///
/// Called by the dma-buf core with the reservation lock held and a live
/// attachment of a buffer made by [`export()`].
unsafe extern "C" fn export_map_dma_buf(
    attach: *mut bindings::dma_buf_attachment,
    dir: bindings::dma_data_direction,
) -> *mut bindings::sg_table {
    let result = (|| -> Result<*mut bindings::sg_table> {
        // SAFETY: The attachment is live and holds its buffer.
        let (dmabuf, state, dev) = unsafe { ((*attach).dmabuf, (*attach).priv_, (*attach).dev) };
        // Framework importers map through the framework, never here.
        let state = NonNull::new(state.cast::<ClassicAttach>()).ok_or(EINVAL)?;
        // SAFETY: The buffer is alive while attached.
        let buf = unsafe { DmaBuf::from_raw(dmabuf) };
        let core = ExportCore::of(buf).ok_or(EINVAL)?;
        // SAFETY: The dma-buf core calls this with the lock held.
        let resv = unsafe { ResvLocked::assume_held(buf) };
        let state = state.as_ptr();
        // SAFETY: `export_attach` set `priv` to a live `ClassicAttach`, which
        // `export_detach` frees only after the last map; `accepted` never
        // changes (type invariant), so a shared reference to that field may
        // live across the exporter's callback.
        let accepted = unsafe { &(*state).accepted };
        // SAFETY: The importer's device outlives its attachment.
        let dev = unsafe { Device::from_raw(dev) };
        let mapped = core.map_locked(&MapRequest {
            ty: TypeRef::from(&SGT),
            offers: &core.offers,
            accepted,
            dev,
            resv: &resv,
            // SAFETY: Not NULL: the dma-buf core passes a live attachment.
            attach: unsafe { NonNull::new_unchecked(attach) },
            dir,
        })?;
        let Some(table) = mapped
            .get::<super::interconnect::Sgt>()
            .map(SgtMapping::as_raw)
        else {
            // Dropping it undoes it: keep the count right.
            drop(mapped);
            core.unmapped_locked(dev);
            return Err(EINVAL);
        };
        // SAFETY: The reservation lock is held and the exporter has
        // returned: no other reference to `mappings` exists (type invariant).
        let mappings = unsafe { &mut (*state).mappings };
        if let Err(e) = mappings.push(mapped, GFP_KERNEL) {
            core.unmapped_locked(dev);
            return Err(e.into());
        }
        Ok(table)
    })();
    match result {
        Ok(table) => table,
        Err(e) => e.to_ptr(),
    }
}

/// Ends a classic importer's mapping.
///
/// # Safety
///
/// Called by the dma-buf core with the reservation lock held, a live
/// attachment and a table that `export_map_dma_buf` returned for it.
unsafe extern "C" fn export_unmap_dma_buf(
    attach: *mut bindings::dma_buf_attachment,
    sgt: *mut bindings::sg_table,
    _dir: bindings::dma_data_direction,
) {
    // SAFETY: The attachment is live and holds its buffer.
    let (dmabuf, state, dev) = unsafe { ((*attach).dmabuf, (*attach).priv_, (*attach).dev) };
    let Some(state) = NonNull::new(state.cast::<ClassicAttach>()) else {
        return;
    };
    // SAFETY: `priv` is a live `ClassicAttach` (see `export_map_dma_buf`);
    // the lock is held and no call into the exporter happens while this
    // reference to `mappings` lives (type invariant): the mapping is taken
    // out first and ended after.
    let mappings = unsafe { &mut (*state.as_ptr()).mappings };
    let found = mappings.iter().position(|m| {
        m.get::<super::interconnect::Sgt>()
            .is_some_and(|t| core::ptr::eq(t.as_raw(), sgt))
    });
    let Some(Ok(mapped)) = found.map(|index| mappings.remove(index)) else {
        return;
    };
    // SAFETY: The buffer is alive while attached, and the importer's device
    // outlives its attachment.
    let (buf, dev) = unsafe { (DmaBuf::from_raw(dmabuf), Device::from_raw(dev)) };
    classic_unmapped(buf, dev, mapped);
}

/// Detaches the buffer from its state and drops the buffer's reference.
///
/// # Safety
///
/// Called once by the dma-buf core when the last reference is gone, with
/// `priv` as set by [`export()`].
unsafe extern "C" fn export_release(dmabuf: *mut bindings::dma_buf) {
    // SAFETY: `priv` points to the core of the `Export<T>` that the buffer
    // holds a reference to until the end of this function.
    let core = unsafe { &*(*dmabuf).priv_.cast::<ExportCore>() };
    // INVARIANT: The buffer is about to be freed; `set_revoked` holds this
    // mutex while it uses the buffer.
    *core.buf.lock() = None;
    // Nobody can reach the buffer to learn about it any more.
    core.watchers.lock().clear();
    // The driver learns it without the `buf` mutex held: it may take its own
    // locks, which come before that mutex when it revokes.
    // SAFETY: By the type invariant of `ExportCore`, `released` matches
    // `priv`, whose `Export<T>` the buffer's reference keeps alive.
    unsafe { (core.released)(core) };
    // SAFETY: By the type invariant of `ExportCore`, `drop_export` matches
    // `priv`, and this is the only place that gives the reference up.
    unsafe { (core.drop_export)((*dmabuf).priv_) };
}

/// Exports a dma-buf of `size` bytes for the driver state `exporter`.
///
/// Returns the shared state, which the driver keeps to revoke access, and
/// the buffer, which it typically installs as a file descriptor.
/// Fails with `EINVAL` if `size` is zero or `offers` is empty.
///
/// # Examples
///
/// ```
/// # use kernel::prelude::*;
/// use core::sync::atomic::{AtomicBool, Ordering};
/// use kernel::dma_buf::{exporter::*, interconnect::*};
///
/// static DROPPED: AtomicBool = AtomicBool::new(false);
/// static RELEASED: AtomicBool = AtomicBool::new(false);
/// // SAFETY: The doctests are built into the kernel, whose modules are NULL.
/// static DOCTEST: kernel::ThisModule =
///     unsafe { kernel::ThisModule::from_ptr(core::ptr::null_mut()) };
/// struct Bar;
/// impl Exporter for Bar {
///     fn map(&self, _req: &MapRequest<'_>) -> Result<Mapped> {
///         Err(EIO) // Never attached in this example.
///     }
///     fn released(&self) {
///         RELEASED.store(true, Ordering::Relaxed);
///     }
/// }
/// struct Other;
/// impl Exporter for Other {
///     fn map(&self, _req: &MapRequest<'_>) -> Result<Mapped> {
///         Err(EIO)
///     }
/// }
/// impl Drop for Bar {
///     fn drop(&mut self) {
///         DROPPED.store(true, Ordering::Relaxed);
///     }
/// }
///
/// let mut offers = OfferList::new();
/// offers.offer(&PHYS_LIST, ())?.set_revocable(true);
/// let (state, buf) = export(Bar, offers, 8192, c"doctest", &DOCTEST)?;
/// assert_eq!(buf.size(), 8192);
/// assert!(state.has_buffer() && !state.is_revoked());
/// // The buffer leads back to its state.
/// let found = ExportCore::of(&buf).ok_or(EINVAL)?;
/// assert!(core::ptr::eq(found, &**state));
/// // ... and to the driver's state, but only for the driver's own type.
/// assert!(Export::<Bar>::of(&buf).is_some());
/// assert!(Export::<Other>::of(&buf).is_none());
///
/// state.revoke();
/// assert!(state.is_revoked());
/// state.unrevoke()?;
/// assert!(!state.is_revoked());
///
/// // The state outlives the buffer: it then only records revocation...
/// assert!(!RELEASED.load(Ordering::Relaxed));
/// drop(buf);
/// // SAFETY: Called from process context without locks held.
/// unsafe { kernel::bindings::flush_delayed_fput() };
/// assert!(!state.has_buffer() && RELEASED.load(Ordering::Relaxed));
/// state.revoke();
/// assert!(state.is_revoked() && !DROPPED.load(Ordering::Relaxed));
/// state.unrevoke()?;
/// // A permanent revoke cannot be undone.
/// state.revoke_permanently();
/// assert_eq!(state.unrevoke(), Err(ENODEV));
/// assert!(state.is_revoked());
/// // ... and the driver's state goes with the last reference.
/// drop(state);
/// assert!(DROPPED.load(Ordering::Relaxed));
///
/// // A zero-sized buffer is refused, and so is a buffer that offers nothing.
/// let mut offers = OfferList::new();
/// offers.offer(&PHYS_LIST, ())?;
/// assert_eq!(export(Bar, offers, 0, c"doctest", &DOCTEST).err(), Some(EINVAL));
/// let nothing = OfferList::new();
/// assert_eq!(export(Bar, nothing, 4096, c"doctest", &DOCTEST).err(), Some(EINVAL));
/// # Ok::<(), Error>(())
/// ```
pub fn export<T: Exporter>(
    exporter: T,
    offers: OfferList,
    size: usize,
    name: &'static CStr,
    owner: &'static ThisModule,
) -> Result<(Arc<Export<T>>, ARef<DmaBuf>)> {
    // The Rust API has no use for other file flags: the file is the
    // buffer's, and whoever installs it chooses the descriptor's flags.
    export_raw(exporter, offers, size, name, owner.as_ptr(), O_RDWR)
}

/// [`export()`] with the raw owner and file flags of `dma_buf_export_info`.
pub(crate) fn export_raw<T: Exporter>(
    exporter: T,
    offers: OfferList,
    size: usize,
    name: &'static CStr,
    owner: *mut bindings::module,
    flags: c_int,
) -> Result<(Arc<Export<T>>, ARef<DmaBuf>)> {
    if size == 0 {
        return Err(EINVAL);
    }
    offers.check()?;
    let state = Arc::pin_init(
        try_pin_init!(Export {
            core <- ExportCore::new(
                offers,
                TypeId::of::<T>(),
                Export::<T>::drop_export,
                Export::<T>::map,
                Export::<T>::released,
            ),
            exporter,
        }),
        GFP_KERNEL,
    )?;

    // SAFETY: Every field of the export info may be zero.
    let mut info: bindings::dma_buf_export_info = unsafe { core::mem::zeroed() };
    info.exp_name = name.as_char_ptr();
    // The module of the exporter's code, which the buffer's release runs.
    info.owner = owner;
    info.ops = &EXPORT_OPS;
    info.size = size;
    info.flags = flags;
    // The buffer's reference; `priv` points at the `Export<T>`, whose
    // `#[repr(C)]` layout puts the core first.
    info.priv_ = Arc::into_raw(state.clone()) as *mut _;

    // SAFETY: `info` describes a buffer with the mandatory callbacks.
    let raw = match from_err_ptr(unsafe { bindings::dma_buf_export(&info) }) {
        Ok(raw) => raw,
        Err(e) => {
            // SAFETY: The export failed, so the release callback will never
            // reclaim the reference handed over in `priv_`.
            drop(unsafe { Arc::<Export<T>>::from_raw(info.priv_.cast()) });
            return Err(e);
        }
    };
    // INVARIANT: The buffer exists and belongs to this state.
    *state.core.buf.lock() = NonNull::new(raw);
    // SAFETY: `dma_buf_export` returned a live buffer with one reference,
    // which is now ours.
    let buf = unsafe { ARef::from_raw(NonNull::new_unchecked(raw.cast())) };
    Ok((state, buf))
}
