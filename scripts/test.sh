#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run every test layer: style checks, host tests of the tooling, the modular
# build, the guests mock (with KUnit), iommu, lazy and vmm (QEMU 11 as the
# VMM; scripts/guest/*.list), and a guest boot that injects a WARN and must
# be judged failed. Every stage counts by its output and by its exit
# status. Ends with "N passed, N failed, N skipped".
. "$(dirname "$0")/lib.sh"

# Nothing can be tested without the kernel: a failed preparation stage (its
# cause is printed above) counts as one failure.
for step in deps tree config build initramfs; do
	if ! "$REPO/scripts/$step.sh"; then
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
done

passed=0 failed=0 skipped=0
add() { passed=$((passed + $1)) failed=$((failed + $2)) skipped=$((skipped + ${3:-0})); }
# add_judged JSON: add the counts scripts/results.py wrote; none is a failure.
add_judged() {
	local p f s
	if [ ! -f "$1" ]; then
		echo "FAILED: $(basename "$1" .json) could not be judged"
		add 0 1
		return 0
	fi
	read -r p f s < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["passed"], d["failed"], d["skipped"])' "$1")
	add "$p" "$f" "$s"
}
# judge_host MODE NAME LOG RC: judge a host stage's output and exit status
# (scripts/results.py --mode lint|cargo), print its failures, count it.
judge_host() {
	local json=$LOGS/$2.json
	rm -f "$json"
	python3 "$REPO/scripts/results.py" --mode "$1" --rc "$4" --json "$json" "$3" | sed '$d' || true
	add_judged "$json"
}

# The lint stage counts by its lines and by its exit status: lint.sh that
# dies before it prints a line is a failure too.
set +e
"$REPO/scripts/lint.sh" 2>&1 | tee "$LOGS/lint.out"
lint_rc=${PIPESTATUS[0]}
set -e
judge_host lint lint "$LOGS/lint.out" "$lint_rc"

# The series builds patch by patch (scripts/series.sh --build, see the
# README for its cost) when the series' structure changed: its
# descriptions (scripts/series/), or a file or patch added, removed or
# renamed, uncommitted or in the last commit. A change inside a file
# changes series/ too, but not where the patches split: the lint stage
# regenerates and checks every patch, and the final kernel is built
# anyway. Without a previous commit to compare with (a shallow clone) it
# does not run. DMABUF_IC_SERIES_BUILD=1 forces it, =0 skips it; series.sh
# skips a series it already built in this cache. The kernel tree and the
# build are put back afterwards, so the final kernel is built again.
series_structure() {
	git -C "$REPO" diff --name-status --no-renames "$@" -- scripts/series patches $OVERLAY_DIRS |
		grep -E '^[AD]|scripts/series/' >/dev/null
}
series_build=${DMABUF_IC_SERIES_BUILD:-}
if [ -z "$series_build" ]; then
	series_build=0
	if series_structure HEAD ||
		[ -n "$(git -C "$REPO" ls-files --others --exclude-standard -- scripts/series patches $OVERLAY_DIRS)" ]; then
		series_build=1
	elif git -C "$REPO" rev-parse -q --verify HEAD~1 >/dev/null && series_structure HEAD~1 HEAD; then
		series_build=1
	fi
fi
if [ "$series_build" = 1 ]; then
	if "$REPO/scripts/series.sh" --build && "$REPO/scripts/build.sh"; then
		add 1 0
	else
		echo "FAILED: the series does not build patch by patch (scripts/series.sh --build)"
		add 0 1
		# The guests need the final kernel, whatever failed above.
		"$REPO/scripts/tree.sh" && "$REPO/scripts/build.sh" || true
	fi
else
	echo "    the series' structure did not change: no per-patch build (DMABUF_IC_SERIES_BUILD=1 forces it)"
fi

stage "host tests (the tooling's result parser)"
host_log=$LOGS/host-tests.log
host_rc=0
python3 -m unittest discover -s "$REPO/scripts/tests" -v >"$host_log" 2>&1 || host_rc=$?
host_pass=$(grep -c '\.\.\. ok$' "$host_log" || true)
host_fail=$(grep -cE '\.\.\. (FAIL|ERROR)$' "$host_log" || true)
grep -q '^Ran [1-9]' "$host_log" || host_fail=$((host_fail + 1))
# A crash of the runner, or an error outside any test, says so only here.
[ "$host_rc" -eq 0 ] || [ "$host_fail" -gt 0 ] || host_fail=1
[ "$host_fail" -eq 0 ] || sed -n '/^=====/,$p' "$host_log" | tail -n 60
echo "    host       $(printf '%5d' "$host_pass") passed $(printf '%4d' "$host_fail") failed"
add "$host_pass" "$host_fail"

