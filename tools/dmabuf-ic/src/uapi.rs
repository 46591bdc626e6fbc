// SPDX-License-Identifier: GPL-2.0-only
//! The uAPI structures and ioctl numbers this tool uses, as `#[repr(C)]`
//! mirrors of the kernel's headers. Each mirror's size and field offsets
//! are checked at compile time against what `build.rs` read from the
//! installed headers, so a layout change in the kernel breaks the build
//! instead of the ioctls.

use core::mem::{offset_of, size_of};
use static_assertions::const_assert_eq;

/// Sizes, offsets and constants read from the kernel's uAPI headers.
#[allow(dead_code)]
pub mod kernel {
    include!(concat!(env!("OUT_DIR"), "/kernel_layout.rs"));
}

/// Checks the size of `$ty` and the offset of each listed field against
/// the kernel's values `kernel::SIZE_$k` and `kernel::OFF_$k_$FIELD`.
macro_rules! check_layout {
    ($ty:ty, $size:ident, $($field:ident => $off:ident),+ $(,)?) => {
        const_assert_eq!(size_of::<$ty>(), kernel::$size);
        $(const_assert_eq!(offset_of!($ty, $field), kernel::$off);)+
    };
}

/// Length of the interconnect names, with their ending NUL.
pub const NAME_LEN: usize = 32;
const_assert_eq!(NAME_LEN as u64, kernel::DMA_BUF_IC_NAME_LEN);

/// A fixed-size, NUL-terminated name.
pub type Name = [u8; NAME_LEN];

/// Returns the text of a NUL-terminated name field.
pub fn name_str(name: &[u8]) -> String {
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    String::from_utf8_lossy(&name[..end]).into_owned()
}

/// `struct vfio_device_feature` with the `vfio_device_feature_dma_buf`
/// payload and one range, as `VFIO_DEVICE_FEATURE_DMA_BUF` takes it.
#[repr(C)]
#[derive(Default)]
pub struct VfioFeatureDmaBuf {
    pub argsz: u32,
    pub flags: u32,
    pub region_index: u32,
    pub open_flags: u32,
    pub dma_buf_flags: u32,
    pub nr_ranges: u32,
    pub offset: u64,
    pub length: u64,
}

/// `struct vfio_device_feature` alone, for probing.
#[repr(C)]
pub struct VfioFeature {
    pub argsz: u32,
    pub flags: u32,
}
check_layout!(VfioFeature, SIZE_VFIO_DEVICE_FEATURE,
    argsz => OFF_VFIO_DEVICE_FEATURE_ARGSZ, flags => OFF_VFIO_DEVICE_FEATURE_FLAGS);
// The payload starts at `data`, and the range at `dma_ranges`.
const_assert_eq!(
    offset_of!(VfioFeatureDmaBuf, region_index),
    kernel::OFF_VFIO_DEVICE_FEATURE_DATA
);
const_assert_eq!(0, kernel::OFF_VFIO_DEVICE_FEATURE_DMA_BUF_REGION_INDEX);
const_assert_eq!(
    offset_of!(VfioFeatureDmaBuf, nr_ranges) - offset_of!(VfioFeatureDmaBuf, region_index),
    kernel::OFF_VFIO_DEVICE_FEATURE_DMA_BUF_NR_RANGES
);
const_assert_eq!(
    offset_of!(VfioFeatureDmaBuf, offset) - offset_of!(VfioFeatureDmaBuf, region_index),
    kernel::OFF_VFIO_DEVICE_FEATURE_DMA_BUF_DMA_RANGES
);
const_assert_eq!(
    size_of::<VfioFeatureDmaBuf>() - kernel::SIZE_VFIO_DEVICE_FEATURE,
    kernel::SIZE_VFIO_DEVICE_FEATURE_DMA_BUF + kernel::SIZE_VFIO_REGION_DMA_RANGE
);

/// `struct vfio_device_bind_iommufd`.
#[repr(C)]
#[derive(Default)]
pub struct VfioBindIommufd {
    pub argsz: u32,
    pub flags: u32,
    pub iommufd: i32,
    pub out_devid: u32,
    /// Only read with `VFIO_DEVICE_BIND_FLAG_TOKEN`, which the tool never sets.
    pub token_uuid_ptr: u64,
}
check_layout!(VfioBindIommufd, SIZE_VFIO_DEVICE_BIND_IOMMUFD,
    argsz => OFF_VFIO_DEVICE_BIND_IOMMUFD_ARGSZ, iommufd => OFF_VFIO_DEVICE_BIND_IOMMUFD_IOMMUFD,
    out_devid => OFF_VFIO_DEVICE_BIND_IOMMUFD_OUT_DEVID);

