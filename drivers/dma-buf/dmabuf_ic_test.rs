// SPDX-License-Identifier: GPL-2.0

//! Test exporter and importer of the dma-buf interconnect framework.
//!
//! The misc device `/dev/dmabuf_ic_test` and its commands (see
//! `dmabuf-ic-test.h`, which the kselftests share and bindgen reads). Every
//! open file is a [`Context`].
//!
//! The exporter backs each buffer with pages of memory and can map it through
//! every built-in interconnect and through [`TEST_LINK`], a private
//! interconnect declared here, outside the core, as a new GPU driver would.
//! The framework importer counts its invalidations. The classic importer
//! ([`ClassicAttachment`]) uses mainline's dma-buf API only, as a driver that
//! knows nothing of interconnects does, so that what it proves about a buffer
//! (a VFIO one too) holds on a pristine kernel as well.
//!
//! Both sides take locks where real drivers do, so that lockdep checks the
//! framework's lock order on every run: the exporter revokes under its own
//! lock (exporter, then reservation lock), and the importers update their
//! state under their lock in invalidation and after mapping (reservation
//! lock, then importer).

use core::{
    ptr::NonNull,
    sync::atomic::{AtomicBool, Ordering},
};
use kernel::{
    alloc::flags::__GFP_ZERO,
    bindings,
    device::Device,
    dma_buf::{
        exporter::{export, Export, Exporter, MapRequest, Mapped},
        importer::{attach, Attachment, Importer},
        interconnect::{
            AcceptList, Interconnect, InterconnectType, OfferList, PhysListAccess, SgtAccept,
            SgtOffer, TypeRef, PHYS_LIST, SGT,
        },
        mapping::{PhysRange, PhysRanges, SgtMapping},
        DmaBuf, ResvLocked,
    },
    error::{from_err_ptr, to_result},
    fs::File,
    ioctl::{_IOW, _IOWR},
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    new_mutex,
    page::{Page, PAGE_SIZE},
    prelude::*,
    scatterlist::SGTable,
    sync::{aref::ARef, Arc, Mutex},
    transmute::{AsBytes, FromBytes},
    uaccess::UserSlice,
};

module! {
    type: TestModule,
    name: "dmabuf_ic_test",
    authors: ["dmabuf-interconnect developers"],
    description: "dma-buf interconnect test exporter and importer",
    license: "GPL",
    imports_ns: ["DMA_BUF"],
}

/// The test module's private interconnect: a link between devices, which
/// only an importer on the exporter's link can use.
pub struct TestLink;

/// A mapping through [`TestLink`].
pub struct LinkMapping {
    /// The link the buffer is reached through.
    pub link: u32,
    /// Bytes reachable, the buffer's size.
    pub len: u64,
}

impl Interconnect for TestLink {
    type Offer = u32;
    type Accept = u32;
    type Mapping = LinkMapping;

    fn matches(offer: &u32, accept: &u32, _importer: &Device) -> bool {
        offer == accept
    }
}

/// The private interconnect of the test module.
pub static TEST_LINK: InterconnectType<TestLink> = InterconnectType::new(c"dmabuf-ic-test-link");

/// An ioctl argument structure of `dmabuf-ic-test.h`, as copied from and to
/// userspace.
///
/// The structures are bindgen's, defined in the `bindings` crate, so the
/// byte-copy traits are implemented for this local wrapper (see
/// [`uapi_args!`]).
#[repr(transparent)]
struct Args<T>(T);

/// Implements [`FromBytes`] and [`AsBytes`] for the [`Args`] of a bindgen
/// structure, given every field of the structure and its type.
///
/// The build fails unless the list is complete and right: the destructuring
/// `let` names every field (a pattern without `..` must), each binding gets
/// the stated type, each stated type is [`FromBytes`] and [`AsBytes`] itself
/// (integers and arrays of them), and the stated sizes add up to the size of
/// the structure, which therefore has no padding.
macro_rules! uapi_args {
    ($name:ident { $($field:ident: $ty:ty),+ $(,)? }) => {
        const _: () = {
            #[allow(dead_code)]
            fn plain<T: FromBytes + AsBytes>() {}

            #[allow(dead_code)]
            fn fields(args: bindings::$name) {
                let bindings::$name { $($field),+ } = args;
                $(let _: $ty = $field; plain::<$ty>();)+
            }

            assert!(size_of::<bindings::$name>() == 0 $(+ size_of::<$ty>())+);
        };

        // SAFETY: Every field of the structure is an integer or an array of
        // integers, for which every bit pattern is valid, as checked above;
        // `Args` is a transparent wrapper without interior mutability.
        unsafe impl FromBytes for Args<bindings::$name> {}
        // SAFETY: As checked above, the fields are integers or arrays of
        // integers, which have no uninitialised bytes, and their sizes add up
        // to the structure's, which leaves no room for padding.
        unsafe impl AsBytes for Args<bindings::$name> {}
    };
}