stage "host tests (the dmabuf-ic tool: command line, sysfs, uAPI layout)"
tool_log=$LOGS/tool-tests.log
tool_rc=0
# --no-fail-fast: every test binary runs even after one fails or crashes.
env DMABUF_IC_KHDR="$OBJ/usr/include" CARGO_TARGET_DIR="$CACHE/tool-target" \
	"$(command -v cargo || echo "$CARGO_BIN/cargo")" test --locked --no-fail-fast \
	--manifest-path "$REPO/tools/dmabuf-ic/Cargo.toml" >"$tool_log" 2>&1 || tool_rc=$?
judge_host cargo tool-tests "$tool_log" "$tool_rc"

# guest RUN [kunit]: boot a guest that runs scripts/guest/RUN.list, judge it.
# Every guest has the devices its list needs: a skipped case fails it,
# unless scripts/guest/RUN.skips allows that very skip and says why. The
# guest that runs KUnit must run every suite of scripts/guest/RUN.kunit.
guest() {
	local run=$1 kunit=${2:-} args=(--skips-fail)
	if ! grep -qv '^[[:space:]]*\(#\|$\)' "$REPO/scripts/guest/$run.list"; then
		echo "    (the $run guest has nothing to run yet)"
		return 0
	fi
	if [ "$kunit" = kunit ]; then
		args+=(--kunit-suites "$REPO/scripts/guest/$run.kunit")
	else
		args+=(--no-kunit)
	fi
	[ -f "$REPO/scripts/guest/$run.skips" ] && args+=(--allowed-skips "$REPO/scripts/guest/$run.skips")
	if ! "$REPO/scripts/boot.sh" "$run" $kunit; then
		echo "FAILED: the $run guest could not be booted"
		add 0 1
		return 0
	fi
	stage "judging the $run guest"
	python3 "$REPO/scripts/results.py" --mode test "${args[@]}" --json "$LOGS/results-$run.json" \
		"$LOGS/results-$run.log" "$LOGS/console-$run.log" | sed '$d' || true
	add_judged "$LOGS/results-$run.json"
}
# The framework replaces mainline's VFIO-private interconnect: the private
# call must be gone from the sources and from the built kernel.
stage "checking that vfio_pci_dma_buf_iommufd_map() is gone"
if grep -rIl vfio_pci_dma_buf_iommufd_map "$SRC/drivers" "$SRC/include" ||
	grep -q vfio_pci_dma_buf_iommufd_map "$OBJ/System.map"; then
	echo "FAILED: vfio_pci_dma_buf_iommufd_map is still in the tree"
	add 0 1
else
	echo "    not in the sources, not in System.map"
	add 1 0
fi

# The modular build: VFIO, iommufd and the test modules as modules must
# link against the framework (exports, symbol namespaces, modpost).
if "$REPO/scripts/modules.sh"; then
	add 1 0
	# Rules of the framework that its types enforce: programs that must
	# not compile, built as modules against the modular build.
	"$REPO/scripts/compile_fail.sh" | tee "$LOGS/compile-fail.out" || true
	add "$(grep -c '^compile-fail: .* ok' "$LOGS/compile-fail.out" || true)" \
		"$(grep -c '^compile-fail: .* FAILED' "$LOGS/compile-fail.out" || true)"
	grep -q '^compile-fail: control_' "$LOGS/compile-fail.out" ||
		{ echo "FAILED: compile-fail ran no control program"; add 0 1; }
else
	echo "FAILED: the modular build"
	add 0 1
fi

rm -f "$LOGS"/results-*.json
guest mock kunit
guest iommu
# The iommu guest's devmem test: edu's last DMA into ivshmem-devmem's
# exporter that the IOMMU let through (2048 bytes of 0x63, in the reset
# test) must be at the start of that device's memory, on the host; the DMAs
# it blocked after the reset and after the unbind (0x62, 0x71) must not.
stage "checking, on the host, the memory behind ivshmem-devmem's exporter"
devmem_file=$CACHE/devmem2-iommu.bin
if begins_with "$devmem_file" 63; then
	echo "    $devmem_file begins with 2048 bytes of 0x63"
	add 1 0
else
	echo "FAILED: $devmem_file does not begin with edu's last allowed DMA (0x63)"
	add 0 1
fi
guest lazy