/// `struct vfio_device_attach_iommufd_pt`.
#[repr(C)]
#[derive(Default)]
pub struct VfioAttachPt {
    pub argsz: u32,
    pub flags: u32,
    pub pt_id: u32,
    /// Only read with `VFIO_DEVICE_ATTACH_PASID`, which the tool never sets.
    pub pasid: u32,
}
check_layout!(VfioAttachPt, SIZE_VFIO_DEVICE_ATTACH_IOMMUFD_PT,
    pt_id => OFF_VFIO_DEVICE_ATTACH_IOMMUFD_PT_PT_ID);

/// `struct vfio_region_info`.
#[repr(C)]
#[derive(Default)]
pub struct VfioRegionInfo {
    pub argsz: u32,
    pub flags: u32,
    pub index: u32,
    pub cap_offset: u32,
    pub size: u64,
    pub offset: u64,
}
check_layout!(VfioRegionInfo, SIZE_VFIO_REGION_INFO,
    index => OFF_VFIO_REGION_INFO_INDEX, size => OFF_VFIO_REGION_INFO_SIZE,
    offset => OFF_VFIO_REGION_INFO_OFFSET);

/// `struct iommu_ioas_alloc`.
#[repr(C)]
#[derive(Default)]
pub struct IoasAlloc {
    pub size: u32,
    pub flags: u32,
    pub out_ioas_id: u32,
}
check_layout!(IoasAlloc, SIZE_IOMMU_IOAS_ALLOC, out_ioas_id => OFF_IOMMU_IOAS_ALLOC_OUT_IOAS_ID);

/// `struct iommu_ioas_map`.
#[repr(C)]
#[derive(Default)]
pub struct IoasMap {
    pub size: u32,
    pub flags: u32,
    pub ioas_id: u32,
    pub reserved: u32,
    pub user_va: u64,
    pub length: u64,
    pub iova: u64,
}
check_layout!(IoasMap, SIZE_IOMMU_IOAS_MAP,
    ioas_id => OFF_IOMMU_IOAS_MAP_IOAS_ID, user_va => OFF_IOMMU_IOAS_MAP_USER_VA,
    length => OFF_IOMMU_IOAS_MAP_LENGTH, iova => OFF_IOMMU_IOAS_MAP_IOVA);

/// `struct iommu_ioas_map_file`.
#[repr(C)]
#[derive(Default)]
pub struct IoasMapFile {
    pub size: u32,
    pub flags: u32,
    pub ioas_id: u32,
    pub fd: i32,
    pub start: u64,
    pub length: u64,
    pub iova: u64,
}
check_layout!(IoasMapFile, SIZE_IOMMU_IOAS_MAP_FILE,
    fd => OFF_IOMMU_IOAS_MAP_FILE_FD, start => OFF_IOMMU_IOAS_MAP_FILE_START,
    length => OFF_IOMMU_IOAS_MAP_FILE_LENGTH, iova => OFF_IOMMU_IOAS_MAP_FILE_IOVA);

/// `struct iommu_ioas_unmap`.
#[repr(C)]
#[derive(Default)]
pub struct IoasUnmap {
    pub size: u32,
    pub ioas_id: u32,
    pub iova: u64,
    pub length: u64,
}
check_layout!(IoasUnmap, SIZE_IOMMU_IOAS_UNMAP,
    iova => OFF_IOMMU_IOAS_UNMAP_IOVA, length => OFF_IOMMU_IOAS_UNMAP_LENGTH);

/// `struct iommu_dmabuf_info`.
#[repr(C)]
#[derive(Default)]
pub struct IommuDmabufInfo {
    pub size: u32,
    pub flags: u32,
    pub fd: i32,
    pub out_capabilities: u32,
    pub num_accepts: u32,
    pub reserved: u32,
    pub accepts_uptr: u64,
    pub out_interconnect: Name,
}
check_layout!(IommuDmabufInfo, SIZE_IOMMU_DMABUF_INFO,
    fd => OFF_IOMMU_DMABUF_INFO_FD, out_capabilities => OFF_IOMMU_DMABUF_INFO_OUT_CAPABILITIES,
    num_accepts => OFF_IOMMU_DMABUF_INFO_NUM_ACCEPTS, reserved => OFF_IOMMU_DMABUF_INFO_RESERVED,
    accepts_uptr => OFF_IOMMU_DMABUF_INFO_ACCEPTS_UPTR,
    out_interconnect => OFF_IOMMU_DMABUF_INFO_OUT_INTERCONNECT);
const_assert_eq!(size_of::<Name>(), kernel::SIZE_IOMMU_DMABUF_INTERCONNECT);

