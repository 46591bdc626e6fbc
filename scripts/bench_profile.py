#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Flat profile of the bench guest's revokes or maps (scripts/bench_profile.sh).

    bench_profile.py PORT RESULTS_LOG SYSTEM_MAP OUT

Connects to QEMU's gdbstub on PORT and, while the guest is in a measured
part, stops it every 20 milliseconds of host time, reads its instruction
pointer, and lets it go on. The measured parts are where RESULTS_LOG (the
guest's second serial port) holds more "profile-begin" than "profile-end"
lines, which bench.c prints around them in its profile modes. Writes the
kernel functions (from SYSTEM_MAP) with their share of the samples to OUT.
Under TCG the host time a guest instruction takes varies, so this is a
rough guide, not a measurement.
"""
import bisect
import collections
import socket
import sys
import time


class Stub:
    """The little of the GDB remote protocol that sampling needs."""

    def __init__(self, port):
        for _ in range(300):
            try:
                self.sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.2)
        else:
            sys.exit(f"no gdbstub on port {port}")
        self.buf = b""
        self.command(b"QStartNoAckMode")
        # QEMU stops the guest when a debugger connects: let it go on.
        self.command(b"?")
        self.send(b"c")

    def send(self, data):
        self.sock.sendall(b"$" + data + b"#" + b"%02x" % (sum(data) % 256))

    def receive(self):
        while True:
            start = self.buf.find(b"$")
            end = self.buf.find(b"#", start) if start >= 0 else -1
            if start >= 0 and end >= 0 and len(self.buf) >= end + 3:
                data, self.buf = self.buf[start + 1:end], self.buf[end + 3:]
                self.sock.sendall(b"+")
                return data
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError
            self.buf += chunk

    def command(self, data):
        self.send(data)
        return self.receive()

    def sample(self):
        """Stops the guest, returns its RIP, resumes it."""
        self.sock.sendall(b"\x03")
        while self.receive()[:1] not in (b"T", b"S"):
            pass
        # All registers: 16 general ones of 8 bytes, then RIP.
        self.send(b"g")
        regs = self.receive()
        while len(regs) < 272 or regs[:1] in (b"T", b"S"):
            regs = self.receive()
        rip = int.from_bytes(bytes.fromhex(regs[256:272].decode()), "little")
        self.send(b"c")
        return rip


def read_log(path):
    try:
        return open(path, "rb").read()
    except OSError:
        return b""


def in_measured_part(path):
    text = read_log(path)
    return text.count(b"profile-begin") > text.count(b"profile-end")


def guest_done(path):
    """The guest is done: QEMU is gone or going, and the stub may never
    answer again (a sampler that only talks to it while a measured part
    runs would wait for it forever)."""
    return b"@@@ guest-done" in read_log(path)


def main():
    port, results, system_map, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    symbols = []
    for line in open(system_map):
        addr, kind, name = line.split()[:3]
        if kind in "tT":
            symbols.append((int(addr, 16), name))
    symbols.sort()
    addrs = [a for a, _ in symbols]
    counts = collections.Counter()
    total = inside = 0
    stub = Stub(port)
    try:
        while True:
            time.sleep(0.02)
            # The guest runs at full speed outside the measured parts.
            if not in_measured_part(results):
                if guest_done(results):
                    break
                continue
            rip = stub.sample()
            total += 1
            if in_measured_part(results):
                inside += 1
                i = bisect.bisect_right(addrs, rip) - 1
                counts[symbols[i][1] if i >= 0 else hex(rip)] += 1
    except (EOFError, ConnectionError):
        pass
    with open(out, "w") as f:
        f.write(f"# {total} samples, {inside} during a measured part\n")
        for name, n in counts.most_common(60):
            f.write(f"{n:6d} {100 * n / max(inside, 1):5.1f}% {name}\n")


if __name__ == "__main__":
    main()
