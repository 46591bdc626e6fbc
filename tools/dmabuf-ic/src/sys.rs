// SPDX-License-Identifier: GPL-2.0-only
//! System access: errors with exit codes, ioctls, and the PCI devices that
//! sysfs shows.

use std::{
    fmt, fs,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::{Path, PathBuf},
};

/// Why the tool failed; each kind has its own exit code.
#[derive(Debug)]
pub enum Error {
    /// Bad command line (exit 2).
    Usage(String),
    /// No such device, not bound to vfio-pci, no such process, or no
    /// such dma-buf in it (exit 3).
    Device(String),
    /// The kernel lacks the feature (exit 4).
    Unsupported(String),
    /// A call failed (exit 1).
    Failed { what: String, errno: i32 },
}

impl Error {
    /// The process exit code of this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Failed { .. } => 1,
            Error::Usage(_) => 2,
            Error::Device(_) => 3,
            Error::Unsupported(_) => 4,
        }
    }

    /// The errno of a failed call, if this is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Failed { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The error's kind, as `--json` reports it.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::Device(_) => "device",
            Error::Unsupported(_) => "unsupported",
            Error::Failed { .. } => "failed",
        }
    }
}

/// The symbolic name of an errno, for messages.
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EBADF => "EBADF",
        libc::ENOMEM => "ENOMEM",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOTTY => "ENOTTY",
        libc::ENOSPC => "ENOSPC",
        libc::E2BIG => "E2BIG",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EREMOTEIO => "EREMOTEIO",
        libc::EACCES => "EACCES",
        libc::ESRCH => "ESRCH",
        libc::EAGAIN => "EAGAIN",
        libc::EINTR => "EINTR",
        libc::ENOSYS => "ENOSYS",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EPIPE => "EPIPE",
        _ => "error",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Device(m) | Error::Unsupported(m) => f.write_str(m),
            Error::Failed { what, errno } => {
                write!(
                    f,
                    "{what}: {} ({})",
                    errno_name(*errno),
                    std::io::Error::from_raw_os_error(*errno)
                )
            }
        }
    }
}

/// The result of everything that can fail.
pub type Result<T> = std::result::Result<T, Error>;

/// The errno of the last failed call.
pub fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Runs `ioctl(fd, cmd, arg)`; the error says `what` failed.
pub fn ioctl<T>(fd: &impl AsRawFd, cmd: u64, arg: &mut T, what: &str) -> Result<i32> {
    // SAFETY: `arg` is a live, exclusively borrowed `#[repr(C)]` argument of
    // the size the command expects (checked against the headers in uapi.rs);
    // the kernel writes at most that much into it.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), cmd as _, arg as *mut T) };
    if ret < 0 {
        Err(Error::Failed {
            what: what.into(),
            errno: last_errno(),
        })
    } else {
        Ok(ret)
    }
}

