// SPDX-License-Identifier: GPL-2.0-only
//! `follow`: what a VMM does with the revoke events of a dma-buf it mapped
//! for a device's DMA. The tool takes another process's dma-buf (QEMU's
//! dma-buf of a passed-through BAR, say), maps it into an IOAS of its own
//! with `IOMMU_IOAS_MAP_FILE`, registers an eventfd with
//! `DMA_BUF_IOCTL_IC_NOTIFY`, and on every signal reads the access state
//! with `DMA_BUF_IOCTL_IC_INFO`: revoked, it unmaps; allowed again, it maps
//! again; revoked for good, it stops. [`decide`] is the whole policy; the
//! rest are the calls.

use crate::{
    ic::{alloc_ioas, buf_info, open_iommufd, state_names},
    process::{own_fdinfo, Process},
    sys::{errno_name, ioctl, last_errno, Error, Result},
    uapi::{self, ioctl as nr},
};
use serde_json::{json, Value};
use std::{
    io::Write,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    sync::atomic::{AtomicI32, Ordering},
    time::{Duration, Instant},
};

/// Where the buffer is mapped unless `--iova` says otherwise: above 4 GiB,
/// out of the way of a small guest's RAM.
pub const DEFAULT_IOVA: u64 = 0x1_0000_0000;
/// Seconds to wait for the access changes, unless `--timeout` says.
pub const DEFAULT_TIMEOUT: u64 = 60;

/// What `follow` was asked to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub pid: i32,
    pub fd: RawFd,
    pub iova: u64,
    /// Stop after this many handled access changes; `None`: never.
    pub events: Option<u64>,
    /// Give up after this many seconds; 0: never.
    pub timeout: u64,
}

/// What to do with the mapping after an access change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The mapping is as it should be.
    Nothing,
    /// Access was revoked: the mapping is dead, unmap it.
    Unmap,
    /// Access is allowed and nothing is mapped: map.
    Map,
    /// Access is allowed, but was revoked and allowed again since the
    /// mapping was made (one read of the eventfd covered both changes): the
    /// mapping is dead although the buffer is not revoked; unmap and map.
    Remap,
    /// Access is revoked for good: unmap if mapped, and stop.
    Stop { unmap: bool },
}

/// The policy: given whether the tool holds a mapping, the state flags of
/// `DMA_BUF_IOCTL_IC_INFO` read after the eventfd, and the eventfd's
/// counter (the number of changes since the last read), what to do.
///
/// The kernel signals after each change of the state, and the state is
/// read after the counter: every change the state shows was counted. A
/// mapping made while access was allowed dies on a revoke and stays dead
/// when access is allowed again (nothing maps again by itself). So, while
/// mapped, a counter above 0 with access allowed now means a revoke came
/// and went: the mapping is stale. (Rarely, that is a change the tool had
/// seen already, e.g. before its first mapping; mapping again then costs a
/// little and harms nothing.)
pub fn decide(mapped: bool, flags: u32, changes: u64) -> Action {
    if flags & uapi::INFO_REVOKED_FOR_GOOD != 0 {
        return Action::Stop { unmap: mapped };
    }
    match (flags & uapi::INFO_REVOKED != 0, mapped, changes) {
        (true, true, _) => Action::Unmap,
        (true, false, _) => Action::Nothing,
        (false, false, _) => Action::Map,
        (false, true, 0) => Action::Nothing,
        (false, true, _) => Action::Remap,
    }
}

/// The number of access changes an action handled (the `--events` count).
pub fn changes_handled(action: Action, mapped_again: bool) -> u64 {
    match action {
        Action::Nothing | Action::Stop { .. } => 0,
        Action::Unmap => 1,
        Action::Map => u64::from(mapped_again),
        Action::Remap => 1 + u64::from(mapped_again),
    }
}

/// The line of an event, in words or as one JSON object, written and
/// flushed at once (a test script reads it through a pipe).
struct Out<W: Write> {
    json: bool,
    w: W,
}

impl<W: Write> Out<W> {
    fn say(
        &mut self,
        event: &str,
        words: &str,
        iova: Option<u64>,
        flags: u32,
        extra: Value,
    ) -> Result<()> {
        let line = if self.json {
            let mut v = json!({ "event": event, "iova": iova, "state": state_names(flags) });
            if let (Value::Object(map), Value::Object(extra)) = (&mut v, extra) {
                map.extend(extra);
            }
            v.to_string()
        } else {
            words.to_string()
        };
        writeln!(self.w, "{line}")
            .and_then(|()| self.w.flush())
            .map_err(|e| Error::Failed {
                what: "writing to stdout".into(),
                errno: e.raw_os_error().unwrap_or(libc::EIO),
            })
    }
}

