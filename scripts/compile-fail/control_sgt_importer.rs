// expect: ok
// SPDX-License-Identifier: GPL-2.0
//! Control: an ordinary importer's accept list, the scatter-gather table.

use kernel::dma_buf::interconnect::{AcceptList, SgtAccept, SGT};
use kernel::prelude::*;

module! {
    type: Control,
    name: "compile_fail_control",
    authors: ["dmabuf-interconnect"],
    description: "builds: an accept list of the scatter-gather table",
    license: "GPL",
}

struct Control;

impl kernel::Module for Control {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut accepts = AcceptList::new();
        accepts.accept(&SGT, SgtAccept::default())?;
        Ok(Control)
    }
}
