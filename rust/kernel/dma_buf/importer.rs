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
    exporter::ExportCore,
    interconnect::{negotiate, AcceptList, OfferList, SgtOffer, TypeRef, SGT},
    DmaBuf, ResvLocked,
};
use crate::{bindings, device::Device, error::from_err_ptr, prelude::*, types::ARef};
use core::ptr::NonNull;

/// The driver side of an importer.
pub trait Importer: Send + Sync + 'static {
    /// Stops every access to the buffer through this attachment.
    ///
    /// Called when the exporter revokes access or moves the buffer, with the
    /// buffer's reservation lock held. When it returns, no CPU and no device
    /// may reach the buffer's memory through this importer any more. It may
    /// take the importer's own locks, which come after the reservation lock.
    /// It must not map again (the importer's user decides when to), and it
    /// must not drop the [`Attachment`]: detaching takes the reservation lock.
    fn invalidate(&self, resv: &ResvLocked<'_>);
}

/// The `dma_buf_attach_ops` of every attachment made by [`attach`]; its
/// address tells the framework's importers from others.
pub(crate) static IMPORT_OPS: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
    // Peer-to-peer use of other exporters' buffers goes through negotiation
    // once the scatter-gather path supports it; until then, refuse it.
    allow_peer2peer: false,
    move_notify: Some(import_move_notify),
};

/// The part of an attachment that does not depend on the importer.
///
/// # Invariants
///
/// `invalidate` is `invalidate_adapter::<T>` for the `T` of the
/// [`AttachInner`] that starts with this core.
struct AttachCore {
    negotiated: TypeRef,
    invalidate: unsafe fn(*const AttachCore, &ResvLocked<'_>),
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

/// Called by the dma-buf core, with the reservation lock held, when the
/// exporter invalidates its attachments.
///
/// # Safety
///
/// `attach` is a live attachment made by [`attach`].
unsafe extern "C" fn import_move_notify(attach: *mut bindings::dma_buf_attachment) {
    // SAFETY: `attach` is live; `attach` (the function) set `importer_priv`
    // to the core of an `AttachInner` that outlives the attachment.
    let attach_core = unsafe { &*(*attach).importer_priv.cast::<AttachCore>() };
    // SAFETY: The attachment holds its buffer alive.
    let buf = unsafe { DmaBuf::from_raw((*attach).dmabuf) };
    // SAFETY: The dma-buf core calls `move_notify` with the reservation lock
    // held (`dma_buf_move_notify` asserts it).
    let resv = unsafe { ResvLocked::assume_held(buf) };
    // SAFETY: By the type invariant of `AttachCore`, `invalidate` matches
    // the attachment's importer type.
    unsafe { (attach_core.invalidate)(attach_core, &resv) };
}

/// An importer's attachment to a dma-buf; detaches on drop.
///
/// # Invariants
///
/// `raw` is an attachment of `buf` made by `dma_buf_dynamic_attach` with
/// `IMPORT_OPS` and `importer_priv` pointing to `inner.core`; it stays
/// attached until `drop`, and `inner` does not move while it is.
pub struct Attachment<T: Importer> {
    inner: KBox<AttachInner<T>>,
    raw: NonNull<bindings::dma_buf_attachment>,
    buf: ARef<DmaBuf>,
}

// SAFETY: The raw attachment is only detached in `drop`; the other fields
// are `Send`.
unsafe impl<T: Importer> Send for Attachment<T> {}
// SAFETY: Shared access reads immutable fields only.
unsafe impl<T: Importer> Sync for Attachment<T> {}

impl<T: Importer> Attachment<T> {
    /// Returns the interconnect negotiated at attach time; it never changes.
    pub fn negotiated(&self) -> TypeRef {
        self.inner.core.negotiated
    }

    /// Returns the importer's state.
    pub fn importer(&self) -> &T {
        &self.inner.importer
    }

    /// Returns the attached buffer.
    pub fn buf(&self) -> &DmaBuf {
        &self.buf
    }
}

impl<T: Importer> Drop for Attachment<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `raw` is attached to `buf`. Detaching
        // takes the reservation lock, so no invalidation runs on `inner`
        // after this returns.
        unsafe { bindings::dma_buf_detach(self.buf.as_raw(), self.raw.as_ptr()) };
    }
}

/// What a buffer of another exporter offers: the classic scatter-gather
/// table, revocable if the exporter can move the buffer (it has `pin`).
fn foreign_offers(buf: &DmaBuf) -> Result<OfferList> {
    // SAFETY: By the type invariant of `DmaBuf` the buffer is alive, and its
    // ops are set once at export time.
    let dynamic = unsafe { (*(*buf.as_raw()).ops).pin.is_some() };
    OfferList::builder()
        .offer(&SGT, SgtOffer::default())?
        .revocable(dynamic)
        .build()
}

