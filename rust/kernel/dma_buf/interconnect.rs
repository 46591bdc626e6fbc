// SPDX-License-Identifier: GPL-2.0

//! Interconnect negotiation between a dma-buf exporter and an importer.
//!
//! An *interconnect* is one way for an importer to reach the memory of a
//! dma-buf: a DMA-mapped scatter-gather table ([`Sgt`]), a list of physical
//! MMIO ranges for importers that program an IOMMU themselves ([`PhysList`]),
//! or a private link between two drivers. Each interconnect is a `static`
//! [`InterconnectType`]; its address is its identity, so a driver adds a new
//! interconnect by declaring a static of its own, without touching this file.
//!
//! The exporter offers an ordered [`OfferList`] (first entry preferred), the
//! importer states what it accepts in an [`AcceptList`]. [`negotiate`] picks
//! the first offer that the importer accepts and whose type-specific
//! [`Interconnect::matches`] agrees. Listing [`Sgt`] last on both sides is how
//! a pair falls back to the classic path.

use super::exporter::Mapped;
use crate::{
    alloc::{flags::GFP_KERNEL, KBox},
    bindings,
    device::Device,
    error::{code::*, Result},
    str::{CStr, CStrExt},
    sync::aref::ARef,
};
use core::{any::Any, marker::PhantomData, mem::MaybeUninit};

/// Type-erased information of one side about an interconnect.
pub(crate) type AnyInfo = KBox<dyn Any + Send + Sync>;

/// The behaviour of one interconnect.
///
/// Implemented by a marker type; the interconnect itself is a `static`
/// [`InterconnectType`] of that marker.
pub trait Interconnect: Sized + Send + Sync + 'static {
    /// What an exporter states when it offers this interconnect, for
    /// example the p2pdma provider of a PCI BAR.
    type Offer: Send + Sync + 'static;

    /// What an importer states when it accepts this interconnect, for
    /// example the device that will access the memory.
    type Accept: Send + Sync + 'static;

    /// What the importer holds while it has the buffer mapped through this
    /// interconnect, for example the list of physical ranges.
    ///
    /// Dropping it ends the mapping: its `Drop` releases whatever the
    /// exporter set up (for example a DMA mapping). The core drops it with
    /// the reservation lock held, when the importer unmaps, when it is
    /// invalidated, and at the latest when its attachment goes away.
    type Mapping: Send + Sync + 'static;

    /// Decides whether this offer and this acceptance can work together
    /// for the importer's device `importer`, for example whether that device
    /// can reach the exporter's PCI BAR.
    ///
    /// Called during negotiation only for entries of this interconnect; an
    /// offer that does not match is skipped, so the importer falls back to
    /// the next one it accepts.
    fn matches(_offer: &Self::Offer, _accept: &Self::Accept, _importer: &Device) -> bool {
        true
    }

    /// Checks a mapping that an exporter made before the importer sees it,
    /// for example that physical ranges cover the buffer's `buf_size`
    /// bytes exactly. Called with the reservation lock held.
    fn check_mapping(_mapping: &Self::Mapping, _buf_size: usize) -> Result {
        Ok(())
    }

    /// Returns the `DMA_BUF_IC_OFFER_*` flags with which
    /// `DMA_BUF_IOCTL_IC_INFO` reports this offer to userspace.
    fn offer_flags(_offer: &Self::Offer) -> u32 {
        0
    }

    /// Decodes the `data` of a C `struct dma_buf_ic_entry` that offers this
    /// interconnect, for a buffer whose memory belongs to `provider` (the
    /// `provider` of `struct dma_buf_ic_export_info`, if the exporter named
    /// one). Interconnects that C code cannot use refuse with `EINVAL`, the
    /// default.
    fn offer_from_c(_data: u64, _provider: Option<&Device>) -> Result<Self::Offer> {
        Err(EINVAL)
    }

    /// Decodes the `data` of a C `struct dma_buf_ic_entry` that accepts this
    /// interconnect; `EINVAL` by default, as for [`Self::offer_from_c`].
    /// Interconnects that C importers may not accept through the generic
    /// entry points refuse with `EPERM`.
    fn accept_from_c(_data: u64) -> Result<Self::Accept> {
        Err(EINVAL)
    }
}

