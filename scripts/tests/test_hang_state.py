# SPDX-License-Identifier: GPL-2.0
"""Host tests of scripts/hang_state.py: reading QEMU's monitor output and
describing the vCPUs and the VT-d invalidation queue of a hung guest."""

import importlib.util
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
PATH = os.path.join(os.path.dirname(__file__), "..", "hang_state.py")
SPEC = importlib.util.spec_from_file_location("hang_state", PATH)
hang_state = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(hang_state)

# "info registers -a" of a two-vCPU guest, as QEMU 7.2 prints it (cut),
# with the prompt's escape sequences around it.
REGISTERS = """\x1b[K\x1b[Dinfo registers -a
CPU#0
RAX=0000000000000000 RBX=ffff888003a8c000 RCX=0000000000000001 RDX=0000000000000000
RIP=ffffffff813fc16b RFL=00000046 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0
ES =0000 0000000000000000 00000000 00000000

CPU#1
RAX=0000000000000000 RBX=0000000000000001 RCX=0000000000000000 RDX=0000000000000000
RIP=ffffffff81db0f2e RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1
(qemu) """

BASE = 0xFED90000
QUEUE = 0x7000


class Memory:
    """Guest-physical memory and VT-d registers, as "xp" would read them."""

    def __init__(self):
        self.bytes = {}

    def put(self, addr, value, size):
        for i, b in enumerate(value.to_bytes(size, "little")):
            self.bytes[addr + i] = b

    def read(self, addr, size):
        data = bytes(self.bytes.get(addr + i, 0) for i in range(size))
        return int.from_bytes(data, "little")


def queue(head, tail, status_word):
    """A queue whose last submission (at tail - 2) is a context-cache
    invalidation and a wait for the word 2 at 0x9000, which holds
    @status_word."""
    mem = Memory()
    mem.put(BASE + hang_state.IQA, QUEUE, 8)
    mem.put(BASE + hang_state.IQH, head << 4, 8)
    mem.put(BASE + hang_state.IQT, tail << 4, 8)
    cc, wait = QUEUE + ((tail - 2) % 256 << 4), QUEUE + ((tail - 1) % 256 << 4)
    mem.put(cc, 0x1, 8)
    mem.put(wait, (2 << 32) | hang_state.WAIT_SW | 5, 8)
    mem.put(wait + 8, 0x9000, 8)
    mem.put(0x9000, status_word, 4)
    return mem


class HangState(unittest.TestCase):
    def test_registers(self):
        cpus = hang_state.parse_registers(REGISTERS)
        self.assertEqual(
            [(0, 0xFFFFFFFF813FC16B, 0x46, False), (1, 0xFFFFFFFF81DB0F2E, 0x246, True)],
            cpus,
        )
        self.assertEqual(
            [
                "vCPU 0: running, interrupts OFF, RIP 0xffffffff813fc16b",
                "vCPU 1: halted, interrupts on, RIP 0xffffffff81db0f2e",
            ],
            hang_state.describe_cpus(cpus),
        )

    def test_registers_named(self):
        cpus = hang_state.parse_registers(REGISTERS)
        symbols = ([0xFFFFFFFF813FC000, 0xFFFFFFFF813FD000], ["qi_submit_sync", "qi_flush_context"])
        self.assertEqual(
            "vCPU 0: running, interrupts OFF, RIP 0xffffffff813fc16b (qi_submit_sync+0x16b)",
            hang_state.describe_cpus(cpus, symbols)[0],
        )

    def test_xp(self):
        out = "xp /2gx 0xfed90080\r\n00000000fed90080: 0x0000000000000040 0x0000000000000060\r\n(qemu) "
        self.assertEqual([0x40, 0x60], hang_state.parse_xp(out))
        self.assertEqual([], hang_state.parse_xp("Cannot access memory\r\n(qemu) "))

    def test_queue_stopped(self):
        lines = hang_state.describe_vtd(BASE, queue(4, 6, 1).read)
        self.assertIn("head 4, tail 6: 2 not fetched", lines[0])
        self.assertIn("entry 4: context-cache", lines[3])
        self.assertIn("entry 5: wait", lines[4])
        self.assertIn("writes 0x2 to 0x9000, which holds 0x1", lines[4])
        self.assertIn("entry 6, after the tail: type 0 (0x0 0x0)", lines[5])
        self.assertIn("entry 7, after the tail: type 0", lines[6])
        self.assertEqual(7, len(lines))

    def test_tail_write_lost(self):
        # The kernel queued entries 4 and 5, but QEMU still has tail 4.
        mem = queue(4, 6, 1)
        mem.put(BASE + hang_state.IQT, 4 << 4, 8)
        lines = hang_state.describe_vtd(BASE, mem.read)
        self.assertTrue(lines[0].endswith("head 4, tail 4: all fetched"), lines[0])
        self.assertIn("entry 4, after the tail: context-cache", lines[5])
        self.assertIn("entry 5, after the tail: wait", lines[6])
        self.assertIn("which holds 0x1", lines[6])

    def test_queue_drained(self):
        lines = hang_state.describe_vtd(BASE, queue(6, 6, 2).read)
        self.assertTrue(lines[0].endswith("head 6, tail 6: all fetched"), lines[0])
        self.assertIn("which holds 0x2", lines[4])

    def test_queue_wraps(self):
        # Submissions end at entry 0: the last one sits at the ring's end.
        lines = hang_state.describe_vtd(BASE, queue(255, 0, 1).read)
        self.assertIn("head 255, tail 0: 1 not fetched", lines[0])
        self.assertIn("entry 254: context-cache", lines[3])
        self.assertIn("entry 255: wait", lines[4])

    def test_status_unreadable(self):
        mem = queue(6, 6, 2)

        def read(addr, size):
            if addr == 0x9000:
                raise OSError("Cannot access memory")
            return mem.read(addr, size)

        lines = hang_state.describe_vtd(BASE, read)
        self.assertTrue(lines[4].endswith("writes 0x2 to 0x9000, which cannot be read"), lines[4])

    def test_no_queue(self):
        self.assertEqual(
            ["VT-d at 0xfed90000: fault status 0x0; no invalidation queue"],
            hang_state.describe_vtd(BASE, Memory().read),
        )


if __name__ == "__main__":
    unittest.main()
