// SPDX-License-Identifier: GPL-2.0-only
//! The peer-to-peer demo, step by step, on QEMU's edu and ivshmem-plain:
//! ivshmem's BAR2 is exported by VFIO as a dma-buf and mapped into an
//! iommufd IOAS; edu, attached to that IOAS, writes into it with its DMA
//! engine; disabling memory on ivshmem revokes the mapping; mapping again
//! brings DMA back.

use crate::{
    ic::{alloc_ioas, buf_info, iommufd_info, open_iommufd, VfioDevice},
    sys::{ioctl, pci_devices, sysfs_root, vfio_device, Error, Result},
    uapi::{self, ioctl as nr},
};
use serde_json::{json, Value};
use std::{
    os::fd::{AsRawFd, OwnedFd},
    ptr::NonNull,
    time::{Duration, Instant},
};

const PAGE: u64 = 4096;
/// edu's DMA registers and its internal buffer.
const EDU_DMA_SRC: usize = 0x80;
const EDU_DMA_DST: usize = 0x88;
const EDU_DMA_COUNT: usize = 0x90;
const EDU_DMA_CMD: usize = 0x98;
const EDU_CMD_START: u64 = 1;
const EDU_CMD_TO_RAM: u64 = 2;
const EDU_BUFFER: u64 = 0x40000;
/// Bytes per transfer (QEMU 7.2's edu refuses a whole 4096).
const XFER: usize = 2048;
const IOVA_RAM: u64 = 0x10_0000;
const IOVA_BAR: u64 = 0x20_0000;