uapi_args!(dmabuf_ic_test_export {
    flags: u32,
    nr_offers: u32,
    offers: [u32; 4],
    link_id: u32,
    nr_pages: u32,
});
uapi_args!(dmabuf_ic_test_revoke { fd: i32, op: u32 });
uapi_args!(dmabuf_ic_test_attach {
    fd: i32,
    flags: u32,
    nr_accepts: u32,
    accepts: [u32; 4],
    link_id: u32,
    id: u32,
    negotiated: u32,
    pci_dev: u32,
});
uapi_args!(dmabuf_ic_test_map {
    id: u32,
    nr_segments: u32,
    length: u64,
    addr: u64,
});
uapi_args!(dmabuf_ic_test_status {
    id: u32,
    negotiated: u32,
    mapped: u32,
    invalidations: u32,
});
uapi_args!(dmabuf_ic_test_buf_status {
    fd: i32,
    revoked: u32,
    attachments: u32,
    mappings: u32,
});

// The command numbers, as `dmabuf-ic-test.h` defines them.
const IOC: u32 = bindings::DMABUF_IC_TEST_IOC;
const EXPORT: u32 = _IOW::<bindings::dmabuf_ic_test_export>(IOC, 1);
const REVOKE: u32 = _IOW::<bindings::dmabuf_ic_test_revoke>(IOC, 2);
const ATTACH: u32 = _IOWR::<bindings::dmabuf_ic_test_attach>(IOC, 3);
const DETACH: u32 = _IOW::<u32>(IOC, 4);
const MAP: u32 = _IOWR::<bindings::dmabuf_ic_test_map>(IOC, 5);
const UNMAP: u32 = _IOW::<u32>(IOC, 6);
const STATUS: u32 = _IOWR::<bindings::dmabuf_ic_test_status>(IOC, 7);
const BUF_STATUS: u32 = _IOWR::<bindings::dmabuf_ic_test_buf_status>(IOC, 8);

/// The uAPI number of an interconnect.
fn type_number(ty: TypeRef) -> u32 {
    if ty.is(&SGT) {
        bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_SGT
    } else if ty.is(&PHYS_LIST) {
        bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_PHYS_LIST
    } else if ty.is(&TEST_LINK) {
        bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_LINK
    } else {
        0
    }
}

/// Returns the first `nr` entries of a uAPI type list; `EINVAL` if `nr` is
/// zero or too large (the lists refuse duplicates and unknown types).
fn type_list(types: &[u32], nr: u32) -> Result<&[u32]> {
    let nr = usize::try_from(nr).map_err(|_| EINVAL)?;
    if nr == 0 || nr > types.len() {
        return Err(EINVAL);
    }
    Ok(&types[..nr])
}

/// Returns the C `struct device` of `dev`.
///
/// [`Device`] is a transparent wrapper of `struct device` (its `from_raw`
/// casts the other way), so the addresses are the same.
fn raw_device(dev: &Device) -> *mut bindings::device {
    core::ptr::from_ref(dev)
        .cast::<bindings::device>()
        .cast_mut()
}

/// Looks up the PCI device `id` (domain << 16 | bus << 8 | devfn) and
/// returns a reference to its `struct device`; `ENODEV` if there is none.
#[cfg(CONFIG_PCI)]
fn pci_device(id: u32) -> Result<ARef<Device>> {
    // The domain is 16 bits wide, so the conversion cannot fail.
    let domain = i32::try_from(id >> 16).map_err(|_| ENODEV)?;
    // SAFETY: The lookup accepts any numbers; it returns NULL or a device
    // with a reference that the caller owns.
    let raw = unsafe { bindings::pci_get_domain_bus_and_slot(domain, (id >> 8) & 0xff, id & 0xff) };
    let raw = NonNull::new(raw).ok_or(ENODEV)?;
    // SAFETY: `raw` is a live PCI device whose reference the lookup handed
    // over, and `kernel::pci::Device` is a transparent wrapper of
    // `struct pci_dev`; the `ARef` gives the reference back on drop.
    let pdev: ARef<kernel::pci::Device> = unsafe { ARef::from_raw(raw.cast()) };
    // The attachment keeps its own reference, to the embedded device.
    Ok(ARef::from(AsRef::<Device>::as_ref(&*pdev)))
}

/// Without PCI there is no PCI device to find.
#[cfg(not(CONFIG_PCI))]
fn pci_device(_id: u32) -> Result<ARef<Device>> {
    Err(ENODEV)
}

/// A buffer of pages, exported through every interconnect it was told to.
struct TestExporter {
    pages: KVec<Page>,
    link: u32,
    /// One range per page, contiguous or not.
    split_ranges: bool,
    /// The lock of the context that exported the buffer, under which the
    /// buffer is revoked, as a driver revokes under the lock that protects
    /// its device's memory.
    lock: Arc<Mutex<()>>,
}

