// SPDX-License-Identifier: GPL-2.0

//! Device memory of QEMU's ivshmem as dma-bufs: a GPU-like exporter.
//!
//! QEMU's `ivshmem-plain` device (PCI 1af4:1110) has one memory BAR, BAR 2,
//! backed by host memory. This driver treats it as the memory of a GPU:
//! userspace allocates buffers in it through `/dev/ivshmem-devmemN` (one per
//! bound device, interface in `include/uapi/linux/ivshmem_devmem.h`) and
//! gets a dma-buf per buffer, which offers, in order:
//!
//! 1. [`DEVMEM_LINK`], the driver's private interconnect: another device of
//!    this driver reaches the memory through the exporter's own mapping of
//!    the BAR ([`Window`]) and copies between buffers with the CPU, as GPUs
//!    of one family copy over their own link, without the DMA API;
//! 2. [`PHYS_LIST`], the BAR's physical range, for importers that program
//!    an IOMMU (iommufd);
//! 3. [`SGT`], a peer-to-peer scatter-gather table mapped through the DMA
//!    API, for every other importer.
//!
//! Every buffer can be revoked: a reset of the device revokes all its
//! buffers and allows mapping again once it is over; unbinding the device
//! revokes them for good. A buffer, and its memory, lives as long as its
//! handle or its dma-buf does, which may be longer than the device is bound.
//!
//! Locks, in order: an open file's handles, the device's [`State`], a
//! buffer's reservation lock, the importer's. The exporter's map runs under
//! the reservation lock and takes none of the driver's locks.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use kernel::{
    bindings,
    device::{Bound, Core, Device},
    devres::Devres,
    dma_buf::{
        exporter::{export, Export, Exporter, MapRequest, Mapped},
        importer::{attach, Attachment, Importer},
        interconnect::{
            AcceptList, Interconnect, InterconnectType, OfferList, SgtOffer, PHYS_LIST, SGT,
        },
        mapping::{BarProvider, PhysRange, PhysRanges, SgtMapping},
        DmaBuf, ResvLocked,
    },
    ffi::c_char,
    fs::File,
    io::Io,
    ioctl::{_IOR, _IOW, _IOWR},
    maple_tree::{AllocErrorKind, MapleTreeAlloc},
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    new_mutex,
    page::{PAGE_SHIFT, PAGE_SIZE},
    pci,
    prelude::*,
    str::{CStr, CString},
    sync::{aref::ARef, Arc, Mutex},
    transmute::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
};

/// The BAR that is the device's memory.
const MEM_BAR: u32 = 2;

/// Bytes copied per step of a CPU copy; the BAR is only reached in short
/// sections, between which the user copies may sleep.
const CHUNK: usize = PAGE_SIZE;

/// The driver's private interconnect: importers that are devices of this
/// driver reach a buffer through the exporter's mapping of its BAR.
pub struct DevmemLink;

/// An importer's acceptance of [`DEVMEM_LINK`]; only this driver makes one.
pub struct LinkAccept(());

/// A buffer mapped through [`DEVMEM_LINK`]: a window on the exporter's BAR.
///
/// The window gives the importer CPU access to the buffer for as long as
/// the mapping exists, which the framework ends, under the buffer's
/// reservation lock, before a revoke returns. An importer reaches the
/// window only through [`Attachment::mapping`], with that lock held, so no
/// access outlives the mapping.
pub struct Window {
    mem: Arc<DevMem>,
    offset: usize,
    len: usize,
}

impl Window {
    /// Copies `out.len()` bytes at `offset` of the buffer into `out`.
    ///
    /// Fails with `EINVAL` outside the buffer or unaligned, and with
    /// `ENODEV` if the exporter's device is gone.
    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        let start = checked_span(offset, out.len(), self.len)?;
        self.mem.read(self.offset + start, out)
    }
}

impl Interconnect for DevmemLink {
    type Offer = ();
    type Accept = LinkAccept;
    type Mapping = Window;
}

/// The driver's private interconnect.
pub static DEVMEM_LINK: InterconnectType<DevmemLink> =
    InterconnectType::new(c"ivshmem-devmem-link");