/// Why the wait for the next access change ended.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Wake {
    /// The eventfd was signalled: this many changes since the last read.
    Changes(u64),
    /// Nothing to do (a spurious wake-up, an unhandled signal).
    Idle,
    /// The deadline passed.
    TimedOut,
    /// A signal asked the tool to stop.
    Signal(i32),
}

/// What the loop needs of the kernel: the buffer's state, its mapping,
/// and the wait for the next change. [`Follower`] makes the calls; the
/// tests script them.
trait Watched {
    /// Where the buffer is mapped when it is, and its length.
    fn iova(&self) -> u64;
    fn length(&self) -> u64;
    /// Whether the tool holds a mapping.
    fn is_mapped(&self) -> bool;
    /// The state flags of `DMA_BUF_IOCTL_IC_INFO`.
    fn state(&mut self) -> Result<u32>;
    /// Maps; false if access is revoked (`ENODEV`).
    fn map(&mut self) -> Result<bool>;
    fn unmap(&mut self) -> Result<()>;
    /// Waits for the next change, a signal, or the deadline.
    fn next(&mut self, deadline: Option<Instant>) -> Result<Wake>;
}

/// The buffer, its mapping in an IOAS of the tool's own, and the eventfd
/// registered on it. Dropping it unregisters and unmaps; [`Follower::close`]
/// does so and reports errors.
struct Follower {
    iommufd: OwnedFd,
    ioas: u32,
    buf: OwnedFd,
    eventfd: OwnedFd,
    registered: bool,
    mapped: bool,
    iova: u64,
    length: u64,
    /// Restored when the follower is dropped, after it closed.
    signals: Signals,
}

impl Watched for Follower {
    fn iova(&self) -> u64 {
        self.iova
    }

    fn length(&self) -> u64 {
        self.length
    }

    fn is_mapped(&self) -> bool {
        self.mapped
    }

    fn state(&mut self) -> Result<u32> {
        Ok(buf_info(&self.buf)?.flags)
    }

    fn map(&mut self) -> Result<bool> {
        Follower::map(self)
    }

    fn unmap(&mut self) -> Result<()> {
        Follower::unmap(self)
    }

    fn next(&mut self, deadline: Option<Instant>) -> Result<Wake> {
        let readable = wait(&self.eventfd, &self.signals, deadline)?;
        let sig = CAUGHT.load(Ordering::SeqCst);
        if sig != 0 {
            return Ok(Wake::Signal(sig));
        }
        if readable {
            return Ok(match read_counter(&self.eventfd)? {
                0 => Wake::Idle,
                n => Wake::Changes(n),
            });
        }
        Ok(match deadline {
            Some(d) if Instant::now() >= d => Wake::TimedOut,
            _ => Wake::Idle,
        })
    }
}

impl Follower {
    /// `DMA_BUF_IOCTL_IC_NOTIFY` with `flags` (0: register).
    fn notify(&self, flags: u32) -> Result<()> {
        let mut arg = uapi::DmaBufIcNotify {
            size: size_of::<uapi::DmaBufIcNotify>() as u32,
            flags,
            eventfd: self.eventfd.as_raw_fd(),
            reserved: 0,
        };
        ioctl(
            &self.buf,
            nr::DMA_BUF_IOCTL_IC_NOTIFY,
            &mut arg,
            "DMA_BUF_IOCTL_IC_NOTIFY",
        )
        .map(|_| ())
    }

