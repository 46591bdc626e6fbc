#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# hugepages.sh SIZE COUNT: make the kernel's pool of SIZE (2M or 1G) huge
# pages hold exactly COUNT pages, and mount hugetlbfs (default page size)
# on /dev/hugepages if it is not mounted. For "setup" lines of a guest list;
# fails if the kernel could not reserve them all (memory too fragmented
# for a 1 GiB page, say), so that the tests needing them do not skip.
size=$1
count=$2
case "$size" in
2M) kib=2048 ;;
1G) kib=1048576 ;;
*)
	echo "hugepages.sh: unknown size '$size' (2M or 1G)"
	exit 2
	;;
esac
pool=/sys/kernel/mm/hugepages/hugepages-${kib}kB
if [ ! -d "$pool" ]; then
	echo "hugepages.sh: the kernel has no $size huge pages (CONFIG_HUGETLBFS)"
	exit 1
fi
echo "$count" >"$pool/nr_hugepages"
got=$(cat "$pool/nr_hugepages")
if [ "$got" != "$count" ]; then
	echo "hugepages.sh: $got $size huge pages instead of $count"
	exit 1
fi
if ! grep -q '^[^ ]* /dev/hugepages hugetlbfs ' /proc/mounts; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs hugetlbfs /dev/hugepages || exit 1
fi
echo "$count $size huge pages; hugetlbfs on /dev/hugepages"