impl TestExporter {
    fn phys_ranges(&self) -> Result<PhysRanges> {
        let mut ranges: KVec<PhysRange> = KVec::new();
        for page in self.pages.iter() {
            let next = PhysRange::of_page(page);
            match ranges.last_mut() {
                Some(last) if !self.split_ranges && last.addr + last.len as u64 == next.addr => {
                    last.len += next.len
                }
                _ => ranges.push(next, GFP_KERNEL)?,
            }
        }
        PhysRanges::new(&ranges)
    }
}

impl Exporter for TestExporter {
    fn map(&self, req: &MapRequest<'_>) -> Result<Mapped> {
        let ty = req.interconnect();
        if ty.is(&PHYS_LIST) {
            Mapped::new(req, &PHYS_LIST, self.phys_ranges()?)
        } else if ty.is(&SGT) {
            // SAFETY: The pages belong to this state, which the buffer keeps
            // alive, and every mapping lives in an attachment that holds the
            // buffer.
            let sgt = unsafe { SgtMapping::map_pages(req.device(), &self.pages) }?;
            Mapped::new(req, &SGT, sgt)
        } else if ty.is(&TEST_LINK) {
            let len = (self.pages.len() * PAGE_SIZE) as u64;
            Mapped::new(
                req,
                &TEST_LINK,
                LinkMapping {
                    link: self.link,
                    len,
                },
            )
        } else {
            Err(EINVAL)
        }
    }
}

/// What the framework importer knows about its attachment.
#[derive(Default)]
struct ImporterState {
    invalidations: u32,
    mapped: bool,
}

/// A framework importer that records its mapping and counts its
/// invalidations.
struct TestImporter {
    /// Taken after the reservation lock, as a real importer's lock is.
    state: Arc<Mutex<ImporterState>>,
}

impl Importer for TestImporter {
    fn invalidate(&self, _resv: &ResvLocked<'_>) {
        let mut state = self.state.lock();
        state.invalidations += 1;
        state.mapped = false;
    }
}

/// The direction of every classic mapping: the importer's device (edu in
/// the peer-to-peer tests) reads and writes.
const CLASSIC_DIR: bindings::dma_data_direction = bindings::dma_data_direction_DMA_BIDIRECTIONAL;

/// The importer operations of classic attachments, by whether the importer
/// can be invalidated and whether it allows peer-to-peer MMIO.
static CLASSIC_OPS: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
    allow_peer2peer: false,
    invalidate_mappings: Some(classic_invalidate),
};
static CLASSIC_OPS_P2P: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
    allow_peer2peer: true,
    invalidate_mappings: Some(classic_invalidate),
};
static CLASSIC_OPS_PINNED: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
    allow_peer2peer: false,
    invalidate_mappings: None,
};
static CLASSIC_OPS_PINNED_P2P: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
    allow_peer2peer: true,
    invalidate_mappings: None,
};

/// The table that a classic importer mapped.
///
/// # Invariants
///
/// The pointer is a table that `dma_buf_map_attachment` returned for the
/// attachment whose [`ClassicState`] holds it, not unmapped yet.
struct ClassicTable(NonNull<bindings::sg_table>);

// SAFETY: The table is only used with the buffer's reservation lock held,
// which serialises every thread's use of it; unmapping it may happen on any
// thread.
unsafe impl Send for ClassicTable {}

/// What a classic importer knows about its attachment.
#[derive(Default)]
struct ClassicState {
    /// The current mapping; taken out exactly once to unmap it.
    table: Option<ClassicTable>,
    invalidations: u32,
}

/// An importer that knows nothing of interconnects: attached with
/// `dma_buf_dynamic_attach()`, mapped with `dma_buf_map_attachment()`.
///
/// Only mainline's dma-buf API is used, so it behaves the same on a
/// buffer of any exporter and on a kernel without the framework.
///
/// # Invariants
///
/// `raw` is an attachment of `buf` for `dev`, made by
/// `dma_buf_dynamic_attach` with one of the `CLASSIC_OPS*` and
/// `importer_priv` pointing to the mutex in `state`; it stays attached until
/// `drop`, and `state` does not move (it is pinned) and lives until after
/// the detach. The table in `state` is only set or taken with the buffer's
/// reservation lock held.
struct ClassicAttachment {
    state: Pin<KBox<Mutex<ClassicState>>>,
    raw: NonNull<bindings::dma_buf_attachment>,
    buf: ARef<DmaBuf>,
    /// The importer's device: mappings are made for it, so it stays alive
    /// while attached.
    _dev: ARef<Device>,
}

// SAFETY: The raw attachment is detached in `drop` only, and every use of
// it and of its table happens under the buffer's reservation lock; the other
// fields are `Send`.
unsafe impl Send for ClassicAttachment {}
// SAFETY: Shared access reads immutable fields, or the state under its mutex
// and the reservation lock.
unsafe impl Sync for ClassicAttachment {}

