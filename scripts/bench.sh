#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark: the project's kernel against pristine 7.2 (Debian's
# linux-source-7.2 with nothing applied), both built with the same
# configuration, in two configurations:
#   debug       the test kernel's (KASAN, lockdep, kmemleak; strict IOTLB)
#   production  the same plus kernel/configs/
#               dmabuf_interconnect_production.config (the checkers off) and
#               iommu.strict=0 on the command line, as distros ship
# Each kernel boots the "bench" guest of scripts/boot.sh (intel-iommu, edu,
# an ivshmem with a 1 GiB BAR2, virtio-rng; QEMU -icount shift=0, one vCPU,
# so that guest time counts guest instructions) and runs
# tools/testing/selftests/dmabuf-interconnect/bench.c there: the same
# binary, with mainline's uAPI only on pristine 7.2. The results become
# CSV files, Markdown tables with the ratios project / pristine and the
# goals, and SVG plots:
#   bench.sh [OUT_DIR]      (default: bench/ in the repository, and the
#                           generated part of BENCHMARKS.md)
# DMABUF_IC_BENCH_CONFIGS="debug production" (the default) chooses the
# configurations; DMABUF_IC_BENCH_BEFORE (see the end) adds a comparison
# with an earlier run. The four kernels are built in the cache, next to the
# test kernel (build-pristine-debug, build-production,
# build-pristine-production; pristine 7.2's source is a git worktree of the
# cache's src at the tag "pristine", src-pristine), incrementally after the
# first run.
# A benchmark, not a test: it fails only if a build or a run breaks or a
# guest's kernel log has a report.
. "$(dirname "$0")/lib.sh"

out=${1:-$REPO/bench}
configs=${DMABUF_IC_BENCH_CONFIGS:-debug production}
PRISTINE_SRC=$CACHE/src-pristine
PRODUCTION_FRAGMENT=$REPO/kernel/configs/dmabuf_interconnect_production.config

# The test kernel, its initramfs (with the bench program) and uAPI headers.
for step in deps tree config build initramfs; do
	"$REPO/scripts/$step.sh"
done

# kmake_tree SRC OBJ ARGS...: make in another source tree or build directory.
kmake_tree() {
	local src=$1 obj=$2
	shift 2
	make -C "$src" O="$obj" LLVM=-19 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
		BINDGEN="$BINDGEN" RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library \
		RUSTFMT=/usr/bin/rustfmt "$@"
}

# install_config NEW OBJ: replace OBJ's .config only if it differs, so that
# an unchanged configuration costs no rebuild.
install_config() {
	mkdir -p "$2"
	if ! cmp -s "$1" "$2/.config"; then
		cp "$1" "$2/.config"
		echo "    $(basename "$2")/.config updated"
	fi
}

