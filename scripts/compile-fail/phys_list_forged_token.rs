// expect: E0451
// SPDX-License-Identifier: GPL-2.0
//! Nor can it forge the token: its field is private.

use kernel::dma_buf::interconnect::{AcceptList, PhysListAccess, PHYS_LIST};
use kernel::prelude::*;

module! {
    type: Forged,
    name: "compile_fail_phys_token",
    authors: ["dmabuf-interconnect"],
    description: "must not build: forges a PhysListAccess",
    license: "GPL",
}

struct Forged;

impl kernel::Module for Forged {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let access = PhysListAccess { _private: () };
        AcceptList::new().accept(&PHYS_LIST, access)?;
        Ok(Forged)
    }
}
