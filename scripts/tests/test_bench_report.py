# SPDX-License-Identifier: GPL-2.0
"""Host tests of scripts/bench_report.py's judgement of the FLR goal: the
committed bench logs, with FLR rows of the test's own."""

import os
import re
import subprocess
import sys
import tempfile
import unittest

SCRIPTS = os.path.join(os.path.dirname(__file__), "..")
TOOL = os.path.join(SCRIPTS, "bench_report.py")
BENCH = os.path.join(SCRIPTS, "..", "bench")
RUNS = ("debug-project", "debug-pristine", "production-project", "production-pristine")

# FLR of virtio-rng with N maps, in instructions. Pristine's rows below
# N = 64 spread by 10,000 around the reset with none: the jitter; its
# rows from 64 grew by far more than twice that, so all three are judged.
PRISTINE = {0: 1_000_000, 1: 1_010_000, 4: 990_000, 16: 1_005_000,
            64: 1_500_000, 256: 2_000_000, 1024: 5_000_000}


def project(n64, n256, n1024):
    return {0: 1_000_000, 1: 1_002_000, 4: 1_001_000, 16: 1_003_000,
            64: 1_000_000 + n64, 256: 1_000_000 + n256, 1024: 1_000_000 + n1024}


def flr_goal(proj):
    """The debug FLR goal's line of the report, for these project rows."""
    with tempfile.TemporaryDirectory() as tmp:
        args = []
        for run in RUNS:
            with open(os.path.join(BENCH, f"results-{run}.log"), errors="replace") as f:
                lines = [line for line in f if not line.startswith("csv,flr,")]
            rows = proj if run == "debug-project" else PRISTINE
            lines += [f"csv,flr,{n},{ns}\n" for n, ns in rows.items()]
            path = os.path.join(tmp, f"{run}.log")
            with open(path, "w") as f:
                f.writelines(lines)
            args.append(f"{run}={path}")
        out = os.path.join(tmp, "out")
        subprocess.run([sys.executable, TOOL, out, *args], check=True, capture_output=True)
        with open(os.path.join(out, "tables.md")) as f:
            goals = [line for line in f if re.match(r"\| debug \| revoke \(FLR", line)]
    assert len(goals) == 1, goals
    return goals[0]


class FlrGoal(unittest.TestCase):
    def test_growth_within_the_jitter_counts_as_the_jitter(self):
        # N = 64 shrank (-5,000): no ratio of noise, but 10,000 / 500,000;
        # the worst is 1024's 200,000 / 4,000,000.
        line = flr_goal(project(-5_000, 20_000, 200_000))
        self.assertIn("| at most 0.05x (the project's growth at N = 64 is within the "
                      "jitter, 10,000) | met |", line)
        # Within the jitter everywhere: the bound is the jitter's ratio.
        line = flr_goal(project(-5_000, 0, 5_000))
        self.assertIn("| at most 0.02x (the project's growth at N = 64, 256, 1024 is "
                      "within the jitter, 10,000) | met |", line)

    def test_growth_above_the_jitter_is_judged_as_measured(self):
        line = flr_goal(project(300_000, 20_000, 200_000))
        self.assertIn("| worst 0.60x | **not met** |", line)


if __name__ == "__main__":
    unittest.main()