    /// Maps the whole buffer at the IOVA; false if access is revoked
    /// (`ENODEV`).
    fn map(&mut self) -> Result<bool> {
        let mut arg = uapi::IoasMapFile {
            size: size_of::<uapi::IoasMapFile>() as u32,
            flags: uapi::MAP_FIXED_IOVA | uapi::MAP_READABLE | uapi::MAP_WRITEABLE,
            ioas_id: self.ioas,
            fd: self.buf.as_raw_fd(),
            start: 0,
            length: self.length,
            iova: self.iova,
        };
        match ioctl(
            &self.iommufd,
            nr::IOMMU_IOAS_MAP_FILE,
            &mut arg,
            "IOMMU_IOAS_MAP_FILE",
        ) {
            Ok(_) => {
                self.mapped = true;
                Ok(true)
            }
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Unmaps the buffer.
    fn unmap(&mut self) -> Result<()> {
        let mut arg = uapi::IoasUnmap {
            size: size_of::<uapi::IoasUnmap>() as u32,
            ioas_id: self.ioas,
            iova: self.iova,
            length: self.length,
        };
        ioctl(
            &self.iommufd,
            nr::IOMMU_IOAS_UNMAP,
            &mut arg,
            "IOMMU_IOAS_UNMAP",
        )?;
        self.mapped = false;
        Ok(())
    }

    /// Unregisters the eventfd and unmaps; the first error is returned,
    /// after both were tried.
    fn close(&mut self) -> Result<()> {
        let mut result = Ok(());
        if self.registered {
            self.registered = false;
            result = self.notify(uapi::NOTIFY_REMOVE);
        }
        if self.mapped {
            let unmapped = self.unmap();
            // Whatever happened, closing the iommufd destroys the IOAS.
            self.mapped = false;
            result = result.and(unmapped);
        }
        result
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// A new non-blocking eventfd.
fn new_eventfd() -> Result<OwnedFd> {
    // SAFETY: eventfd(2) takes two integers and touches no memory.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if raw < 0 {
        return Err(Error::Failed {
            what: "eventfd".into(),
            errno: last_errno(),
        });
    }
    // SAFETY: eventfd(2) returned a new file descriptor that nothing else
    // owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Reads and resets an eventfd's counter: the number of access changes
/// since the last read; 0 if it was not signalled.
fn read_counter(eventfd: &OwnedFd) -> Result<u64> {
    let mut count = 0u64;
    // SAFETY: Reads at most 8 bytes into a live, exclusively borrowed
    // local of 8 bytes.
    let n = unsafe {
        libc::read(
            eventfd.as_raw_fd(),
            (&mut count as *mut u64).cast(),
            size_of::<u64>(),
        )
    };
    if n == size_of::<u64>() as isize {
        return Ok(count);
    }
    match last_errno() {
        libc::EAGAIN => Ok(0),
        errno => Err(Error::Failed {
            what: "reading the eventfd".into(),
            errno,
        }),
    }
}

/// The signal that stopped the loop, 0 if none.
static CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    CAUGHT.store(sig, Ordering::SeqCst);
}

/// SIGINT, SIGTERM and SIGHUP end the loop cleanly (unregistered and
/// unmapped) instead of killing the tool. They are blocked but while
/// ppoll(2) waits, so that none is lost between two waits. Dropping this
/// restores the signal mask and the handlers.
struct Signals {
    wait_mask: libc::sigset_t,
    old_mask: libc::sigset_t,
    old: Vec<(libc::c_int, libc::sigaction)>,
}

impl Signals {
    fn install() -> Result<Self> {
        let failed = |what: &str| Error::Failed {
            what: what.into(),
            errno: last_errno(),
        };
        // SAFETY: `sigset_t` and `sigaction` are plain C data, valid when
        // zeroed; every set is initialised by sigemptyset(3) before use.
        let (mut block, mut act): (libc::sigset_t, libc::sigaction) =
            unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
        // SAFETY: As above.
        let mut old_mask: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: Both sets are live, exclusively borrowed locals.
        unsafe {
            libc::sigemptyset(&mut block);
            libc::sigemptyset(&mut act.sa_mask);
        }
        // The mask now, to wait with and to restore.
        // SAFETY: Blocks nothing (`block` is empty) and writes the current
        // mask into a live local.
        let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old_mask) };
        if ret != 0 {
            return Err(Error::Failed {
                what: "pthread_sigmask".into(),
                errno: ret,
            });
        }
        // From here on, dropping `signals` on an error restores what was
        // changed.
        let mut signals = Self {
            wait_mask: old_mask,
            old_mask,
            old: Vec::new(),
        };
        act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: As above, plain C data valid when zeroed.
            let mut prev: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: Reads the current action into a live local.
            if unsafe { libc::sigaction(sig, std::ptr::null(), &mut prev) } < 0 {
                return Err(failed("sigaction"));
            }
            // A signal ignored by whoever started the tool (a background
            // job's SIGINT) stays ignored.
            if prev.sa_sigaction == libc::SIG_IGN {
                continue;
            }
            // SAFETY: `act` is initialised and its handler only stores to
            // an atomic, which is async-signal-safe.
            if unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) } < 0 {
                return Err(failed("sigaction"));
            }
            signals.old.push((sig, prev));
            // SAFETY: `block` is an initialised, live local.
            unsafe { libc::sigaddset(&mut block, sig) };
        }
        // SAFETY: `block` is initialised; the old mask is not wanted again.
        let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &block, std::ptr::null_mut()) };
        if ret != 0 {
            return Err(Error::Failed {
                what: "pthread_sigmask".into(),
                errno: ret,
            });
        }
        Ok(signals)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        // Unblock first, with the handler still there: a pending signal
        // then only sets `CAUGHT`.
        // SAFETY: `old_mask` is the mask pthread_sigmask(3) returned.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut()) };
        for (sig, prev) in &self.old {
            // SAFETY: `prev` is the action sigaction(2) returned for `sig`.
            unsafe { libc::sigaction(*sig, prev, std::ptr::null_mut()) };
        }
    }
}

