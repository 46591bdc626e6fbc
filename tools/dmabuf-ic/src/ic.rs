// SPDX-License-Identifier: GPL-2.0-only
//! The kernel interfaces: VFIO's dma-buf export, the dma-buf's interconnect
//! report and iommufd's dma-buf import.

use crate::{
    sys::{ioctl, open_rw, Error, Result},
    uapi::{self, ioctl as nr, name_str},
};
use serde_json::{json, Value};
use std::{
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::Path,
};

/// A VFIO device opened through its character device and bound to an
/// iommufd, which VFIO asks for before any other ioctl.
pub struct VfioDevice {
    pub fd: OwnedFd,
}

impl VfioDevice {
    /// Opens `/dev/vfio/devices/<cdev>` and binds it to `iommufd`.
    pub fn open(cdev: &str, iommufd: &OwnedFd) -> Result<Self> {
        let fd =
            open_rw(&Path::new("/dev/vfio/devices").join(cdev)).map_err(|e| match e.errno() {
                Some(libc::EBUSY) => Error::Device(format!("{cdev}: in use by another process")),
                _ => e,
            })?;
        let mut bind = uapi::VfioBindIommufd {
            argsz: size_of::<uapi::VfioBindIommufd>() as u32,
            iommufd: iommufd.as_raw_fd(),
            ..Default::default()
        };
        ioctl(
            &fd,
            nr::VFIO_DEVICE_BIND_IOMMUFD,
            &mut bind,
            "VFIO_DEVICE_BIND_IOMMUFD",
        )?;
        Ok(Self { fd })
    }

    /// Whether the device supports `VFIO_DEVICE_FEATURE_DMA_BUF`.
    pub fn probe_dma_buf(&self) -> bool {
        let mut f = uapi::VfioFeature {
            argsz: size_of::<uapi::VfioFeature>() as u32,
            flags: uapi::FEATURE_PROBE | uapi::FEATURE_GET | uapi::FEATURE_DMA_BUF,
        };
        ioctl(&self.fd, nr::VFIO_DEVICE_FEATURE, &mut f, "probe").is_ok()
    }