impl ClassicAttachment {
    /// Attaches `dev` to `buf`; `revocable` gives the importer an
    /// `invalidate_mappings` callback and `p2p` sets `allow_peer2peer`.
    ///
    /// Fails with whatever the exporter's attach callback returns.
    fn new(buf: &DmaBuf, dev: &Device, revocable: bool, p2p: bool) -> Result<Self> {
        let state = KBox::pin_init(
            new_mutex!(ClassicState::default(), "dmabuf_ic_test::classic"),
            GFP_KERNEL,
        )?;
        let ops = match (revocable, p2p) {
            (true, false) => &CLASSIC_OPS,
            (true, true) => &CLASSIC_OPS_P2P,
            (false, false) => &CLASSIC_OPS_PINNED,
            (false, true) => &CLASSIC_OPS_PINNED_P2P,
        };
        let priv_ = core::ptr::from_ref::<Mutex<ClassicState>>(&*state)
            .cast_mut()
            .cast();
        // SAFETY: `buf` and `dev` are alive for the call (the attachment then
        // keeps its own references below); the ops are static, and `priv_`
        // points to the pinned state, which lives until after the detach.
        let raw = from_err_ptr(unsafe {
            bindings::dma_buf_dynamic_attach(buf.as_raw(), raw_device(dev), ops, priv_)
        })?;
        // INVARIANT: `raw` was just attached as described.
        Ok(Self {
            state,
            // The dma-buf core returns an attachment or an error, never NULL.
            raw: NonNull::new(raw).ok_or(ENOMEM)?,
            buf: buf.into(),
            _dev: dev.into(),
        })
    }

    /// Maps the buffer and reports the table's DMA segments.
    ///
    /// Fails with `EBUSY` if already mapped, and with whatever the exporter's
    /// mapping returns (`ENODEV` while revoked).
    fn map(&self, args: &mut bindings::dmabuf_ic_test_map) -> Result {
        let _resv = self.buf.lock_resv();
        if self.state.lock().table.is_some() {
            return Err(EBUSY);
        }
        // SAFETY: By the type invariant `raw` is attached; the reservation
        // lock is held, as a dynamic attachment's mapping requires.
        let table = from_err_ptr(unsafe {
            bindings::dma_buf_map_attachment(self.raw.as_ptr(), CLASSIC_DIR)
        })?;
        // The dma-buf core turns a NULL table into an error.
        let table = NonNull::new(table).ok_or(ENOMEM)?;
        let (mut segments, mut length, mut first) = (0u32, 0u64, None);
        // SAFETY: The table was mapped above and is neither changed nor
        // unmapped while the reservation lock is held, which outlives the
        // borrow.
        for sg in unsafe { SGTable::from_raw(table.as_ptr()) }.iter() {
            first.get_or_insert(sg.dma_address());
            segments += 1;
            length += sg.dma_len();
        }
        // INVARIANT: Set with the reservation lock held; reservation lock,
        // then the importer's.
        self.state.lock().table = Some(ClassicTable(table));
        args.nr_segments = segments;
        args.length = length;
        args.addr = first.unwrap_or(0);
        Ok(())
    }

    /// Ends the mapping; `ENOENT` if there is none (for example after an
    /// invalidation).
    fn unmap(&self) -> Result {
        let _resv = self.buf.lock_resv();
        // SAFETY: By the type invariant `raw` is attached, with `state` as its
        // `importer_priv`; the reservation lock of its buffer is held.
        unsafe { classic_unmap(self.raw.as_ptr(), &self.state, false) }
    }

    /// Reports the importer's state.
    fn status(&self, args: &mut bindings::dmabuf_ic_test_status) {
        let _resv = self.buf.lock_resv();
        let state = self.state.lock();
        args.negotiated = bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_SGT;
        args.mapped = u32::from(state.table.is_some());
        args.invalidations = state.invalidations;
    }
}

impl Drop for ClassicAttachment {
    fn drop(&mut self) {
        let resv = self.buf.lock_resv();
        // Not mapped is fine: nothing to end.
        // SAFETY: By the type invariant `raw` is attached, with `state` as its
        // `importer_priv`; the reservation lock of its buffer is held.
        let _ = unsafe { classic_unmap(self.raw.as_ptr(), &self.state, false) };
        drop(resv);
        // SAFETY: By the type invariant `raw` is attached to `buf`; it is
        // detached once, here. Detaching takes the reservation lock to
        // unlist it, so no invalidation runs on `state` after this returns,
        // and `state` is dropped only after this function.
        unsafe { bindings::dma_buf_detach(self.buf.as_raw(), self.raw.as_ptr()) };
    }
}

