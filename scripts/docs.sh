#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds this project's kernel documentation with Sphinx and the kernel's
# own kernel-doc extension, warnings as errors: the two rst documents, and
# the kernel-doc comments they pull from the headers. Also runs kernel-doc
# with -Wall over the C files the project adds. A whole "make htmldocs"
# takes far longer and reports the tree's older warnings too.
. "$(dirname "$0")/lib.sh"

DOCS=$CACHE/docs
rm -rf "$DOCS"
mkdir -p "$DOCS/src/driver-api" "$DOCS/src/userspace-api"
cp "$SRC/Documentation/driver-api/dma-buf-interconnect.rst" "$DOCS/src/driver-api/"
cp "$SRC/Documentation/userspace-api/dma-buf-interconnect.rst" "$DOCS/src/userspace-api/"
cat >"$DOCS/src/index.rst" <<'RST'
dma-buf interconnects
=====================

.. toctree::

   driver-api/dma-buf-interconnect
   userspace-api/dma-buf-interconnect
RST
cat >"$DOCS/src/conf.py" <<PY
import sys
sys.path.insert(0, "$SRC/Documentation/sphinx")
project = "dmabuf-interconnect"
extensions = ["kerneldoc", "rstFlatTable"]
kerneldoc_bin = "$SRC/scripts/kernel-doc"
kerneldoc_srctree = "$SRC"
# As the kernel's conf.py: attributes Sphinx's C parser must skip.
c_id_attributes = ["__user", "__iomem", "__must_check", "__always_inline"]
PY

status=0
# 7.2's Sphinx extensions find the tree through $srctree.
if srctree=$SRC sphinx-build -W --keep-going -q -b html "$DOCS/src" "$DOCS/html" >"$LOGS/docs.log" 2>&1; then
	echo "    built $DOCS/html/index.html"
else
	status=1
	head -n 40 "$LOGS/docs.log"
fi
kdoc_files=(
	include/linux/dma-buf-interconnect.h
	include/uapi/linux/dma-buf.h
	include/uapi/linux/ivshmem_devmem.h
	drivers/vfio/pci/vfio_pci_dmabuf.c
	drivers/dma-buf/dmabuf-ic-test.h
)
if (cd "$SRC" && ./scripts/kernel-doc -none -Wall "${kdoc_files[@]}") >"$LOGS/kernel-doc.log" 2>&1 &&
	! grep -q . "$LOGS/kernel-doc.log"; then
	echo "    kernel-doc -Wall: no warnings in ${#kdoc_files[@]} files"
else
	status=1
	head -n 40 "$LOGS/kernel-doc.log"
fi
# The driver-api document's worked exporter quotes ivshmem-devmem: every
# code block of that section must still be in the driver, as it is.
if python3 - "$SRC/Documentation/driver-api/dma-buf-interconnect.rst" \
	"$SRC/drivers/dma-buf/ivshmem_devmem.rs" <<'PY'
import re, sys
doc = open(sys.argv[1]).read()
code = open(sys.argv[2]).read()
section = doc.split("Writing an exporter: ivshmem-devmem", 1)[1].split("\nA new importer", 1)[0]
blocks = re.findall(r"::\n\n((?:(?:    .*)?\n)+)", section)
# Compared line by line without the indentation, which the quote changes.
lines = "\n".join(l.strip() for l in code.splitlines())
stale = [b for b in blocks
         if "\n".join(l.strip() for l in b.strip().splitlines()) not in lines]
for b in stale:
    print("    not in ivshmem_devmem.rs:\n" + b)
print(f"    {len(blocks)} code blocks, {len(stale)} not in the driver")
sys.exit(1 if stale or len(blocks) < 5 else 0)
PY
then
	:
else
	status=1
fi
exit $status
