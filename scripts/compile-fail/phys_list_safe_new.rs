// expect: E0133
// SPDX-License-Identifier: GPL-2.0
//! Nor make one without `unsafe`: the constructor is an unsafe function.

use kernel::dma_buf::interconnect::{AcceptList, PhysListAccess, PHYS_LIST};
use kernel::prelude::*;

module! {
    type: Forged,
    name: "compile_fail_phys_new",
    authors: ["dmabuf-interconnect"],
    description: "must not build: calls PhysListAccess::new outside unsafe",
    license: "GPL",
}

struct Forged;

impl kernel::Module for Forged {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let access = PhysListAccess::new();
        AcceptList::new().accept(&PHYS_LIST, access)?;
        Ok(Forged)
    }
}
