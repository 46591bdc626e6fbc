# SPDX-License-Identifier: GPL-2.0
# Shared settings and helpers for the build, boot and test tooling.
# Sourced by the other scripts; not meant to be run directly.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${DMABUF_IC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dmabuf-interconnect}
SRC=$CACHE/src            # Debian's 7.2 source under git, overlay applied
OBJ=$CACHE/build          # out-of-tree kernel build (make O=)
INITRAMFS=$CACHE/initramfs
LOGS=$CACHE/logs
# Debian's linux-source-7.2, as scripts/deps.sh finds it (see there).
KERNEL_PKG=linux-source-7.2
KERNEL_DIR=linux-source-7.2
KERNEL_DEB_VERSION=7.2.13-1
KERNEL_DEB_SHA256=30a8c5fc63f9028a62e6d7b3f7f43bee67425dbce2a05fceba83f9b87c92083d
KERNEL_TARBALL=$CACHE/$KERNEL_DIR.tar.xz
BINDGEN_VERSION=0.71.1
BINDGEN=$CACHE/bindgen-$BINDGEN_VERSION/bin/bindgen
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
JOBS=${JOBS:-$(nproc)}

# Directories of the repository that mirror kernel-tree paths and are copied
# into the kernel tree. Everything else (scripts/, patches/, ...) is tooling.
OVERLAY_DIRS="rust drivers include kernel Documentation tools/testing"

# The toolchain that builds 7.2 with Rust on Debian bookworm: rustc-web (1.96)
# with its own library source, bindgen 0.71.1 from crates.io, LLVM 19 (7.2
# needs LLVM >= 17).
KMAKE_ARGS=(
	-C "$SRC" O="$OBJ" LLVM=-19
	RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
	BINDGEN="$BINDGEN"
	RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library
	RUSTFMT=/usr/bin/rustfmt
	# Clippy on every build (same objects as rustc); warnings fail build.sh.
	CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver
)

# unstable_apt DIR: sets UNSTABLE_APT to apt-get options that read Debian
# unstable's package lists into DIR with a source list, lists and archive
# cache of their own, so the system's apt sources and state stay untouched.
DEBIAN_MIRROR=${DMABUF_IC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
unstable_apt() {
	local dir=$1
	mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/cache"
	echo "deb $DEBIAN_MIRROR sid main" >"$dir/sources.list"
	UNSTABLE_APT=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
		-o "Dir::Cache::archives=$dir/archives" -o APT::Get::List-Cleanup=0)
}

START_TIME=${DMABUF_IC_START:-$(date +%s)}
export DMABUF_IC_START=$START_TIME

elapsed() {
	local s=$(($(date +%s) - START_TIME))
	printf '%02d:%02d' $((s / 60)) $((s % 60))
}

# stage "what": progress line with the total elapsed time.
stage() {
	printf '==> [%s] %s\n' "$(elapsed)" "$*"
}

# die "cause": one-line failure cause, then exit.
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# run_logged LOGNAME CAUSE CMD...: run CMD with its output in a log file; on
# failure print the cause, the last lines of the log and where the log is.
run_logged() {
	local log=$LOGS/$1.log cause=$2
	shift 2
	mkdir -p "$LOGS"
	if ! "$@" >"$log" 2>&1; then
		echo "----- last lines of $log -----" >&2
		grep -E 'error|Error|ERROR' "$log" | tail -n 15 >&2 || tail -n 15 "$log" >&2
		die "$cause (full log: $log)"
	fi
}

kmake() {
	make "${KMAKE_ARGS[@]}" "$@"
}

# begins_with FILE HEX [OFFSET]: true if the 2048 bytes of FILE (a guest
# device's memory, backed by a host file) at OFFSET (default 0) are all the
# byte HEX ("5c"); 2048 bytes is the size of an edu DMA in the tests.
begins_with() {
	[ "$(tail -c +$((${3:-0} + 1)) "$1" 2>/dev/null | head -c 2048 | od -An -tx1 -v |
		tr -s ' \n' '\n' | grep -cx "$2")" = 2048 ]
}