/// Returns `offset` if `offset..offset + len` is a non-empty span of whole
/// 32-bit words within `size` bytes; `EINVAL` otherwise.
fn checked_span(offset: usize, len: usize, size: usize) -> Result<usize> {
    let end = offset.checked_add(len).ok_or(EINVAL)?;
    if len == 0 || offset % 4 != 0 || len % 4 != 0 || end > size {
        return Err(EINVAL);
    }
    Ok(offset)
}

/// What the driver knows of one bound device; shared by the device's
/// buffers and open files, which may outlive the binding.
#[pin_data]
struct DevMem {
    /// The device's memory, mapped; revoked when the device unbinds.
    bar: Devres<pci::Bar<'static>>,
    /// The BAR as the DMA layer and physical-range importers see it.
    provider: BarProvider,
    /// The device's name ("0000:00:04.0").
    name: CString,
    /// Pages of the BAR, allocated as ranges; an entry per buffer.
    #[pin]
    ranges: PageRanges,
    /// Bytes allocated, and in how many buffers.
    allocated: AtomicUsize,
    nr_buffers: AtomicUsize,
    #[pin]
    state: Mutex<State>,
}

/// The allocator of a device's memory: a page index per tree index, an
/// entry (with no value) per allocated range.
#[pin_data]
struct PageRanges {
    #[pin]
    tree: MapleTreeAlloc<()>,
}

// SAFETY: The tree's values are `()`, which carry nothing, and the C maple
// tree protects itself: every function that the abstraction calls through
// `&self` (allocating, erasing) takes the tree's internal lock, and the
// tree is destroyed once, by its drop. Nothing in it belongs to a thread.
unsafe impl Send for PageRanges {}
// SAFETY: See `Send`: shared use is serialised by the tree's own lock.
unsafe impl Sync for PageRanges {}

/// The state of a device that its reset and unbind change.
struct State {
    /// Every buffer whose dma-buf exists, to revoke on reset and unbind.
    exports: KVec<Arc<Export<Buffer>>>,
    in_reset: bool,
    /// The device is unbound.
    gone: bool,
}

impl DevMem {
    /// Maps the memory BAR of `pdev` and sets it up for peer-to-peer DMA.
    fn new(pdev: &pci::Device<Core<'_>>) -> Result<Arc<Self>> {
        pdev.enable_device_mem()?;
        let bound: &pci::Device<Bound> = pdev;
        let bar = bound
            .iomap_region(MEM_BAR, c"ivshmem_devmem")?
            .into_devres()?;
        let provider = BarProvider::new(bound, MEM_BAR)?;
        if provider.size() < PAGE_SIZE as u64 || provider.size() > isize::MAX as u64 {
            return Err(EINVAL);
        }
        let dev: &Device<Bound> = bound.as_ref();
        dev_info!(dev, "{} bytes of device memory\n", provider.size());
        Arc::pin_init(
            try_pin_init!(DevMem {
                bar,
                provider,
                name: CString::try_from_fmt(fmt!("{}", dev.name()))?,
                ranges <- pin_init!(PageRanges {
                    tree <- MapleTreeAlloc::new(),
                }),
                allocated: AtomicUsize::new(0),
                nr_buffers: AtomicUsize::new(0),
                state <- new_mutex!(State {
                    exports: KVec::new(),
                    in_reset: false,
                    gone: false,
                }),
            }),
            GFP_KERNEL,
        )
    }

    fn size(&self) -> usize {
        self.provider.size() as usize
    }

