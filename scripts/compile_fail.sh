#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build every program of scripts/compile-fail/ as an out-of-tree Rust module
# against the modular build (scripts/modules.sh must have run) and check
# that each fails with the rustc error its first line names, or builds if
# it says "ok" (see scripts/compile-fail/README). Prints one line per
# program, "compile-fail: NAME ok" or "compile-fail: NAME FAILED"; exits 1
# if any failed.
. "$(dirname "$0")/lib.sh"

MOBJ=$CACHE/build-modules
[ -f "$MOBJ/Module.symvers" ] || die "no modular build: run scripts/modules.sh first"
stage "compile-fail: programs that the framework's types must refuse"
work=$CACHE/compile-fail
status=0
judged=0
total=$(find "$REPO/scripts/compile-fail" -name '*.rs' | wc -l)
# A harness that dies half-way must not look like fewer programs.
trap '[ "$judged" -eq "$total" ] || echo "compile-fail: harness FAILED after $judged of $total programs"' EXIT
for prog in "$REPO"/scripts/compile-fail/*.rs; do
	name=$(basename "$prog" .rs)
	want=$(sed -n '1s|^// expect: \(.*\)$|\1|p' "$prog")
	dir=$work/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$prog" "$dir/$name.rs"
	echo "obj-m := $name.o" >"$dir/Kbuild"
	# The first line of each rustc error: "error[E0308]: ...".
	if make "${KMAKE_ARGS[@]}" O="$MOBJ" M="$dir" -j1 modules >"$dir/build.log" 2>&1; then
		got=ok
	else
		got=$(sed -n 's/^error\[\(E[0-9]*\)\].*/\1/p' "$dir/build.log" | head -n 1)
		got=${got:-"a failure that is no rustc error"}
	fi
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		echo "compile-fail: $name ok ($want)"
	else
		echo "compile-fail: $name FAILED: expected ${want:-a '// expect:' line}, got $got"
		{ grep -m5 -A5 -E '^error' "$dir/build.log" || true; } | sed 's/^/    /'
		status=1
	fi
	judged=$((judged + 1))
done
exit "$status"