/// Ends the classic mapping recorded in `state`, if any, and counts an
/// invalidation if `invalidated`; `ENOENT` if nothing was mapped.
///
/// # Safety
///
/// `attach` is a live classic attachment whose `importer_priv` is `state`,
/// and the caller holds the reservation lock of its buffer.
unsafe fn classic_unmap(
    attach: *mut bindings::dma_buf_attachment,
    state: &Mutex<ClassicState>,
    invalidated: bool,
) -> Result {
    // Reservation lock, then the importer's.
    let table = {
        let mut state = state.lock();
        if invalidated {
            state.invalidations += 1;
        }
        state.table.take()
    };
    let table = table.ok_or(ENOENT)?;
    // SAFETY: By the invariant of `ClassicTable` the table was mapped for
    // `attach` and not unmapped yet; it was taken out of the state, so this
    // is its only unmap. The reservation lock is held, as required.
    unsafe { bindings::dma_buf_unmap_attachment(attach, table.0.as_ptr(), CLASSIC_DIR) };
    Ok(())
}

/// The `invalidate_mappings` of classic attachments: ends the mapping
/// before returning, so that the exporter's revoke finds it gone.
///
/// # Safety
///
/// Called by the dma-buf core with the reservation lock held, on a live
/// attachment made by [`ClassicAttachment::new`].
unsafe extern "C" fn classic_invalidate(attach: *mut bindings::dma_buf_attachment) {
    // SAFETY: By the invariant of `ClassicAttachment`, `importer_priv` points
    // to its state, which outlives the attachment.
    let state = unsafe { &*(*attach).importer_priv.cast::<Mutex<ClassicState>>() };
    // Not mapped is fine: the invalidation still counts.
    // SAFETY: The dma-buf core holds the reservation lock while it calls
    // `invalidate_mappings` (`dma_buf_invalidate_mappings` asserts it), and
    // `importer_priv` is `state`.
    let _ = unsafe { classic_unmap(attach, state, true) };
}

/// One attachment of a context.
enum TestAttachment {
    Framework(Attachment<TestImporter>),
    Classic(ClassicAttachment),
}

/// Set once the test device can map: see [`TestModule`].
static READY: AtomicBool = AtomicBool::new(false);

/// One open file of the device.
#[pin_data(PinnedDrop)]
struct Context {
    dev: ARef<Device>,
    /// The exporter's lock, shared with the buffers this context exports.
    exporter_lock: Arc<Mutex<()>>,
    /// The buffers this context exported; revoked for good on close.
    #[pin]
    exports: Mutex<KVec<Arc<Export<TestExporter>>>>,
    /// The context's attachments; an id is an index plus one.
    #[pin]
    attachments: Mutex<KVec<Option<TestAttachment>>>,
}

impl Context {
    fn export(&self, args: &bindings::dmabuf_ic_test_export) -> Result<i32> {
        let known = bindings::DMABUF_IC_TEST_EXPORT_REVOCABLE
            | bindings::DMABUF_IC_TEST_EXPORT_SGT_P2P
            | bindings::DMABUF_IC_TEST_EXPORT_SPLIT_RANGES;
        if args.flags & !known != 0
            || args.nr_pages == 0
            || args.nr_pages > bindings::DMABUF_IC_TEST_MAX_PAGES
        {
            return Err(EINVAL);
        }
        let mut offers = OfferList::new();
        for &ty in type_list(&args.offers, args.nr_offers)? {
            match ty {
                bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_SGT => {
                    let peer_to_peer = args.flags & bindings::DMABUF_IC_TEST_EXPORT_SGT_P2P != 0;
                    // Pages that claim to be MMIO, of no PCI device: no
                    // reachability check.
                    let sgt = SgtOffer {
                        peer_to_peer,
                        provider: None,
                    };
                    offers.offer(&SGT, sgt)?
                }
                bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_PHYS_LIST => {
                    offers.offer(&PHYS_LIST, ())?
                }
                bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_LINK => {
                    offers.offer(&TEST_LINK, args.link_id)?
                }
                _ => return Err(EINVAL),
            };
        }
        let revocable = args.flags & bindings::DMABUF_IC_TEST_EXPORT_REVOCABLE != 0;
        offers.set_revocable(revocable);

        let nr_pages = args.nr_pages as usize;
        let mut pages = KVec::with_capacity(nr_pages, GFP_KERNEL)?;
        for _ in 0..nr_pages {
            pages.push(Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?, GFP_KERNEL)?;
        }
        let exporter = TestExporter {
            pages,
            link: args.link_id,
            split_ranges: args.flags & bindings::DMABUF_IC_TEST_EXPORT_SPLIT_RANGES != 0,
            lock: self.exporter_lock.clone(),
        };
        let size = nr_pages * PAGE_SIZE;
        // The buffer's file holds the module, whose code its callbacks run.
        let (state, buf) = export(exporter, offers, size, c"dmabuf_ic_test", &THIS_MODULE)?;
        self.exports.lock().push(state, GFP_KERNEL)?;
        // On failure the buffer goes away with its reference; the state stays
        // listed until close, where revoking a buffer-less state is harmless.
        DmaBuf::install_fd(buf)
    }

