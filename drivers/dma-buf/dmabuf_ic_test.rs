// SPDX-License-Identifier: GPL-2.0

//! Test exporter and importer of the dma-buf interconnect framework.
//!
//! The commands of `/dev/dmabuf_ic_test` (see `dmabuf-ic-test.h`); the C half,
//! `dmabuf-ic-test-dev.c`, registers the device and copies the arguments.
//!
//! The exporter backs each buffer with pages of memory and can map it through
//! every built-in interconnect and through [`TEST_LINK`], a private
//! interconnect declared here, outside the core, as a new GPU driver would.
//! The importer counts its invalidations.
//!
//! Both sides take locks where real drivers do, so that lockdep checks the
//! framework's lock order on every run: the exporter revokes under its own
//! lock (exporter, then reservation lock), and the importer updates its
//! state under its lock in invalidation and after mapping (reservation
//! lock, then importer).

use core::ffi::c_void;
use kernel::{
    alloc::flags::__GFP_ZERO,
    bindings, c_str,
    device::Device,
    dma_buf::{
        exporter::{export, Export, Exporter, MapRequest, Mapped},
        importer::{attach, Attachment, Importer},
        interconnect::{
            AcceptList, Interconnect, InterconnectType, OfferList, SgtAccept, SgtOffer, TypeRef,
            PHYS_LIST, SGT,
        },
        mapping::{PhysRange, PhysRanges, SgtMapping},
        DmaBuf, ResvLocked,
    },
    error::from_result,
    new_mutex,
    page::{Page, PAGE_SIZE},
    prelude::*,
    sync::{Arc, Mutex},
    types::{ARef, ForeignOwnable},
};

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

    fn matches(offer: &u32, accept: &u32) -> bool {
        offer == accept
    }
}

/// The private interconnect of the test module.
pub static TEST_LINK: InterconnectType<TestLink> =
    InterconnectType::new(c_str!("dmabuf-ic-test-link"));

/// Fails to build unless the C prototype of `$name`, as bindgen read it from
/// `dmabuf-ic-test-rs.h`, and its definition here have the type `$ty`.
macro_rules! check_prototype {
    ($name:ident: $ty:ty) => {
        const _: [$ty; 2] = [bindings::$name, $name];
    };
}
check_prototype!(dmabuf_ic_test_rs_open: unsafe extern "C" fn(*mut bindings::device) -> Ctx);
check_prototype!(dmabuf_ic_test_rs_release: unsafe extern "C" fn(*mut c_void));
check_prototype!(dmabuf_ic_test_rs_export: Command<bindings::dmabuf_ic_test_export>);
check_prototype!(dmabuf_ic_test_rs_revoke: Command<bindings::dmabuf_ic_test_revoke>);
check_prototype!(
    dmabuf_ic_test_rs_attach: unsafe extern "C" fn(
        *mut c_void,
        *mut bindings::dmabuf_ic_test_attach,
        *mut bindings::device,
    ) -> i32
);
check_prototype!(dmabuf_ic_test_rs_detach: unsafe extern "C" fn(*mut c_void, u32) -> i32);
check_prototype!(dmabuf_ic_test_rs_map: Command<bindings::dmabuf_ic_test_map>);
check_prototype!(dmabuf_ic_test_rs_unmap: unsafe extern "C" fn(*mut c_void, u32) -> i32);
check_prototype!(dmabuf_ic_test_rs_status: Command<bindings::dmabuf_ic_test_status>);
check_prototype!(dmabuf_ic_test_rs_buf_status: Command<bindings::dmabuf_ic_test_buf_status>);

/// The C type of a context.
type Ctx = *mut c_void;

/// The C type of a command that takes an argument structure.
type Command<T> = unsafe extern "C" fn(*mut c_void, *mut T) -> i32;

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
/// zero or too large (the builders refuse duplicates and unknown types).
fn type_list(types: &[u32], nr: u32) -> Result<&[u32]> {
    let nr = usize::try_from(nr).map_err(|_| EINVAL)?;
    if nr == 0 || nr > types.len() {
        return Err(EINVAL);
    }
    Ok(&types[..nr])
}

/// A buffer of pages, exported through every interconnect it was told to.
struct TestExporter {
    pages: KVec<Page>,
    link: u32,
    /// One range per page, contiguous or not.
    split_ranges: bool,
}