/// A unique interconnect, identified by the address of its `static`.
///
/// # Examples
///
/// A driver-private interconnect, declared outside the core:
///
/// ```
/// use kernel::device::Device;
/// use kernel::dma_buf::interconnect::{Interconnect, InterconnectType};
///
/// struct MyLink;
/// impl Interconnect for MyLink {
///     type Offer = u32; // The exporter's link id.
///     type Accept = u32; // The link id the importer is plugged into.
///     type Mapping = u64; // The buffer's address on the link.
///     fn matches(offer: &u32, accept: &u32, _importer: &Device) -> bool {
///         offer == accept
///     }
/// }
/// static MY_LINK: InterconnectType<MyLink> = InterconnectType::new(c"my-link");
/// assert_eq!(MY_LINK.name().to_bytes(), b"my-link");
/// ```
///
/// # Invariants
///
/// `c` starts the object, so that its address is also that of a
/// `struct dma_buf_ic_type` for C code; `c.name` is `name` and `c.match_`
/// is `None`.
#[repr(C)]
pub struct InterconnectType<I: Interconnect> {
    c: bindings::dma_buf_ic_type,
    name: &'static CStr,
    _marker: PhantomData<I>,
}

// SAFETY: The C view only points to the static name; nothing is mutable.
unsafe impl<I: Interconnect> Sync for InterconnectType<I> {}
// SAFETY: As for `Sync`.
unsafe impl<I: Interconnect> Send for InterconnectType<I> {}

impl<I: Interconnect> InterconnectType<I> {
    /// Creates an interconnect type; use it only to initialise a `static`.
    pub const fn new(name: &'static CStr) -> Self {
        // INVARIANT: `c` is first (`#[repr(C)]`) and mirrors `name`.
        Self {
            c: bindings::dma_buf_ic_type {
                name: crate::str::as_char_ptr_in_const_context(name),
                match_: None,
            },
            name,
            _marker: PhantomData,
        }
    }

    /// Returns the name of the interconnect.
    pub fn name(&self) -> &'static CStr {
        self.name
    }
}

/// An interconnect type with its marker type erased, as stored in lists.
///
/// Every method is one of the [`Interconnect`] hooks on type-erased values,
/// so the core handles every interconnect alike, built-in ones included.
pub trait AnyInterconnect: Send + Sync {
    /// Returns the name of the interconnect.
    fn name(&self) -> &'static CStr;

    /// Calls [`Interconnect::matches`] on type-erased arguments; `false`
    /// when either argument is not of this interconnect's types.
    fn matches_any(&self, offer: &dyn Any, accept: &dyn Any, importer: &Device) -> bool;

    /// Calls [`Interconnect::check_mapping`]; `EINVAL` for a mapping that
    /// is not of this interconnect's type.
    fn check_mapping_any(&self, mapping: &Mapped, buf_size: usize) -> Result;

    /// Calls [`Interconnect::offer_flags`]; 0 for a foreign offer.
    fn offer_flags_any(&self, offer: &dyn Any) -> u32;

    /// Calls [`Interconnect::offer_from_c`] (with the buffer's `provider`)
    /// or, for `accept`, [`Interconnect::accept_from_c`], and boxes the
    /// result.
    fn info_from_c(&self, data: u64, accept: bool, provider: Option<&Device>) -> Result<AnyInfo>;
}

impl<I: Interconnect> AnyInterconnect for InterconnectType<I> {
    fn name(&self) -> &'static CStr {
        self.name
    }

    fn matches_any(&self, offer: &dyn Any, accept: &dyn Any, importer: &Device) -> bool {
        match (
            offer.downcast_ref::<I::Offer>(),
            accept.downcast_ref::<I::Accept>(),
        ) {
            (Some(offer), Some(accept)) => I::matches(offer, accept, importer),
            _ => false,
        }
    }

    fn check_mapping_any(&self, mapping: &Mapped, buf_size: usize) -> Result {
        I::check_mapping(mapping.get::<I>().ok_or(EINVAL)?, buf_size)
    }

    fn offer_flags_any(&self, offer: &dyn Any) -> u32 {
        offer.downcast_ref().map_or(0, I::offer_flags)
    }

    fn info_from_c(&self, data: u64, accept: bool, provider: Option<&Device>) -> Result<AnyInfo> {
        let info: AnyInfo = if accept {
            KBox::new(I::accept_from_c(data)?, GFP_KERNEL)?
        } else {
            KBox::new(I::offer_from_c(data, provider)?, GFP_KERNEL)?
        };
        Ok(info)
    }
}

