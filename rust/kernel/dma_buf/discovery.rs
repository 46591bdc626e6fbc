// SPDX-License-Identifier: GPL-2.0

//! Discovery: what a dma-buf offers, and who imports it how.
//!
//! `DMA_BUF_IOCTL_IC_INFO` on a dma-buf file descriptor reports, without
//! attaching or mapping anything, the interconnects the exporter offers in
//! its order of preference, whether it may revoke access and whether it has,
//! and every attachment with the interconnect negotiated for it. Management
//! tools and VMMs use it to learn what a kernel and a buffer support instead
//! of trying and failing.
//!
//! `DMA_BUF_IOCTL_IC_NOTIFY` registers an eventfd that the framework
//! signals whenever the buffer's access state changes (revoked, allowed
//! again, revoked for good), so that the holder of a mapping learns when
//! to map again without shadowing the exporter's device state.
//!
//! uAPI: [`include/uapi/linux/dma-buf.h`](srctree/include/uapi/linux/dma-buf.h)

use super::{
    exporter::ExportCore,
    importer::{for_each_attachment, with_offers},
    DmaBuf,
};
use crate::{
    bindings,
    error::from_err_ptr,
    prelude::*,
    str::CStr,
    uaccess::{UserPtr, UserSlice},
};
use core::{mem::size_of, ptr::NonNull};

/// A fixed-size, NUL-terminated name field of the uAPI.
type Name = [c_char; bindings::DMA_BUF_IC_NAME_LEN as usize];

/// Copies `name` into `dst`, truncated so that a NUL always ends it.
fn put_name(dst: &mut Name, name: &CStr) {
    let bytes = name.to_bytes();
    let len = bytes.len().min(dst.len() - 1);
    for (d, &b) in dst.iter_mut().zip(&bytes[..len]) {
        *d = b as c_char;
    }
    dst[len..].fill(0);
}

/// Returns the uAPI state flags and offers of `buf`.
fn describe_offers(buf: &DmaBuf) -> Result<(u32, KVec<bindings::dma_buf_ic_offer>)> {
    let mut flags = 0;
    if let Some(export) = ExportCore::of(buf) {
        flags |= bindings::dma_buf_ic_info_flags_DMA_BUF_IC_INFO_NEGOTIATES;
        if export.is_revoked() {
            flags |= bindings::dma_buf_ic_info_flags_DMA_BUF_IC_INFO_REVOKED;
        }
        if export.is_revoked_permanently() {
            flags |= bindings::dma_buf_ic_info_flags_DMA_BUF_IC_INFO_REVOKED_FOR_GOOD;
        }
    }
    let (revocable, offers) = with_offers(buf, |offers| -> Result<_> {
        let mut out = KVec::new();
        for ty in offers.types() {
            let mut offer = bindings::dma_buf_ic_offer::default();
            put_name(&mut offer.name, ty.name());
            offer.flags = offers.flags(ty);
            out.push(offer, GFP_KERNEL)?;
        }
        Ok((offers.revocable(), out))
    })??;
    if revocable {
        flags |= bindings::dma_buf_ic_info_flags_DMA_BUF_IC_INFO_REVOCABLE;
    }
    Ok((flags, offers))
}

/// Returns one uAPI entry per attachment of `buf`.
fn describe_attachments(buf: &DmaBuf) -> Result<KVec<bindings::dma_buf_ic_info_attachment>> {
    let resv = buf.lock_resv();
    // Allocating under the reservation lock is allowed (it comes before
    // memory reclaim); copying to userspace is not, so that waits.
    let mut out = KVec::with_capacity(resv.attachment_count(), GFP_KERNEL)?;
    for_each_attachment(&resv, |view| {
        let mut entry = bindings::dma_buf_ic_info_attachment::default();
        put_name(&mut entry.importer, view.importer);
        if let Some(ty) = view.negotiated {
            put_name(&mut entry.interconnect, ty.name());
            entry.flags |= bindings::dma_buf_ic_attachment_flags_DMA_BUF_IC_ATTACHMENT_NEGOTIATED;
        }
        if view.mapped {
            entry.flags |= bindings::dma_buf_ic_attachment_flags_DMA_BUF_IC_ATTACHMENT_MAPPED;
        }
        // The capacity is the count, and the count cannot change while the
        // lock is held: this push does not allocate.
        let _ = out.push(entry, GFP_NOWAIT);
    });
    Ok(out)
}