impl TestExporter {
    fn phys_ranges(&self) -> Result<PhysRanges> {
        let mut ranges: KVec<PhysRange> = KVec::new();
        for page in self.pages.iter() {
            let next = PhysRange::of_page(page);
            match ranges.last_mut() {
                Some(last) if !self.split_ranges && last.addr + last.len == next.addr => {
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

/// What the importer knows about its attachment.
#[derive(Default)]
struct ImporterState {
    invalidations: u32,
    mapped: bool,
}

/// An importer that records its mapping and counts its invalidations.
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

/// One open file of the device.
#[pin_data]
struct Context {
    dev: ARef<Device>,
    /// The exporter's lock: revoke runs under it, as a driver revokes
    /// under the lock that protects its device's memory.
    #[pin]
    exporter_lock: Mutex<()>,
    /// The buffers this context exported; revoked for good on close.
    #[pin]
    exports: Mutex<KVec<Arc<Export<TestExporter>>>>,
    /// The context's attachments; an id is an index plus one.
    #[pin]
    attachments: Mutex<KVec<Option<Attachment<TestImporter>>>>,
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
        let mut offers = OfferList::builder();
        for &ty in type_list(&args.offers, args.nr_offers)? {
            offers = match ty {
                bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_SGT => {
                    let peer_to_peer = args.flags & bindings::DMABUF_IC_TEST_EXPORT_SGT_P2P != 0;
                    offers.offer(&SGT, SgtOffer { peer_to_peer })?
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
        let offers = offers.revocable(revocable).build()?;

        let nr_pages = args.nr_pages as usize;
        let mut pages = KVec::with_capacity(nr_pages, GFP_KERNEL)?;
        for _ in 0..nr_pages {
            pages.push(Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?, GFP_KERNEL)?;
        }
        let exporter = TestExporter {
            pages,
            link: args.link_id,
            split_ranges: args.flags & bindings::DMABUF_IC_TEST_EXPORT_SPLIT_RANGES != 0,
        };
        let size = nr_pages * PAGE_SIZE;
        let (state, buf) = export(exporter, offers, size, c_str!("dmabuf_ic_test"))?;
        self.exports.lock().push(state, GFP_KERNEL)?;
        // On failure the buffer goes away with its reference; the state stays
        // listed until close, where revoking a buffer-less state is harmless.
        DmaBuf::install_fd(buf)
    }

    /// Attaches for `dev`, or for the context's device if `None`.
    fn attach(&self, args: &mut bindings::dmabuf_ic_test_attach, dev: Option<&Device>) -> Result {
        let known = bindings::DMABUF_IC_TEST_ATTACH_INVALIDATE
            | bindings::DMABUF_IC_TEST_ATTACH_SGT_P2P
            | bindings::DMABUF_IC_TEST_ATTACH_PCI_DEV;
        if args.flags & !known != 0 {
            return Err(EINVAL);
        }
        let mut accepts = AcceptList::builder();
        for &ty in type_list(&args.accepts, args.nr_accepts)? {
            accepts = match ty {
                bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_SGT => {
                    let p2p = args.flags & bindings::DMABUF_IC_TEST_ATTACH_SGT_P2P != 0;
                    accepts.accept(
                        &SGT,
                        SgtAccept {
                            allow_peer_to_peer: p2p,
                        },
                    )?
                }
                bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_PHYS_LIST => {
                    accepts.accept(&PHYS_LIST, ())?
                }
                bindings::dmabuf_ic_test_type_DMABUF_IC_TEST_LINK => {
                    accepts.accept(&TEST_LINK, args.link_id)?
                }
                _ => return Err(EINVAL),
            };
        }
        let honours = args.flags & bindings::DMABUF_IC_TEST_ATTACH_INVALIDATE != 0;
        let accepts = accepts.honours_invalidation(honours).build()?;

        let buf = DmaBuf::get(args.fd)?;
        let mut list = self.attachments.lock();
        let slot = match list.iter().position(Option::is_none) {
            Some(index) => index,
            None if list.len() < bindings::DMABUF_IC_TEST_MAX_ATTACHMENTS as usize => {
                list.push(None, GFP_KERNEL)?;
                list.len() - 1
            }
            None => return Err(ENOSPC),
        };
        let state = Arc::pin_init(
            new_mutex!(ImporterState::default(), "dmabuf_ic_test::importer"),
            GFP_KERNEL,
        )?;
        let dev = dev.unwrap_or(&self.dev);
        let attachment = attach(&buf, dev, accepts, TestImporter { state })?;
        args.negotiated = type_number(attachment.negotiated());
        args.id = slot as u32 + 1;
        list[slot] = Some(attachment);
        Ok(())
    }

    /// Runs `f` on the attachment `id`; `ENOENT` if there is none.
    fn with_attachment<R>(
        &self,
        id: u32,
        f: impl FnOnce(&Attachment<TestImporter>) -> Result<R>,
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
        self.with_attachment(args.id, |a| {
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
            args.nr_segments = segments as u32;
            args.length = len;
            args.addr = addr;
            Ok(())
        })
    }

    fn unmap(&self, id: u32) -> Result {
        self.with_attachment(id, |a| {
            let mut resv = a.buf().lock_resv();
            a.unmap(&mut resv)?;
            a.importer().state.lock().mapped = false;
            Ok(())
        })
    }

    fn status(&self, args: &mut bindings::dmabuf_ic_test_status) -> Result {
        self.with_attachment(args.id, |a| {
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
        })
    }
}

/// Runs `f` on a buffer of this module's exporter and its state; `EINVAL`
/// for buffers of other exporters.
fn with_test_buffer<R>(fd: i32, f: impl FnOnce(&DmaBuf, &Export<TestExporter>) -> R) -> Result<R> {
    let buf = DmaBuf::get(fd)?;
    let state = Export::<TestExporter>::of(&buf).ok_or(EINVAL)?;
    Ok(f(&buf, state))
}

fn revoke(ctx: &Context, args: &bindings::dmabuf_ic_test_revoke) -> Result {
    let _exporter = ctx.exporter_lock.lock();
    with_test_buffer(args.fd, |_, state| match args.op {
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

/// Borrows the context behind a pointer from [`dmabuf_ic_test_rs_open`].
///
/// # Safety
///
/// `ctx` comes from `dmabuf_ic_test_rs_open` and was not released yet.
unsafe fn context<'a>(ctx: *mut c_void) -> &'a Context {
    // SAFETY: Guaranteed by the caller.
    unsafe { <Pin<KBox<Context>> as ForeignOwnable>::borrow(ctx.cast_const()) }.get_ref()
}

/// Creates the context of a new open file.
///
/// # Safety
///
/// `dev` is a live device that outlives the returned context.
#[no_mangle]
pub unsafe extern "C" fn dmabuf_ic_test_rs_open(dev: *mut bindings::device) -> *mut c_void {
    // SAFETY: Guaranteed by the caller.
    let dev: ARef<Device> = unsafe { Device::get_device(dev) };
    let ctx = KBox::pin_init(
        pin_init!(Context {
            dev,
            exporter_lock <- new_mutex!((), "dmabuf_ic_test::exporter"),
            exports <- new_mutex!(KVec::new(), "dmabuf_ic_test::exports"),
            attachments <- new_mutex!(KVec::new(), "dmabuf_ic_test::attachments"),
        }),
        GFP_KERNEL,
    );
    match ctx {
        Ok(ctx) => ctx.into_foreign().cast_mut(),
        Err(e) => e.to_ptr(),
    }
}

/// Detaches the context's attachments and revokes its buffers for good.
///
/// # Safety
///
/// `ctx` comes from [`dmabuf_ic_test_rs_open`] and is not used again.
#[no_mangle]
pub unsafe extern "C" fn dmabuf_ic_test_rs_release(ctx: *mut c_void) {
    // SAFETY: Guaranteed by the caller.
    let ctx = unsafe { <Pin<KBox<Context>> as ForeignOwnable>::from_foreign(ctx.cast_const()) };
    let attachments = core::mem::take(&mut *ctx.attachments.lock());
    drop(attachments);
    let exports = core::mem::take(&mut *ctx.exports.lock());
    let _exporter = ctx.exporter_lock.lock();
    for state in exports.iter() {
        // As a driver does when its device goes away: importers of buffers
        // that outlive this file only see a revoked buffer.
        state.revoke_permanently();
    }
}

/// Runs `DMABUF_IC_TEST_EXPORT`.
///
/// # Safety
///
/// `ctx` comes from [`dmabuf_ic_test_rs_open`] and is not released yet, and
/// `args` is valid for the call.
#[no_mangle]
pub unsafe extern "C" fn dmabuf_ic_test_rs_export(
    ctx: *mut c_void,
    args: *mut bindings::dmabuf_ic_test_export,
) -> i32 {
    // SAFETY: Guaranteed by the caller.
    let (ctx, args) = unsafe { (context(ctx), &*args) };
    from_result(|| ctx.export(args))
}

/// Runs `DMABUF_IC_TEST_REVOKE`.
///
/// # Safety
///
/// `ctx` comes from [`dmabuf_ic_test_rs_open`] and is not released yet, and
/// `args` is valid for the call.
#[no_mangle]
pub unsafe extern "C" fn dmabuf_ic_test_rs_revoke(
    ctx: *mut c_void,
    args: *mut bindings::dmabuf_ic_test_revoke,
) -> i32 {
    // SAFETY: Guaranteed by the caller.
    let (ctx, args) = unsafe { (context(ctx), &*args) };
    from_result(|| revoke(ctx, args).map(|()| 0))
}

/// Runs `DMABUF_IC_TEST_ATTACH`.
///
/// # Safety
///
/// `ctx` comes from [`dmabuf_ic_test_rs_open`] and is not released yet,
/// `args` is valid for the call, and `dev` is null or a live device for the
/// call (the attachment takes its own reference).
#[no_mangle]
pub unsafe extern "C" fn dmabuf_ic_test_rs_attach(
    ctx: *mut c_void,
    args: *mut bindings::dmabuf_ic_test_attach,
    dev: *mut bindings::device,
) -> i32 {
    // SAFETY: Guaranteed by the caller.
    let (ctx, args) = unsafe { (context(ctx), &mut *args) };
    // SAFETY: `dev` is null or alive for the call, as the caller guarantees.
    let dev = (!dev.is_null()).then(|| unsafe { Device::as_ref(dev) });
    from_result(|| ctx.attach(args, dev).map(|()| 0))
}

/// Runs `DMABUF_IC_TEST_MAP`.
///
/// # Safety
///
/// `ctx` comes from [`dmabuf_ic_test_rs_open`] and is not released yet, and
/// `args` is valid for the call.
#[no_mangle]
pub unsafe extern "C" fn dmabuf_ic_test_rs_map(
    ctx: *mut c_void,
    args: *mut bindings::dmabuf_ic_test_map,
) -> i32 {
    // SAFETY: Guaranteed by the caller.
    let (ctx, args) = unsafe { (context(ctx), &mut *args) };
    from_result(|| ctx.map(args).map(|()| 0))
}

/// Runs `DMABUF_IC_TEST_STATUS`.
///
/// # Safety
///
/// `ctx` comes from [`dmabuf_ic_test_rs_open`] and is not released yet, and
/// `args` is valid for the call.
#[no_mangle]
pub unsafe extern "C" fn dmabuf_ic_test_rs_status(
    ctx: *mut c_void,
    args: *mut bindings::dmabuf_ic_test_status,
) -> i32 {
    // SAFETY: Guaranteed by the caller.
    let (ctx, args) = unsafe { (context(ctx), &mut *args) };
    from_result(|| ctx.status(args).map(|()| 0))
}

/// Runs `DMABUF_IC_TEST_BUF_STATUS`.
///
/// # Safety
///
/// `ctx` comes from [`dmabuf_ic_test_rs_open`] and is not released yet, and
/// `args` is valid for the call.
#[no_mangle]
pub unsafe extern "C" fn dmabuf_ic_test_rs_buf_status(
    ctx: *mut c_void,
    args: *mut bindings::dmabuf_ic_test_buf_status,
) -> i32 {
    // SAFETY: Guaranteed by the caller.
    let (_ctx, args) = unsafe { (context(ctx), &mut *args) };
    from_result(|| buf_status(args).map(|()| 0))
}

/// Runs `DMABUF_IC_TEST_DETACH`.
///
/// # Safety
///
/// `ctx` comes from [`dmabuf_ic_test_rs_open`] and is not released yet.
#[no_mangle]
pub unsafe extern "C" fn dmabuf_ic_test_rs_detach(ctx: *mut c_void, id: u32) -> i32 {
    // SAFETY: Guaranteed by the caller.
    let ctx = unsafe { context(ctx) };
    from_result(|| ctx.detach(id).map(|()| 0))
}

/// Runs `DMABUF_IC_TEST_UNMAP`.
///
/// # Safety
///
/// `ctx` comes from [`dmabuf_ic_test_rs_open`] and is not released yet.
#[no_mangle]
pub unsafe extern "C" fn dmabuf_ic_test_rs_unmap(ctx: *mut c_void, id: u32) -> i32 {
    // SAFETY: Guaranteed by the caller.
    let ctx = unsafe { context(ctx) };
    from_result(|| ctx.unmap(id).map(|()| 0))
}
