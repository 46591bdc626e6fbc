// SPDX-License-Identifier: GPL-2.0-only
//! Another process's dma-bufs: which of its files are dma-bufs (procfs'
//! fdinfo), and duplicates of them taken with pidfd_open(2) and
//! pidfd_getfd(2), which need ptrace access to the process (root).

use crate::{
    ic::{buf_info, BufInfo},
    sys::{errno_name, last_errno, proc_root, Error, Result},
    uapi,
};
use serde_json::{json, Value};
use std::{
    fs, io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    path::Path,
};

/// What `/proc/PID/fdinfo/FD` says of a dma-buf.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fdinfo {
    /// `size:`, in bytes.
    pub size: Option<u64>,
    /// `exp_name:`, the exporter's name.
    pub exporter: String,
    /// `name:`, set by the exporter or with `DMA_BUF_SET_NAME`.
    pub name: Option<String>,
    /// `ino:`, the buffer's inode number: one per buffer.
    pub inode: Option<u64>,
}

/// Parses an fdinfo file; `None` unless it is a dma-buf's, which alone has
/// an `exp_name:` line.
pub fn parse_dmabuf_fdinfo(text: &str) -> Option<Fdinfo> {
    let mut info = Fdinfo::default();
    let mut exporter = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        // The value follows a tab; names may hold spaces of their own.
        let value = value.trim_start_matches(['\t', ' ']).trim_end();
        match key {
            "exp_name" => exporter = Some(value.to_string()),
            "size" => info.size = value.parse().ok(),
            "ino" => info.inode = value.parse().ok(),
            "name" => info.name = Some(value.to_string()),
            _ => {}
        }
    }
    info.exporter = exporter?;
    Some(info)
}

/// The hint added to errors of calls that need ptrace access.
const NEEDS_PTRACE: &str = "another process's files need ptrace access to it: run as root";

/// Lists the dma-bufs among the files of process `pid`, by fd, under the
/// procfs at `proc`. Fails with exit status 3 if there is no such process.
pub fn dmabuf_fds(proc: &Path, pid: i32) -> Result<Vec<(RawFd, Fdinfo)>> {
    let dir = proc.join(pid.to_string());
    let fd_dir = dir.join("fd");
    let entries = fs::read_dir(&fd_dir).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::Device(format!("no process {pid}")),
        _ => {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            let hint = if matches!(errno, libc::EACCES | libc::EPERM) {
                format!(" ({NEEDS_PTRACE})")
            } else {
                String::new()
            };
            Error::Failed {
                what: format!("reading {}{hint}", fd_dir.display()),
                errno,
            }
        }
    })?;
    let mut fds: Vec<RawFd> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    // A file closed since the listing has no fdinfo any more: skip it.
    Ok(fds
        .into_iter()
        .filter_map(|fd| {
            let text = fs::read_to_string(dir.join("fdinfo").join(fd.to_string())).ok()?;
            Some((fd, parse_dmabuf_fdinfo(&text)?))
        })
        .collect())
}

/// What this process's duplicate `fd` is, if it is a dma-buf.
pub fn own_fdinfo(fd: &impl AsRawFd) -> Option<Fdinfo> {
    let path = format!("/proc/self/fdinfo/{}", fd.as_raw_fd());
    parse_dmabuf_fdinfo(&fs::read_to_string(path).ok()?)
}

/// The short name of process `pid` (`comm`), if it can be read.
pub fn command_name(proc: &Path, pid: i32) -> Option<String> {
    let text = fs::read_to_string(proc.join(pid.to_string()).join("comm")).ok()?;
    Some(text.trim_end().to_string())
}

/// A process, pinned by a pidfd so that its pid cannot be reused under us.
pub struct Process {
    pub pid: i32,
    pidfd: OwnedFd,
}

impl Process {
    /// Opens a pidfd of `pid`; exit status 3 if there is no such process.
    pub fn open(pid: i32) -> Result<Self> {
        // SAFETY: pidfd_open(2) takes a pid and flags by value and touches
        // no memory of ours; its result is checked below.
        let ret =
            unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0 as libc::c_uint) };
        if ret < 0 {
            let errno = last_errno();
            return Err(match errno {
                libc::ESRCH => Error::Device(format!("no process {pid}")),
                libc::ENOSYS => Error::Unsupported(
                    "this kernel has no pidfd_open(2): it cannot take another process's files"
                        .into(),
                ),
                _ => Error::Failed {
                    what: format!("pidfd_open({pid})"),
                    errno,
                },
            });
        }
        // SAFETY: pidfd_open(2) returned a new file descriptor (an int,
        // so the narrowing keeps it) that nothing else owns.
        let pidfd = unsafe { OwnedFd::from_raw_fd(ret as RawFd) };
        Ok(Self { pid, pidfd })
    }

    /// Takes a duplicate of the process's file descriptor `fd`
    /// (close-on-exec). `EBADF` (no such fd) is an `Error::Device`.
    pub fn take(&self, fd: RawFd) -> Result<OwnedFd> {
        // SAFETY: pidfd_getfd(2) takes a pidfd we own, a number and flags by
        // value and touches no memory of ours; its result is checked below.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_pidfd_getfd,
                self.pidfd.as_raw_fd() as libc::c_int,
                fd as libc::c_int,
                0 as libc::c_uint,
            )
        };
        if ret < 0 {
            let errno = last_errno();
            let pid = self.pid;
            return Err(match errno {
                libc::EBADF => Error::Device(format!("process {pid} has no fd {fd}")),
                libc::ESRCH => Error::Device(format!("process {pid} has exited")),
                libc::ENOSYS => Error::Unsupported(
                    "this kernel has no pidfd_getfd(2): it cannot take another process's files"
                        .into(),
                ),
                libc::EPERM | libc::EACCES => Error::Failed {
                    what: format!("pidfd_getfd of fd {fd} of process {pid} ({NEEDS_PTRACE})"),
                    errno,
                },
                _ => Error::Failed {
                    what: format!("pidfd_getfd of fd {fd} of process {pid}"),
                    errno,
                },
            });
        }
        // SAFETY: pidfd_getfd(2) returned a new file descriptor (an int, so
        // the narrowing keeps it) that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
    }
}