/// `IOMMU_DMABUF_INFO_FD`.
pub const IOMMU_DMABUF_INFO_FD: u32 = 1;
/// `IOMMU_DMABUF_CAP_MAP_FILE`.
pub const IOMMU_DMABUF_CAP_MAP_FILE: u32 = 1;
/// `IOMMU_DMABUF_CAP_REVOKE`.
pub const IOMMU_DMABUF_CAP_REVOKE: u32 = 2;

/// `struct dma_buf_ic_info`.
#[repr(C)]
#[derive(Default)]
pub struct DmaBufIcInfo {
    pub size: u32,
    pub flags: u32,
    pub out_flags: u32,
    pub num_offers: u32,
    pub offers_uptr: u64,
    pub num_attachments: u32,
    pub reserved: u32,
    pub attachments_uptr: u64,
}
check_layout!(DmaBufIcInfo, SIZE_DMA_BUF_IC_INFO,
    out_flags => OFF_DMA_BUF_IC_INFO_OUT_FLAGS, num_offers => OFF_DMA_BUF_IC_INFO_NUM_OFFERS,
    offers_uptr => OFF_DMA_BUF_IC_INFO_OFFERS_UPTR,
    num_attachments => OFF_DMA_BUF_IC_INFO_NUM_ATTACHMENTS,
    attachments_uptr => OFF_DMA_BUF_IC_INFO_ATTACHMENTS_UPTR);

/// `struct dma_buf_ic_offer`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct DmaBufIcOffer {
    pub name: Name,
    pub flags: u32,
    pub reserved: u32,
}
check_layout!(DmaBufIcOffer, SIZE_DMA_BUF_IC_OFFER,
    name => OFF_DMA_BUF_IC_OFFER_NAME, flags => OFF_DMA_BUF_IC_OFFER_FLAGS);

/// `struct dma_buf_ic_info_attachment`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct DmaBufIcAttachment {
    pub importer: Name,
    pub interconnect: Name,
    pub flags: u32,
    pub reserved: u32,
}
check_layout!(DmaBufIcAttachment, SIZE_DMA_BUF_IC_INFO_ATTACHMENT,
    importer => OFF_DMA_BUF_IC_INFO_ATTACHMENT_IMPORTER,
    interconnect => OFF_DMA_BUF_IC_INFO_ATTACHMENT_INTERCONNECT,
    flags => OFF_DMA_BUF_IC_INFO_ATTACHMENT_FLAGS);

impl Default for DmaBufIcAttachment {
    fn default() -> Self {
        Self {
            importer: [0; NAME_LEN],
            interconnect: [0; NAME_LEN],
            flags: 0,
            reserved: 0,
        }
    }
}

/// `DMA_BUF_IC_OFFER_P2P`.
pub const OFFER_P2P: u32 = 1;
/// `DMA_BUF_IC_ATTACHMENT_NEGOTIATED`.
pub const ATTACHMENT_NEGOTIATED: u32 = 1;
/// `DMA_BUF_IC_ATTACHMENT_MAPPED`.
pub const ATTACHMENT_MAPPED: u32 = 2;
/// `enum dma_buf_ic_info_flags`.
pub const INFO_NEGOTIATES: u32 = 1;
pub const INFO_REVOCABLE: u32 = 2;
pub const INFO_REVOKED: u32 = 4;
pub const INFO_REVOKED_FOR_GOOD: u32 = 8;
const_assert_eq!(INFO_NEGOTIATES as u64, kernel::DMA_BUF_IC_INFO_NEGOTIATES);
const_assert_eq!(INFO_REVOCABLE as u64, kernel::DMA_BUF_IC_INFO_REVOCABLE);
const_assert_eq!(INFO_REVOKED as u64, kernel::DMA_BUF_IC_INFO_REVOKED);
const_assert_eq!(
    INFO_REVOKED_FOR_GOOD as u64,
    kernel::DMA_BUF_IC_INFO_REVOKED_FOR_GOOD
);
/// The state flags with their names for reports.
pub const INFO_FLAGS: [(u32, &str); 4] = [
    (INFO_NEGOTIATES, "negotiates"),
    (INFO_REVOCABLE, "revocable"),
    (INFO_REVOKED, "revoked"),
    (INFO_REVOKED_FOR_GOOD, "revoked-for-good"),
];

/// `struct dma_buf_ic_notify`.
#[repr(C)]
#[derive(Default)]
pub struct DmaBufIcNotify {
    pub size: u32,
    pub flags: u32,
    pub eventfd: i32,
    pub reserved: u32,
}
check_layout!(DmaBufIcNotify, SIZE_DMA_BUF_IC_NOTIFY,
    size => OFF_DMA_BUF_IC_NOTIFY_SIZE, flags => OFF_DMA_BUF_IC_NOTIFY_FLAGS,
    eventfd => OFF_DMA_BUF_IC_NOTIFY_EVENTFD, reserved => OFF_DMA_BUF_IC_NOTIFY_RESERVED);
