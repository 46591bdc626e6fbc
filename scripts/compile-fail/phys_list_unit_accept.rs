// expect: E0308
// SPDX-License-Identifier: GPL-2.0
//! An ordinary importer cannot accept physical addresses: the physical
//! list's acceptance is a `PhysListAccess`, not `()`.

use kernel::dma_buf::interconnect::{AcceptList, PHYS_LIST};
use kernel::prelude::*;

module! {
    type: Forged,
    name: "compile_fail_phys_unit",
    authors: ["dmabuf-interconnect"],
    description: "must not build: accepts the physical list with ()",
    license: "GPL",
}

struct Forged;

impl kernel::Module for Forged {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        AcceptList::new().accept(&PHYS_LIST, ())?;
        Ok(Forged)
    }
}