/// A uAPI structure of `DMA_BUF_IOCTL_IC_INFO`.
///
/// # Safety
///
/// Every field is an integer or an array of integers, and the structure has
/// no padding: every byte of a value is initialised, and any bytes make a
/// valid value.
unsafe trait Plain: Sized {}

const NAME_LEN: usize = bindings::DMA_BUF_IC_NAME_LEN as usize;

// SAFETY: A name of `NAME_LEN` bytes and two `u32`s; the size, checked at
// build time, leaves no room for padding.
unsafe impl Plain for bindings::dma_buf_ic_offer {}
const _: () = assert!(size_of::<bindings::dma_buf_ic_offer>() == NAME_LEN + 2 * 4);

// SAFETY: Two names of `NAME_LEN` bytes and two `u32`s, as above.
unsafe impl Plain for bindings::dma_buf_ic_info_attachment {}
const _: () = assert!(size_of::<bindings::dma_buf_ic_info_attachment>() == 2 * NAME_LEN + 2 * 4);

// SAFETY: Six `u32`s and two `u64`s, as above.
unsafe impl Plain for bindings::dma_buf_ic_info {}
const _: () = assert!(size_of::<bindings::dma_buf_ic_info>() == 6 * 4 + 2 * 8);

// SAFETY: Three `u32`s and an `i32`, as above.
unsafe impl Plain for bindings::dma_buf_ic_notify {}
const _: () = assert!(size_of::<bindings::dma_buf_ic_notify>() == 4 * 4);

/// Views a uAPI structure as bytes.
fn as_bytes<T: Plain>(value: &T) -> &[u8] {
    // SAFETY: `value` is valid for `size_of::<T>()` bytes, all initialised
    // since `T: Plain` has no padding.
    unsafe { core::slice::from_raw_parts(core::ptr::from_ref(value).cast(), size_of::<T>()) }
}

/// Writes the first `num` of `entries` to the user array at `uptr`.
fn write_entries<T: Plain>(uptr: u64, num: u32, entries: &[T]) -> Result {
    let n = entries.len().min(num as usize);
    if n == 0 {
        return Ok(());
    }
    let uptr = UserPtr::from_addr(usize::try_from(uptr).map_err(|_| EFAULT)?);
    let mut writer = UserSlice::new(uptr, n * size_of::<T>()).writer();
    for entry in &entries[..n] {
        writer.write_slice(as_bytes(entry))?;
    }
    Ok(())
}

/// Reads an argument whose size is in its first `u32`, as iommufd's are.
///
/// Fails with `EINVAL` if the size is below `T`'s, and with `E2BIG` if it is
/// larger and a byte beyond `T` is not zero (a newer userspace asking for
/// something this kernel does not know).
fn read_sized<T: Plain + Default>(arg: UserPtr) -> Result<T> {
    let ksize = size_of::<T>();
    let mut size_bytes = [0u8; 4];
    UserSlice::new(arg, 4)
        .reader()
        .read_slice(&mut size_bytes)?;
    let size = u32::from_ne_bytes(size_bytes) as usize;
    if size < ksize {
        return Err(EINVAL);
    }
    // Bounded, as nothing needs more than a page.
    if size > ksize {
        if size > crate::page::PAGE_SIZE {
            return Err(E2BIG);
        }
        let mut tail = [0u8; 64];
        let mut reader = UserSlice::new(arg.wrapping_byte_add(ksize), size - ksize).reader();
        while !reader.is_empty() {
            let n = reader.len().min(tail.len());
            reader.read_slice(&mut tail[..n])?;
            if tail[..n].iter().any(|&b| b != 0) {
                return Err(E2BIG);
            }
        }
    }
    let mut value = T::default();
    let mut reader = UserSlice::new(arg, ksize).reader();
    // SAFETY: `T` is `Plain`: any bytes make a valid value, and the slice
    // covers exactly the value, which nothing else borrows.
    let bytes = unsafe {
        core::slice::from_raw_parts_mut(core::ptr::from_mut(&mut value).cast::<u8>(), ksize)
    };
    reader.read_slice(bytes)?;
    Ok(value)
}