/// `DMA_BUF_IC_NOTIFY_REMOVE`.
pub const NOTIFY_REMOVE: u32 = 1;
const_assert_eq!(NOTIFY_REMOVE as u64, kernel::DMA_BUF_IC_NOTIFY_REMOVE);

/// `struct vfio_region_info` flag: the region can be mmapped.
pub const VFIO_REGION_INFO_FLAG_MMAP: u32 = 1 << 2;
/// The VFIO region of PCI config space.
pub const VFIO_PCI_CONFIG_REGION_INDEX: u32 = 7;
const_assert_eq!(
    VFIO_PCI_CONFIG_REGION_INDEX as u64,
    kernel::VFIO_PCI_CONFIG_REGION_INDEX
);
/// `VFIO_DEVICE_FEATURE_GET`, `_PROBE` and the dma-buf feature number.
pub const FEATURE_GET: u32 = 1 << 16;
pub const FEATURE_PROBE: u32 = 1 << 18;
pub const FEATURE_DMA_BUF: u32 = 11;
const_assert_eq!(FEATURE_GET as u64, kernel::VFIO_DEVICE_FEATURE_GET);
const_assert_eq!(FEATURE_PROBE as u64, kernel::VFIO_DEVICE_FEATURE_PROBE);
const_assert_eq!(FEATURE_DMA_BUF as u64, kernel::VFIO_DEVICE_FEATURE_DMA_BUF);
/// `IOMMU_IOAS_MAP_*` flags.
pub const MAP_FIXED_IOVA: u32 = 1;
pub const MAP_WRITEABLE: u32 = 2;
pub const MAP_READABLE: u32 = 4;

/// The ioctl numbers, all `_IO()` with the argument size inside.
pub mod ioctl {
    use super::kernel;

    /// `_IO(type, nr)`.
    const fn io(ty: u8, nr: u8) -> u64 {
        ((ty as u64) << 8) | nr as u64
    }
    pub const VFIO_DEVICE_GET_REGION_INFO: u64 = io(b';', 108);
    pub const VFIO_DEVICE_FEATURE: u64 = io(b';', 117);
    pub const VFIO_DEVICE_BIND_IOMMUFD: u64 = io(b';', 118);
    pub const VFIO_DEVICE_ATTACH_IOMMUFD_PT: u64 = io(b';', 119);
    pub const IOMMU_IOAS_ALLOC: u64 = io(b';', 0x81);
    pub const IOMMU_IOAS_MAP: u64 = io(b';', 0x85);
    pub const IOMMU_IOAS_UNMAP: u64 = io(b';', 0x86);
    pub const IOMMU_IOAS_MAP_FILE: u64 = io(b';', 0x8f);
    pub const IOMMU_DMABUF_GET_INFO: u64 = io(b';', 0x9f);
    pub const DMA_BUF_IOCTL_IC_INFO: u64 = io(b'b', 4);
    pub const DMA_BUF_IOCTL_IC_NOTIFY: u64 = io(b'b', 5);

    static_assertions::const_assert_eq!(
        VFIO_DEVICE_GET_REGION_INFO,
        kernel::VFIO_DEVICE_GET_REGION_INFO
    );
    static_assertions::const_assert_eq!(VFIO_DEVICE_FEATURE, kernel::VFIO_DEVICE_FEATURE);
    static_assertions::const_assert_eq!(VFIO_DEVICE_BIND_IOMMUFD, kernel::VFIO_DEVICE_BIND_IOMMUFD);
    static_assertions::const_assert_eq!(
        VFIO_DEVICE_ATTACH_IOMMUFD_PT,
        kernel::VFIO_DEVICE_ATTACH_IOMMUFD_PT
    );
    static_assertions::const_assert_eq!(IOMMU_IOAS_ALLOC, kernel::IOMMU_IOAS_ALLOC);
    static_assertions::const_assert_eq!(IOMMU_IOAS_MAP, kernel::IOMMU_IOAS_MAP);
    static_assertions::const_assert_eq!(IOMMU_IOAS_UNMAP, kernel::IOMMU_IOAS_UNMAP);
    static_assertions::const_assert_eq!(IOMMU_IOAS_MAP_FILE, kernel::IOMMU_IOAS_MAP_FILE);
    static_assertions::const_assert_eq!(IOMMU_DMABUF_GET_INFO, kernel::IOMMU_DMABUF_GET_INFO);
    static_assertions::const_assert_eq!(DMA_BUF_IOCTL_IC_INFO, kernel::DMA_BUF_IOCTL_IC_INFO);
    static_assertions::const_assert_eq!(DMA_BUF_IOCTL_IC_NOTIFY, kernel::DMA_BUF_IOCTL_IC_NOTIFY);
}