    /// Exports `[offset, offset + length)` of BAR `bar` as a dma-buf.
    pub fn export(&self, bar: u32, offset: u64, length: u64) -> Result<OwnedFd> {
        let mut f = uapi::VfioFeatureDmaBuf {
            argsz: size_of::<uapi::VfioFeatureDmaBuf>() as u32,
            flags: uapi::FEATURE_GET | uapi::FEATURE_DMA_BUF,
            region_index: bar,
            open_flags: (libc::O_RDWR | libc::O_CLOEXEC) as u32,
            nr_ranges: 1,
            offset,
            length,
            ..Default::default()
        };
        let fd = ioctl(
            &self.fd,
            nr::VFIO_DEVICE_FEATURE,
            &mut f,
            "VFIO_DEVICE_FEATURE_DMA_BUF",
        )
        .map_err(|e| match e.errno() {
            Some(libc::ENOTTY) => Error::Unsupported(
                "this kernel's vfio-pci cannot export BARs as dma-bufs \
                     (VFIO_DEVICE_FEATURE_DMA_BUF: ENOTTY)"
                    .into(),
            ),
            _ => e,
        })?;
        // SAFETY: The ioctl returned a new file descriptor that we own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Returns the size, mmap offset and flags of region `index`.
    pub fn region(&self, index: u32) -> Result<uapi::VfioRegionInfo> {
        let mut info = uapi::VfioRegionInfo {
            argsz: size_of::<uapi::VfioRegionInfo>() as u32,
            index,
            ..Default::default()
        };
        ioctl(
            &self.fd,
            nr::VFIO_DEVICE_GET_REGION_INFO,
            &mut info,
            "VFIO_DEVICE_GET_REGION_INFO",
        )?;
        Ok(info)
    }
}

/// Opens /dev/iommu.
pub fn open_iommufd() -> Result<OwnedFd> {
    open_rw(Path::new("/dev/iommu")).map_err(|e| match e.errno() {
        Some(libc::ENOENT) => {
            Error::Unsupported("no /dev/iommu: this kernel has no iommufd".into())
        }
        _ => e,
    })
}

/// Allocates an IOAS in `iommufd` and returns its id.
pub fn alloc_ioas(iommufd: &OwnedFd) -> Result<u32> {
    let mut alloc = uapi::IoasAlloc {
        size: size_of::<uapi::IoasAlloc>() as u32,
        ..Default::default()
    };
    ioctl(
        iommufd,
        nr::IOMMU_IOAS_ALLOC,
        &mut alloc,
        "IOMMU_IOAS_ALLOC",
    )?;
    Ok(alloc.out_ioas_id)
}

/// What `DMA_BUF_IOCTL_IC_INFO` reports of a dma-buf.
pub struct BufInfo {
    pub flags: u32,
    pub offers: Vec<uapi::DmaBufIcOffer>,
    pub attachments: Vec<uapi::DmaBufIcAttachment>,
}

/// Asks the dma-buf `fd` what it offers and who imports it.
pub fn buf_info(fd: &impl AsRawFd) -> Result<BufInfo> {
    let mut info = uapi::DmaBufIcInfo {
        size: size_of::<uapi::DmaBufIcInfo>() as u32,
        ..Default::default()
    };
    let unsupported = |e: Error| match e.errno() {
        Some(libc::ENOTTY) => Error::Unsupported(
            "this kernel cannot report dma-buf interconnects (DMA_BUF_IOCTL_IC_INFO: ENOTTY)"
                .into(),
        ),
        _ => e,
    };
    // First the counts (EMSGSIZE unless both are 0), then the arrays; retry
    // if an importer attached in between.
    for _ in 0..16 {
        let mut offers = vec![uapi::DmaBufIcOffer::default(); info.num_offers as usize];
        let mut attachments =
            vec![uapi::DmaBufIcAttachment::default(); info.num_attachments as usize];
        info.offers_uptr = offers.as_mut_ptr() as u64;
        info.attachments_uptr = attachments.as_mut_ptr() as u64;
        match ioctl(
            fd,
            nr::DMA_BUF_IOCTL_IC_INFO,
            &mut info,
            "DMA_BUF_IOCTL_IC_INFO",
        ) {
            Ok(_) => {
                return Ok(BufInfo {
                    flags: info.out_flags,
                    offers,
                    attachments,
                })
            }
            Err(e) if e.errno() == Some(libc::EMSGSIZE) => continue,
            Err(e) => return Err(unsupported(e)),
        }
    }
    Err(Error::Failed {
        what: "DMA_BUF_IOCTL_IC_INFO: importers keep changing".into(),
        errno: libc::EMSGSIZE,
    })
}

/// The names of the state flags of `DMA_BUF_IOCTL_IC_INFO` set in `flags`.
pub fn state_names(flags: u32) -> Vec<&'static str> {
    uapi::INFO_FLAGS
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect()
}