/// An interconnect defined in C (`include/linux/dma-buf-interconnect.h`):
/// both sides state a `u64`, and the type's optional `match` decides.
///
/// # Invariants
///
/// The object is a static `struct dma_buf_ic_type` with a static name.
#[repr(transparent)]
pub(crate) struct CType(bindings::dma_buf_ic_type);

// SAFETY: By the type invariant the object is static and never written;
// its `match` callback may be called from any thread.
unsafe impl Sync for CType {}
// SAFETY: As for `Sync`.
unsafe impl Send for CType {}

impl CType {
    /// Views a C-defined interconnect.
    ///
    /// # Safety
    ///
    /// `ty` is a static object, never written, with a static name, and not
    /// the C view of an [`InterconnectType`].
    pub(crate) unsafe fn from_c(ty: &'static bindings::dma_buf_ic_type) -> TypeRef {
        // SAFETY: `CType` is a transparent wrapper of the C type.
        let ty = unsafe { &*core::ptr::from_ref(ty).cast::<CType>() };
        // INVARIANT: Guaranteed by the caller.
        TypeRef(ty)
    }
}

impl AnyInterconnect for CType {
    fn name(&self) -> &'static CStr {
        // SAFETY: By the type invariant the name is a static string.
        unsafe { CStr::from_char_ptr(self.0.name) }
    }

    fn matches_any(&self, offer: &dyn Any, accept: &dyn Any, _importer: &Device) -> bool {
        match (offer.downcast_ref::<u64>(), accept.downcast_ref::<u64>()) {
            // SAFETY: `match` is a C function taking two `u64`s.
            (Some(&o), Some(&a)) => self.0.match_.is_none_or(|m| unsafe { m(o, a) }),
            _ => false,
        }
    }

    fn check_mapping_any(&self, _mapping: &Mapped, _buf_size: usize) -> Result {
        // A C-defined mapping is an opaque cookie of its exporter.
        Ok(())
    }

    fn offer_flags_any(&self, _offer: &dyn Any) -> u32 {
        0
    }

    fn info_from_c(&self, data: u64, _accept: bool, _provider: Option<&Device>) -> Result<AnyInfo> {
        let info: AnyInfo = KBox::new(data, GFP_KERNEL)?;
        Ok(info)
    }
}

/// A reference to a unique interconnect type, compared by address.
///
/// # Invariants
///
/// The object it refers to is an [`InterconnectType`] or a C
/// `struct dma_buf_ic_type`; either way it starts with a
/// `struct dma_buf_ic_type`.
#[derive(Clone, Copy)]
pub struct TypeRef(&'static dyn AnyInterconnect);

impl TypeRef {
    /// Returns the interconnect as C code sees it.
    pub(crate) fn as_c(self) -> *const bindings::dma_buf_ic_type {
        // By the type invariant the object starts with the C view.
        core::ptr::from_ref::<dyn AnyInterconnect>(self.0).cast()
    }

    /// Returns the name of the interconnect.
    pub fn name(self) -> &'static CStr {
        self.0.name()
    }

    /// Returns true if `self` is the interconnect `ty`.
    pub fn is<I: Interconnect>(self, ty: &'static InterconnectType<I>) -> bool {
        self == TypeRef(ty)
    }

    /// Returns the type-erased hooks of the interconnect.
    pub(crate) fn hooks(self) -> &'static dyn AnyInterconnect {
        self.0
    }
}

impl PartialEq for TypeRef {
    fn eq(&self, other: &Self) -> bool {
        // Compare the data addresses only: vtable addresses of the same
        // type may differ between codegen units.
        core::ptr::eq(
            core::ptr::from_ref::<dyn AnyInterconnect>(self.0).cast::<u8>(),
            core::ptr::from_ref::<dyn AnyInterconnect>(other.0).cast::<u8>(),
        )
    }
}

impl Eq for TypeRef {}

impl core::fmt::Debug for TypeRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.name().to_str().unwrap_or("?"))
    }
}

impl<I: Interconnect> From<&'static InterconnectType<I>> for TypeRef {
    fn from(ty: &'static InterconnectType<I>) -> Self {
        // INVARIANT: An `InterconnectType`.
        TypeRef(ty)
    }
}

/// One entry of a list: an interconnect and what its side states about it.
pub(crate) struct Entry {
    ty: TypeRef,
    info: AnyInfo,
}