# pristine_config CONFIG OBJ: CONFIG (a project kernel's) made to fit
# pristine 7.2: olddefconfig drops the project's own symbols (those that no
# Kconfig file of pristine 7.2 defines) and nothing else; anything else that
# changes is an error.
pristine_config() {
	local kc=$CACHE/kconfig-pristine line sym lost=
	rm -rf "$kc"
	mkdir -p "$kc"
	cp "$1" "$kc/.config"
	run_logged kconfig-pristine "olddefconfig of pristine 7.2 failed" \
		kmake_tree "$PRISTINE_SRC" "$kc" olddefconfig
	while IFS= read -r line; do
		sym=${line#< CONFIG_}
		sym=${sym%%=*}
		if [ "${line:0:1}" = ">" ] ||
			grep -rqx --include='Kconfig*' "config $sym" "$PRISTINE_SRC"; then
			lost+=" ${line:2}"
		fi
	done < <(diff <(grep '^CONFIG_' "$1") <(grep '^CONFIG_' "$kc/.config") |
		grep '^[<>]' || true)
	[ -z "$lost" ] || die "pristine 7.2 does not take the same config:$lost"
	install_config "$kc/.config" "$2"
}

# production_config OBJ: tinyconfig + the test fragment + the production
# fragment, every line of the latter checked.
production_config() {
	local kc=$CACHE/kconfig-production line sym
	mkdir -p "$kc"
	run_logged kconfig-production "tinyconfig failed" kmake_tree "$SRC" "$kc" tinyconfig
	run_logged kconfig-production-merge "merging the config fragments failed" \
		"$SRC/scripts/kconfig/merge_config.sh" -m -O "$kc" "$kc/.config" \
		"$REPO/kernel/configs/dmabuf_interconnect_test.config" "$PRODUCTION_FRAGMENT"
	run_logged kconfig-production-olddef "olddefconfig failed" \
		kmake_tree "$SRC" "$kc" olddefconfig
	while IFS= read -r line; do
		case "$line" in
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			! grep -q "^$sym=" "$kc/.config" ||
				die "production config: $sym is still set (selected by another symbol?)"
			;;
		esac
	done <"$PRODUCTION_FRAGMENT"
	grep -q '^CONFIG_DMABUF_INTERCONNECT_TEST=y' "$kc/.config" ||
		die "production config: CONFIG_DMABUF_INTERCONNECT_TEST was dropped"
	install_config "$kc/.config" "$1"
}

# build_kernel NAME SRC OBJ: bzImage, incremental.
build_kernel() {
	local before
	stage "building $1 (incremental; a first build takes 10 to 25 minutes)"
	before=$(date +%s)
	run_logged "build-$1" "building $1 failed" kmake_tree "$2" "$3" -j"$JOBS" bzImage
	echo "    built $3/arch/x86/boot/bzImage in $(($(date +%s) - before)) s"
}

# Pristine 7.2's source: a worktree of the cache's git tree at the tag.
if [ ! -d "$PRISTINE_SRC" ]; then
	stage "checking out pristine 7.2 into $PRISTINE_SRC (once)"
	git -C "$SRC" worktree prune
	git -C "$SRC" worktree add -q --detach "$PRISTINE_SRC" pristine
fi
[ "$(git -C "$PRISTINE_SRC" rev-parse HEAD)" = "$(git -C "$SRC" rev-parse pristine)" ] ||
	die "$PRISTINE_SRC is not at the tag pristine"
[ -z "$(git -C "$PRISTINE_SRC" status --porcelain --untracked-files=no)" ] ||
	die "$PRISTINE_SRC has local changes"

# kernel image per run tag (CONFIG-KERNEL)
declare -A image
for config in $configs; do
	case "$config" in
	debug)
		stage "configuring pristine 7.2 (debug)"
		pristine_config "$OBJ/.config" "$CACHE/build-pristine-debug"
		build_kernel pristine-debug "$PRISTINE_SRC" "$CACHE/build-pristine-debug"
		image[debug-project]=$OBJ/arch/x86/boot/bzImage
		image[debug-pristine]=$CACHE/build-pristine-debug/arch/x86/boot/bzImage
		;;
	production)
		stage "configuring the project's kernel and pristine 7.2 (production)"
		production_config "$CACHE/build-production"
		pristine_config "$CACHE/build-production/.config" "$CACHE/build-pristine-production"
		build_kernel production "$SRC" "$CACHE/build-production"
		build_kernel pristine-production "$PRISTINE_SRC" "$CACHE/build-pristine-production"
		image[production-project]=$CACHE/build-production/arch/x86/boot/bzImage
		image[production-pristine]=$CACHE/build-pristine-production/arch/x86/boot/bzImage
		;;
	*) die "unknown configuration $config (debug, production)" ;;
	esac
done

# check_guest CONFIG TAG: the guest's kernel log as in a test run. The
# production kernel has no kmemleak, by design (--no-kmemleak).
check_guest() {
	local out rc=0 flags=(--mode demo --no-kunit --quiet)
	[ "$1" = production ] && flags+=(--no-kmemleak)
	out=$(python3 "$REPO/scripts/results.py" "${flags[@]}" \
		"$LOGS/results-bench-$2.log" "$LOGS/console-bench-$2.log") || rc=$?
	[ "$rc" -eq 0 ] && return 0
	echo "$out" >&2
	die "the $2 guest failed (logs: $LOGS/results-bench-$2.log, $LOGS/console-bench-$2.log)"
}

logs=()
for config in $configs; do
	for kernel in project pristine; do
		tag=$config-$kernel
		extra=
		[ "$kernel" = pristine ] && extra=dmabuf_ic.bench=mainline
		before=$(date +%s)
		DMABUF_IC_BENCH_KERNEL=${image[$tag]} DMABUF_IC_BENCH_TAG=$tag \
			DMABUF_IC_BENCH_LAZY=$([ "$config" = production ] && echo 1) \
			DMABUF_IC_GUEST_CMDLINE="${DMABUF_IC_GUEST_CMDLINE:-} $extra" \
			"$REPO/scripts/boot.sh" bench
		stage "checking the $tag guest's kernel log ($(($(date +%s) - before)) s)"
		check_guest "$config" "$tag"
		logs+=("$tag=$LOGS/results-bench-$tag.log")
	done
done
stage "writing $out"
mkdir -p "$out"
report=()
# The default output also renews the generated part of BENCHMARKS.md.
if [ $# -eq 0 ]; then
	report+=(--benchmarks "$REPO/BENCHMARKS.md")
fi
# DMABUF_IC_BENCH_BEFORE="CONFIG-project=LOG ...": the guest output of an
# earlier run of the project's kernel, before a change, to compare with.
for before in ${DMABUF_IC_BENCH_BEFORE:-}; do
	report+=(--before "$before")
done
# The guests' raw output goes with the tables.
for log in "${logs[@]}"; do
	cp "${log#*=}" "$out/results-${log%%=*}.log"
done
python3 "$REPO/scripts/bench_report.py" "${report[@]}" "$out" "${logs[@]}"