# QEMU 11 as the VMM: its own guest, with QEMU from Debian unstable in the
# initramfs (scripts/qemu11.sh; about 45 MB of downloads on the first run).
if "$REPO/scripts/qemu11.sh"; then
	guest vmm
	# What the VM's edu wrote into ivshmem's BAR (scripts/guest/payload): the
	# first DMA (0xa1) at the BAR's start, nothing from the DMA while memory
	# decoding was off (0xb2, blocked: the page stays zero), the DMA after
	# it was back on (0xc3) two pages in.
	stage "checking, on the host, the memory behind ivshmem after the VM's DMA"
	vmm_file=$CACHE/ivshmem-vmm.bin
	if begins_with "$vmm_file" a1 0 && begins_with "$vmm_file" 00 4096 &&
		begins_with "$vmm_file" c3 8192; then
		echo "    $vmm_file: 0xa1 at 0, zeros at 4096, 0xc3 at 8192"
		add 1 0
	else
		echo "FAILED: $vmm_file does not hold the VM's DMA (0xa1 at 0, zeros at 4096, 0xc3 at 8192)"
		od -An -tx1 -N 16 "$vmm_file"
		od -An -tx1 -j 4096 -N 16 "$vmm_file"
		od -An -tx1 -j 8192 -N 16 "$vmm_file"
		add 0 1
	fi
else
	echo "FAILED: QEMU 11 for the vmm guest could not be prepared"
	add 0 1
fi

# The benchmark, once through, on the test kernel: the program with the
# project's uAPI and with mainline's only (as scripts/bench.sh runs it on
# pristine 7.2), each a guest whose kernel log must be clean, and
# scripts/bench_report.py must make its tables and goals of the two. The
# numbers mean nothing here (one kernel twice; BENCHMARKS.md compares
# with pristine 7.2): what is checked is that every part of the benchmark
# runs, on the tree as it is, and that the report reads all of it.
smoke=$LOGS/bench-smoke
rm -rf "$smoke"
for uapi in project mainline; do
	extra=
	[ "$uapi" = mainline ] && extra=dmabuf_ic.bench=mainline
	# Not the logs of an earlier run, should this boot fail early.
	rm -f "$LOGS/results-bench-smoke-$uapi.log" "$LOGS/console-bench-smoke-$uapi.log"
	DMABUF_IC_BENCH_TAG=smoke-$uapi DMABUF_IC_GUEST_CMDLINE="$extra" "$REPO/scripts/boot.sh" bench ||
		echo "FAILED: the bench guest could not be booted"
	stage "judging the benchmark guest ($uapi uAPI)"
	if python3 "$REPO/scripts/results.py" --mode demo --no-kunit --quiet \
		"$LOGS/results-bench-smoke-$uapi.log" "$LOGS/console-bench-smoke-$uapi.log" \
		>"$LOGS/bench-smoke-$uapi.judged" 2>&1; then
		echo "    the benchmark ran with the $uapi uAPI, kernel log clean"
		add 1 0
	else
		echo "FAILED: the benchmark guest ($uapi uAPI):"
		head -n 40 "$LOGS/bench-smoke-$uapi.judged" | sed 's/^/    /'
		add 0 1
	fi
done
stage "checking the benchmark's report of the two runs"
# Every goal of the debug configuration, every size of the map table, and
# each run in the uAPI it was asked for.
if python3 "$REPO/scripts/bench_report.py" "$smoke" \
	debug-project="$LOGS/results-bench-smoke-project.log" \
	debug-pristine="$LOGS/results-bench-smoke-mainline.log" >"$LOGS/bench-smoke.out" 2>&1 &&
	[ "$(grep -c '^| debug | ' "$smoke/tables.md")" -eq 6 ] &&
	[ "$(grep -c -E '^\| ([0-9]+ MiB|1 GiB) \| [0-9,]+ \|' "$smoke/tables.md")" -eq 10 ] &&
	grep -q '^Runs: debug-project (`project` uAPI), debug-pristine (`mainline` uAPI)\.$' "$smoke/tables.md"; then
	echo "    bench_report.py made the tables, goals and plots of both runs"
	add 1 0
else
	echo "FAILED: the benchmark's report of the two runs is incomplete:"
	head -n 40 "$LOGS/bench-smoke.out" | sed 's/^/    /'
	add 0 1
fi

# judge_injected RUN WHAT CHECK OK WRONG: the run RUN, into which a fault
# (WHAT) was injected, must be judged failed, and for the right reason: the
# shell function CHECK must succeed on it (its judgement is in $judged). OK
# or WRONG says which; with WRONG, the judgement and QEMU's view of the
# guest, if boot.sh took one, follow.
judge_injected() {
	local run=$1 what=$2 check=$3 ok=$4 wrong=$5
	judged=$LOGS/$run.judged
	if python3 "$REPO/scripts/results.py" --mode demo --no-kunit --quiet \
		"$LOGS/results-$run.log" "$LOGS/console-$run.log" >"$judged" 2>&1; then
		echo "FAILED: a guest run with $what was judged clean"
		add 0 1
	elif "$check"; then
		echo "    $ok"
		add 1 0
	else
		echo "FAILED: $wrong:"
		head -n 40 "$judged" | sed 's/^/    /'
		sed 's/^/    /' "$LOGS/hang-$run.txt" 2>/dev/null || true
		add 0 1
	fi
}
# What results.py says of a guest that boot.sh stopped at a stuck report.
stopped_at_report="did not finish (stopped at the kernel's report that it is stuck)"