/// Opens `path` read-write.
pub fn open_rw(path: &Path) -> Result<OwnedFd> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c` is a NUL-terminated path; the flags are plain.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Error::Failed {
            what: format!("open {}", path.display()),
            errno: last_errno(),
        });
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// One memory BAR of a PCI device.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub index: u32,
    pub start: u64,
    pub size: u64,
    pub prefetchable: bool,
}

/// A PCI device as sysfs shows it.
#[derive(Clone, Debug)]
pub struct PciDevice {
    /// Its address, as "0000:00:03.0".
    pub bdf: String,
    pub vendor: u16,
    pub device: u16,
    /// The bound driver's name, if any.
    pub driver: Option<String>,
    /// The VFIO character device ("vfio0"), if bound to a VFIO driver.
    pub vfio_cdev: Option<String>,
    pub bars: Vec<Bar>,
}

/// `IORESOURCE_MEM` and `IORESOURCE_PREFETCH` in sysfs' `resource` file.
const IORESOURCE_MEM: u64 = 0x200;
const IORESOURCE_PREFETCH: u64 = 0x2000;

/// Parses a sysfs `resource` file: the memory BARs among its first six lines.
pub fn parse_resources(text: &str) -> Vec<Bar> {
    let mut bars = Vec::new();
    for (index, line) in text.lines().take(6).enumerate() {
        let v: Vec<u64> = line
            .split_whitespace()
            .filter_map(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16).ok())
            .collect();
        if let [start, end, flags] = v[..] {
            if flags & IORESOURCE_MEM != 0 && end > start {
                bars.push(Bar {
                    index: index as u32,
                    start,
                    size: end - start + 1,
                    prefetchable: flags & IORESOURCE_PREFETCH != 0,
                });
            }
        }
    }
    bars
}

fn read_hex(path: &Path) -> Option<u16> {
    let text = fs::read_to_string(path).ok()?;
    u16::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()
}

/// Reads the device at `dir` (a directory of /sys/bus/pci/devices).
pub fn read_device(dir: &Path) -> Option<PciDevice> {
    let bdf = dir.file_name()?.to_string_lossy().into_owned();
    let driver = fs::read_link(dir.join("driver"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    let vfio_cdev = fs::read_dir(dir.join("vfio-dev")).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with("vfio"))
    });
    Some(PciDevice {
        vendor: read_hex(&dir.join("vendor"))?,
        device: read_hex(&dir.join("device"))?,
        bars: parse_resources(&fs::read_to_string(dir.join("resource")).unwrap_or_default()),
        bdf,
        driver,
        vfio_cdev,
    })
}

/// Every PCI device under `root` (normally /sys/bus/pci/devices), sorted.
pub fn pci_devices(root: &Path) -> Vec<PciDevice> {
    let mut devices: Vec<PciDevice> = fs::read_dir(root)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| read_device(&e.path()))
                .collect()
        })
        .unwrap_or_default();
    devices.sort_by(|a, b| a.bdf.cmp(&b.bdf));
    devices
}

/// Normalises a PCI address: "3.0" or "00:03.0" become "0000:00:03.0".
pub fn normalise_bdf(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (domain, bus, devfn) = match parts[..] {
        [d, b, df] => (
            u32::from_str_radix(d, 16).ok()?,
            u32::from_str_radix(b, 16).ok()?,
            df,
        ),
        [b, df] => (0, u32::from_str_radix(b, 16).ok()?, df),
        [df] => (0, 0, df),
        _ => return None,
    };
    let (dev, func) = devfn.split_once('.')?;
    let (dev, func) = (
        u32::from_str_radix(dev, 16).ok()?,
        u32::from_str_radix(func, 16).ok()?,
    );
    if domain > 0xffff || bus > 0xff || dev > 0x1f || func > 7 {
        return None;
    }
    Some(format!("{domain:04x}:{bus:02x}:{dev:02x}.{func}"))
}

/// Finds the device `bdf` and checks that it is bound to vfio-pci with a
/// VFIO character device.
pub fn vfio_device(root: &Path, bdf: &str) -> Result<PciDevice> {
    let norm =
        normalise_bdf(bdf).ok_or_else(|| Error::Usage(format!("{bdf}: not a PCI address")))?;
    let dev = read_device(&root.join(&norm))
        .ok_or_else(|| Error::Device(format!("{norm}: no such PCI device")))?;
    match (&dev.driver, &dev.vfio_cdev) {
        (Some(d), Some(_)) if d.starts_with("vfio") => Ok(dev),
        (Some(d), None) if d.starts_with("vfio") => Err(Error::Unsupported(format!(
            "{norm}: bound to {d}, but without a VFIO character device (CONFIG_VFIO_DEVICE_CDEV)"
        ))),
        (driver, _) => Err(Error::Device(format!(
            "{norm}: not bound to vfio-pci (driver: {}); bind it with\n  \
             echo vfio-pci > /sys/bus/pci/devices/{norm}/driver_override\n  \
             echo {norm} > /sys/bus/pci/drivers_probe",
            driver.as_deref().unwrap_or("none")
        ))),
    }
}

/// The procfs root (`DMABUF_IC_PROC` for tests).
pub fn proc_root() -> PathBuf {
    std::env::var_os("DMABUF_IC_PROC")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/proc".into())
}

/// The sysfs directory of the PCI devices.
pub fn sysfs_root() -> PathBuf {
    std::env::var_os("DMABUF_IC_SYSFS")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/sys/bus/pci/devices".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources() {
        let text = "0x00000000fe000000 0x00000000fe3fffff 0x0000000000040200\n\
                    0x000000000000c000 0x000000000000c0ff 0x0000000000040101\n\
                    0x0000000000000000 0x0000000000000000 0x0000000000000000\n\
                    0x000000fe00000000 0x000000fe00003fff 0x000000000014220c\n\
                    0x0000000000000000 0x0000000000000000 0x0000000000000000\n\
                    0x0000000000000000 0x0000000000000000 0x0000000000000000\n\
                    0x00000000feb00000 0x00000000feb3ffff 0x0000000000046200\n";
        let bars = parse_resources(text);
        assert_eq!(
            bars.len(),
            2,
            "the I/O BAR and the ROM are not memory BARs: {bars:?}"
        );
        assert_eq!(
            bars[0],
            Bar {
                index: 0,
                start: 0xfe00_0000,
                size: 4 << 20,
                prefetchable: false
            }
        );
        assert_eq!(
            bars[1],
            Bar {
                index: 3,
                start: 0xfe_0000_0000,
                size: 16 << 10,
                prefetchable: true
            }
        );
    }

    #[test]
    fn bdf() {
        assert_eq!(normalise_bdf("3.0").as_deref(), Some("0000:00:03.0"));
        assert_eq!(normalise_bdf("01:00.0").as_deref(), Some("0000:01:00.0"));
        assert_eq!(
            normalise_bdf("0000:00:1f.7").as_deref(),
            Some("0000:00:1f.7")
        );
        assert_eq!(normalise_bdf("00:20.0"), None);
        assert_eq!(normalise_bdf("00:03.8"), None);
        assert_eq!(normalise_bdf("nonsense"), None);
    }

    /// A fake sysfs tree with one device, bound or not.
    fn fake_sysfs(driver: Option<&str>, cdev: bool) -> tempdir::Dir {
        let root = tempdir::Dir::new();
        let dev = root.path.join("0000:00:03.0");
        fs::create_dir_all(&dev).unwrap();
        fs::write(dev.join("vendor"), "0x1af4\n").unwrap();
        fs::write(dev.join("device"), "0x1110\n").unwrap();
        fs::write(
            dev.join("resource"),
            "0x00000000fe000000 0x00000000fe3fffff 0x0000000000040200\n",
        )
        .unwrap();
        if let Some(driver) = driver {
            let d = root.path.join("drivers").join(driver);
            fs::create_dir_all(&d).unwrap();
            std::os::unix::fs::symlink(&d, dev.join("driver")).unwrap();
        }
        if cdev {
            fs::create_dir_all(dev.join("vfio-dev/vfio3")).unwrap();
        }
        root
    }

    /// A directory removed on drop.
    mod tempdir {
        pub struct Dir {
            pub path: std::path::PathBuf,
        }
        impl Dir {
            pub fn new() -> Self {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let path = std::env::temp_dir().join(format!(
                    "dmabuf-ic-test-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&path).unwrap();
                Self { path }
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.path);
            }
        }
    }

    #[test]
    fn vfio_binding() {
        let root = fake_sysfs(Some("vfio-pci"), true);
        let dev = vfio_device(&root.path, "00:03.0").unwrap();
        assert_eq!(dev.vfio_cdev.as_deref(), Some("vfio3"));
        assert_eq!(dev.bars.len(), 1);
        assert_eq!(
            vfio_device(&root.path, "00:04.0").unwrap_err().exit_code(),
            3
        );
        assert_eq!(vfio_device(&root.path, "zz").unwrap_err().exit_code(), 2);

        let root = fake_sysfs(Some("virtio-pci"), false);
        let err = vfio_device(&root.path, "00:03.0").unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(err
            .to_string()
            .contains("not bound to vfio-pci (driver: virtio-pci)"));
        let root = fake_sysfs(None, false);
        assert!(vfio_device(&root.path, "00:03.0")
            .unwrap_err()
            .to_string()
            .contains("driver: none"));
        let root = fake_sysfs(Some("vfio-pci"), false);
        assert_eq!(
            vfio_device(&root.path, "00:03.0").unwrap_err().exit_code(),
            4
        );
    }
}