impl Entry {
    /// An entry of any interconnect with already type-erased information.
    pub(crate) fn raw(ty: TypeRef, info: AnyInfo) -> Self {
        Self { ty, info }
    }

    fn new<I: Interconnect, T: Send + Sync + 'static>(
        ty: &'static InterconnectType<I>,
        info: T,
    ) -> Result<Self> {
        let info: AnyInfo = KBox::new(info, GFP_KERNEL)?;
        Ok(Self {
            ty: TypeRef(ty),
            info,
        })
    }
}

/// The most entries an offer or accept list holds (`DMA_BUF_IC_MAX_ENTRIES`
/// for C code).
///
/// More than the distinct interconnects any exporter or importer has a use
/// for, and few enough that a list lives inline, on the stack while it is
/// built: negotiating allocates nothing for the lists themselves.
pub const MAX_ENTRIES: usize = bindings::DMA_BUF_IC_MAX_ENTRIES as usize;

/// A list of interconnect entries without duplicates.
///
/// The slots past the last entry are left uninitialised: a list costs
/// nothing to make, and dropping it drops only the entries it has.
///
/// # Invariants
///
/// `len <= MAX_ENTRIES`, the first `len` slots of `entries` are initialised,
/// and no two of them have the same type.
struct List {
    entries: [MaybeUninit<Entry>; MAX_ENTRIES],
    len: usize,
}

impl List {
    #[inline]
    fn new() -> Self {
        // INVARIANT: No entries.
        Self {
            entries: [const { MaybeUninit::uninit() }; MAX_ENTRIES],
            len: 0,
        }
    }

    #[inline]
    fn push(&mut self, entry: Entry) -> Result {
        if self.len == MAX_ENTRIES || self.iter().any(|e| e.ty == entry.ty) {
            return Err(EINVAL);
        }
        // INVARIANT: The slot after the last entry, within bounds (checked
        // above), gets the new, distinct entry, and then counts. Nothing was
        // in it: it was past the last entry.
        self.entries[self.len].write(entry);
        self.len += 1;
        Ok(())
    }

    /// Fails with `EINVAL` if the list is empty.
    fn check(&self) -> Result {
        if self.len == 0 {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Returns the entries.
    #[inline]
    fn as_slice(&self) -> &[Entry] {
        let init = &self.entries[..self.len];
        // SAFETY: By the type invariant the first `len` slots are
        // initialised, and `MaybeUninit<Entry>` has the size and alignment of
        // `Entry`, so `init` is a valid slice of `len` entries; the shared
        // borrow of `self` keeps them initialised while the slice lives.
        unsafe { &*(core::ptr::from_ref(init) as *const [Entry]) }
    }

    fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.as_slice().iter()
    }

    fn types(&self) -> impl Iterator<Item = TypeRef> + '_ {
        self.iter().map(|e| e.ty)
    }

    fn info<T: 'static>(&self, ty: TypeRef) -> Option<&T> {
        self.raw_info(ty).and_then(|info| info.downcast_ref())
    }

    fn raw_info(&self, ty: TypeRef) -> Option<&(dyn Any + Send + Sync)> {
        self.iter().find(|e| e.ty == ty).map(|e| &*e.info)
    }

    /// Returns the entry at `index`.
    ///
    /// # Panics
    ///
    /// Panics if `index` is out of bounds; indices come from [`negotiate`].
    #[inline]
    fn at(&self, index: usize) -> &Entry {
        match self.as_slice().get(index) {
            Some(entry) => entry,
            None => panic!("no interconnect entry {index}"),
        }
    }

    /// Takes the information of the entry at `index` and empties the list.
    ///
    /// # Panics
    ///
    /// As for [`List::at`]; the list is left as it was then.
    #[inline]
    fn take_info(&mut self, index: usize) -> AnyInfo {
        let len = self.len;
        if index >= len {
            panic!("no interconnect entry {index}");
        }
        // INVARIANT: No entries; each of the old ones is read or dropped
        // below, once.
        self.len = 0;
        // `MaybeUninit<Entry>` has the size and alignment of `Entry`.
        let slots = self.entries.as_mut_ptr().cast::<Entry>();
        // SAFETY: By the type invariant the first `len` slots, within the
        // array, were initialised, `index` among them (checked above); with
        // `len` now 0 nothing reads or drops them again but these lines,
        // which take the winner and drop the slots before and after it.
        unsafe {
            let taken = slots.add(index).read();
            core::ptr::slice_from_raw_parts_mut(slots, index).drop_in_place();
            core::ptr::slice_from_raw_parts_mut(slots.add(index + 1), len - index - 1)
                .drop_in_place();
            taken.info
        }
    }

    /// Drops every entry.
    fn clear(&mut self) {
        let len = self.len;
        // INVARIANT: No entries; the slots are dropped below, each once.
        self.len = 0;
        // `MaybeUninit<Entry>` has the size and alignment of `Entry`.
        let slots = self.entries.as_mut_ptr().cast::<Entry>();
        // SAFETY: By the type invariant the first `len` slots, within the
        // array, were initialised; with `len` now 0 nothing reads or drops
        // them again.
        unsafe { core::ptr::slice_from_raw_parts_mut(slots, len).drop_in_place() };
    }
}