/// Runs `DMA_BUF_IOCTL_IC_INFO` on `buf` with the user argument at `arg`.
pub fn info_ioctl(buf: &DmaBuf, arg: UserPtr) -> Result {
    const KSIZE: usize = size_of::<bindings::dma_buf_ic_info>();
    let mut info: bindings::dma_buf_ic_info = read_sized(arg)?;
    if info.flags != 0 || info.__reserved != 0 {
        return Err(EINVAL);
    }

    let (flags, offers) = describe_offers(buf)?;
    let attachments = describe_attachments(buf)?;
    write_entries(info.offers_uptr, info.num_offers, &offers)?;
    write_entries(info.attachments_uptr, info.num_attachments, &attachments)?;
    let too_small = (info.num_offers as usize) < offers.len()
        || (info.num_attachments as usize) < attachments.len();
    info.out_flags = flags;
    // Both fit: there are at most a few offers, and attachments are bounded
    // by memory long before `u32::MAX`.
    info.num_offers = offers.len() as u32;
    info.num_attachments = attachments.len() as u32;
    UserSlice::new(arg, KSIZE)
        .writer()
        .write_slice(as_bytes(&info))?;
    if too_small {
        return Err(EMSGSIZE);
    }
    Ok(())
}

/// An eventfd that the framework signals, with a reference to its context.
///
/// # Invariants
///
/// `ctx` is an eventfd context that this value holds a reference to.
pub(crate) struct EventFd {
    ctx: NonNull<bindings::eventfd_ctx>,
}

// SAFETY: The context is reference counted and signalling it takes its own
// lock: the reference may be used and dropped on any thread.
unsafe impl Send for EventFd {}
// SAFETY: As for `Send`: `signal` through a shared reference is allowed
// from several threads at once.
unsafe impl Sync for EventFd {}

impl EventFd {
    /// Takes a reference to the eventfd of the file descriptor `fd`.
    ///
    /// Fails with `EBADF` if `fd` is not open and with `EINVAL` if it is no
    /// eventfd.
    fn get(fd: i32) -> Result<Self> {
        // SAFETY: Any integer may be passed; the function checks it.
        let ctx = from_err_ptr(unsafe { bindings::eventfd_ctx_fdget(fd) })?;
        // INVARIANT: `eventfd_ctx_fdget` returned a context with a reference
        // for the caller.
        Ok(Self {
            ctx: NonNull::new(ctx).ok_or(EINVAL)?,
        })
    }

    /// Adds one to the eventfd's counter, waking its readers.
    pub(crate) fn signal(&self) {
        // SAFETY: By the type invariant the context is alive.
        unsafe { bindings::eventfd_signal_mask(self.ctx.as_ptr(), 0) };
    }
}

impl PartialEq for EventFd {
    /// The same eventfd, whatever file descriptor named it.
    fn eq(&self, other: &Self) -> bool {
        self.ctx == other.ctx
    }
}

impl Drop for EventFd {
    fn drop(&mut self) {
        // SAFETY: By the type invariant this value holds a reference, which
        // is not used after this.
        unsafe { bindings::eventfd_ctx_put(self.ctx.as_ptr()) };
    }
}

/// Runs `DMA_BUF_IOCTL_IC_NOTIFY` on `buf` with the user argument at `arg`.
pub fn notify_ioctl(buf: &DmaBuf, arg: UserPtr) -> Result {
    let args: bindings::dma_buf_ic_notify = read_sized(arg)?;
    let remove = bindings::dma_buf_ic_notify_flags_DMA_BUF_IC_NOTIFY_REMOVE;
    if args.flags & !remove != 0 || args.__reserved != 0 {
        return Err(EINVAL);
    }
    let export = ExportCore::of(buf).ok_or(EOPNOTSUPP)?;
    let eventfd = EventFd::get(args.eventfd)?;
    if args.flags & remove != 0 {
        export.remove_watcher(&eventfd)
    } else {
        export.add_watcher(eventfd)
    }
}