/// What the framework says of one buffer.
enum Report {
    /// The exporter negotiates through the framework.
    Inside(BufInfo),
    /// It does not: `DMA_BUF_IOCTL_IC_INFO` failed with `EOPNOTSUPP`, or
    /// reported a buffer that negotiates nothing.
    Outside(Option<BufInfo>),
    /// The kernel cannot tell (no `DMA_BUF_IOCTL_IC_INFO`).
    Unknown(String),
}

/// Asks the framework about a dma-buf.
fn report(buf: &OwnedFd) -> Result<Report> {
    match buf_info(buf) {
        Ok(info) if info.flags & uapi::INFO_NEGOTIATES != 0 => Ok(Report::Inside(info)),
        Ok(info) => Ok(Report::Outside(Some(info))),
        Err(e) if e.errno() == Some(libc::EOPNOTSUPP) => Ok(Report::Outside(None)),
        Err(e @ Error::Unsupported(_)) => Ok(Report::Unknown(e.to_string())),
        Err(e) => Err(e),
    }
}

/// The first line of a buffer's report in words.
pub fn headline(fd: RawFd, info: &Fdinfo) -> String {
    let size = match info.size {
        Some(s) => format!("{s} bytes"),
        None => "size unknown".into(),
    };
    let name = match &info.name {
        Some(n) if !n.is_empty() => format!(", name \"{n}\""),
        _ => String::new(),
    };
    format!("fd {fd}: exporter {}, {size}{name}", info.exporter)
}

