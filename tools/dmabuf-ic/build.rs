// SPDX-License-Identifier: GPL-2.0-only
//! Reads the sizes and field offsets of the uAPI structures this tool uses
//! from the kernel's installed uAPI headers, by compiling and running a
//! small C program, and writes them as constants that `src/uapi.rs` checks
//! its `#[repr(C)]` mirrors against at compile time.
//!
//! The headers come from `DMABUF_IC_KHDR` (a `usr/include` made by
//! `make headers_install`), by default the build tree of
//! `scripts/build.sh`.

use std::{env, fs, path::PathBuf, process::Command};

/// Every structure the tool mirrors, with the fields whose offsets it uses.
const LAYOUT: &[(&str, &str, &[&str])] = &[
    (
        "linux/vfio.h",
        "vfio_device_feature",
        &["argsz", "flags", "data"],
    ),
    (
        "linux/vfio.h",
        "vfio_device_feature_dma_buf",
        &[
            "region_index",
            "open_flags",
            "flags",
            "nr_ranges",
            "dma_ranges",
        ],
    ),
    (
        "linux/vfio.h",
        "vfio_region_dma_range",
        &["offset", "length"],
    ),
    (
        "linux/vfio.h",
        "vfio_device_bind_iommufd",
        &["argsz", "flags", "iommufd", "out_devid"],
    ),
    (
        "linux/vfio.h",
        "vfio_device_attach_iommufd_pt",
        &["argsz", "flags", "pt_id"],
    ),
    (
        "linux/vfio.h",
        "vfio_region_info",
        &["argsz", "flags", "index", "cap_offset", "size", "offset"],
    ),
    (
        "linux/iommufd.h",
        "iommu_ioas_alloc",
        &["size", "flags", "out_ioas_id"],
    ),
    (
        "linux/iommufd.h",
        "iommu_ioas_map",
        &[
            "size",
            "flags",
            "ioas_id",
            "__reserved",
            "user_va",
            "length",
            "iova",
        ],
    ),
    (
        "linux/iommufd.h",
        "iommu_ioas_map_file",
        &["size", "flags", "ioas_id", "fd", "start", "length", "iova"],
    ),
    (
        "linux/iommufd.h",
        "iommu_ioas_unmap",
        &["size", "ioas_id", "iova", "length"],
    ),
    (
        "linux/iommufd.h",
        "iommu_dmabuf_info",
        &[
            "size",
            "flags",
            "fd",
            "out_capabilities",
            "num_accepts",
            "__reserved",
            "accepts_uptr",
            "out_interconnect",
        ],
    ),
    ("linux/iommufd.h", "iommu_dmabuf_interconnect", &["name"]),
    (
        "linux/dma-buf.h",
        "dma_buf_ic_info",
        &[
            "size",
            "flags",
            "out_flags",
            "num_offers",
            "offers_uptr",
            "num_attachments",
            "__reserved",
            "attachments_uptr",
        ],
    ),
    (
        "linux/dma-buf.h",
        "dma_buf_ic_offer",
        &["name", "flags", "__reserved"],
    ),
    (
        "linux/dma-buf.h",
        "dma_buf_ic_info_attachment",
        &["importer", "interconnect", "flags", "__reserved"],
    ),
    (
        "linux/dma-buf.h",
        "dma_buf_ic_notify",
        &["size", "flags", "eventfd", "__reserved"],
    ),
];

/// Constants the tool uses, as the headers define them.
const CONSTANTS: &[&str] = &[
    "VFIO_DEVICE_FEATURE",
    "VFIO_DEVICE_FEATURE_GET",
    "VFIO_DEVICE_FEATURE_PROBE",
    "VFIO_DEVICE_FEATURE_DMA_BUF",
    "VFIO_DEVICE_BIND_IOMMUFD",
    "VFIO_DEVICE_ATTACH_IOMMUFD_PT",
    "VFIO_DEVICE_GET_REGION_INFO",
    "VFIO_PCI_CONFIG_REGION_INDEX",
    "IOMMU_IOAS_ALLOC",
    "IOMMU_IOAS_MAP",
    "IOMMU_IOAS_MAP_FILE",
    "IOMMU_IOAS_UNMAP",
    "IOMMU_DMABUF_GET_INFO",
    "DMA_BUF_IOCTL_IC_INFO",
    "DMA_BUF_IC_NAME_LEN",
    "DMA_BUF_IC_INFO_NEGOTIATES",
    "DMA_BUF_IC_INFO_REVOCABLE",
    "DMA_BUF_IC_INFO_REVOKED",
    "DMA_BUF_IC_INFO_REVOKED_FOR_GOOD",
    "DMA_BUF_IOCTL_IC_NOTIFY",
    "DMA_BUF_IC_NOTIFY_REMOVE",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DMABUF_IC_KHDR");
    println!("cargo:rerun-if-env-changed=DMABUF_IC_CACHE");
    let khdr = env::var("DMABUF_IC_KHDR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let cache = env::var("DMABUF_IC_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|_| {
                    PathBuf::from(env::var("HOME").unwrap_or_default())
                        .join(".cache/dmabuf-interconnect")
                });
            cache.join("build/usr/include")
        });
    for header in ["linux/vfio.h", "linux/iommufd.h", "linux/dma-buf.h"] {
        let path = khdr.join(header);
        if !path.exists() {
            panic!(
                "{} missing: build the kernel first (scripts/build.sh), or set DMABUF_IC_KHDR \
                 to a usr/include from 'make headers_install'",
                path.display()
            );
        }
        println!("cargo:rerun-if-changed={}", path.display());
    }

    let mut c = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include <linux/vfio.h>\n\
         #include <linux/iommufd.h>\n#include <linux/dma-buf.h>\nint main(void)\n{\n",
    );
    for (_, name, fields) in LAYOUT {
        let upper = name.to_uppercase();
        c += &format!(
            "\tprintf(\"pub const SIZE_{upper}: usize = %zu;\\n\", sizeof(struct {name}));\n"
        );
        for field in *fields {
            let f = field.trim_start_matches('_').to_uppercase();
            c += &format!(
                "\tprintf(\"pub const OFF_{upper}_{f}: usize = %zu;\\n\", \
                 offsetof(struct {name}, {field}));\n"
            );
        }
    }
    for constant in CONSTANTS {
        c += &format!(
            "\tprintf(\"pub const {constant}: u64 = %llu;\\n\", \
             (unsigned long long)({constant}));\n"
        );
    }
    c += "\treturn 0;\n}\n";

    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let src = out.join("layout.c");
    let exe = out.join("layout");
    fs::write(&src, c).unwrap();
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .arg("-isystem")
        .arg(&khdr)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(
        status.success(),
        "compiling the layout probe against {} failed",
        khdr.display()
    );
    let output = Command::new(&exe)
        .output()
        .expect("running the layout probe");
    assert!(output.status.success(), "the layout probe failed");
    fs::write(out.join("kernel_layout.rs"), output.stdout).unwrap();
}