/// Attaches `dev` to `buf` through the first interconnect that the exporter
/// offers and `accepts` accepts.
///
/// Fails with `EOPNOTSUPP` if there is none, or if the buffer is revocable
/// and the importer does not honour invalidation; nothing is attached then.
///
/// # Examples
///
/// ```
/// # use kernel::prelude::*;
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use kernel::{bindings, c_str, device::Device};
/// use kernel::dma_buf::{exporter::*, importer::*, interconnect::*, ResvLocked};
///
/// struct Bar;
/// impl Exporter for Bar {}
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
/// let name = c_str!("dmabuf_doctest").as_char_ptr();
/// // SAFETY: The name is a valid string; no module owns the device.
/// let raw = unsafe { bindings::__root_device_register(name, core::ptr::null_mut()) };
/// let raw = kernel::error::from_err_ptr(raw)?;
/// // SAFETY: The device is registered until `root_device_unregister` below.
/// let dev = unsafe { Device::as_ref(raw) };
///
/// let offers = OfferList::builder()
///     .offer(&PHYS_LIST, ())?
///     .offer(&SGT, SgtOffer { peer_to_peer: true })?
///     .revocable(true)
///     .build()?;
/// let (state, buf) = export(Bar, offers, 4096, c_str!("doctest"))?;
///
/// let accepts = AcceptList::builder().accept(&PHYS_LIST, ())?.honours_invalidation(true);
/// let a = attach(&buf, dev, accepts.build()?, Iommu::default())?;
/// assert!(a.negotiated().is(&PHYS_LIST));
/// assert_eq!(buf.lock_resv().attachment_count(), 1);
///
/// // Refused, and nothing left attached: no common interconnect...
/// let sgt_only = AcceptList::builder().accept(&SGT, SgtAccept::default())?;
/// let e = attach(&buf, dev, sgt_only.honours_invalidation(true).build()?, Iommu::default());
/// assert_eq!(e.err(), Some(EOPNOTSUPP));
/// // ... or an importer that cannot be invalidated.
/// let phys = AcceptList::builder().accept(&PHYS_LIST, ())?.build()?;
/// assert_eq!(attach(&buf, dev, phys, Iommu::default()).err(), Some(EOPNOTSUPP));
/// assert_eq!(buf.lock_resv().attachment_count(), 1);
///
/// // Revoke invalidates once; unrevoke calls nobody: no automatic remap.
/// state.revoke();
/// state.revoke();
/// assert_eq!(a.importer().invalidated.load(Ordering::Relaxed), 1);
/// state.unrevoke();
/// assert_eq!(a.importer().invalidated.load(Ordering::Relaxed), 1);
///
/// drop(a);
/// assert_eq!(buf.lock_resv().attachment_count(), 0);
/// drop(buf);
/// // SAFETY: `raw` was registered above and has no other user.
/// unsafe { bindings::root_device_unregister(raw) };
/// # Ok::<(), Error>(())
/// ```
pub fn attach<T: Importer>(
    buf: &DmaBuf,
    dev: &Device,
    accepts: AcceptList,
    importer: T,
) -> Result<Attachment<T>> {
    let foreign;
    let offers = match ExportCore::of(buf) {
        Some(export) => export.offers(),
        None => {
            foreign = foreign_offers(buf)?;
            &foreign
        }
    };
    let negotiated = offers.type_at(negotiate(offers, &accepts)?.offer);

    // INVARIANT: `invalidate_adapter::<T>` matches `importer`.
    let inner = KBox::new(
        AttachInner {
            core: AttachCore {
                negotiated,
                invalidate: invalidate_adapter::<T>,
            },
            importer,
        },
        GFP_KERNEL,
    )?;
    let priv_ = core::ptr::from_ref(&inner.core).cast_mut().cast();
    // SAFETY: `buf` and `dev` are alive; `IMPORT_OPS` is static and `priv_`
    // stays valid until the attachment is detached in `Attachment::drop`.
    let raw = from_err_ptr(unsafe {
        bindings::dma_buf_dynamic_attach(buf.as_raw(), dev.as_raw(), &IMPORT_OPS, priv_)
    })?;
    // INVARIANT: `raw` was just attached as described; `inner` is boxed and
    // moves with its box only.
    Ok(Attachment {
        inner,
        // SAFETY: `from_err_ptr` succeeded, so `raw` is not NULL.
        raw: unsafe { NonNull::new_unchecked(raw) },
        buf: buf.into(),
    })
}
