#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Generate the test kernel's .config: tinyconfig + the repository's fragment,
# in a scratch build directory, then check that every symbol the fragment asks
# for survived olddefconfig. The build directory's .config is replaced only
# when the result differs, so an unchanged config costs no rebuild.
. "$(dirname "$0")/lib.sh"

FRAGMENT=$REPO/kernel/configs/dmabuf_interconnect_test.config
KC=$CACHE/kconfig

stage "configuring (tinyconfig + kernel/configs/$(basename "$FRAGMENT"))"
mkdir -p "$KC" "$OBJ"
run_logged kconfig "tinyconfig failed" make "${KMAKE_ARGS[@]}" O="$KC" tinyconfig
run_logged kconfig-merge "merging the config fragment failed" \
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$KC" "$KC/.config" "$FRAGMENT"
run_logged kconfig-olddef "olddefconfig failed" make "${KMAKE_ARGS[@]}" O="$KC" olddefconfig

# Every CONFIG_X=value and "# CONFIG_X is not set" line must hold.
missing=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n)
		sym=${line%%=*}
		grep -q "^$sym=" "$KC/.config" && missing+=("$line")
		;;
	CONFIG_*=*)
		grep -qxF "$line" "$KC/.config" || missing+=("$line")
		;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }
		sym=${sym%% *}
		grep -q "^$sym=" "$KC/.config" && missing+=("$sym=n")
		;;
	esac
done <"$FRAGMENT"
if [ ${#missing[@]} -gt 0 ]; then
	if ! grep -q '^CONFIG_RUST_IS_AVAILABLE=y' "$KC/.config"; then
		die "Rust is not available to the kernel build (check: make ${KMAKE_ARGS[*]} rustavailable)"
	fi
	die "config symbols dropped by olddefconfig (unmet dependency?): ${missing[*]}"
fi

if ! cmp -s "$KC/.config" "$OBJ/.config"; then
	cp "$KC/.config" "$OBJ/.config"
	echo "    .config updated"
else
	echo "    .config unchanged"
fi