impl Drop for List {
    fn drop(&mut self) {
        self.clear();
    }
}

/// What an exporter offers, in its order of preference.
///
/// Built in place: [`OfferList::offer`] appends an entry and returns the
/// list again, so calls chain. [`export`](super::exporter::export) refuses
/// an empty list.
///
/// # Examples
///
/// ```
/// # use kernel::prelude::*;
/// use kernel::dma_buf::interconnect::*;
///
/// let mut offers = OfferList::new();
/// offers
///     .offer(&PHYS_LIST, ())?
///     .offer(&SGT, SgtOffer::default())?
///     .set_revocable(true);
/// assert!(offers.revocable());
/// assert_eq!(offers.types().count(), 2);
///
/// // Duplicates are refused, and leave the list as it was.
/// assert_eq!(offers.offer(&SGT, SgtOffer::default()).err(), Some(EINVAL));
/// assert_eq!(offers.types().count(), 2);
///
/// // So are more than `MAX_ENTRIES` entries (each static is a distinct
/// // interconnect, whatever its marker type).
/// struct Link;
/// impl Interconnect for Link {
///     type Offer = ();
///     type Accept = ();
///     type Mapping = ();
/// }
/// static LINKS: [InterconnectType<Link>; MAX_ENTRIES + 1] =
///     [const { InterconnectType::new(c"doctest-link") }; MAX_ENTRIES + 1];
/// let mut full = AcceptList::new();
/// for link in &LINKS[..MAX_ENTRIES] {
///     full.accept(link, ())?;
/// }
/// assert_eq!(full.accept(&LINKS[MAX_ENTRIES], ()).err(), Some(EINVAL));
/// assert_eq!(full.types().count(), MAX_ENTRIES);
/// # Ok::<(), Error>(())
/// ```
pub struct OfferList {
    list: List,
    revocable: bool,
}

impl Default for OfferList {
    fn default() -> Self {
        Self::new()
    }
}

impl OfferList {
    /// Starts an empty, non-revocable offer list.
    pub fn new() -> Self {
        Self {
            list: List::new(),
            revocable: false,
        }
    }

    /// Appends an offer of `ty`; fails with `EINVAL` if `ty` is already there
    /// or the list holds [`MAX_ENTRIES`] offers.
    pub fn offer<I: Interconnect>(
        &mut self,
        ty: &'static InterconnectType<I>,
        info: I::Offer,
    ) -> Result<&mut Self> {
        self.list.push(Entry::new(ty, info)?)?;
        Ok(self)
    }

    /// Appends an entry built by the C interface; fails as
    /// [`OfferList::offer`] does.
    pub(crate) fn offer_raw(&mut self, entry: Entry) -> Result {
        self.list.push(entry)
    }

    /// Sets whether the exporter may revoke access to the buffer.
    pub fn set_revocable(&mut self, revocable: bool) -> &mut Self {
        self.revocable = revocable;
        self
    }

    /// Returns true if the exporter may revoke access to the buffer.
    pub fn revocable(&self) -> bool {
        self.revocable
    }

    /// Fails with `EINVAL` if nothing is offered.
    pub(crate) fn check(&self) -> Result {
        self.list.check()
    }

