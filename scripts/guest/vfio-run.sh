#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# vfio-run.sh DEVICES PROGRAM [ARGS...]: bind PCI devices to vfio-pci and
# run one of mainline's VFIO selftests on them. DEVICES is a comma-separated
# list of VENDOR:DEVICE IDs as sysfs spells them (0x1234:0x11e8); their
# addresses follow ARGS, which is how those programs take the devices they
# test (mainline's scripts/setup.sh does the binding with bash, which the
# guest does not have). A device that is missing or does not bind fails the
# run: the program would only skip.
devices=$1
shift

. "${0%/*}/lib.sh"

bdfs=
for id in $(echo "$devices" | tr ',' ' '); do
	bdf=$(bdf_of "${id%%:*}" "${id#*:}")
	if [ -z "$bdf" ]; then
		echo "vfio-run.sh: no PCI device $id in this guest"
		exit 1
	fi
	dev=/sys/bus/pci/devices/$bdf
	if [ "$(basename "$(readlink "$dev/driver" 2>/dev/null)")" != vfio-pci ]; then
		[ -e "$dev/driver" ] && echo "$bdf" >"$dev/driver/unbind"
		echo vfio-pci >"$dev/driver_override"
		echo "$bdf" >/sys/bus/pci/drivers_probe
	fi
	if [ "$(basename "$(readlink "$dev/driver" 2>/dev/null)")" != vfio-pci ]; then
		echo "vfio-run.sh: $id ($bdf) did not bind to vfio-pci"
		exit 1
	fi
	bdfs="$bdfs $bdf"
done
# shellcheck disable=SC2086 # one argument per address
exec "$@" $bdfs