    /// Attaches a framework or a classic importer.
    fn attach(&self, args: &mut bindings::dmabuf_ic_test_attach) -> Result {
        let known = bindings::DMABUF_IC_TEST_ATTACH_INVALIDATE
            | bindings::DMABUF_IC_TEST_ATTACH_SGT_P2P
            | bindings::DMABUF_IC_TEST_ATTACH_PCI_DEV
            | bindings::DMABUF_IC_TEST_ATTACH_CLASSIC
            | bindings::DMABUF_IC_TEST_ATTACH_PHYS_READER;
        if args.flags & !known != 0 {
            return Err(EINVAL);
        }
        let honours = args.flags & bindings::DMABUF_IC_TEST_ATTACH_INVALIDATE != 0;
        let reader = args.flags & bindings::DMABUF_IC_TEST_ATTACH_PHYS_READER != 0;
        let p2p = args.flags & bindings::DMABUF_IC_TEST_ATTACH_SGT_P2P != 0;
        let classic = args.flags & bindings::DMABUF_IC_TEST_ATTACH_CLASSIC != 0;
        let types = type_list(&args.accepts, args.nr_accepts)?;
        let mut accepts = AcceptList::new();
        if classic {
            // A classic importer takes the scatter-gather table, nothing else.
            if types != [bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_SGT] {
                return Err(EINVAL);
            }
        } else {
            fill_accept_list(&mut accepts, types, args.link_id, p2p, reader)?;
            accepts.set_honours_invalidation(honours);
        }

        let buf = DmaBuf::get(args.fd)?;
        let pci_dev = if args.flags & bindings::DMABUF_IC_TEST_ATTACH_PCI_DEV != 0 {
            Some(pci_device(args.pci_dev)?)
        } else {
            None
        };
        let dev = pci_dev.as_deref().unwrap_or(&*self.dev);

        let mut list = self.attachments.lock();
        let slot = match list.iter().position(Option::is_none) {
            Some(index) => index,
            None if list.len() < bindings::DMABUF_IC_TEST_MAX_ATTACHMENTS as usize => {
                list.push(None, GFP_KERNEL)?;
                list.len() - 1
            }
            None => return Err(ENOSPC),
        };
        let attachment = if classic {
            let a = ClassicAttachment::new(&buf, dev, honours, p2p)?;
            args.negotiated = bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_SGT;
            TestAttachment::Classic(a)
        } else {
            let state = Arc::pin_init(
                new_mutex!(ImporterState::default(), "dmabuf_ic_test::importer"),
                GFP_KERNEL,
            )?;
            let a = attach(&buf, dev, accepts, TestImporter { state })?;
            args.negotiated = type_number(a.negotiated());
            TestAttachment::Framework(a)
        };
        // The slot is below `DMABUF_IC_TEST_MAX_ATTACHMENTS`.
        args.id = slot as u32 + 1;
        list[slot] = Some(attachment);
        Ok(())
    }

    /// Runs `f` on the attachment `id`; `ENOENT` if there is none.
    fn with_attachment<R>(
        &self,
        id: u32,
        f: impl FnOnce(&TestAttachment) -> Result<R>,
    ) -> Result<R> {
        let list = self.attachments.lock();
        let index = (id as usize).checked_sub(1).ok_or(ENOENT)?;
        match list.get(index) {
            Some(Some(attachment)) => f(attachment),
            _ => Err(ENOENT),
        }
    }

    fn detach(&self, id: u32) -> Result {
        let attachment = {
            let mut list = self.attachments.lock();
            let index = (id as usize).checked_sub(1).ok_or(ENOENT)?;
            list.get_mut(index).and_then(Option::take).ok_or(ENOENT)?
        };
        // Detach (which takes the reservation lock) outside the list lock.
        drop(attachment);
        Ok(())
    }

    fn map(&self, args: &mut bindings::dmabuf_ic_test_map) -> Result {
        self.with_attachment(args.id, |a| match a {
            TestAttachment::Framework(a) => map_framework(a, args),
            TestAttachment::Classic(a) => a.map(args),
        })
    }

    fn unmap(&self, id: u32) -> Result {
        self.with_attachment(id, |a| match a {
            TestAttachment::Framework(a) => {
                let mut resv = a.buf().lock_resv();
                a.unmap(&mut resv)?;
                a.importer().state.lock().mapped = false;
                Ok(())
            }
            TestAttachment::Classic(a) => a.unmap(),
        })
    }

