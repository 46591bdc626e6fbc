#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the kernel image and install the uAPI headers (for the selftests)
# in the out-of-tree build directory. Incremental after the first run.
. "$(dirname "$0")/lib.sh"

[ -f "$OBJ/.config" ] || die "no kernel config: run scripts/config.sh first"
stage "building the kernel (a first build takes about 8 minutes on 2 idle cores, then incremental)"
before=$(date +%s)
run_logged build "kernel build failed" make "${KMAKE_ARGS[@]}" -j"$JOBS" bzImage
# Rust warnings do not fail the kernel build by default: fail on them here.
if grep -E '^(warning|error)(\[|:)' "$LOGS/build.log" | grep -v 'objtool' >/dev/null; then
	grep -E -A8 '^(warning|error)(\[|:)' "$LOGS/build.log" | head -n 40 >&2
	die "the kernel build printed Rust warnings (full log: $LOGS/build.log)"
fi
run_logged headers "installing uAPI headers failed" make "${KMAKE_ARGS[@]}" headers_install
echo "    built $OBJ/arch/x86/boot/bzImage in $(($(date +%s) - before)) s"
