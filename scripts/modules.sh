#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the project's kernel as modules (kernel/configs/
# dmabuf_interconnect_modules.config on top of the test configuration):
# VFIO, iommufd and the KUnit suite of the C interface as loadable modules,
# which must link against the framework in the kernel crate (modpost
# fails on a missing export or symbol namespace). In its own build
# directory, $CACHE/build-modules; incremental after the first run.
. "$(dirname "$0")/lib.sh"

MOBJ=$CACHE/build-modules
KC=$CACHE/kconfig-modules
FRAGMENTS=("$REPO/kernel/configs/dmabuf_interconnect_test.config"
	"$REPO/kernel/configs/dmabuf_interconnect_modules.config")

stage "configuring the modular build"
mkdir -p "$KC" "$MOBJ"
run_logged kconfig-modules "tinyconfig failed" make "${KMAKE_ARGS[@]}" O="$KC" tinyconfig
run_logged kconfig-modules-merge "merging the config fragments failed" \
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$KC" "$KC/.config" "${FRAGMENTS[@]}"
run_logged kconfig-modules-olddef "olddefconfig failed" make "${KMAKE_ARGS[@]}" O="$KC" olddefconfig
missing=()
for sym in VFIO VFIO_PCI IOMMUFD DMABUF_INTERCONNECT_KUNIT_TEST; do
	grep -qx "CONFIG_$sym=m" "$KC/.config" || missing+=("CONFIG_$sym=m")
done
grep -qx 'CONFIG_DMABUF_INTERCONNECT=y' "$KC/.config" || missing+=(CONFIG_DMABUF_INTERCONNECT=y)
[ ${#missing[@]} -eq 0 ] || die "modular config lacks: ${missing[*]}"
cmp -s "$KC/.config" "$MOBJ/.config" || cp "$KC/.config" "$MOBJ/.config"

stage "building vmlinux and modules (first build several minutes, then incremental)"
run_logged build-modules "the modular build failed" \
	make "${KMAKE_ARGS[@]}" O="$MOBJ" -j"$JOBS" vmlinux modules
if grep -E '^(WARNING|ERROR): modpost' "$LOGS/build-modules.log"; then
	die "modpost reported problems (full log: $LOGS/build-modules.log)"
fi
mods=$(find "$MOBJ" -name '*.ko' | wc -l)
for m in drivers/vfio/pci/vfio-pci.ko drivers/vfio/pci/vfio-pci-core.ko \
	drivers/iommu/iommufd/iommufd.ko \
	drivers/dma-buf/dma-buf-interconnect-kunit.ko; do
	[ -f "$MOBJ/$m" ] || die "the modular build made no $m"
done
echo "    $mods modules built, modpost clean"