    /// Returns the offered interconnects in order of preference.
    pub fn types(&self) -> impl Iterator<Item = TypeRef> + '_ {
        self.list.types()
    }

    /// Returns what the exporter stated for the offer of `ty`, if offered.
    pub fn info<I: Interconnect>(&self, ty: &'static InterconnectType<I>) -> Option<&I::Offer> {
        self.list.info(TypeRef(ty))
    }

    /// Returns the `DMA_BUF_IC_OFFER_*` flags of the offer of `ty`.
    pub(crate) fn flags(&self, ty: TypeRef) -> u32 {
        self.list
            .raw_info(ty)
            .map_or(0, |info| ty.0.offer_flags_any(info))
    }
}

/// What an importer accepts, and whether it honours invalidation.
///
/// An importer that honours invalidation stops every access to the buffer
/// before its invalidate callback returns (or its `invalidate_done`, see
/// [`Importer`](super::importer::Importer)); only such importers may attach
/// to a revocable buffer.
///
/// Built in place, as an [`OfferList`] is; [`negotiate`] refuses an empty
/// list.
pub struct AcceptList {
    list: List,
    honours_invalidation: bool,
}

impl Default for AcceptList {
    fn default() -> Self {
        Self::new()
    }
}

impl AcceptList {
    /// Starts an empty accept list of an importer that cannot be invalidated.
    pub fn new() -> Self {
        Self {
            list: List::new(),
            honours_invalidation: false,
        }
    }

    /// Accepts `ty`; fails with `EINVAL` if `ty` is already accepted or the
    /// list holds [`MAX_ENTRIES`] entries.
    pub fn accept<I: Interconnect>(
        &mut self,
        ty: &'static InterconnectType<I>,
        info: I::Accept,
    ) -> Result<&mut Self> {
        self.list.push(Entry::new(ty, info)?)?;
        Ok(self)
    }

    /// Appends an entry built by the C interface; fails as
    /// [`AcceptList::accept`] does.
    #[inline]
    pub(crate) fn accept_raw(&mut self, entry: Entry) -> Result {
        self.list.push(entry)
    }

    /// Declares whether the importer stops all access when invalidated.
    pub fn set_honours_invalidation(&mut self, honours: bool) -> &mut Self {
        self.honours_invalidation = honours;
        self
    }

    /// Returns true if the importer stops all access when invalidated.
    pub fn honours_invalidation(&self) -> bool {
        self.honours_invalidation
    }

    /// Returns the accepted interconnects.
    pub fn types(&self) -> impl Iterator<Item = TypeRef> + '_ {
        self.list.types()
    }

    /// Returns what the importer stated for `ty`, if it accepts it.
    pub fn info<I: Interconnect>(&self, ty: &'static InterconnectType<I>) -> Option<&I::Accept> {
        self.list.info(TypeRef(ty))
    }

    /// Returns the type of the accepted entry at `index`.
    ///
    /// # Panics
    ///
    /// Panics if `index` is out of bounds; indices come from [`negotiate`].
    #[inline]
    pub fn type_at(&self, index: usize) -> TypeRef {
        self.list.at(index).ty
    }

    /// Takes what the importer stated for the accepted entry at `index` and
    /// empties the list: an attachment keeps only what it negotiated.
    ///
    /// # Panics
    ///
    /// Panics if `index` is out of bounds; indices come from [`negotiate`].
    #[inline]
    pub(crate) fn take_info(&mut self, index: usize) -> AnyInfo {
        self.list.take_info(index)
    }
}

/// The outcome of a successful negotiation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Negotiated {
    /// Index of the winning entry in the exporter's offer list.
    pub offer: usize,
    /// Index of the winning entry in the importer's accept list.
    pub accept: usize,
}

