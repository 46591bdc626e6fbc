#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install what the build, boot and test tooling needs on Debian bookworm,
# skipping what is already there: Debian packages through apt, bindgen
# through cargo (bookworm's bindgen is too old for 7.2's Rust), and the
# kernel source, Debian's linux-source-7.2.
#
# linux-source-7.2 is in Debian's unstable suite only. It is taken from the
# first of:
#   DMABUF_IC_LINUX_TARBALL  a linux-source-7.2.tar.xz (or .tar.*) to use as is;
#   DMABUF_IC_LINUX_DEB      a linux-source-7.2_*.deb;
#   ../shared/linux/         the pinned .deb beside the repository (sha256
#                            checked against the one this tooling expects);
#   Debian unstable          downloaded with a private apt list; the system's
#                            apt sources are not touched.
. "$(dirname "$0")/lib.sh"

PACKAGES=(
	rustc-web rust-web-src rustfmt-web rust-web-clippy
	clang-19 libclang-19-dev llvm-19 lld-19
	gcc make libc6-dev bc flex bison libelf-dev libssl-dev
	cpio kmod rsync xz-utils git python3 python3-ply python3-git
	qemu-system-x86 busybox-static
	# Mainline's iommu and vfio selftests link libcap and libuuid statically.
	libcap-dev uuid-dev
	# The documentation check: Sphinx with the kernel's kernel-doc extension.
	python3-sphinx
	debian-archive-keyring
)

SUDO=
need_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	command -v sudo >/dev/null || die "need root (or sudo) to $1"
	SUDO=sudo
}

stage "checking dependencies"
missing=()
for pkg in "${PACKAGES[@]}"; do
	case "$pkg" in \#*) continue ;; esac
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	need_root "install: ${missing[*]}"
	stage "installing Debian packages: ${missing[*]}"
	run_logged apt-update "apt-get update failed: is the Debian mirror reachable?" \
		$SUDO apt-get update -q
	run_logged apt-install "apt-get install failed for: ${missing[*]}" \
		env DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# 7.2 needs rustc >= 1.85; rustc-web of bookworm-updates is 1.96.
rustc_minor=$(/usr/bin/rustc --version | sed -n 's/^rustc 1\.\([0-9]*\).*/\1/p')
[ "${rustc_minor:-0}" -ge 85 ] || die "/usr/bin/rustc is $(/usr/bin/rustc --version); 7.2 needs >= 1.85 (rustc-web)"

if ! "$BINDGEN" --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
	cargo=$(command -v cargo || echo "$CARGO_BIN/cargo")
	[ -x "$cargo" ] || die "cargo is missing: install rustup or Debian's cargo"
	stage "installing bindgen-cli $BINDGEN_VERSION with cargo (about 2 minutes)"
	run_logged cargo-bindgen "cargo install bindgen-cli failed: is crates.io reachable?" \
		"$cargo" install --locked --root "$CACHE/bindgen-$BINDGEN_VERSION" \
		bindgen-cli --version "$BINDGEN_VERSION"
fi

# The kernel source: $KERNEL_TARBALL, a copy of the tarball in the package.
tarball_from_deb() {
	local deb=$1 tmp=$CACHE/deb-unpack
	rm -rf "$tmp"
	mkdir -p "$tmp"
	dpkg-deb -x "$deb" "$tmp" || die "cannot unpack $deb"
	[ -f "$tmp/usr/src/$KERNEL_DIR.tar.xz" ] || die "$deb holds no usr/src/$KERNEL_DIR.tar.xz"
	mv "$tmp/usr/src/$KERNEL_DIR.tar.xz" "$KERNEL_TARBALL.new"
	rm -rf "$tmp"
	mv "$KERNEL_TARBALL.new" "$KERNEL_TARBALL"
	basename "$deb" >"$KERNEL_TARBALL.origin"
}

# Downloads linux-source-7.2 from Debian unstable into $1 with an apt
# configuration of its own: its own source list, lists and archives.
download_from_unstable() {
	local dir=$1
	unstable_apt "$dir"
	run_logged apt-unstable-update "apt-get update of Debian unstable ($DEBIAN_MIRROR) failed" \
		apt-get "${UNSTABLE_APT[@]}" update -q
	(cd "$dir" && apt-get "${UNSTABLE_APT[@]}" download "$KERNEL_PKG") >"$LOGS/apt-unstable-download.log" 2>&1 ||
		return 1
	ls "$dir"/"${KERNEL_PKG}"_*_all.deb
}

mkdir -p "$CACHE" "$LOGS"
if [ -n "${DMABUF_IC_LINUX_TARBALL:-}" ]; then
	[ -r "$DMABUF_IC_LINUX_TARBALL" ] || die "DMABUF_IC_LINUX_TARBALL=$DMABUF_IC_LINUX_TARBALL is not readable"
	if ! cmp -s "$DMABUF_IC_LINUX_TARBALL" "$KERNEL_TARBALL"; then
		stage "using the kernel source $DMABUF_IC_LINUX_TARBALL"
		cp "$DMABUF_IC_LINUX_TARBALL" "$KERNEL_TARBALL"
		basename "$DMABUF_IC_LINUX_TARBALL" >"$KERNEL_TARBALL.origin"
	fi
elif [ -n "${DMABUF_IC_LINUX_DEB:-}" ]; then
	[ -r "$DMABUF_IC_LINUX_DEB" ] || die "DMABUF_IC_LINUX_DEB=$DMABUF_IC_LINUX_DEB is not readable"
	if [ "$(cat "$KERNEL_TARBALL.origin" 2>/dev/null)" != "$(basename "$DMABUF_IC_LINUX_DEB")" ] ||
		[ ! -f "$KERNEL_TARBALL" ]; then
		stage "taking the kernel source from $DMABUF_IC_LINUX_DEB"
		tarball_from_deb "$DMABUF_IC_LINUX_DEB"
	fi
elif [ ! -f "$KERNEL_TARBALL" ]; then
	pinned=$REPO/../shared/linux/${KERNEL_PKG}_${KERNEL_DEB_VERSION}_all.deb
	if [ -r "$pinned" ]; then
		stage "checking the pinned $(basename "$pinned")"
		sum=$(sha256sum "$pinned" | cut -d' ' -f1)
		[ "$sum" = "$KERNEL_DEB_SHA256" ] ||
			die "$pinned has sha256 $sum, not $KERNEL_DEB_SHA256: replace it, or set DMABUF_IC_LINUX_DEB"
		tarball_from_deb "$pinned"
	else
		stage "downloading $KERNEL_PKG from Debian unstable (private apt list)"
		if ! deb=$(download_from_unstable "$CACHE/apt-unstable"); then
			die "no $KERNEL_PKG source: Debian unstable did not give it (see $LOGS/apt-unstable-download.log). Set DMABUF_IC_LINUX_DEB to a ${KERNEL_PKG}_*.deb or DMABUF_IC_LINUX_TARBALL to a $KERNEL_DIR.tar.xz"
		fi
		tarball_from_deb "$deb"
	fi
fi
echo "    all dependencies present; kernel source from $(cat "$KERNEL_TARBALL.origin" 2>/dev/null || echo "$KERNEL_TARBALL")"