impl BufInfo {
    /// The state flags, by name.
    pub fn flag_names(&self) -> Vec<&'static str> {
        state_names(self.flags)
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "state": self.flag_names(),
            "offers": self.offers.iter().map(|o| json!({
                "interconnect": name_str(&o.name),
                "peer_to_peer": o.flags & uapi::OFFER_P2P != 0,
            })).collect::<Vec<_>>(),
            "attachments": self.attachments.iter().map(|a| json!({
                "importer": name_str(&a.importer),
                "interconnect": (a.flags & uapi::ATTACHMENT_NEGOTIATED != 0)
                    .then(|| name_str(&a.interconnect)),
                "mapped": a.flags & uapi::ATTACHMENT_MAPPED != 0,
            })).collect::<Vec<_>>(),
        })
    }

    /// The report in words, one line per item, indented by `indent`.
    pub fn describe(&self, indent: &str) -> String {
        let names = self.flag_names();
        let state = if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        };
        let mut out = format!("{indent}state: {state}\n");
        for (i, o) in self.offers.iter().enumerate() {
            let p2p = if o.flags & uapi::OFFER_P2P != 0 {
                " (peer-to-peer MMIO)"
            } else {
                ""
            };
            out += &format!("{indent}offer {}: {}{p2p}\n", i + 1, name_str(&o.name));
        }
        for a in &self.attachments {
            let how = if a.flags & uapi::ATTACHMENT_NEGOTIATED != 0 {
                format!("through {}", name_str(&a.interconnect))
            } else {
                "outside the framework".into()
            };
            let mapped = if a.flags & uapi::ATTACHMENT_MAPPED != 0 {
                ", mapped"
            } else {
                ""
            };
            out += &format!(
                "{indent}imported by {} {how}{mapped}\n",
                name_str(&a.importer)
            );
        }
        out
    }
}

/// What `IOMMU_DMABUF_GET_INFO` reports.
pub struct IommufdInfo {
    pub capabilities: u32,
    pub accepts: Vec<String>,
    /// With a dma-buf: what `IOMMU_IOAS_MAP_FILE` would negotiate, or the
    /// errno it would fail with.
    pub negotiated: Option<std::result::Result<String, i32>>,
}

/// Asks iommufd how it imports dma-bufs, and about `buf` if given.
pub fn iommufd_info(iommufd: &OwnedFd, buf: Option<&OwnedFd>) -> Result<IommufdInfo> {
    let mut accepts = [[0u8; uapi::NAME_LEN]; 8];
    let mut info = uapi::IommuDmabufInfo {
        size: size_of::<uapi::IommuDmabufInfo>() as u32,
        num_accepts: accepts.len() as u32,
        accepts_uptr: accepts.as_mut_ptr() as u64,
        ..Default::default()
    };
    ioctl(
        iommufd,
        nr::IOMMU_DMABUF_GET_INFO,
        &mut info,
        "IOMMU_DMABUF_GET_INFO",
    )
    .map_err(|e| match e.errno() {
        Some(libc::ENOTTY) => Error::Unsupported(
            "this kernel's iommufd does not import dma-bufs (IOMMU_DMABUF_GET_INFO: ENOTTY); \
                 map BARs through VFIO type1 instead"
                .into(),
        ),
        _ => e,
    })?;
    let n = (info.num_accepts as usize).min(accepts.len());
    let mut result = IommufdInfo {
        capabilities: info.out_capabilities,
        accepts: accepts[..n].iter().map(|a| name_str(a)).collect(),
        negotiated: None,
    };
    if let Some(buf) = buf {
        info.flags = uapi::IOMMU_DMABUF_INFO_FD;
        info.fd = buf.as_raw_fd();
        result.negotiated = Some(
            match ioctl(
                iommufd,
                nr::IOMMU_DMABUF_GET_INFO,
                &mut info,
                "IOMMU_DMABUF_GET_INFO",
            ) {
                Ok(_) => Ok(name_str(&info.out_interconnect)),
                Err(e) => Err(e.errno().unwrap_or(libc::EIO)),
            },
        );
    }
    Ok(result)
}

impl IommufdInfo {
    /// The capabilities, by name.
    pub fn capability_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.capabilities & uapi::IOMMU_DMABUF_CAP_MAP_FILE != 0 {
            names.push("map-file");
        }
        if self.capabilities & uapi::IOMMU_DMABUF_CAP_REVOKE != 0 {
            names.push("revoke");
        }
        names
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "capabilities": self.capability_names(), "accepts": self.accepts });
        if let Some(n) = &self.negotiated {
            v["map_file"] = match n {
                Ok(name) => json!({ "importable": true, "interconnect": name }),
                Err(errno) => {
                    json!({ "importable": false, "errno": crate::sys::errno_name(*errno) })
                }
            };
        }
        v
    }
}