/// A shared mapping, unmapped on drop.
struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mmap {
    /// Maps `len` bytes of `fd` at `offset`, or anonymous memory if `fd` is
    /// `None`.
    fn new(fd: Option<&OwnedFd>, len: usize, offset: u64) -> Result<Self> {
        let (flags, raw) = match fd {
            Some(fd) => (libc::MAP_SHARED, fd.as_raw_fd()),
            None => (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1),
        };
        // SAFETY: A new mapping at an address the kernel picks; nothing else
        // is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                raw,
                offset as _,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::Failed {
                what: "mmap".into(),
                errno: crate::sys::last_errno(),
            });
        }
        Ok(Self {
            ptr: NonNull::new(p.cast()).unwrap(),
            len,
        })
    }

    /// Writes a 64-bit MMIO register at `off`.
    fn write64(&self, off: usize, val: u64) {
        assert!(off + 8 <= self.len);
        // SAFETY: In bounds (checked), aligned (registers are), and the
        // mapping lives as long as `self`.
        unsafe { self.ptr.as_ptr().add(off).cast::<u64>().write_volatile(val) }
    }

    /// Reads a 64-bit MMIO register at `off`.
    fn read64(&self, off: usize) -> u64 {
        assert!(off + 8 <= self.len);
        // SAFETY: As for `write64`.
        unsafe { self.ptr.as_ptr().add(off).cast::<u64>().read_volatile() }
    }

    /// Fills the first `n` bytes with `byte`.
    fn fill(&self, byte: u8, n: usize) {
        for i in 0..n.min(self.len) {
            // SAFETY: In bounds; byte accesses suit MMIO and RAM alike.
            unsafe { self.ptr.as_ptr().add(i).write_volatile(byte) }
        }
    }

    /// Whether the first `n` bytes are all `byte`.
    fn all(&self, byte: u8, n: usize) -> bool {
        // SAFETY: In bounds, as for `fill`.
        (0..n.min(self.len)).all(|i| unsafe { self.ptr.as_ptr().add(i).read_volatile() } == byte)
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: The mapping was made by `new` and is not used after this.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Runs one edu DMA; false if it does not finish within 2 s.
fn edu_dma(bar0: &Mmap, src: u64, dst: u64, count: u64, cmd: u64) -> bool {
    bar0.write64(EDU_DMA_SRC, src);
    bar0.write64(EDU_DMA_DST, dst);
    bar0.write64(EDU_DMA_COUNT, count);
    bar0.write64(EDU_DMA_CMD, cmd | EDU_CMD_START);
    let start = Instant::now();
    while bar0.read64(EDU_DMA_CMD) & EDU_CMD_START != 0 {
        if start.elapsed() > Duration::from_secs(2) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// RAM (at IOVA_RAM) -> edu -> ivshmem's BAR (at IOVA_BAR), `XFER` bytes.
fn copy_to_bar(bar0: &Mmap, ram: &Mmap, byte: u8) -> bool {
    ram.fill(byte, XFER);
    edu_dma(bar0, IOVA_RAM, EDU_BUFFER, XFER as u64, 0)
        && edu_dma(bar0, EDU_BUFFER, IOVA_BAR, XFER as u64, EDU_CMD_TO_RAM)
}

/// Sets and clears bits of a device's PCI command register.
fn set_command(dev: &VfioDevice, set: u16, clear: u16) -> Result<()> {
    let config = dev.region(uapi::VFIO_PCI_CONFIG_REGION_INDEX)?.offset;
    let mut cmd = [0u8; 2];
    let fd = dev.fd.as_raw_fd();
    // SAFETY: Reads and writes 2 bytes from and to a live local buffer.
    let ok = unsafe {
        libc::pread(fd, cmd.as_mut_ptr().cast(), 2, (config + 4) as _) == 2 && {
            let v = (u16::from_le_bytes(cmd) | set) & !clear;
            cmd = v.to_le_bytes();
            libc::pwrite(fd, cmd.as_ptr().cast(), 2, (config + 4) as _) == 2
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::Failed {
            what: "PCI command register".into(),
            errno: crate::sys::last_errno(),
        })
    }
}

/// The demo's narration: each step in words, or collected for `--json`.
pub struct Steps {
    json: bool,
    steps: Vec<Value>,
}

impl Steps {
    fn say(&mut self, step: &str, words: String, details: Value) {
        if self.json {
            let mut v = json!({ "step": step, "what": words });
            if let (Value::Object(map), Value::Object(extra)) = (&mut v, details) {
                map.extend(extra);
            }
            self.steps.push(v);
        } else {
            println!("{words}");
        }
    }
}

/// Finds the VFIO cdev of the first device `vendor:device`.
fn find(vendor: u16, device: u16, what: &str) -> Result<String> {
    let dev = pci_devices(&sysfs_root())
        .into_iter()
        .find(|d| d.vendor == vendor && d.device == device)
        .ok_or_else(|| {
            Error::Device(format!(
                "no {what} ({vendor:04x}:{device:04x}) in this machine"
            ))
        })?;
    vfio_device(&sysfs_root(), &dev.bdf)?
        .vfio_cdev
        .ok_or_else(|| Error::Device(what.into()))
}

/// Runs the demo; returns the steps for `--json`.
pub fn run(json: bool) -> Result<Value> {
    let mut s = Steps {
        json,
        steps: Vec::new(),
    };
    let edu_cdev = find(0x1234, 0x11e8, "QEMU edu")?;
    let ivshmem_cdev = find(0x1af4, 0x1110, "QEMU ivshmem-plain")?;

    let iommufd = open_iommufd()?;
    let caps = iommufd_info(&iommufd, None)?;
    s.say(
        "iommufd",
        format!(
            "iommufd imports dma-bufs: {} (accepts {})",
            caps.capability_names().join(", "),
            caps.accepts.join(", ")
        ),
        caps.to_json(),
    );
    let edu = VfioDevice::open(&edu_cdev, &iommufd)?;
    let ivshmem = VfioDevice::open(&ivshmem_cdev, &iommufd)?;
    let ioas = alloc_ioas(&iommufd)?;
    let mut attach = uapi::VfioAttachPt {
        argsz: size_of::<uapi::VfioAttachPt>() as u32,
        pt_id: ioas,
        ..Default::default()
    };
    ioctl(
        &edu.fd,
        nr::VFIO_DEVICE_ATTACH_IOMMUFD_PT,
        &mut attach,
        "VFIO_DEVICE_ATTACH_IOMMUFD_PT",
    )?;
    s.say(
        "setup",
        format!("edu ({edu_cdev}) and ivshmem ({ivshmem_cdev}) are bound to iommufd; edu DMAs through IOAS {ioas}"),
        json!({ "ioas": ioas }),
    );

    // RAM for edu to read from.
    let ram = Mmap::new(None, PAGE as usize, 0)?;
    let mut map = uapi::IoasMap {
        size: size_of::<uapi::IoasMap>() as u32,
        flags: uapi::MAP_FIXED_IOVA | uapi::MAP_READABLE | uapi::MAP_WRITEABLE,
        ioas_id: ioas,
        user_va: ram.ptr.as_ptr() as u64,
        length: PAGE,
        iova: IOVA_RAM,
        ..Default::default()
    };
    ioctl(&iommufd, nr::IOMMU_IOAS_MAP, &mut map, "IOMMU_IOAS_MAP")?;
    let r0 = edu.region(0)?;
    let bar0 = Mmap::new(Some(&edu.fd), r0.size as usize, r0.offset)?;
    let r2 = ivshmem.region(2)?;
    if r0.flags & r2.flags & uapi::VFIO_REGION_INFO_FLAG_MMAP == 0 {
        return Err(Error::Unsupported(
            "edu's BAR0 or ivshmem's BAR2 cannot be mmapped".into(),
        ));
    }
    let bar2 = Mmap::new(Some(&ivshmem.fd), r2.size as usize, r2.offset)?;
    set_command(&edu, 0x6, 0)?; // memory and bus master
    set_command(&ivshmem, 0x2, 0)?; // memory

    let dmabuf = ivshmem.export(2, 0, PAGE)?;
    let info = buf_info(&dmabuf)?;
    s.say(
        "export",
        format!(
            "VFIO exported ivshmem BAR2 [0x0, 0x{PAGE:x}) of 0x{:x} bytes as dma-buf fd {}:\n{}",
            r2.size,
            dmabuf.as_raw_fd(),
            info.describe("  ").trim_end()
        ),
        json!({ "bar": 2, "offset": 0, "length": PAGE, "bar_size": r2.size, "dmabuf": info.to_json() }),
    );
    let asked = iommufd_info(&iommufd, Some(&dmabuf))?;
    let would = match &asked.negotiated {
        Some(Ok(name)) => name.clone(),
        Some(Err(errno)) => format!("nothing ({})", crate::sys::errno_name(*errno)),
        None => unreachable!(),
    };
    s.say(
        "negotiate",
        format!("iommufd would import it through {would}"),
        asked.to_json(),
    );

    let mut map_file = uapi::IoasMapFile {
        size: size_of::<uapi::IoasMapFile>() as u32,
        flags: uapi::MAP_FIXED_IOVA | uapi::MAP_READABLE | uapi::MAP_WRITEABLE,
        ioas_id: ioas,
        fd: dmabuf.as_raw_fd(),
        start: 0,
        length: PAGE,
        iova: IOVA_BAR,
    };
    ioctl(
        &iommufd,
        nr::IOMMU_IOAS_MAP_FILE,
        &mut map_file,
        "IOMMU_IOAS_MAP_FILE",
    )?;
    let info = buf_info(&dmabuf)?;
    s.say(
        "map",
        format!(
            "IOMMU_IOAS_MAP_FILE: the BAR page is at IOVA 0x{IOVA_BAR:x}:\n{}",
            info.describe("  ").trim_end()
        ),
        json!({ "iova": IOVA_BAR, "dmabuf": info.to_json() }),
    );

    bar2.fill(0, XFER);
    let moved = copy_to_bar(&bar0, &ram, 0x5a) && bar2.all(0x5a, XFER);
    s.say(
        "dma",
        format!(
            "edu's DMA engine wrote {XFER} bytes of 0x5a to IOVA 0x{IOVA_BAR:x}: {}",
            if moved {
                "ivshmem's BAR holds them (peer-to-peer DMA through the IOMMU)"
            } else {
                "FAILED"
            }
        ),
        json!({ "bytes": XFER, "ok": moved }),
    );

    set_command(&ivshmem, 0, 0x2)?;
    let revoked = buf_info(&dmabuf)?;
    set_command(&ivshmem, 0x2, 0)?;
    s.say(
        "revoke",
        format!(
            "memory disabled on ivshmem: the dma-buf was revoked before the write returned:\n{}",
            revoked.describe("  ").trim_end()
        ),
        json!({ "dmabuf": revoked.to_json() }),
    );
    let blocked = copy_to_bar(&bar0, &ram, 0x33) && bar2.all(0x5a, XFER);
    s.say(
        "blocked",
        format!(
            "memory enabled again, nothing remapped: edu's DMA of 0x33 {}",
            if blocked {
                "was blocked by the IOMMU; the BAR still holds 0x5a"
            } else {
                "was NOT blocked"
            }
        ),
        json!({ "ok": blocked }),
    );

    let mut unmap = uapi::IoasUnmap {
        size: size_of::<uapi::IoasUnmap>() as u32,
        ioas_id: ioas,
        iova: IOVA_BAR,
        length: PAGE,
    };
    ioctl(
        &iommufd,
        nr::IOMMU_IOAS_UNMAP,
        &mut unmap,
        "IOMMU_IOAS_UNMAP",
    )?;
    ioctl(
        &iommufd,
        nr::IOMMU_IOAS_MAP_FILE,
        &mut map_file,
        "IOMMU_IOAS_MAP_FILE",
    )?;
    let again = copy_to_bar(&bar0, &ram, 0x77) && bar2.all(0x77, XFER);
    s.say(
        "map-again",
        format!(
            "unmapped and mapped again: edu's DMA of 0x77 {}",
            if again {
                "reached the BAR again"
            } else {
                "FAILED"
            }
        ),
        json!({ "ok": again }),
    );
    if !(moved && blocked && again) {
        return Err(Error::Failed {
            what: "the peer-to-peer demo".into(),
            errno: libc::EIO,
        });
    }
    Ok(Value::Array(s.steps))
}
