// SPDX-License-Identifier: GPL-2.0

//! DMA buffer sharing (dma-buf).
//!
//! A dma-buf is a buffer that one driver (the exporter) shares with other
//! drivers (importers) and with userspace, where it is a file descriptor.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)

use crate::{
    bindings,
    error::{from_err_ptr, Error, Result},
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};
use core::{marker::PhantomData, ptr::NonNull};

mod capi;
pub mod discovery;
pub mod exporter;
pub mod importer;
pub mod interconnect;
pub mod mapping;

/// A dma-buf: a buffer shared between an exporter, importers and userspace.
///
/// References are counted through the file that backs every dma-buf, so an
/// [`ARef<DmaBuf>`] keeps the buffer alive even after userspace closed all
/// its file descriptors.
///
/// # Invariants
///
/// The inner `struct dma_buf` is fully initialised (it was returned by
/// `dma_buf_export`) and its file is kept alive by the reference that the
/// owner of a `&DmaBuf` holds.
#[repr(transparent)]
pub struct DmaBuf(Opaque<bindings::dma_buf>);

// SAFETY: A `struct dma_buf` may be used and released from any thread; its
// mutable state is protected by its own locks (the reservation object).
unsafe impl Send for DmaBuf {}
// SAFETY: All methods that take `&DmaBuf` are safe to call concurrently.
unsafe impl Sync for DmaBuf {}

// SAFETY: `get_dma_buf` and `dma_buf_put` increment and decrement the count of
// the file behind the buffer, which keeps the `struct dma_buf` alive while
// non-zero.
unsafe impl AlwaysRefCounted for DmaBuf {
    fn inc_ref(&self) {
        // SAFETY: By the type invariant the buffer is alive, so its file
        // count is non-zero and may be incremented.
        unsafe { bindings::get_dma_buf(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up one reference that it owns.
        unsafe { bindings::dma_buf_put(obj.cast().as_ptr()) };
    }
}

impl DmaBuf {
    /// Looks up the dma-buf behind the file descriptor `fd` of the current
    /// process and takes a reference to it.
    ///
    /// Fails with `EBADF` if `fd` is not an open file descriptor and with
    /// `EINVAL` if it is open but not a dma-buf.
    ///
    /// # Examples
    ///
    /// The reference keeps the buffer alive after its file descriptor is
    /// closed, and dropping the last reference releases the buffer.
    ///
    /// ```
    /// use core::sync::atomic::{AtomicBool, Ordering};
    /// use kernel::{bindings, dma_buf::DmaBuf, error::from_err_ptr, prelude::*};
    ///
    /// static RELEASED: AtomicBool = AtomicBool::new(false);
    ///
    /// // A minimal exporter: this test never attaches, so map is never called.
    /// extern "C" fn map(
    ///     _: *mut bindings::dma_buf_attachment,
    ///     _: bindings::dma_data_direction,
    /// ) -> *mut bindings::sg_table {
    ///     EINVAL.to_ptr()
    /// }
    /// extern "C" fn unmap(
    ///     _: *mut bindings::dma_buf_attachment,
    ///     _: *mut bindings::sg_table,
    ///     _: bindings::dma_data_direction,
    /// ) {
    /// }
    /// extern "C" fn release(_: *mut bindings::dma_buf) {
    ///     RELEASED.store(true, Ordering::Relaxed);
    /// }
    /// static OPS: bindings::dma_buf_ops = bindings::dma_buf_ops {
    ///     map_dma_buf: Some(map),
    ///     unmap_dma_buf: Some(unmap),
    ///     release: Some(release),
    ///     // SAFETY: All other callbacks are optional; zero means absent.
    ///     ..unsafe { core::mem::zeroed() }
    /// };
    ///
    /// // SAFETY: Every field of the export info may be zero.
    /// let mut info: bindings::dma_buf_export_info = unsafe { core::mem::zeroed() };
    /// info.exp_name = c"rust_doctest".as_char_ptr();
    /// info.ops = &OPS;
    /// info.size = 4096;
    /// info.flags = bindings::O_RDWR as i32;
    /// // The exporter's private data: anything but NULL.
    /// info.priv_ = RELEASED.as_ptr().cast();
    /// // SAFETY: `info` is a valid export description with the mandatory ops.
    /// let raw = from_err_ptr(unsafe { bindings::dma_buf_export(&info) })?;
    /// // SAFETY: `raw` is a new dma-buf whose reference the fd takes over.
    /// let fd = unsafe { bindings::dma_buf_fd(raw, 0) };
    /// assert!(fd >= 0);
    ///
    /// let buf = DmaBuf::get(fd)?;
    /// assert_eq!(buf.as_raw(), raw);
    /// assert_eq!(buf.size(), 4096);
    /// // Not made by this framework's exporter.
    /// assert!(kernel::dma_buf::exporter::ExportCore::of(&buf).is_none());
    /// assert_eq!(DmaBuf::get(-1).err(), Some(EBADF));
    ///
    /// // Closing the fd leaves our reference as the only one.
    /// // SAFETY: `fd` was installed above and nothing else closes it.
    /// assert_eq!(unsafe { bindings::close_fd(fd as u32) }, 0);
    /// // SAFETY: Called from process context without locks held.
    /// unsafe { bindings::flush_delayed_fput() };
    /// assert!(!RELEASED.load(Ordering::Relaxed));
    ///
    /// drop(buf);
    /// // SAFETY: Called from process context without locks held.
    /// unsafe { bindings::flush_delayed_fput() };
    /// assert!(RELEASED.load(Ordering::Relaxed));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn get(fd: i32) -> Result<ARef<Self>> {
        // SAFETY: `dma_buf_get` accepts any integer; it validates the fd.
        let ptr = from_err_ptr(unsafe { bindings::dma_buf_get(fd) })?;
        // SAFETY: On success `dma_buf_get` returned a live buffer and a
        // reference that we now own.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast())) })
    }

    /// Creates a `&DmaBuf` from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to an exported `struct dma_buf` on which the caller
    /// holds a reference for the lifetime `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::dma_buf) -> &'a Self {
        // SAFETY: `DmaBuf` is a transparent wrapper of `struct dma_buf`, and
        // the caller guarantees that it stays alive for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw `struct dma_buf` pointer.
    pub fn as_raw(&self) -> *mut bindings::dma_buf {
        self.0.get()
    }

    /// Takes the buffer's reservation lock (`dma_resv`) and returns its guard.
    ///
    /// The reservation lock protects the buffer's attachments and, for
    /// buffers exported through [`exporter`], their revoked state. It is
    /// taken after the exporter's own locks and before the importer's.
    pub fn lock_resv(&self) -> ResvGuard<'_> {
        // SAFETY: By the type invariant the buffer and its reservation
        // object are alive. Without an acquire context the lock cannot fail
        // with -EDEADLK, so the return value is always 0.
        unsafe { bindings::dma_resv_lock((*self.as_raw()).resv, core::ptr::null_mut()) };
        // SAFETY: The lock was just taken by this thread and is released only
        // when the guard is dropped.
        ResvGuard(unsafe { ResvLocked::assume_held(self) })
    }