/// Waits until the eventfd is readable, a handled signal comes, or the
/// deadline passes; true if the eventfd is readable.
fn wait(eventfd: &OwnedFd, signals: &Signals, deadline: Option<Instant>) -> Result<bool> {
    let timeout = deadline.map(|d| {
        let left = d.saturating_duration_since(Instant::now());
        libc::timespec {
            tv_sec: left.as_secs() as libc::time_t,
            tv_nsec: left.subsec_nanos() as libc::c_long,
        }
    });
    let mut pfd = libc::pollfd {
        fd: eventfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = timeout.as_ref().map_or(std::ptr::null(), |t| t as *const _);
    // SAFETY: One live `pollfd`, a timeout that is null or points to a
    // live local, and an initialised signal mask.
    let ret = unsafe { libc::ppoll(&mut pfd, 1, ts, &signals.wait_mask) };
    match ret {
        r if r > 0 => Ok(pfd.revents & libc::POLLIN != 0),
        0 => Ok(false),
        _ => match last_errno() {
            libc::EINTR => Ok(false),
            errno => Err(Error::Failed {
                what: "ppoll".into(),
                errno,
            }),
        },
    }
}

/// How the loop ended.
#[derive(Debug, PartialEq)]
enum End {
    /// `--events` changes were handled.
    Events,
    /// Access was revoked for good.
    ForGood,
    /// A signal asked the tool to stop.
    Signal(i32),
}

/// `follow PID FD`.
pub fn run(opts: &Options, json: bool) -> Result<Value> {
    let mut out = Out {
        json,
        w: std::io::stdout(),
    };
    // First: a signal from here on waits until the eventfd is registered
    // and the buffer mapped or not, and then ends the loop cleanly.
    let signals = Signals::install()?;
    let process = Process::open(opts.pid)?;
    let buf = process.take(opts.fd)?;
    let (pid, fd) = (opts.pid, opts.fd);
    let info = own_fdinfo(&buf)
        .ok_or_else(|| Error::Device(format!("fd {fd} of process {pid} is not a dma-buf")))?;
    let length = info.size.filter(|&s| s > 0).ok_or_else(|| Error::Failed {
        what: format!("the size of the dma-buf (fd {fd} of process {pid}) in its fdinfo"),
        errno: libc::EINVAL,
    })?;

    let iommufd = open_iommufd()?;
    let ioas = alloc_ioas(&iommufd)?;
    let eventfd = new_eventfd()?;
    let mut f = Follower {
        iommufd,
        ioas,
        buf,
        eventfd,
        registered: false,
        mapped: false,
        iova: opts.iova,
        length,
        signals,
    };
    // Registered before the state is first read and the buffer mapped: a
    // change after the read is signalled, one before it is seen.
    f.notify(0).map_err(|e| match e.errno() {
        Some(libc::ENOTTY) => Error::Unsupported(
            "this kernel cannot signal a dma-buf's access changes \
             (DMA_BUF_IOCTL_IC_NOTIFY: ENOTTY)"
                .into(),
        ),
        Some(libc::EOPNOTSUPP) => Error::Unsupported(format!(
            "the exporter {} is outside the interconnect framework: nothing signals its \
             revokes (DMA_BUF_IOCTL_IC_NOTIFY: EOPNOTSUPP)",
            info.exporter
        )),
        _ => e,
    })?;
    f.registered = true;
    out.say(
        "follow",
        &format!(
            "following fd {fd} of process {pid}: exporter {}, {length} bytes, IOAS {}",
            info.exporter, f.ioas
        ),
        None,
        0,
        json!({ "pid": pid, "fd": fd, "exporter": info.exporter, "length": length, "ioas": f.ioas }),
    )?;

    let ended = follow(&mut f, &mut out, opts);
    let closed = f.close();
    // Restores the signals.
    drop(f);
    match ended? {
        End::Signal(sig) => {
            closed?;
            // The shell's status of a process killed by `sig`.
            std::process::exit(128 + sig);
        }
        End::Events | End::ForGood => closed?,
    }
    Ok(Value::Null)
}

/// The loop: the first mapping, then one action per signal of the eventfd.
fn follow<W: Write>(f: &mut impl Watched, out: &mut Out<W>, opts: &Options) -> Result<End> {
    let iova = f.iova();
    let length = f.length();
    let mapped_words = format!("mapped at IOVA 0x{iova:x} ({length} bytes)");
    let flags = f.state()?;
    if flags & uapi::INFO_REVOKED_FOR_GOOD != 0 {
        out.say(
            "revoked-for-good",
            "revoked for good",
            None,
            flags,
            json!({}),
        )?;
        return Ok(End::ForGood);
    }
    if f.map()? {
        out.say(
            "mapped",
            &mapped_words,
            Some(iova),
            flags,
            json!({ "length": length }),
        )?;
    } else {
        out.say(
            "revoked-at-start",
            &format!(
                "revoked at start: not mapped (IOMMU_IOAS_MAP_FILE: {}); waiting for access \
                 to be allowed again",
                errno_name(libc::ENODEV)
            ),
            None,
            flags,
            json!({}),
        )?;
    }

    let deadline = (opts.timeout > 0).then(|| Instant::now() + Duration::from_secs(opts.timeout));
    let mut handled = 0u64;
    loop {
        if opts.events.is_some_and(|n| handled >= n) {
            return Ok(End::Events);
        }
        let changes = match f.next(deadline)? {
            Wake::Changes(n) => n,
            Wake::Idle => continue,
            Wake::Signal(sig) => return Ok(End::Signal(sig)),
            Wake::TimedOut => {
                return Err(Error::Failed {
                    what: format!(
                        "timed out after {} s waiting for an access change",
                        opts.timeout
                    ),
                    errno: libc::ETIMEDOUT,
                })
            }
        };
        let flags = f.state()?;
        let action = decide(f.is_mapped(), flags, changes);
        let state = json!({ "changes": changes });
        let mut mapped_again = false;
        match action {
            Action::Nothing | Action::Map => {}
            Action::Unmap | Action::Remap => {
                f.unmap()?;
                let (words, extra) = if action == Action::Remap {
                    (
                        format!(
                            "revoked: unmapped IOVA 0x{iova:x} (revoked and allowed again \
                             since the last signal)"
                        ),
                        json!({ "changes": changes, "stale": true }),
                    )
                } else {
                    (format!("revoked: unmapped IOVA 0x{iova:x}"), state.clone())
                };
                out.say("revoked", &words, Some(iova), flags, extra)?;
            }
            Action::Stop { unmap } => {
                if unmap {
                    f.unmap()?;
                }
                let words = if unmap {
                    format!("revoked for good: unmapped IOVA 0x{iova:x}")
                } else {
                    "revoked for good".into()
                };
                out.say(
                    "revoked-for-good",
                    &words,
                    unmap.then_some(iova),
                    flags,
                    state,
                )?;
                return Ok(End::ForGood);
            }
        }
        if matches!(action, Action::Map | Action::Remap) {
            mapped_again = f.map()?;
            if mapped_again {
                out.say(
                    "allowed-again",
                    &format!("allowed again: {mapped_words}"),
                    Some(iova),
                    flags,
                    json!({ "changes": changes, "length": length }),
                )?;
            } else {
                // Revoked again between the read and the mapping: its
                // signal is on the way.
                out.say(
                    "revoked-before-mapping",
                    &format!(
                        "allowed again, then revoked before the mapping \
                         (IOMMU_IOAS_MAP_FILE: {}): not mapped",
                        errno_name(libc::ENODEV)
                    ),
                    None,
                    flags,
                    state,
                )?;
            }
        }
        handled += changes_handled(action, mapped_again);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uapi::{
        INFO_NEGOTIATES as N, INFO_REVOCABLE as R, INFO_REVOKED as X, INFO_REVOKED_FOR_GOOD as G,
    };

    #[test]
    fn every_state() {
        let allowed = N | R;
        let revoked = N | R | X;
        // The kernel sets "revoked" with "revoked for good"; either way it
        // is the end.
        for flags in [allowed | G, revoked | G] {
            for changes in [0, 1, 3] {
                assert_eq!(decide(true, flags, changes), Action::Stop { unmap: true });
                assert_eq!(decide(false, flags, changes), Action::Stop { unmap: false });
            }
        }
        for changes in [0, 1, 2, 7] {
            assert_eq!(
                decide(true, revoked, changes),
                Action::Unmap,
                "revoked, mapped"
            );
            assert_eq!(
                decide(false, revoked, changes),
                Action::Nothing,
                "revoked, unmapped"
            );
            assert_eq!(
                decide(false, allowed, changes),
                Action::Map,
                "allowed, unmapped"
            );
        }
        // Allowed and mapped: fine, unless something changed meanwhile,
        // which can only have been a revoke and its end.
        assert_eq!(decide(true, allowed, 0), Action::Nothing);
        for changes in [1, 2, 5] {
            assert_eq!(decide(true, allowed, changes), Action::Remap);
        }
        // Only the state bits count: no "negotiates" or "revocable" needed.
        assert_eq!(decide(true, X, 1), Action::Unmap);
        assert_eq!(decide(false, 0, 1), Action::Map);
    }

    #[test]
    fn a_vmm_session() {
        // Mapped at start; memory disabled, enabled, disabled and enabled
        // in one go, disabled, then the device goes away.
        let allowed = N | R;
        let revoked = N | R | X;
        let mut mapped = true;
        let mut handled = 0;
        let mut seen = Vec::new();
        for (flags, changes) in [
            (revoked, 1),
            (allowed, 1),
            (allowed, 2),
            (revoked, 1),
            (revoked, 1), // a second revoke source: nothing changes for us
            (revoked | G, 1),
        ] {
            let action = decide(mapped, flags, changes);
            match action {
                Action::Unmap => mapped = false,
                Action::Map | Action::Remap => mapped = true,
                Action::Stop { .. } => mapped = false,
                Action::Nothing => {}
            }
            handled += changes_handled(action, true);
            seen.push(action);
        }
        assert_eq!(
            seen,
            [
                Action::Unmap,
                Action::Map,
                Action::Remap,
                Action::Unmap,
                Action::Nothing,
                Action::Stop { unmap: false },
            ]
        );
        assert_eq!(handled, 5);
        assert!(!mapped);
    }

    /// Adds `n` to an eventfd's counter, as the kernel's signal does.
    fn signal(eventfd: &OwnedFd, n: u64) {
        // SAFETY: Writes 8 bytes from a live local.
        let w = unsafe { libc::write(eventfd.as_raw_fd(), (&n as *const u64).cast(), 8) };
        assert_eq!(w, 8);
    }

    #[test]
    fn eventfd_and_signals() {
        let efd = new_eventfd().unwrap();
        let signals = Signals::install().unwrap();
        let soon = || Some(Instant::now() + Duration::from_millis(50));
        // Nothing yet: the wait times out and the counter reads 0.
        let start = Instant::now();
        assert!(!wait(&efd, &signals, soon()).unwrap());
        assert!(start.elapsed() >= Duration::from_millis(40));
        assert_eq!(read_counter(&efd).unwrap(), 0);
        // Two changes before the wait: one wake-up, both counted, reset.
        signal(&efd, 1);
        signal(&efd, 1);
        assert!(wait(&efd, &signals, None).unwrap());
        assert_eq!(read_counter(&efd).unwrap(), 2);
        assert_eq!(read_counter(&efd).unwrap(), 0);
        // A deadline in the past does not block.
        assert!(!wait(&efd, &signals, Some(Instant::now())).unwrap());
        // SIGHUP sent while the tool is busy (blocked) is not lost: the
        // next wait returns at once and the signal is recorded, unless the
        // test runs with SIGHUP ignored (nohup), when no handler is set.
        if signals.old.iter().any(|(sig, _)| *sig == libc::SIGHUP) {
            // SAFETY: Sends SIGHUP to this thread, which blocks it.
            assert_eq!(
                unsafe { libc::pthread_kill(libc::pthread_self(), libc::SIGHUP) },
                0
            );
            let start = Instant::now();
            assert!(!wait(
                &efd,
                &signals,
                Some(Instant::now() + Duration::from_secs(5))
            )
            .unwrap());
            assert!(start.elapsed() < Duration::from_secs(4));
            assert_eq!(CAUGHT.swap(0, Ordering::SeqCst), libc::SIGHUP);
        }
        drop(signals);
    }

    const ALLOWED: u32 = N | R;
    const REVOKED: u32 = N | R | X;
    const GONE: u32 = N | R | X | G;

    /// The kernel, scripted: each wake-up sets the state it shows.
    struct Fake {
        /// The state now, and the wake-ups to come with the state each
        /// leaves behind; none left: the deadline passed.
        flags: u32,
        wakes: Vec<(Wake, u32)>,
        /// What the maps to come return (true if none is given).
        maps: Vec<bool>,
        mapped: bool,
        /// The calls, in order.
        calls: Vec<&'static str>,
    }

    impl Fake {
        fn new(flags: u32, wakes: &[(Wake, u32)], maps: &[bool]) -> Self {
            Self {
                flags,
                wakes: wakes.iter().rev().copied().collect(),
                maps: maps.iter().rev().copied().collect(),
                mapped: false,
                calls: Vec::new(),
            }
        }
    }

    impl Watched for Fake {
        fn iova(&self) -> u64 {
            DEFAULT_IOVA
        }
        fn length(&self) -> u64 {
            0x40_0000
        }
        fn is_mapped(&self) -> bool {
            self.mapped
        }
        fn state(&mut self) -> Result<u32> {
            self.calls.push("info");
            Ok(self.flags)
        }
        fn map(&mut self) -> Result<bool> {
            assert!(!self.mapped, "mapped twice at the same IOVA");
            self.calls.push("map");
            self.mapped = self.maps.pop().unwrap_or(true);
            Ok(self.mapped)
        }
        fn unmap(&mut self) -> Result<()> {
            assert!(self.mapped, "unmapped what is not mapped");
            self.calls.push("unmap");
            self.mapped = false;
            Ok(())
        }
        fn next(&mut self, _: Option<Instant>) -> Result<Wake> {
            let Some((wake, flags)) = self.wakes.pop() else {
                return Ok(Wake::TimedOut);
            };
            self.flags = flags;
            Ok(wake)
        }
    }

    /// Runs the loop on `fake`; returns how it ended and the lines.
    fn run_fake(fake: &mut Fake, events: Option<u64>, json: bool) -> (Result<End>, Vec<String>) {
        let opts = Options {
            pid: 1,
            fd: 3,
            iova: DEFAULT_IOVA,
            events,
            timeout: 60,
        };
        let mut out = Out {
            json,
            w: Vec::new(),
        };
        let end = follow(fake, &mut out, &opts);
        let text = String::from_utf8(out.w).unwrap();
        (end, text.lines().map(String::from).collect())
    }

    const MAPPED: &str = "mapped at IOVA 0x100000000 (4194304 bytes)";
    const UNMAPPED: &str = "revoked: unmapped IOVA 0x100000000";
    const AGAIN: &str = "allowed again: mapped at IOVA 0x100000000 (4194304 bytes)";

    #[test]
    fn loop_revoke_and_restore() {
        // Memory decoding off and on in the guest; --events 2.
        let mut fake = Fake::new(
            ALLOWED,
            &[
                (Wake::Changes(1), REVOKED),
                (Wake::Idle, REVOKED),
                (Wake::Changes(1), ALLOWED),
            ],
            &[],
        );
        let (end, lines) = run_fake(&mut fake, Some(2), false);
        assert_eq!(end.unwrap(), End::Events);
        assert_eq!(lines, [MAPPED, UNMAPPED, AGAIN]);
        assert_eq!(fake.calls, ["info", "map", "info", "unmap", "info", "map"]);
        assert!(
            fake.mapped,
            "mapped at the end: run() unmaps on its way out"
        );
    }

    #[test]
    fn loop_revoked_at_start_then_gone() {
        let mut fake = Fake::new(
            REVOKED,
            &[
                // The signal of the revoke the first map ran into.
                (Wake::Changes(1), REVOKED),
                (Wake::Changes(1), ALLOWED),
                (Wake::Changes(1), GONE),
                (Wake::Changes(1), ALLOWED),
            ],
            &[false],
        );
        let (end, lines) = run_fake(&mut fake, None, false);
        assert_eq!(end.unwrap(), End::ForGood);
        assert_eq!(
            lines,
            [
                "revoked at start: not mapped (IOMMU_IOAS_MAP_FILE: ENODEV); waiting for \
                 access to be allowed again",
                AGAIN,
                "revoked for good: unmapped IOVA 0x100000000",
            ]
        );
        assert!(!fake.mapped);
        assert_eq!(fake.wakes.len(), 1, "stopped at the revoke for good");
    }

    #[test]
    fn loop_gone_at_start() {
        let mut fake = Fake::new(GONE, &[(Wake::Changes(1), ALLOWED)], &[]);
        let (end, lines) = run_fake(&mut fake, None, false);
        assert_eq!(end.unwrap(), End::ForGood);
        assert_eq!(lines, ["revoked for good"]);
        assert_eq!(fake.calls, ["info"], "nothing mapped");
    }

    #[test]
    fn loop_coalesced_changes() {
        // A revoke and its end in one read of the counter: the mapping is
        // stale and made again; both changes count.
        let mut fake = Fake::new(ALLOWED, &[(Wake::Changes(2), ALLOWED)], &[]);
        let (end, lines) = run_fake(&mut fake, Some(2), false);
        assert_eq!(end.unwrap(), End::Events);
        assert_eq!(
            lines,
            [
                MAPPED,
                "revoked: unmapped IOVA 0x100000000 (revoked and allowed again since the \
                 last signal)",
                AGAIN,
            ]
        );
        assert_eq!(fake.calls, ["info", "map", "info", "unmap", "map"]);
    }

    #[test]
    fn loop_revoked_before_mapping() {
        // Allowed, but revoked again before MAP_FILE: not counted, and the
        // next signal (that revoke) finds nothing to do.
        let mut fake = Fake::new(
            ALLOWED,
            &[
                (Wake::Changes(1), REVOKED),
                (Wake::Changes(1), ALLOWED),
                (Wake::Changes(1), REVOKED),
                (Wake::Changes(1), ALLOWED),
            ],
            &[true, false, true],
        );
        let (end, lines) = run_fake(&mut fake, Some(2), false);
        assert_eq!(end.unwrap(), End::Events);
        assert_eq!(
            lines,
            [
                MAPPED,
                UNMAPPED,
                "allowed again, then revoked before the mapping (IOMMU_IOAS_MAP_FILE: \
                 ENODEV): not mapped",
                AGAIN,
            ]
        );
    }

    #[test]
    fn loop_timeout_and_signal() {
        let mut fake = Fake::new(ALLOWED, &[(Wake::Idle, ALLOWED)], &[]);
        let (end, lines) = run_fake(&mut fake, Some(1), false);
        let err = end.unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.to_string()
                .starts_with("timed out after 60 s waiting for an access change: ETIMEDOUT"),
            "{err}"
        );
        assert_eq!(lines, [MAPPED]);

        let mut fake = Fake::new(ALLOWED, &[(Wake::Signal(libc::SIGTERM), ALLOWED)], &[]);
        let (end, _) = run_fake(&mut fake, None, false);
        assert_eq!(end.unwrap(), End::Signal(libc::SIGTERM));

        // --events 0: mapped, then done.
        let mut fake = Fake::new(ALLOWED, &[], &[]);
        assert_eq!(run_fake(&mut fake, Some(0), false).0.unwrap(), End::Events);
    }

    #[test]
    fn loop_json() {
        let mut fake = Fake::new(
            ALLOWED,
            &[(Wake::Changes(1), REVOKED), (Wake::Changes(3), GONE)],
            &[],
        );
        let (end, lines) = run_fake(&mut fake, None, true);
        assert_eq!(end.unwrap(), End::ForGood);
        let objs: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            objs,
            [
                json!({ "event": "mapped", "iova": DEFAULT_IOVA, "length": 0x40_0000,
                        "state": ["negotiates", "revocable"] }),
                json!({ "event": "revoked", "iova": DEFAULT_IOVA, "changes": 1,
                        "state": ["negotiates", "revocable", "revoked"] }),
                json!({ "event": "revoked-for-good", "iova": null, "changes": 3,
                        "state": ["negotiates", "revocable", "revoked", "revoked-for-good"] }),
            ]
        );
    }

    #[test]
    fn counted_changes() {
        assert_eq!(changes_handled(Action::Nothing, false), 0);
        assert_eq!(changes_handled(Action::Unmap, false), 1);
        assert_eq!(changes_handled(Action::Map, true), 1);
        // Revoked again before the mapping: that change comes next.
        assert_eq!(changes_handled(Action::Map, false), 0);
        assert_eq!(changes_handled(Action::Remap, true), 2);
        assert_eq!(changes_handled(Action::Remap, false), 1);
        assert_eq!(changes_handled(Action::Stop { unmap: true }, false), 0);
    }
}
