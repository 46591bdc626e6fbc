#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Profiles in guest instructions, from scripts/profile/insn_count.c.

    bench_profile.py flat COUNTS SYSTEM_MAP
    bench_profile.py calls COUNTS SYSTEM_MAP
    bench_profile.py diff A B

flat: reads the plugin's counts (a line "gates N", then "ADDRESS COUNT"
per guest instruction executed while counting) and writes, per kernel
function of SYSTEM_MAP, the instructions it executed per measured part
(the count over N), the largest first; user space is one line, "[user]".
The first line holds the total per measured part.

calls: the same counts read as calls: per kernel function, how many times
its first instruction ran per measured part, the most called first. A
function's entry runs once per call (a loop that jumps back to it would
count too, which compilers do not emit for a prologue), so this counts,
say, the allocations or lock acquisitions of the measured work exactly.
It writes the same format as flat, so diff compares two of them.

diff: compares two flat (or two calls) profiles (the project's and pristine's kernel, or
before and after a change): per function, A, B and B - A, the largest
differences first, and the totals.

No sampling: every instruction is counted, so the numbers are the
kernels' own work, as exact as the bench's timings under -icount.
"""
import bisect
import collections
import signal
import sys

USER_END = 0x0000800000000000


def symbols_of(system_map):
    symbols = []
    with open(system_map) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3 and fields[1] in "tTwW":
                symbols.append((int(fields[0], 16), fields[2]))
    symbols.sort()
    return [a for a, _ in symbols], [n for _, n in symbols]


def symbol_at(symbols, addr):
    """The function of symbols_of()'s @symbols that holds @addr and the
    offset into it, or None below the first."""
    addrs, names = symbols
    i = bisect.bisect_right(addrs, addr) - 1
    return (names[i], addr - addrs[i]) if i >= 0 else None


def per_function(counts_path, name_of):
    """Sums the plugin's counts by name_of(address), skipping None names;
    returns the sums and the number of measured parts."""
    sums = collections.Counter()
    gates = 0
    with open(counts_path) as f:
        for line in f:
            key, value = line.split()
            if key == "gates":
                gates = int(value)
                continue
            name = name_of(int(key, 16))
            if name is not None:
                sums[name] += int(value)
    if gates == 0:
        sys.exit(f"{counts_path}: the gates never opened")
    return sums, gates


def report(sums, gates, unit, digits):
    total = sum(sums.values())
    print(f"total {total / gates:.1f} {unit} per measured part ({gates} parts)")
    for name, n in sums.most_common():
        print(f"{n / gates:12.{digits}f} {100 * n / total:5.1f}% {name}")


def flat(counts_path, system_map):
    symbols = symbols_of(system_map)

    def function_of(addr):
        if addr < USER_END:
            return "[user]"
        at = symbol_at(symbols, addr)
        return at[0] if at else hex(addr)

    report(*per_function(counts_path, function_of), "instructions", 1)


def calls(counts_path, system_map):
    addrs, names = symbols_of(system_map)
    entries = dict(zip(addrs, names))
    report(*per_function(counts_path, entries.get), "calls", 2)


def read_flat(path):
    functions = {}
    total = None
    with open(path) as f:
        for line in f:
            fields = line.split()
            if fields[0] == "total":
                total = float(fields[1])
            else:
                functions[fields[2]] = float(fields[0])
    return total, functions


def diff(a_path, b_path):
    total_a, a = read_flat(a_path)
    total_b, b = read_flat(b_path)
    print(f"# A = {a_path}\n# B = {b_path}")
    print(f"{'A':>12} {'B':>12} {'B - A':>12}  function")
    print(f"{total_a:12.1f} {total_b:12.1f} {total_b - total_a:12.1f}  (total)")
    rows = [(b.get(n, 0.0) - a.get(n, 0.0), n) for n in set(a) | set(b)]
    rows.sort(key=lambda r: -abs(r[0]))
    for delta, name in rows:
        if abs(delta) < 0.5:
            break
        print(f"{a.get(name, 0.0):12.1f} {b.get(name, 0.0):12.1f} {delta:12.1f}  {name}")


def main():
    # Piped into head: stop quietly.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if len(sys.argv) == 4 and sys.argv[1] == "flat":
        flat(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "calls":
        calls(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "diff":
        diff(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
