# SPDX-License-Identifier: GPL-2.0
# Shared settings and helpers for the build, boot and test tooling.
# Sourced by the other scripts; not meant to be run directly.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${DMABUF_IC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dmabuf-interconnect}
SRC=$CACHE/src            # Debian's 6.12 source under git, overlay applied
OBJ=$CACHE/build          # out-of-tree kernel build (make O=)
INITRAMFS=$CACHE/initramfs
LOGS=$CACHE/logs
KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
JOBS=${JOBS:-$(nproc)}

# Directories of the repository that mirror kernel-tree paths and are copied
# into the kernel tree. Everything else (scripts/, patches/, ...) is tooling.
OVERLAY_DIRS="rust drivers include kernel Documentation tools/testing"

# The toolchain that is known to work with 6.12 on Debian bookworm: rustc-web
# with its own library source, bindgen from crates.io, LLVM 14.
KMAKE_ARGS=(
	-C "$SRC" O="$OBJ" LLVM=1
	RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
	BINDGEN="$CARGO_BIN/bindgen"
	RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library
	RUSTFMT=/usr/bin/rustfmt
	# Clippy on every build (same objects as rustc); warnings fail build.sh.
	CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver
)

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
