# SPDX-License-Identifier: GPL-2.0
# Shared by the guest's shell tests (sourced): PCI devices by ID, binding
# to vfio-pci, and TAP output.

# bdf_of VENDOR DEVICE: the address of the first such device (the lowest:
# the glob sorts), or nothing.
bdf_of() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = "$1:$2" ] && basename "$d" && return
	done
}
# bind_vfio BDF: unbind the device's driver, if any, and bind vfio-pci.
bind_vfio() {
	drv=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)
	[ -n "$drv" ] && [ "${drv##*/}" != vfio-pci ] && echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind"
	echo vfio-pci >"/sys/bus/pci/devices/$1/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe 2>/dev/null
	[ "$(basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)")" = vfio-pci ]
}
unbind() {
	[ -e "/sys/bus/pci/devices/$1/driver" ] && echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind"
	echo >"/sys/bus/pci/devices/$1/driver_override"
}

n=0 failed=0
# check DESCRIPTION COMMAND...: one TAP line; the command must succeed.
check() {
	desc=$1
	shift
	n=$((n + 1))
	if "$@" >/tmp/check.out 2>&1; then
		echo "ok $n $desc"
	else
		echo "not ok $n $desc"
		sed 's/^/# /' /tmp/check.out
		failed=$((failed + 1))
	fi
}
# status EXPECTED COMMAND...: the command's exit status is EXPECTED.
status() {
	want=$1
	shift
	"$@" >/tmp/status.out 2>&1
	got=$?
	[ "$got" = "$want" ] || { echo "exit status $got, wanted $want:"; cat /tmp/status.out; return 1; }
}
has() { grep -q -- "$1" "$2" || { echo "no \"$1\" in:"; cat "$2"; return 1; }; }
lacks() { ! grep -q -- "$1" "$2" || { echo "\"$1\" in:"; cat "$2"; return 1; }; }
