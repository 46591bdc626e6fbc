# SPDX-License-Identifier: GPL-2.0
"""Host tests of scripts/bench_profile.py: attribution of the plugin's
counts to kernel functions, per measured part, and the diff of two
profiles, and the count of calls per function."""

import os
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(__file__), "..", "bench_profile.py")

SYSTEM_MAP = """\
ffffffff81000000 T _stext
ffffffff81000100 T alpha
ffffffff81000200 t beta
ffffffff81000300 D some_data
ffffffff81000400 W gamma
"""


def run(*args):
    p = subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


class Profile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.map = self.path("System.map", SYSTEM_MAP)

    def tearDown(self):
        self.dir.cleanup()

    def path(self, name, text):
        p = os.path.join(self.dir.name, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def flat(self, name, counts):
        rc, out, err = run("flat", self.path(name + ".counts", counts), self.map)
        self.assertEqual(rc, 0, err)
        return self.path(name + ".txt", out), out

    def test_counts_per_function_and_part(self):
        # Two parts: alpha ran 2 instructions 4 times, beta 1 instruction
        # 6 times, a data symbol does not end beta, user space is lumped.
        _, out = self.flat("a", "gates 2\n"
                           "ffffffff81000100 4\nffffffff81000104 4\n"
                           "ffffffff81000200 3\nffffffff81000310 3\n"
                           "400000 2\n")
        lines = out.splitlines()
        self.assertEqual(lines[0], "total 8.0 instructions per measured part (2 parts)")
        rows = {line.split()[2]: float(line.split()[0]) for line in lines[1:]}
        self.assertEqual(rows, {"alpha": 4.0, "beta": 3.0, "[user]": 1.0})
        # Largest first.
        self.assertEqual(lines[1].split()[2], "alpha")

    def test_weak_symbols_count(self):
        _, out = self.flat("w", "gates 1\nffffffff81000404 5\n")
        self.assertIn("gamma", out)

    def test_gates_never_opened(self):
        rc, _, err = run("flat", self.path("c.counts", "gates 0\n"), self.map)
        self.assertNotEqual(rc, 0)
        self.assertIn("never opened", err)

    def test_diff(self):
        a, _ = self.flat("a", "gates 1\nffffffff81000100 10\nffffffff81000200 4\n")
        b, _ = self.flat("b", "gates 1\nffffffff81000100 10\nffffffff81000200 1\n"
                         "ffffffff81000404 7\n")
        rc, out, err = run("diff", a, b)
        self.assertEqual(rc, 0, err)
        rows = [line.split() for line in out.splitlines() if not line.startswith("#")]
        # Header, then the totals, then the largest differences first;
        # functions that did not change are left out.
        self.assertEqual(rows[1], ["14.0", "18.0", "4.0", "(total)"])
        self.assertEqual(rows[2], ["0.0", "7.0", "7.0", "gamma"])
        self.assertEqual(rows[3], ["4.0", "1.0", "-3.0", "beta"])
        self.assertEqual(len(rows), 4)

    def test_calls_count_function_entries(self):
        # alpha entered 3 times in 2 parts (its second instruction and a
        # later one do not count), beta once; user space and addresses
        # inside a function are no calls.
        rc, out, err = run("calls", self.path("k.counts", "gates 2\n"
                                              "ffffffff81000100 3\nffffffff81000104 9\n"
                                              "ffffffff81000200 1\nffffffff81000204 5\n"
                                              "400000 7\n"), self.map)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], "total 2.0 calls per measured part (2 parts)")
        rows = {line.split()[2]: float(line.split()[0]) for line in lines[1:]}
        self.assertEqual(rows, {"alpha": 1.5, "beta": 0.5})

    def test_diff_of_calls(self):
        rc, a, err = run("calls", self.path("a.counts", "gates 1\nffffffff81000100 2\n"),
                         self.map)
        self.assertEqual(rc, 0, err)
        rc, b, err = run("calls", self.path("b.counts", "gates 1\nffffffff81000100 5\n"),
                         self.map)
        self.assertEqual(rc, 0, err)
        rc, out, err = run("diff", self.path("a.txt", a), self.path("b.txt", b))
        self.assertEqual(rc, 0, err)
        rows = [line.split() for line in out.splitlines() if not line.startswith("#")]
        self.assertEqual(rows[2], ["2.0", "5.0", "3.0", "alpha"])

    def test_usage(self):
        rc, _, _ = run("nothing")
        self.assertNotEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
