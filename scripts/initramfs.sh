#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the kselftest programs (static, against the patched kernel's uAPI
# headers) and pack them with busybox and the guest scripts into an initramfs.
. "$(dirname "$0")/lib.sh"

SELFTESTS=$CACHE/selftests
# Kselftest directories (under tools/testing/selftests) whose programs the
# guests run; scripts/guest/*.list say which guest runs what. iommu and vfio
# are mainline's (iommu links libcap, vfio libuuid: their static libraries
# come from libcap-dev and uuid-dev).
SELFTEST_DIRS="iommu vfio dmabuf-interconnect"

[ -d "$OBJ/usr/include/linux" ] || die "no installed uAPI headers: run scripts/build.sh first"
BUSYBOX=/bin/busybox     # from busybox-static: the initramfs has no libc
[ -x "$BUSYBOX" ] || die "busybox missing: install busybox-static (make deps)"

stage "building kselftests ($SELFTEST_DIRS)"
# LDFLAGS on the command line replaces what a Makefile adds to it (vfio's
# -pthread), so it carries -pthread for them all.
for dir in $SELFTEST_DIRS; do
	mkdir -p "$SELFTESTS/$dir"
	run_logged "selftest-$dir" "building selftests/$dir failed" \
		make -C "$SRC/tools/testing/selftests/$dir" OUTPUT="$SELFTESTS/$dir" \
		KHDR_INCLUDES="-isystem $OBJ/usr/include" LDFLAGS="-static -pthread" -j"$JOBS"
done

# The dmabuf-ic tool (tools/dmabuf-ic), static for the libc-less guest. Its
# build checks its uAPI mirrors against the headers installed above.
stage "building the dmabuf-ic tool (cargo)"
cargo=$(command -v cargo || echo "$CARGO_BIN/cargo")
TOOL_TARGET=$CACHE/tool-target
run_logged tool-build "building tools/dmabuf-ic failed" \
	env DMABUF_IC_KHDR="$OBJ/usr/include" CARGO_TARGET_DIR="$TOOL_TARGET" \
	RUSTFLAGS="-C target-feature=+crt-static" \
	"$cargo" build --release --locked --target x86_64-unknown-linux-gnu \
	--manifest-path "$REPO/tools/dmabuf-ic/Cargo.toml"
TOOL_BIN=$TOOL_TARGET/x86_64-unknown-linux-gnu/release/dmabuf-ic

stage "packing the initramfs"
root=$INITRAMFS/root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,tests}
cp "$BUSYBOX" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$REPO/scripts/guest/init" "$root/init"
cp "$TOOL_BIN" "$root/bin/dmabuf-ic"
cp "$REPO"/scripts/guest/*.list "$REPO"/scripts/guest/*.sh "$root/tests/"
for dir in $SELFTEST_DIRS; do
	find "$SELFTESTS/$dir" -maxdepth 1 -type f -executable -exec cp {} "$root/tests/" \;
done
(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet | gzip -1) >"$INITRAMFS/initramfs.cpio.gz.new"
mv "$INITRAMFS/initramfs.cpio.gz.new" "$INITRAMFS/initramfs.cpio.gz"
echo "    $(du -h "$INITRAMFS/initramfs.cpio.gz" | cut -f1) initramfs with: $(ls "$root/tests" | tr '\n' ' ')"