    /// Installs the buffer as a new file descriptor of the current process,
    /// with `O_CLOEXEC`, and hands the reference over to it.
    ///
    /// On failure (for example `EMFILE`) the reference is dropped.
    pub fn install_fd(this: ARef<Self>) -> Result<i32> {
        // SAFETY: `this` holds a reference to a live buffer.
        let fd = unsafe { bindings::dma_buf_fd(this.as_raw(), bindings::O_CLOEXEC as i32) };
        if fd < 0 {
            return Err(Error::from_errno(fd));
        }
        // The file descriptor owns the reference now.
        core::mem::forget(this);
        Ok(fd)
    }

    /// Returns the size of the buffer in bytes. It never changes.
    pub fn size(&self) -> usize {
        // SAFETY: By the type invariant the buffer is initialised, and `size`
        // is written once at export time.
        unsafe { (*self.as_raw()).size }
    }
}

/// Proof that the current thread holds the reservation lock of a dma-buf.
///
/// Functions that need the lock held take a `&ResvLocked`. The lock's owner
/// is either a [`ResvGuard`] or the dma-buf core, which holds the lock while
/// it calls an importer's invalidation.
///
/// # Invariants
///
/// The current thread holds the reservation lock of `buf` for `'a`.
pub struct ResvLocked<'a> {
    buf: &'a DmaBuf,
    // The lock belongs to the thread that took it.
    _not_send: PhantomData<*mut ()>,
}

impl<'a> ResvLocked<'a> {
    /// Creates the proof for a lock held by someone else.
    ///
    /// # Safety
    ///
    /// The current thread holds the reservation lock of `buf` for `'a`.
    pub(crate) unsafe fn assume_held(buf: &'a DmaBuf) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            buf,
            _not_send: PhantomData,
        }
    }

    /// Returns the buffer whose reservation lock is held.
    pub fn buf(&self) -> &'a DmaBuf {
        self.buf
    }

    /// Returns the number of attachments of the buffer.
    pub fn attachment_count(&self) -> usize {
        // SAFETY: The attachment list is protected by the reservation lock,
        // which by the type invariant this thread holds; it is reached
        // through a raw place, as other fields of the buffer may change.
        unsafe {
            bindings::list_count_nodes(core::ptr::addr_of_mut!((*self.buf.as_raw()).attachments))
        }
    }

    /// Waits until every fence of the buffer of `usage`, or of a usage that
    /// comes before it, has signalled; the lock stays held.
    ///
    /// `DMA_RESV_USAGE_KERNEL` are the exporter's memory management (a move
    /// into place), `DMA_RESV_USAGE_BOOKKEEP` every fence of any user.
    pub(crate) fn wait_fences(&self, usage: bindings::dma_resv_usage) {
        // SAFETY: The buffer and its reservation object are alive and, by the
        // type invariant, locked by this thread, as a wait with the lock held
        // needs. An uninterruptible wait without timeout
        // (`MAX_SCHEDULE_TIMEOUT`) returns only when every fence signalled.
        unsafe {
            bindings::dma_resv_wait_timeout(
                (*self.buf.as_raw()).resv,
                usage,
                false,
                ffi::c_long::MAX as ffi::c_ulong,
            )
        };
    }
}

/// Holds the reservation lock of a dma-buf and releases it on drop.
pub struct ResvGuard<'a>(ResvLocked<'a>);

impl<'a> core::ops::Deref for ResvGuard<'a> {
    type Target = ResvLocked<'a>;

    fn deref(&self) -> &ResvLocked<'a> {
        &self.0
    }
}

impl<'a> core::ops::DerefMut for ResvGuard<'a> {
    fn deref_mut(&mut self) -> &mut ResvLocked<'a> {
        &mut self.0
    }
}

impl Drop for ResvGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant of `ResvLocked` this thread holds the
        // lock, and the guard owns it.
        unsafe { bindings::dma_resv_unlock((*self.0.buf.as_raw()).resv) };
    }
}