# The run above proves nothing if the checker misses real reports: boot once
# more, let LKDTM raise a WARN, and require the checker to fail that run.
"$REPO/scripts/boot.sh" inject-warn
stage "judging the injected-WARN run (it must fail)"
warn_caught() { grep -q 'lkdtm_WARNING' "$judged"; }
judge_injected inject-warn "an injected WARN" warn_caught \
	"the injected WARN was caught" \
	"the injected-WARN run failed, but not because of the WARN"

# Nor does a hang go unexplained, or cost the whole timeout: in a guest
# whose task sleeps in "D" state for good, the hung-task detector must
# report it, boot.sh must stop the guest at that report (not at the
# timeout), and its NMI must make the kernel print every task's stack (the
# hung task's included) before the guest is killed; the checker fails the
# run.
DMABUF_IC_GUEST_TIMEOUT=120 "$REPO/scripts/boot.sh" inject-hang
stage "judging the injected-hang run (it must fail, with every task's stack)"
hang_stacked() {
	grep -q 'blocked for more than' "$judged" &&
		grep -q "$stopped_at_report" "$judged" &&
		awk '/Kernel panic - not syncing: NMI/ { nmi = 1 } nmi && /lkdtm_HUNG_TASK/ { found = 1 }
			END { exit !found }' "$LOGS/console-inject-hang.log"
}
judge_injected inject-hang "a hung task" hang_stacked \
	"the hung task was reported, the guest stopped there, and the NMI dumped its stack" \
	"the injected-hang run lacks the hung-task report, the stop at it or the NMI's dump of stacks"
# Before the NMI, boot.sh asked QEMU where the vCPUs were and how far the
# vIOMMU's invalidation queue got: both vCPUs, and a queue that QEMU
# drained (it runs a submission's descriptors when the kernel writes the
# tail, under the lock its monitor takes too, so a working queue always
# reads head == tail there).
hang_state=$LOGS/hang-inject-hang.txt
if [ "$(grep -s -c -E '^vCPU [01]: (halted|running), interrupts (on|OFF), RIP 0x[0-9a-f]+ \([a-zA-Z0-9_.]+\+0x[0-9a-f]+\)$' \
	"$hang_state")" -eq 2 ] &&
	grep -q '^VT-d at 0xfed90000: .* head \([0-9]*\), tail \1: all fetched$' "$hang_state"; then
	echo "    QEMU's monitor described the hung guest's vCPUs and vIOMMU queue"
	add 1 0
else
	echo "FAILED: no description of the hung guest's vCPUs and vIOMMU queue from QEMU's monitor:"
	sed 's/^/    /' "$hang_state" 2>/dev/null
	add 0 1
fi

# Nor does a CPU that spins with interrupts off go unnamed: the buddy
# hard-lockup detector reports it, and the NMI backtrace it asks for shows
# the spinning function; boot.sh stops the guest at that report, and
# QEMU's monitor finds that vCPU running with interrupts off, in that
# function.
DMABUF_IC_GUEST_TIMEOUT=90 "$REPO/scripts/boot.sh" inject-lockup
stage "judging the injected-lockup run (it must fail, naming the spinning CPU)"
lockup_named() {
	grep -q 'Watchdog detected hard LOCKUP on cpu' "$judged" &&
		grep -q "$stopped_at_report" "$judged" &&
		awk '/Watchdog detected hard LOCKUP on cpu/ { seen = 1 } seen && /lkdtm_HARDLOCKUP/ { found = 1 }
			END { exit !found }' "$LOGS/console-inject-lockup.log" &&
		grep -q -E '^vCPU [01]: running, interrupts OFF, RIP 0x[0-9a-f]+ \(lkdtm_HARDLOCKUP\+0x[0-9a-f]+\)$' \
			"$LOGS/hang-inject-lockup.txt"
}
judge_injected inject-lockup "a CPU spinning with interrupts off" lockup_named \
	"the hard lockup was reported with the spinning function, the guest stopped there, and QEMU saw that vCPU in it" \
	"the injected-lockup run lacks the hard-lockup report, its backtrace, the stop at it or QEMU's view of the vCPU"

stage "done; logs in $LOGS"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
