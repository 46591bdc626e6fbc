#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The main job: build the patched kernel, boot it in QEMU and show, in the
# guest, what the subsystem offers.
. "$(dirname "$0")/lib.sh"

"$REPO/scripts/deps.sh"
"$REPO/scripts/tree.sh"
"$REPO/scripts/config.sh"
"$REPO/scripts/build.sh"
"$REPO/scripts/initramfs.sh"
"$REPO/scripts/boot.sh" demo kunit

stage "what the guest reported"
awk '/^@@@ begin demo/{on=1; next} /^@@@ end demo/{on=0} on' "$LOGS/results-demo.log" |
	tr -d '\r' | sed 's/^/    /'
stage "checking the guest's kernel log"
python3 "$REPO/scripts/results.py" --mode demo --quiet "$LOGS/results-demo.log" "$LOGS/console-demo.log"
