#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install what the build, boot and test tooling needs on Debian bookworm,
# skipping what is already there: Debian packages through apt, bindgen
# through cargo (Debian's bindgen is too old for the kernel's Rust).
. "$(dirname "$0")/lib.sh"

PACKAGES=(
	linux-source-6.12
	rustc-web rust-web-src rustfmt-web rust-web-clippy
	clang libclang-dev llvm lld
	gcc make libc6-dev bc flex bison libelf-dev libssl-dev
	cpio kmod rsync xz-utils git python3 python3-ply python3-git
	qemu-system-x86 busybox-static
	# headers_install copies the uAPI headers with rsync.
	# The documentation check: Sphinx with the kernel's kernel-doc extension.
	python3-sphinx
)
BINDGEN_VERSION=0.69.5

stage "checking dependencies"
missing=()
for pkg in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
		SUDO=sudo
	fi
	stage "installing Debian packages: ${missing[*]}"
	run_logged apt-update "apt-get update failed: is the Debian mirror reachable?" \
		$SUDO apt-get update -q
	run_logged apt-install "apt-get install failed for: ${missing[*]}" \
		env DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! "$CARGO_BIN/bindgen" --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
	if ! command -v cargo >/dev/null; then
		[ -x "$CARGO_BIN/cargo" ] || die "cargo is missing: install rustup or Debian's cargo"
		PATH=$CARGO_BIN:$PATH
	fi
	stage "installing bindgen-cli $BINDGEN_VERSION with cargo (about 2 minutes)"
	run_logged cargo-bindgen "cargo install bindgen-cli failed: is crates.io reachable?" \
		cargo install --locked --root "${CARGO_HOME:-$HOME/.cargo}" bindgen-cli --version "$BINDGEN_VERSION"
fi
echo "    all dependencies present"