    fn status(&self, args: &mut bindings::dmabuf_ic_test_status) -> Result {
        self.with_attachment(args.id, |a| match a {
            TestAttachment::Framework(a) => {
                let resv = a.buf().lock_resv();
                let framework_mapped = a.is_mapped(&resv);
                let state = a.importer().state.lock();
                // The importer's record and the framework's must agree.
                if state.mapped != framework_mapped {
                    return Err(EIO);
                }
                args.negotiated = type_number(a.negotiated());
                args.mapped = u32::from(state.mapped);
                args.invalidations = state.invalidations;
                Ok(())
            }
            TestAttachment::Classic(a) => {
                a.status(args);
                Ok(())
            }
        })
    }
}

#[pinned_drop]
impl PinnedDrop for Context {
    /// Detaches the context's attachments and revokes its buffers for good.
    fn drop(self: Pin<&mut Self>) {
        let attachments = core::mem::take(&mut *self.attachments.lock());
        drop(attachments);
        let exports = core::mem::take(&mut *self.exports.lock());
        let _exporter = self.exporter_lock.lock();
        for state in exports.iter() {
            // As a driver does when its device goes away: importers of buffers
            // that outlive this file only see a revoked buffer.
            state.revoke_permanently();
        }
    }
}

/// Fills a framework importer's accept list from uAPI types.
///
/// Only a physical-range reader may accept the physical list; an ordinary
/// importer asking for it gets `EPERM`.
fn fill_accept_list(
    accepts: &mut AcceptList,
    types: &[u32],
    link_id: u32,
    p2p: bool,
    reader: bool,
) -> Result {
    for &ty in types {
        match ty {
            bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_SGT => accepts.accept(
                &SGT,
                SgtAccept {
                    allow_peer_to_peer: p2p,
                },
            )?,
            bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_PHYS_LIST if reader => {
                // SAFETY: A reader maps the ranges for nobody: `map_framework`
                // only reports their first address and total length to the
                // test, and the buffer's memory is reached through no CPU
                // mapping and no device of this importer. Invalidation
                // drops the ranges with the mapping.
                let access = unsafe { PhysListAccess::new() };
                accepts.accept(&PHYS_LIST, access)?
            }
            bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_PHYS_LIST => return Err(EPERM),
            bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_LINK => {
                accepts.accept(&TEST_LINK, link_id)?
            }
            _ => return Err(EINVAL),
        };
    }
    Ok(())
}

/// Maps a framework attachment through its negotiated interconnect.
fn map_framework(a: &Attachment<TestImporter>, args: &mut bindings::dmabuf_ic_test_map) -> Result {
    let mut resv = a.buf().lock_resv();
    let ty = a.negotiated();
    let (segments, len, addr) = if ty.is(&PHYS_LIST) {
        let ranges = a.map(&mut resv, &PHYS_LIST)?;
        let first = ranges.ranges().first().map_or(0, |r| r.addr);
        (ranges.ranges().len(), ranges.total_len(), first)
    } else if ty.is(&SGT) {
        let sgt = a.map(&mut resv, &SGT)?;
        let first = sgt.dma_segments().next().map_or(0, |(addr, _)| addr);
        let (n, len) = sgt
            .dma_segments()
            .fold((0, 0), |(n, len), (_, seg)| (n + 1, len + seg));
        (n, len, first)
    } else {
        (1, a.map(&mut resv, &TEST_LINK)?.len, 0)
    };
    // Reservation lock, then the importer's.
    a.importer().state.lock().mapped = true;
    // At most one segment a page: below `DMABUF_IC_TEST_MAX_PAGES`.
    args.nr_segments = segments as u32;
    args.length = len;
    args.addr = addr;
    Ok(())
}

/// Runs `f` on a buffer of this module's exporter and its state; `EINVAL`
/// for buffers of other exporters.
fn with_test_buffer<R>(fd: i32, f: impl FnOnce(&DmaBuf, &Export<TestExporter>) -> R) -> Result<R> {
    let buf = DmaBuf::get(fd)?;
    let state = Export::<TestExporter>::of(&buf).ok_or(EINVAL)?;
    Ok(f(&buf, state))
}

fn revoke(args: &bindings::dmabuf_ic_test_revoke) -> Result {
    with_test_buffer(args.fd, |_, state| {
        // The exporter's lock first, then (inside revoke) the reservation lock.
        let _exporter = state.exporter().lock.lock();
        match args.op {
            bindings::dmabuf_ic_test_revoke_op_DMABUF_IC_TEST_OP_UNREVOKE => state.unrevoke(),
            bindings::dmabuf_ic_test_revoke_op_DMABUF_IC_TEST_OP_REVOKE => {
                state.revoke();
                Ok(())
            }
            bindings::dmabuf_ic_test_revoke_op_DMABUF_IC_TEST_OP_REVOKE_PERMANENTLY => {
                state.revoke_permanently();
                Ok(())
            }
            _ => Err(EINVAL),
        }
    })?
}