/// `buffers`: the dma-bufs that process `pid` holds.
pub fn buffers(pid: i32, json: bool) -> Result<Value> {
    let proc = proc_root();
    let process = Process::open(pid)?;
    let found = dmabuf_fds(&proc, pid)?;
    let comm = command_name(&proc, pid).unwrap_or_else(|| "?".into());
    let mut list = Vec::new();
    let mut lines = Vec::new();
    for (fd, info) in found {
        let buf = match process.take(fd) {
            Ok(buf) => buf,
            // Closed since the listing.
            Err(Error::Device(_)) => continue,
            Err(e) => return Err(e),
        };
        // The fd may have been closed and reused since the listing.
        match own_fdinfo(&buf) {
            Some(now) if now.inode == info.inode => {}
            _ => continue,
        }
        let mut v = json!({
            "fd": fd, "size": info.size, "exporter": info.exporter,
            "name": info.name, "inode": info.inode,
        });
        lines.push(headline(fd, &info));
        match report(&buf)? {
            Report::Inside(ic) => {
                v["framework"] = json!(true);
                v["dmabuf"] = ic.to_json();
                lines.push(ic.describe("  ").trim_end().to_string());
            }
            Report::Outside(Some(ic)) => {
                v["framework"] = json!(false);
                v["dmabuf"] = ic.to_json();
                lines.push("  outside the framework: the exporter negotiates nothing".into());
                lines.push(ic.describe("  ").trim_end().to_string());
            }
            Report::Outside(None) => {
                v["framework"] = json!(false);
                v["dmabuf"] = Value::Null;
                lines.push(format!(
                    "  outside the framework (DMA_BUF_IOCTL_IC_INFO: {})",
                    errno_name(libc::EOPNOTSUPP)
                ));
            }
            Report::Unknown(why) => {
                v["framework"] = Value::Null;
                v["dmabuf"] = Value::Null;
                v["error"] = json!(why);
                lines.push(format!("  interconnects unknown: {why}"));
            }
        }
        list.push(v);
    }
    if !json {
        match list.len() {
            0 => println!("process {pid} ({comm}) holds no dma-buf"),
            1 => println!("process {pid} ({comm}) holds 1 dma-buf:"),
            n => println!("process {pid} ({comm}) holds {n} dma-bufs:"),
        }
        for line in lines {
            println!("{line}");
        }
    }
    Ok(Value::Array(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dma-buf's fdinfo as 7.2 prints it (`dma_buf_show_fdinfo()`).
    const DMABUF: &str = "pos:\t0\nflags:\t02000002\nmnt_id:\t16\nino:\t2061\n\
                          size:\t4194304\ncount:\t2\nexp_name:\tvfio-pci\n";

    #[test]
    fn fdinfo_of_a_dmabuf() {
        assert_eq!(
            parse_dmabuf_fdinfo(DMABUF),
            Some(Fdinfo {
                size: Some(4 << 20),
                exporter: "vfio-pci".into(),
                name: None,
                inode: Some(2061),
            })
        );
        // A name with spaces and a colon, as DMA_BUF_SET_NAME allows.
        let named = format!("{DMABUF}name:\tframe buffer: 1\n");
        let info = parse_dmabuf_fdinfo(&named).unwrap();
        assert_eq!(info.name.as_deref(), Some("frame buffer: 1"));
        assert_eq!(info.exporter, "vfio-pci");
    }

    #[test]
    fn fdinfo_of_other_files() {
        // A regular file, an eventfd, and nothing.
        for text in [
            "pos:\t0\nflags:\t0100002\nmnt_id:\t25\nino:\t1234\n",
            "pos:\t0\nflags:\t02004002\nmnt_id:\t16\nino:\t1057\neventfd-count:                0\neventfd-id: 3\n",
            "",
        ] {
            assert_eq!(parse_dmabuf_fdinfo(text), None, "{text:?}");
        }
        // An exporter without a size line is still a dma-buf.
        let info = parse_dmabuf_fdinfo("exp_name:\tudmabuf\n").unwrap();
        assert_eq!((info.exporter.as_str(), info.size), ("udmabuf", None));
        // An unreadable size is unknown, not 0.
        let info = parse_dmabuf_fdinfo("size:\tlots\nexp_name:\tx\n").unwrap();
        assert_eq!(info.size, None);
    }

    #[test]
    fn headlines() {
        let mut info = parse_dmabuf_fdinfo(DMABUF).unwrap();
        assert_eq!(headline(7, &info), "fd 7: exporter vfio-pci, 4194304 bytes");
        info.name = Some("bar2".into());
        info.size = None;
        assert_eq!(
            headline(7, &info),
            "fd 7: exporter vfio-pci, size unknown, name \"bar2\""
        );
    }

    /// A fake procfs with one process holding a dma-buf at fd 5 and a
    /// regular file at fd 3.
    #[test]
    fn fds_of_a_process() {
        let root = std::env::temp_dir().join(format!("dmabuf-ic-proc-{}", std::process::id()));
        let pid_dir = root.join("4242");
        fs::create_dir_all(pid_dir.join("fd")).unwrap();
        fs::create_dir_all(pid_dir.join("fdinfo")).unwrap();
        for fd in ["3", "5", "12"] {
            fs::write(pid_dir.join("fd").join(fd), "").unwrap();
        }
        fs::write(pid_dir.join("fdinfo/3"), "pos:\t0\nflags:\t0100002\n").unwrap();
        fs::write(pid_dir.join("fdinfo/5"), DMABUF).unwrap();
        fs::write(pid_dir.join("fdinfo/12"), DMABUF.replace("2061", "2062")).unwrap();
        // fd 9 was closed between the listing and its fdinfo.
        fs::write(pid_dir.join("fd/9"), "").unwrap();
        fs::write(pid_dir.join("comm"), "qemu-system-x86\n").unwrap();
        let found = dmabuf_fds(&root, 4242);
        let name = command_name(&root, 4242);
        let missing = dmabuf_fds(&root, 4243);
        fs::remove_dir_all(&root).unwrap();

        let found = found.unwrap();
        assert_eq!(
            found.iter().map(|(fd, _)| *fd).collect::<Vec<_>>(),
            [5, 12],
            "sorted by number, not by name"
        );
        assert_eq!(found[1].1.inode, Some(2062));
        assert_eq!(name.as_deref(), Some("qemu-system-x86"));
        let err = missing.unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert_eq!(err.to_string(), "no process 4243");
    }

    #[test]
    fn own_process() {
        // Our own files: no dma-buf, and taking one of our own fds works
        // without privileges.
        let pid = std::process::id() as i32;
        assert!(dmabuf_fds(Path::new("/proc"), pid).unwrap().is_empty());
        let Ok(me) = Process::open(pid) else {
            // pidfd_open(2) may be filtered (seccomp) where the tests run.
            return;
        };
        let file = fs::File::open("/proc/self/comm").unwrap();
        if let Ok(dup) = me.take(file.as_raw_fd()) {
            assert_ne!(dup.as_raw_fd(), file.as_raw_fd());
            assert!(own_fdinfo(&dup).is_none());
        }
        let err = me.take(1 << 20).unwrap_err();
        assert!(
            err.exit_code() == 3 || err.errno().is_some(),
            "an fd that is not open: {err}"
        );
    }

    #[test]
    fn no_such_process() {
        // pid_max is at most 2^22: this pid cannot exist.
        let Err(err) = Process::open((1 << 22) + 1) else {
            panic!("a pid beyond pid_max exists");
        };
        // 4: a kernel without pidfd_open(2).
        assert!(matches!(err.exit_code(), 3 | 4), "{err}");
    }
}