/// Picks the interconnect through which the device `importer` will reach a
/// buffer.
///
/// Walks the offers in the exporter's order and returns the first one the
/// importer accepts and whose [`Interconnect::matches`] agrees for that
/// device.
///
/// Fails with `EINVAL` if either list is empty, and with `EOPNOTSUPP` if
/// there is no such offer, or if the buffer is revocable and the importer
/// does not honour invalidation.
///
/// # Examples
///
/// ```
/// # use kernel::prelude::*;
/// use kernel::dma_buf::interconnect::*;
///
/// let faux = kernel::faux::Registration::new(c"dmabuf_negotiate_doctest", None)?;
/// let importer = faux.as_ref();
/// let mut offers = OfferList::new();
/// offers.offer(&PHYS_LIST, ())?.offer(&SGT, SgtOffer::default())?;
///
/// // An IOMMU-programming importer gets the physical list...
/// let mut iommu = AcceptList::new();
/// // SAFETY: This importer never hands the addresses to anyone.
/// iommu.accept(&PHYS_LIST, unsafe { PhysListAccess::new() })?;
/// let n = negotiate(&offers, &iommu, importer)?;
/// assert_eq!((n.offer, n.accept), (0, 0));
/// assert!(offers.type_at(n.offer).is(&PHYS_LIST));
///
/// // ... an ordinary DMA device falls back to the scatter-gather table.
/// let mut dev = AcceptList::new();
/// dev.accept(&SGT, SgtAccept::default())?;
/// assert_eq!(negotiate(&offers, &dev, importer)?, Negotiated { offer: 1, accept: 0 });
///
/// // Nothing in common.
/// let mut only_phys = OfferList::new();
/// only_phys.offer(&PHYS_LIST, ())?;
/// assert_eq!(negotiate(&only_phys, &dev, importer).err(), Some(EOPNOTSUPP));
///
/// // A revocable buffer refuses an importer that cannot be invalidated.
/// let mut revocable = OfferList::new();
/// revocable.offer(&SGT, SgtOffer::default())?.set_revocable(true);
/// assert_eq!(negotiate(&revocable, &dev, importer).err(), Some(EOPNOTSUPP));
/// dev.set_honours_invalidation(true);
/// assert_eq!(negotiate(&revocable, &dev, importer)?, Negotiated { offer: 0, accept: 0 });
///
/// // An empty list on either side is a caller's mistake, not a mismatch.
/// assert_eq!(negotiate(&OfferList::new(), &dev, importer).err(), Some(EINVAL));
/// assert_eq!(negotiate(&revocable, &AcceptList::new(), importer).err(), Some(EINVAL));
/// # Ok::<(), Error>(())
/// ```
#[inline]
pub fn negotiate(
    offers: &OfferList,
    accepts: &AcceptList,
    importer: &Device,
) -> Result<Negotiated> {
    offers.check()?;
    accepts.list.check()?;
    if offers.revocable && !accepts.honours_invalidation {
        return Err(EOPNOTSUPP);
    }
    for (oi, offer) in offers.list.iter().enumerate() {
        for (ai, accept) in accepts.list.iter().enumerate() {
            if offer.ty == accept.ty
                && offer
                    .ty
                    .0
                    .matches_any(&*offer.info, &*accept.info, importer)
            {
                return Ok(Negotiated {
                    offer: oi,
                    accept: ai,
                });
            }
        }
    }
    Err(EOPNOTSUPP)
}

impl OfferList {
    /// Returns the type of the offer at `index`.
    ///
    /// # Panics
    ///
    /// Panics if `index` is out of bounds; indices come from [`negotiate`].
    #[inline]
    pub fn type_at(&self, index: usize) -> TypeRef {
        self.list.at(index).ty
    }
}

/// The classic path: the exporter maps the buffer for the importer's device
/// and hands it a DMA-mapped scatter-gather table.
pub struct Sgt;

/// What an exporter states when it offers [`Sgt`].
#[derive(Default)]
pub struct SgtOffer {
    /// The memory is PCI MMIO: only importers that allow peer-to-peer DMA
    /// can use the table.
    pub peer_to_peer: bool,
    /// The PCI device whose MMIO the memory is, if `peer_to_peer`:
    /// negotiation then skips this offer for importers whose device cannot
    /// reach it (`pci_p2pdma_distance()`). `None` skips that check.
    pub provider: Option<ARef<Device>>,
}

/// What an importer states when it accepts [`Sgt`].
#[derive(Default, Clone, Copy)]
pub struct SgtAccept {
    /// The importer's device can do peer-to-peer DMA to PCI MMIO.
    pub allow_peer_to_peer: bool,
}

impl Interconnect for Sgt {
    type Offer = SgtOffer;
    type Accept = SgtAccept;
    type Mapping = super::mapping::SgtMapping;

    fn matches(offer: &SgtOffer, accept: &SgtAccept, importer: &Device) -> bool {
        if !offer.peer_to_peer {
            return true;
        }
        accept.allow_peer_to_peer
            && offer
                .provider
                .as_deref()
                .is_none_or(|provider| p2p_reachable(provider, importer))
    }

    fn offer_flags(offer: &SgtOffer) -> u32 {
        if offer.peer_to_peer {
            bindings::dma_buf_ic_offer_flags_DMA_BUF_IC_OFFER_P2P
        } else {
            0
        }
    }