    /// Copies `out.len()` bytes of the BAR at `offset` into `out`.
    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        checked_span(offset, out.len(), self.size())?;
        let bar = self.bar.try_access().ok_or(ENODEV)?;
        for (i, word) in out.chunks_exact_mut(4).enumerate() {
            word.copy_from_slice(&bar.try_read32(offset + i * 4)?.to_le_bytes());
        }
        Ok(())
    }

    /// Copies `data` into the BAR at `offset`.
    fn write(&self, offset: usize, data: &[u8]) -> Result {
        checked_span(offset, data.len(), self.size())?;
        let bar = self.bar.try_access().ok_or(ENODEV)?;
        for (i, word) in data.chunks_exact(4).enumerate() {
            let value = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            bar.try_write32(value, offset + i * 4)?;
        }
        Ok(())
    }

    /// Takes the device's state lock; `ENODEV` once it is unbound, `EBUSY`
    /// while it is held in reset.
    fn lock_usable(&self) -> Result<kernel::sync::MutexGuard<'_, State>> {
        let state = self.state.lock();
        if state.gone {
            return Err(ENODEV);
        }
        if state.in_reset {
            return Err(EBUSY);
        }
        Ok(state)
    }

    /// Allocates a buffer of `size` bytes and exports it.
    fn alloc(self: &Arc<Self>, size: usize) -> Result<(Arc<Export<Buffer>>, ARef<DmaBuf>)> {
        if size == 0 || size % PAGE_SIZE != 0 || size > self.size() {
            return Err(EINVAL);
        }
        let mut state = self.lock_usable()?;
        let pages = self.size() >> PAGE_SHIFT;
        let first = self
            .ranges
            .tree
            .alloc_range(size >> PAGE_SHIFT, (), ..pages, GFP_KERNEL)
            .map_err(|e| match e.cause {
                AllocErrorKind::Busy => ENOSPC,
                AllocErrorKind::AllocError(_) => ENOMEM,
                _ => EINVAL,
            })?;
        self.allocated.fetch_add(size, Ordering::Relaxed);
        self.nr_buffers.fetch_add(1, Ordering::Relaxed);
        // From here on dropping `buffer` gives the range back.
        let buffer = Buffer {
            mem: self.clone(),
            offset: first << PAGE_SHIFT,
            size,
        };
        let sgt = SgtOffer {
            peer_to_peer: true,
            provider: Some(self.provider.device().into()),
        };
        let mut offers = OfferList::new();
        offers
            .offer(&DEVMEM_LINK, ())?
            .offer(&PHYS_LIST, ())?
            .offer(&SGT, sgt)?
            .set_revocable(true);
        let (export, buf) = export(buffer, offers, size, c"ivshmem_devmem", &THIS_MODULE)?;
        let listed = state.exports.push(export.clone(), GFP_KERNEL);
        // On failure `buf` goes, and its `released` takes the lock.
        drop(state);
        listed?;
        Ok((export, buf))
    }

    /// Enters or leaves reset, revoking or restoring every buffer.
    fn reset(&self, enter: bool) -> Result {
        let mut state = self.state.lock();
        if state.gone {
            return Err(ENODEV);
        }
        if state.in_reset == enter {
            return Err(Error::from_errno(-(bindings::EALREADY as i32)));
        }
        for export in state.exports.iter() {
            if enter {
                export.revoke();
            } else {
                // Revoked for good only when the device goes, which marks
                // the state gone first.
                export.unrevoke()?;
            }
        }
        state.in_reset = enter;
        Ok(())
    }

    /// The device is unbinding: revokes every buffer for good.
    fn unbind(&self) {
        let mut state = self.state.lock();
        state.gone = true;
        for export in state.exports.iter() {
            export.revoke_permanently();
        }
        // The buffers keep their memory (and this state) until they go; the
        // list has no more use.
        state.exports.clear();
    }
}

/// One buffer in a device's memory: the exporter's state of its dma-buf.
struct Buffer {
    mem: Arc<DevMem>,
    offset: usize,
    size: usize,
}

impl Buffer {
    fn phys(&self) -> Result<PhysRanges> {
        PhysRanges::new(&[PhysRange {
            addr: self.mem.provider.start() + self.offset as u64,
            len: self.size,
        }])
    }
}

impl Exporter for Buffer {
    fn map(&self, req: &MapRequest<'_>) -> Result<Mapped> {
        let ty = req.interconnect();
        if ty.is(&DEVMEM_LINK) {
            let window = Window {
                mem: self.mem.clone(),
                offset: self.offset,
                len: self.size,
            };
            Mapped::new(req, &DEVMEM_LINK, window)
        } else if ty.is(&PHYS_LIST) {
            Mapped::new(req, &PHYS_LIST, self.phys()?)
        } else if ty.is(&SGT) {
            let sgt = SgtMapping::map_mmio(req, &self.mem.provider, &self.phys()?)?;
            Mapped::new(req, &SGT, sgt)
        } else {
            Err(EINVAL)
        }
    }

