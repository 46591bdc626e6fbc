#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# What the "vmm" guest needs beyond the test initramfs: QEMU 11 from Debian
# unstable, which runs inside the guest as a real VMM, and the firmware of
# the VM it starts (scripts/guest/payload). Writes $INITRAMFS/vmm.cpio.gz,
# which scripts/boot.sh appends to the initramfs of that guest.
#
# qemu-system-x86 and everything it depends on are downloaded with an apt
# configuration of their own (scripts/lib.sh, unstable_apt; an empty package
# status, so that apt fetches the whole dependency closure) and unpacked
# into the cache; the system's apt sources and packages are not touched.
# Only the binary and the shared libraries it loads go into the guest, with
# unstable's own dynamic loader: the guest runs
#   /qemu11/ld.so --library-path /qemu11/lib /qemu11/qemu-system-x86_64
# (/qemu11/qemu-system-x86_64.sh does that).
. "$(dirname "$0")/lib.sh"

dir=$CACHE/qemu11
root=$dir/root
mkdir -p "$dir/state" "$LOGS"
: >"$dir/state/status"
unstable_apt "$dir/apt"
apt=("${UNSTABLE_APT[@]}" -o "Dir::State::status=$dir/state/status" -o Debug::NoLocking=1)

stage "downloading QEMU 11 from Debian unstable (private apt list)"
run_logged qemu11-apt-update "apt-get update of Debian unstable ($DEBIAN_MIRROR) failed" \
	apt-get "${apt[@]}" update -q
# Packages that unstable no longer has (older versions) leave the cache,
# so that only the current closure is unpacked below.
run_logged qemu11-apt-autoclean "cleaning the QEMU 11 package cache failed" \
	apt-get "${apt[@]}" autoclean -q
run_logged qemu11-apt-download "downloading qemu-system-x86 and its dependencies from Debian unstable failed" \
	apt-get "${apt[@]}" install -y -q --download-only --no-install-recommends qemu-system-x86
deb=$(ls "$dir"/apt/archives/qemu-system-x86_*_amd64.deb | sort -V | tail -n 1)
version=$(dpkg-deb -f "$deb" Version)
case "$version" in
1:11.*) ;;
*) die "Debian unstable's qemu-system-x86 is $version, not QEMU 11" ;;
esac

# Unpack only when the set of packages changed.
have=$(cd "$dir/apt/archives" && ls ./*.deb | sort | sha256sum | cut -d' ' -f1)
if [ "$(cat "$dir/root.stamp" 2>/dev/null)" != "$have" ]; then
	rm -rf "$root"
	mkdir -p "$root"
	for f in "$dir"/apt/archives/*.deb; do
		dpkg-deb -x "$f" "$root" || die "cannot unpack $f"
	done
	echo "$have" >"$dir/root.stamp"
fi
ldso=$root/usr/lib64/ld-linux-x86-64.so.2
libpath=$root/usr/lib/x86_64-linux-gnu
qemu=$root/usr/bin/qemu-system-x86_64
"$ldso" --library-path "$libpath" "$qemu" --version | head -n 1 | grep -q 'version 11\.' ||
	die "the unpacked qemu-system-x86_64 does not run or is not QEMU 11"

stage "building the inner VM's firmware (scripts/guest/payload)"
pdir=$REPO/scripts/guest/payload
obj=$dir/payload
mkdir -p "$obj"
cflags=(-m32 -march=i686 -ffreestanding -fno-pic -fno-pie -O2 -Wall -Wextra -Werror
	-fno-stack-protector -fno-asynchronous-unwind-tables -mno-sse -mno-mmx)
run_logged payload-build "building the inner VM's firmware failed" sh -c '
	gcc "$@" -c "$0/payload.c" -o "$1/payload.o" &&
	gcc -m32 -c "$0/entry.S" -o "$1/entry.o" &&
	ld -m elf_i386 -nostdlib -T "$0/payload.ld" "$1/entry.o" "$1/payload.o" -o "$1/payload.bin"
' "$pdir" "$obj" "${cflags[@]}"
[ "$(stat -c %s "$obj/payload.bin")" -eq 65536 ] || die "the firmware is not 64 KiB"

stage "packing QEMU $version and the firmware"
pack=$dir/pack
rm -rf "$pack"
mkdir -p "$pack/qemu11/lib" "$pack/tests"
cp "$qemu" "$pack/qemu11/qemu-system-x86_64"
cp "$ldso" "$pack/qemu11/ld.so"
# The libraries the loader resolves, under their sonames.
"$ldso" --library-path "$libpath" --list "$qemu" | awk '$1 !~ /^\// && $2 == "=>" && $3 ~ /^\// {print $1, $3}' |
	while read -r soname path; do
		cp -L "$path" "$pack/qemu11/lib/$soname"
	done
cat >"$pack/qemu11/qemu-system-x86_64.sh" <<'WRAP'
#!/bin/sh
exec /qemu11/ld.so --library-path /qemu11/lib /qemu11/qemu-system-x86_64 "$@"
WRAP
chmod +x "$pack/qemu11/qemu-system-x86_64.sh"
echo "$version" >"$pack/qemu11/version"
cp "$obj/payload.bin" "$pack/tests/payload.bin"
(cd "$pack" && find . -print0 | sort -z | cpio --null -o -H newc --quiet | gzip -1) >"$INITRAMFS/vmm.cpio.gz.new"
mv "$INITRAMFS/vmm.cpio.gz.new" "$INITRAMFS/vmm.cpio.gz"
echo "    $(du -h "$INITRAMFS/vmm.cpio.gz" | cut -f1) with QEMU $version ($(ls "$pack/qemu11/lib" | wc -l) libraries) and the firmware"
