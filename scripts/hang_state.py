#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What a guest that did not finish was doing, asked of QEMU's monitor.

    hang_state.py MONITOR_SOCKET [--vtd BASE] [--system-map FILE]

scripts/boot.sh runs this when it stops a guest (at its timeout, or once
the kernel reported that it is stuck), before the NMI that makes the
kernel print its tasks' stacks. The NMI shows what each CPU runs; this
adds what only QEMU knows:

- per vCPU, where it is (RIP, with --system-map as function+offset),
  whether it takes interrupts (the IF flag) and whether it is halted: a
  vCPU that spins with interrupts off serves no timer, no IPI and no RCU
  grace period;
- with --vtd, the emulated VT-d unit at BASE (q35: 0xfed90000): its fault
  status and its invalidation queue, head (the next descriptor QEMU
  fetches) and tail (where the kernel's submissions end, as QEMU last saw
  it), the four descriptors before the tail and the two after it, with,
  for a wait descriptor, the status word it asks for and what memory
  holds there. A kernel that spins in qi_submit_sync() waits for that
  word: head != tail is a queue that stopped; a fresh submission after
  the tail (its word still "in use", 1) is a tail write QEMU never saw.

Prints a report; exits 1 if the monitor did not answer.
"""
import argparse
import re
import socket
import sys

from bench_profile import symbol_at, symbols_of

# VT-d registers (the VT-d specification, section 11.4).
FSTS, IQH, IQT, IQA = 0x34, 0x80, 0x88, 0x90
DESC_TYPES = {
    1: "context-cache",
    2: "IOTLB",
    3: "device-TLB",
    4: "interrupt-entry-cache",
    5: "wait",
    6: "PASID-IOTLB",
    7: "PASID-cache",
    8: "PASID-device-TLB",
}
WAIT_SW = 1 << 5  # status write
ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def parse_registers(text):
    """[(cpu, rip, rflags, halted)] from "info registers -a"."""
    cpus = []
    cpu = None
    for line in ESCAPE.sub("", text).splitlines():
        m = re.match(r"CPU#(\d+)", line)
        if m:
            cpu = int(m.group(1))
            continue
        m = re.search(r"\b[RE]IP=([0-9a-f]+) [RE]FL=([0-9a-f]+).*\bHLT=(\d)", line)
        if m and cpu is not None:
            cpus.append((cpu, int(m.group(1), 16), int(m.group(2), 16), m.group(3) == "1"))
            cpu = None
    return cpus


def parse_xp(text):
    """The values of an "xp" dump, in order."""
    values = []
    for line in ESCAPE.sub("", text).splitlines():
        m = re.match(r"\s*[0-9a-f]+:((?:\s+0x[0-9a-f]+)+)\s*$", line)
        if m:
            values += [int(v, 16) for v in m.group(1).split()]
    return values


def describe_cpus(cpus, symbols=None):
    """Lines on @cpus; @symbols, from symbols_of(), names the RIPs."""
    lines = []
    for cpu, rip, rflags, halted in cpus:
        irq = "interrupts on" if rflags & 0x200 else "interrupts OFF"
        state = "halted" if halted else "running"
        at = symbol_at(symbols, rip) if symbols else None
        where = f" ({at[0]}+{at[1]:#x})" if at else ""
        lines.append(f"vCPU {cpu}: {state}, {irq}, RIP {rip:#x}{where}")
    return lines


def describe_vtd(base, read):
    """Lines on the VT-d unit at @base; @read(addr, size) -> int."""
    fsts = read(base + FSTS, 4)
    iqa = read(base + IQA, 8)
    wide = bool(iqa & (1 << 11))
    shift = 5 if wide else 4
    entries = (256 if not wide else 128) << (iqa & 7)
    queue = iqa & ~0xFFF
    head = (read(base + IQH, 8) >> shift) % entries
    tail = (read(base + IQT, 8) >> shift) % entries
    pending = (tail - head) % entries
    if not queue:
        return [f"VT-d at {base:#x}: fault status {fsts:#x}; no invalidation queue"]
    lines = [
        f"VT-d at {base:#x}: fault status {fsts:#x}; invalidation queue at "
        f"{queue:#x}, {entries} entries, head {head}, tail {tail}: "
        + (f"{pending} not fetched" if pending else "all fetched")
    ]
    # The last four descriptors QEMU was given (a submission is one or more
    # descriptors and its wait), and the two where the next one goes (what
    # is there is old, unless a tail write never reached QEMU).
    for offset in (-4, -3, -2, -1, 0, 1):
        index = (tail + offset) % entries
        addr = queue + (index << shift)
        qw0, qw1 = read(addr, 8), read(addr + 8, 8)
        kind = DESC_TYPES.get(qw0 & 0xF, f"type {qw0 & 0xF}")
        where = "" if offset < 0 else ", after the tail"
        text = f"  entry {index}{where}: {kind} ({qw0:#x} {qw1:#x})"
        if qw0 & 0xF == 5 and qw0 & WAIT_SW:
            status = qw1 & ~3
            try:
                holds = f"which holds {read(status, 4):#x}"
            except OSError:
                holds = "which cannot be read"
            text += f", writes {qw0 >> 32:#x} to {status:#x}, {holds}"
        lines.append(text)
    return lines


class Monitor:
    """QEMU's human monitor on a Unix socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self._until_prompt()

    def _until_prompt(self):
        out = b""
        while not out.rstrip().endswith(b"(qemu)"):
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            out += chunk
        return out.decode(errors="replace")

    def command(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self._until_prompt()

    def read(self, addr, size):
        unit = {4: "w", 8: "g"}[size]
        values = parse_xp(self.command(f"xp /1{unit}x {addr:#x}"))
        if not values:
            raise OSError(f"no value at {addr:#x}")
        return values[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("monitor")
    parser.add_argument("--vtd", type=lambda v: int(v, 0))
    parser.add_argument("--system-map")
    args = parser.parse_args()
    symbols = symbols_of(args.system_map) if args.system_map else None
    try:
        mon = Monitor(args.monitor)
        registers = mon.command("info registers -a")
        for line in describe_cpus(parse_registers(registers), symbols):
            print(line, flush=True)
        if args.vtd is not None:
            print("\n".join(describe_vtd(args.vtd, mon.read)))
    except OSError as e:
        print(f"QEMU's monitor did not answer: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