fn buf_status(args: &mut bindings::dmabuf_ic_test_buf_status) -> Result {
    with_test_buffer(args.fd, |buf, state| {
        args.revoked = if state.is_revoked_permanently() {
            bindings::dmabuf_ic_test_revoke_op_DMABUF_IC_TEST_OP_REVOKE_PERMANENTLY
        } else if state.is_revoked() {
            bindings::dmabuf_ic_test_revoke_op_DMABUF_IC_TEST_OP_REVOKE
        } else {
            bindings::dmabuf_ic_test_revoke_op_DMABUF_IC_TEST_OP_UNREVOKE
        };
        let resv = buf.lock_resv();
        args.attachments = resv.attachment_count() as u32;
        args.mappings = state.mapping_count() as u32;
    })
}

/// Reads a command's argument structure from `arg`.
fn read_args<T>(arg: UserPtr) -> Result<T>
where
    Args<T>: FromBytes,
{
    let Args(args) = UserSlice::new(arg, size_of::<T>())
        .reader()
        .read::<Args<T>>()?;
    Ok(args)
}

/// Runs a command that reads its argument structure from `arg` and writes
/// it back after `f` succeeds.
///
/// A failed write-back (`EFAULT`) undoes nothing: an attachment or a
/// mapping made for an unwritable argument stays in the context, where
/// `DETACH`, `UNMAP` or close find it.
fn read_write_args<T>(arg: UserPtr, f: impl FnOnce(&mut T) -> Result) -> Result<isize>
where
    Args<T>: FromBytes + AsBytes,
{
    let (mut reader, mut writer) = UserSlice::new(arg, size_of::<T>()).reader_writer();
    let mut args = reader.read::<Args<T>>()?;
    f(&mut args.0)?;
    writer.write(&args)?;
    Ok(0)
}

#[vtable]
impl MiscDevice for Context {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        // Pairs with the release store in `TestModule::init`: the device's
        // DMA mask is set before any context can map for it.
        if !READY.load(Ordering::Acquire) {
            return Err(EAGAIN);
        }
        let exporter_lock = Arc::pin_init(new_mutex!((), "dmabuf_ic_test::exporter"), GFP_KERNEL)?;
        KBox::try_pin_init(
            try_pin_init!(Context {
                dev: misc.device().into(),
                exporter_lock,
                exports <- new_mutex!(KVec::new(), "dmabuf_ic_test::exports"),
                attachments <- new_mutex!(KVec::new(), "dmabuf_ic_test::attachments"),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(ctx: Pin<&Context>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let arg = UserPtr::from_addr(arg);
        match cmd {
            // The new fd is the return value: nothing to copy out.
            EXPORT => Ok(ctx.export(&read_args(arg)?)? as isize),
            REVOKE => revoke(&read_args(arg)?).map(|()| 0),
            ATTACH => read_write_args(arg, |a| ctx.attach(a)),
            DETACH => ctx.detach(read_args(arg)?).map(|()| 0),
            MAP => read_write_args(arg, |m| ctx.map(m)),
            UNMAP => ctx.unmap(read_args(arg)?).map(|()| 0),
            STATUS => read_write_args(arg, |s| ctx.status(s)),
            BUF_STATUS => read_write_args(arg, buf_status),
            _ => Err(ENOTTY),
        }
    }
}

/// `u32` arguments (attachment ids) are read as they are.
// SAFETY: `Args<u32>` is a transparent wrapper of `u32`, for which every bit
// pattern is valid and which has no interior mutability.
unsafe impl FromBytes for Args<u32> {}

/// The module: the registration of `/dev/dmabuf_ic_test`.
#[pin_data]
struct TestModule {
    #[pin]
    misc: MiscDeviceRegistration<Context>,
}

impl kernel::InPlaceModule for TestModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let options = MiscDeviceOptions {
            name: c"dmabuf_ic_test",
        };
        try_pin_init!(Self {
            misc <- MiscDeviceRegistration::register(options),
        })
        .pin_chain(|this| {
            // SAFETY: A registered misc device has a live `this_device` until
            // it is deregistered, when `this` is dropped.
            let dev = unsafe { (*this.misc.as_raw()).this_device };
            // Importers of this module map scatter-gather tables for the
            // device, which has no bus to give it a DMA mask: point its mask
            // at its coherent mask and allow 64 bits, as
            // `dma_coerce_mask_and_coherent()` does.
            // SAFETY: `dev` is live (see above). `READY` is not set yet, so
            // `open` refuses every context, and only contexts map for the
            // device: nothing reads the mask fields while they change.
            to_result(unsafe {
                (*dev).dma_mask = &raw mut (*dev).coherent_dma_mask;
                bindings::dma_set_mask_and_coherent(dev, u64::MAX)
            })?;
            READY.store(true, Ordering::Release);
            Ok(())
        })
    }
}