    fn released(&self) {
        let mut state = self.mem.state.lock();
        let me = core::ptr::from_ref(self);
        if let Some(i) = state
            .exports
            .iter()
            .position(|e| core::ptr::eq(e.exporter(), me))
        {
            // The buffer's own reference to this state outlives this call,
            // so this is never the last one.
            drop(state.exports.remove(i));
        }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // The range is the buffer's since `alloc`; nothing else erases it.
        let _ = self.mem.ranges.tree.erase(self.offset >> PAGE_SHIFT);
        self.mem.allocated.fetch_sub(self.size, Ordering::Relaxed);
        self.mem.nr_buffers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The importer side of an import: every access to the imported buffer
/// happens under its reservation lock through the mapping, which the
/// framework ends after [`Importer::invalidate`] returns; there is nothing
/// else to stop.
struct LinkImporter;

impl Importer for LinkImporter {
    fn invalidate(&self, _resv: &ResvLocked<'_>) {}
}

/// One open file of a device: its handles.
#[pin_data]
struct OpenFile {
    mem: Arc<DevMem>,
    #[pin]
    handles: Mutex<Handles>,
}

/// Buffers and imports of an open file; a handle is an index plus one.
struct Handles {
    buffers: KVec<Option<Arc<Export<Buffer>>>>,
    imports: KVec<Option<Attachment<LinkImporter>>>,
}

/// Stores `value` in the first free slot of `slots`; returns its handle.
fn insert<T>(slots: &mut KVec<Option<T>>, value: T) -> Result<u32> {
    let index = match slots.iter().position(Option::is_none) {
        Some(i) => {
            slots[i] = Some(value);
            i
        }
        None => {
            slots.push(Some(value), GFP_KERNEL)?;
            slots.len() - 1
        }
    };
    u32::try_from(index + 1).map_err(|_| ENOSPC)
}

/// Returns the slot of `handle`; `ENOENT` if it is empty or out of range.
fn slot<T>(slots: &mut KVec<Option<T>>, handle: u32) -> Result<&mut Option<T>> {
    let index = (handle as usize).checked_sub(1).ok_or(ENOENT)?;
    match slots.get_mut(index) {
        Some(slot) if slot.is_some() => Ok(slot),
        _ => Err(ENOENT),
    }
}

impl OpenFile {
    fn info(&self, args: &mut bindings::ivshmem_devmem_info) -> Result {
        let state = self.mem.state.lock();
        let name = self.mem.name.to_bytes();
        let len = name.len().min(args.bdf.len() - 1);
        for (dst, src) in args.bdf.iter_mut().zip(&name[..len]) {
            *dst = c_char::from_ne_bytes([*src]);
        }
        let allocated = self.mem.allocated.load(Ordering::Relaxed);
        args.mem_size = self.mem.size() as u64;
        args.mem_free = (self.mem.size() - allocated) as u64;
        let nr_buffers = self.mem.nr_buffers.load(Ordering::Relaxed);
        args.nr_buffers = u32::try_from(nr_buffers).unwrap_or(u32::MAX);
        args.flags = if state.in_reset {
            bindings::IVSHMEM_DEVMEM_IN_RESET
        } else {
            0
        };
        Ok(())
    }

    fn alloc(&self, args: &mut bindings::ivshmem_devmem_alloc) -> Result {
        if args.flags != 0 || args.reserved != 0 {
            return Err(EINVAL);
        }
        let size = usize::try_from(args.size).map_err(|_| EINVAL)?;
        let mut handles = self.handles.lock();
        let (export, buf) = self.mem.alloc(size)?;
        let offset = export.exporter().offset;
        let handle = insert(&mut handles.buffers, export)?;
        match DmaBuf::install_fd(buf) {
            Ok(fd) => {
                args.handle = handle;
                args.fd = fd;
                args.offset = offset as u64;
                Ok(())
            }
            Err(e) => {
                // The buffer went with its reference; the handle goes too.
                *slot(&mut handles.buffers, handle)? = None;
                Err(e)
            }
        }
    }

    fn free(&self, args: &bindings::ivshmem_devmem_free) -> Result {
        if args.reserved != 0 {
            return Err(EINVAL);
        }
        let mut handles = self.handles.lock();
        let entry = slot(&mut handles.buffers, args.handle)?;
        if entry.as_ref().is_some_and(|e| e.mapping_count() != 0) {
            return Err(EBUSY);
        }
        *entry = None;
        Ok(())
    }

    /// Returns the buffer of `handle`.
    fn buffer(&self, handle: u32) -> Result<Arc<Export<Buffer>>> {
        let mut handles = self.handles.lock();
        slot(&mut handles.buffers, handle)?.clone().ok_or(ENOENT)
    }

    fn rw(&self, args: &bindings::ivshmem_devmem_rw) -> Result {
        let write = args.flags == bindings::IVSHMEM_DEVMEM_RW_WRITE;
        if (args.flags != 0 && !write) || args.len > u64::from(bindings::IVSHMEM_DEVMEM_RW_MAX) {
            return Err(EINVAL);
        }
        let buffer = self.buffer(args.handle)?;
        let buffer = buffer.exporter();
        let offset = usize::try_from(args.offset).map_err(|_| EINVAL)?;
        let len = args.len as usize;
        checked_span(offset, len, buffer.size)?;
        let user = UserSlice::new(UserPtr::from_addr(args.data as usize), len);
        let mut bounce = KVec::from_elem(0u8, len.min(CHUNK), GFP_KERNEL)?;
        let mut done = 0;
        if write {
            let mut reader = user.reader();
            while done < len {
                let chunk = &mut bounce[..(len - done).min(CHUNK)];
                reader.read_slice(chunk)?;
                // Reset waits for a write in progress.
                let _state = self.mem.lock_usable()?;
                self.mem.write(buffer.offset + offset + done, chunk)?;
                done += chunk.len();
            }
        } else {
            let mut writer = user.writer();
            while done < len {
                let chunk = &mut bounce[..(len - done).min(CHUNK)];
                {
                    let _state = self.mem.lock_usable()?;
                    self.mem.read(buffer.offset + offset + done, chunk)?;
                }
                writer.write_slice(chunk)?;
                done += chunk.len();
            }
        }
        Ok(())
    }

    fn reset(&self, args: &bindings::ivshmem_devmem_reset) -> Result {
        let enter = bindings::IVSHMEM_DEVMEM_RESET_ENTER;
        let exit = bindings::IVSHMEM_DEVMEM_RESET_EXIT;
        if args.reserved != 0 || args.flags & !(enter | exit) != 0 || args.flags == enter | exit {
            return Err(EINVAL);
        }
        if args.flags != exit {
            self.mem.reset(true)?;
        }
        if args.flags != enter {
            self.mem.reset(false)?;
        }
        Ok(())
    }

    fn import(&self, args: &mut bindings::ivshmem_devmem_import) -> Result {
        if args.handle != 0 {
            return Err(EINVAL);
        }
        let buf = DmaBuf::get(args.fd)?;
        let mut accepts = AcceptList::new();
        accepts
            .accept(&DEVMEM_LINK, LinkAccept(()))?
            .set_honours_invalidation(true);
        let dev: &Device = self.mem.provider.device();
        let mut handles = self.handles.lock();
        // A device that is gone imports nothing (one held in reset may).
        if self.mem.state.lock().gone {
            return Err(ENODEV);
        }
        let attachment = attach(&buf, dev, accepts, LinkImporter)?;
        args.handle = insert(&mut handles.imports, attachment)?;
        Ok(())
    }

    fn copy(&self, args: &bindings::ivshmem_devmem_copy) -> Result {
        if args.len > u64::from(bindings::IVSHMEM_DEVMEM_RW_MAX) {
            return Err(EINVAL);
        }
        let len = args.len as usize;
        let src_offset = usize::try_from(args.src_offset).map_err(|_| EINVAL)?;
        let dst_offset = usize::try_from(args.dst_offset).map_err(|_| EINVAL)?;
        let dst = self.buffer(args.handle)?;
        let dst = dst.exporter();
        checked_span(dst_offset, len, dst.size)?;
        let mut bounce = KVec::from_elem(0u8, len.min(CHUNK), GFP_KERNEL)?;
        let mut handles = self.handles.lock();
        let import = slot(&mut handles.imports, args.import)?
            .as_ref()
            .ok_or(ENOENT)?;
        // Reset of this device waits for the copy; a revoke of the source
        // waits for its reservation lock, which the copy holds throughout.
        let _state = self.mem.lock_usable()?;
        let mut resv = import.buf().lock_resv();
        if !import.is_mapped(&resv) {
            import.map(&mut resv, &DEVMEM_LINK)?;
        }
        let window = import.mapping(&resv, &DEVMEM_LINK).ok_or(ENODEV)?;
        let mut done = 0;
        while done < len {
            let chunk = &mut bounce[..(len - done).min(CHUNK)];
            window.read(src_offset + done, chunk)?;
            self.mem.write(dst.offset + dst_offset + done, chunk)?;
            done += chunk.len();
        }
        Ok(())
    }

    fn unimport(&self, args: &bindings::ivshmem_devmem_unimport) -> Result {
        if args.reserved != 0 {
            return Err(EINVAL);
        }
        let mut handles = self.handles.lock();
        // Detaching takes the buffer's reservation lock, after the handles'.
        *slot(&mut handles.imports, args.handle)? = None;
        Ok(())
    }
}

/// An ioctl argument structure of `ivshmem_devmem.h`, for the byte-copy
/// traits, which the `bindings` crate's types do not implement.
#[repr(transparent)]
struct Arg<T>(T);

/// Implements the byte-copy traits for the argument structures, after
/// checking at build time that each is the sum of its fields: no padding.
macro_rules! plain_args {
    ($($name:ident { $($field:ident: $ty:ty),+ $(,)? })+) => {$(
        const _: () = {
            // Names every field with its type: a field added to the header
            // and not here fails to build.
            #[allow(dead_code)]
            fn fields(arg: bindings::$name) {
                let bindings::$name { $($field),+ } = arg;
                $(let _: $ty = $field;)+
            }
            assert!(size_of::<bindings::$name>() == 0 $(+ size_of::<$ty>())+);
        };
        // SAFETY: The structure has no padding (checked above) and only
        // integer fields, for which every bit pattern is valid.
        unsafe impl FromBytes for Arg<bindings::$name> {}
        // SAFETY: As for `FromBytes`: no padding, so no uninitialised bytes.
        unsafe impl AsBytes for Arg<bindings::$name> {}
    )+};
}

plain_args! {
    ivshmem_devmem_info {
        bdf: [c_char; 32],
        mem_size: u64,
        mem_free: u64,
        nr_buffers: u32,
        flags: u32,
    }
    ivshmem_devmem_alloc { size: u64, flags: u32, handle: u32, fd: i32, reserved: u32, offset: u64 }
    ivshmem_devmem_free { handle: u32, reserved: u32 }
    ivshmem_devmem_rw { handle: u32, flags: u32, offset: u64, len: u64, data: u64 }
    ivshmem_devmem_reset { flags: u32, reserved: u32 }
    ivshmem_devmem_import { fd: i32, handle: u32 }
    ivshmem_devmem_copy { import: u32, handle: u32, src_offset: u64, dst_offset: u64, len: u64 }
    ivshmem_devmem_unimport { handle: u32, reserved: u32 }
}

const IOC: u32 = bindings::IVSHMEM_DEVMEM_IOCTL_BASE;
const INFO: u32 = _IOR::<bindings::ivshmem_devmem_info>(IOC, 0);
const ALLOC: u32 = _IOWR::<bindings::ivshmem_devmem_alloc>(IOC, 1);
const FREE: u32 = _IOW::<bindings::ivshmem_devmem_free>(IOC, 2);
const RW: u32 = _IOW::<bindings::ivshmem_devmem_rw>(IOC, 3);
const RESET: u32 = _IOW::<bindings::ivshmem_devmem_reset>(IOC, 4);
const IMPORT: u32 = _IOWR::<bindings::ivshmem_devmem_import>(IOC, 5);
const COPY: u32 = _IOW::<bindings::ivshmem_devmem_copy>(IOC, 6);
const UNIMPORT: u32 = _IOW::<bindings::ivshmem_devmem_unimport>(IOC, 7);

/// Reads the argument of an ioctl that only reads it.
fn read_arg<T>(arg: UserPtr) -> Result<T>
where
    Arg<T>: FromBytes,
{
    let Arg(value) = UserSlice::new(arg, size_of::<T>()).reader().read()?;
    Ok(value)
}

/// Reads the argument of an ioctl, lets `f` update it and writes it back.
fn update_arg<T>(arg: UserPtr, f: impl FnOnce(&mut T) -> Result) -> Result<isize>
where
    Arg<T>: FromBytes + AsBytes,
{
    let (mut reader, mut writer) = UserSlice::new(arg, size_of::<T>()).reader_writer();
    let mut value: Arg<T> = reader.read()?;
    f(&mut value.0)?;
    writer.write(&value)?;
    Ok(0)
}

#[vtable]
impl MiscDevice for OpenFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        // SAFETY: Every registration of `OpenFile` is the `misc` field of a
        // `DeviceData` (made only in `probe`), pinned as the device's driver
        // data, which outlives the registration; the misc core calls `open`
        // under the lock with which deregistration waits for it.
        let data = unsafe { &*kernel::container_of!(core::ptr::from_ref(misc), DeviceData, misc) };
        KBox::try_pin_init(
            try_pin_init!(OpenFile {
                mem: data.mem.clone(),
                handles <- new_mutex!(Handles {
                    buffers: KVec::new(),
                    imports: KVec::new(),
                }),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(this: Pin<&OpenFile>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let arg = UserPtr::from_addr(arg);
        match cmd {
            INFO => update_arg(arg, |a| this.info(a)),
            ALLOC => update_arg(arg, |a| this.alloc(a)),
            FREE => this.free(&read_arg(arg)?).map(|()| 0),
            RW => this.rw(&read_arg(arg)?).map(|()| 0),
            RESET => this.reset(&read_arg(arg)?).map(|()| 0),
            IMPORT => update_arg(arg, |a| this.import(a)),
            COPY => this.copy(&read_arg(arg)?).map(|()| 0),
            UNIMPORT => this.unimport(&read_arg(arg)?).map(|()| 0),
            _ => Err(ENOTTY),
        }
    }
}

/// The names of the misc devices, one per bound device.
const NAMES: [&CStr; 8] = [
    c"ivshmem-devmem0",
    c"ivshmem-devmem1",
    c"ivshmem-devmem2",
    c"ivshmem-devmem3",
    c"ivshmem-devmem4",
    c"ivshmem-devmem5",
    c"ivshmem-devmem6",
    c"ivshmem-devmem7",
];

/// Which of [`NAMES`] are in use, a bit each.
static NAMES_USED: AtomicU32 = AtomicU32::new(0);

/// A name of [`NAMES`], in use while this value exists.
struct NameSlot(usize);

impl NameSlot {
    /// Takes the first free name; `ENOSPC` if every one is in use.
    fn take() -> Result<Self> {
        let mut used = NAMES_USED.load(Ordering::Relaxed);
        loop {
            let free = (!used).trailing_zeros() as usize;
            if free >= NAMES.len() {
                return Err(ENOSPC);
            }
            match NAMES_USED.compare_exchange(
                used,
                used | (1 << free),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(Self(free)),
                Err(now) => used = now,
            }
        }
    }
}

impl Drop for NameSlot {
    fn drop(&mut self) {
        NAMES_USED.fetch_and(!(1 << self.0), Ordering::AcqRel);
    }
}

/// The driver's data of a bound device.
#[pin_data]
struct DeviceData {
    /// Deregistered first: no file opens after this goes.
    #[pin]
    misc: MiscDeviceRegistration<OpenFile>,
    mem: Arc<DevMem>,
    _name: NameSlot,
}

struct IvshmemDevmem;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <IvshmemDevmem as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_id(pci::Vendor::REDHAT_QUMRANET, 0x1110),
        ()
    )]
);

impl pci::Driver for IvshmemDevmem {
    type IdInfo = ();
    type Data<'bound> = DeviceData;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        // In this order: a file may open as soon as `misc` is registered.
        try_pin_init!(DeviceData {
            mem: DevMem::new(pdev)?,
            _name: NameSlot::take()?,
            misc <- MiscDeviceRegistration::register(MiscDeviceOptions {
                name: NAMES[_name.0],
            }),
        })
    }

    fn unbind<'bound>(_pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // Before the managed resources go: the BAR mapping and the
        // peer-to-peer state of the device.
        this.mem.unbind();
    }
}

kernel::module_pci_driver! {
    type: IvshmemDevmem,
    name: "ivshmem_devmem",
    authors: ["dmabuf-interconnect developers"],
    description: "Device memory of QEMU's ivshmem as dma-bufs",
    license: "GPL",
    imports_ns: ["DMA_BUF"],
}