    fn offer_from_c(data: u64, provider: Option<&Device>) -> Result<SgtOffer> {
        let peer_to_peer = sgt_p2p_from_c(data)?;
        Ok(SgtOffer {
            peer_to_peer,
            provider: provider.filter(|_| peer_to_peer).map(ARef::from),
        })
    }

    fn accept_from_c(data: u64) -> Result<SgtAccept> {
        Ok(SgtAccept {
            allow_peer_to_peer: sgt_p2p_from_c(data)?,
        })
    }
}

/// Returns true if `client` can reach the MMIO of the PCI device `provider`
/// with peer-to-peer DMA (false if `provider` is not a PCI device).
fn p2p_reachable(provider: &Device, client: &Device) -> bool {
    // SAFETY: `provider` is a live device.
    if !unsafe { bindings::dev_is_pci(provider.as_raw()) } {
        return false;
    }
    // SAFETY: A PCI device's `struct device` is embedded in its `pci_dev`,
    // as `dev_is_pci()` just said.
    let pdev = unsafe { crate::container_of!(provider.as_raw(), bindings::pci_dev, dev) };
    // SAFETY: Both devices are alive; the distance only reads the PCI
    // topology, with its own locking.
    unsafe { bindings::pci_p2pdma_distance(pdev, client.as_raw(), false) >= 0 }
}

/// Decodes the C entry data of [`SGT`]: `DMA_BUF_IC_SGT_P2P` or nothing.
fn sgt_p2p_from_c(data: u64) -> Result<bool> {
    let p2p = u64::from(bindings::DMA_BUF_IC_SGT_P2P);
    if data & !p2p != 0 {
        return Err(EINVAL);
    }
    Ok(data == p2p)
}

/// The DMA-mapped scatter-gather table interconnect.
pub static SGT: InterconnectType<Sgt> = InterconnectType::new(c"sgt");

/// Physical MMIO ranges handed to an importer that programs an IOMMU itself.
///
/// Only importers that never let a CPU or a device reach the addresses
/// except through their own IOMMU page tables may accept it: accepting
/// takes a [`PhysListAccess`], which only an `unsafe` constructor makes.
pub struct PhysList;

/// The right to accept [`PhysList`]: what an importer states when it accepts
/// physical addresses.
///
/// Safe code cannot make one, so an ordinary importer cannot negotiate the
/// physical list; it gets the scatter-gather table (or nothing) instead.
/// Neither of these compiles (`scripts/compile-fail/` checks that they
/// fail for this reason and no other):
///
/// ```ignore
/// let _ = AcceptList::new().accept(&PHYS_LIST, ()); // E0308
/// let _ = PhysListAccess { _private: () }; // E0451
/// ```
///
/// # Invariants
///
/// Made only by [`PhysListAccess::new`], whose caller promises what it asks.
pub struct PhysListAccess {
    _private: (),
}

impl PhysListAccess {
    /// Grants an importer the physical ranges of the buffers it attaches to.
    ///
    /// # Safety
    ///
    /// The importer programs IOMMU page tables itself and lets no CPU and
    /// no device reach the addresses in any other way: it creates no CPU
    /// mapping of them, and hands them to no device or other driver. Before
    /// its invalidation callback returns (its
    /// [`Importer::invalidate_done`](super::importer::Importer::invalidate_done),
    /// if it implements that) it has removed them from every IOMMU page
    /// table, with the IOTLB flushed.
    pub unsafe fn new() -> Self {
        // INVARIANT: The caller makes the promise.
        Self { _private: () }
    }
}

impl Interconnect for PhysList {
    type Offer = ();
    type Accept = PhysListAccess;
    type Mapping = super::mapping::PhysRanges;

    fn check_mapping(ranges: &super::mapping::PhysRanges, buf_size: usize) -> Result {
        if ranges.total_len() == buf_size as u64 {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    fn offer_from_c(data: u64, _provider: Option<&Device>) -> Result<()> {
        if data == 0 {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    /// C importers accept the physical list through
    /// `dma_buf_ic_attach_iommu()` only, whose contract is that of
    /// [`PhysListAccess::new`].
    fn accept_from_c(_data: u64) -> Result<PhysListAccess> {
        Err(EPERM)
    }
}

/// The physical-range-list interconnect.
pub static PHYS_LIST: InterconnectType<PhysList> = InterconnectType::new(c"phys-list");
