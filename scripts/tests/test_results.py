# SPDX-License-Identifier: GPL-2.0
"""Tests for scripts/results.py: a guest run is judged as it should be."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import results  # noqa: E402

KUNIT_OK = [
    "[    1.000000] KTAP version 1",
    "[    1.000001] 1..1",
    "[    1.000002]     KTAP version 1",
    "[    1.000003]     # Subtest: rust_doctests_kernel",
    "[    1.000004]     1..2",
    "[    1.000005]     ok 1 rust_doctest_kernel_dma_buf_rs_0",
    "[    1.000006]     ok 2 rust_doctest_kernel_sync_rs_0",
    "[    1.000007] # rust_doctests_kernel: pass:2 fail:0 skip:0 total:2",
    "[    1.000008] ok 1 rust_doctests_kernel",
]
SELFTEST_OK = [
    "TAP version 13",
    "1..3",
    "# Starting 3 tests from 1 test cases.",
    "#  RUN           iommufd.simple ...",
    "#            OK  iommufd.simple",
    "ok 1 iommufd.simple",
    "ok 2 iommufd.other",
    "ok 3 iommufd.hugepage # SKIP no huge pages",
    "# PASSED: 3 / 3 tests passed.",
]


def guest(dmesg=(), selftest=SELFTEST_OK, rc=0, kmemleak=(), done=True, extra=(), setup=()):
    lines = ["@@@ guest-start mode=test kernel=7.2.13"] + list(setup)
    lines += ["@@@ begin iommufd"] + list(selftest)
    if rc is not None:
        lines.append(f"@@@ end iommufd rc={rc} seconds=3")
    lines += list(extra)
    if done:
        lines += ["@@@ begin kmemleak"] + list(kmemleak) + ["@@@ end kmemleak rc=0"]
        lines += ["@@@ begin dmesg"] + KUNIT_OK + list(dmesg) + ["@@@ end dmesg rc=0"]
        lines.append("@@@ guest-done")
    return [line + "\r\n" for line in lines]


class JudgeTest(unittest.TestCase):
    def judge(self, results_lines, console=()):
        run, _ = results.judge(results_lines, list(console), "test")
        return run

    def test_clean_run_counts_every_layer(self):
        run = self.judge(guest())
        self.assertEqual(run.failed, 0, run.failures)
        # 2 KUnit + 2 kselftest + guest finished, log clean, kmemleak clean.
        self.assertEqual(run.passed, 7)
        self.assertEqual(run.skipped, 1)

    def assert_fails(self, run, words):
        self.assertGreater(run.failed, 0)
        self.assertTrue(any(words in title for title, _ in run.failures), run.failures)

    def test_warn_fails_the_run(self):
        run = self.judge(guest(dmesg=[
            "[    5.1] ------------[ cut here ]------------",
            "[    5.2] WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c:1 lkdtm_WARNING",
            "[    5.3] ---[ end trace 0000000000000000 ]---",
        ]))
        self.assert_fails(run, "kernel log")
        detail = run.failures[0][1]
        self.assertIn("lkdtm_WARNING", detail[0])

    def test_each_report_kind_fails_the_run(self):
        for line in (
            "BUG: KASAN: slab-use-after-free in foo+0x1/0x2",
            "WARNING: possible circular locking dependency detected",
            "WARNING: possible recursive locking detected",
            "BUG: sleeping function called from invalid context at mm/slab.c:1",
            "refcount_t: underflow; use-after-free.",
            "kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
            "Oops: general protection fault, probably for non-canonical address",
            "INFO: task kworker/0:1:12 blocked for more than 120 seconds.",
            "UBSAN: array-index-out-of-bounds in foo.c:1:2",
            "Kernel panic - not syncing: Fatal exception",
        ):
            with self.subTest(line=line):
                self.assert_fails(self.judge(guest(dmesg=["[ 9.0] " + line])), "kernel log")

    def test_expected_dmar_fault_is_not_a_splat(self):
        run = self.judge(guest(dmesg=[
            "[ 9.0] DMAR: DRHD: handling fault status reg 2",
            "[ 9.1] DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x1000"
            " [fault reason 0x05] PTE Write access is not set",
        ]))
        self.assertEqual(run.failed, 0, run.failures)

    def test_kmemleak_report_fails(self):
        run = self.judge(guest(kmemleak=["unreferenced object 0xffff888 (size 64):"]))
        self.assert_fails(run, "kmemleak")

    def test_kmemleak_unavailable_fails(self):
        lines = [l for l in guest() if "kmemleak" not in l]
        lines.insert(-1, "@@@ kmemleak-unavailable\r\n")
        self.assert_fails(self.judge(lines), "kmemleak is not available")

    def test_failed_kunit_case_fails(self):
        lines = [l.replace("    ok 2 rust_doctest_kernel_sync_rs_0",
                           "    not ok 2 rust_doctest_kernel_sync_rs_0") for l in guest()]
        self.assert_fails(self.judge(lines), "KUnit rust_doctests_kernel")

    def test_kunit_suite_cut_short_fails(self):
        lines = [l for l in guest() if "ok 2 rust_doctest" not in l]
        self.assert_fails(self.judge(lines), "1 results for a plan of 2")

    def test_no_kunit_fails(self):
        lines = [l for l in guest() if "Subtest" not in l]
        self.assert_fails(self.judge(lines), "no KUnit suite ran")

    def test_failed_selftest_case_fails_with_its_output(self):
        selftest = list(SELFTEST_OK)
        selftest[5] = "not ok 1 iommufd.simple"
        run = self.judge(guest(selftest=selftest, rc=1))
        self.assert_fails(run, "iommufd: iommufd.simple")
        self.assertIn("RUN", run.failures[0][1][0])

    def test_selftest_that_never_ends_fails(self):
        run = self.judge(guest(selftest=SELFTEST_OK[:5], rc=None, done=False),
                         console=["[ 3.0] Kernel panic - not syncing: oops"])
        self.assert_fails(run, "did not finish")
        self.assert_fails(run, "the guest did not finish")
        self.assert_fails(run, "kernel log (console)")

    def test_selftest_plan_mismatch_fails(self):
        run = self.judge(guest(selftest=[l for l in SELFTEST_OK if "ok 2" not in l]))
        self.assert_fails(run, "2 results for a plan of 3")

    def test_nonzero_exit_without_failed_case_fails(self):
        self.assert_fails(self.judge(guest(rc=2)), "exit status 2")

    def test_retried_program_counts_only_the_second_attempt(self):
        first = [l.replace("ok 1 iommufd.simple", "not ok 1 iommufd.simple") for l in SELFTEST_OK]
        retried = ["# first attempt: " + l for l in first]
        retried.append("# first attempt of ./iommufd exited 1; running it again")
        run = self.judge(guest(selftest=retried + SELFTEST_OK))
        self.assertEqual(run.failed, 0, run.failures)
        self.assertEqual(run.passed, 7)
        # A failure that repeats still fails.
        run = self.judge(guest(selftest=retried + first, rc=1))
        self.assert_fails(run, "iommufd: iommufd.simple")

    def test_setup_that_succeeds_counts_nothing(self):
        run = self.judge(guest(setup=[
            "# setup: ./hugepages.sh 2M 64",
            "# setup: 64 2M huge pages; hugetlbfs on /dev/hugepages",
        ]))
        self.assertEqual(run.failed, 0, run.failures)
        self.assertEqual(run.passed, 7)

    def test_failed_setup_fails_with_its_output(self):
        run = self.judge(guest(setup=[
            "# setup: ./hugepages.sh 1G 1",
            "# setup: hugepages.sh: 0 1G huge pages instead of 1",
            "@@@ setup-failed rc=1 ./hugepages.sh 1G 1",
        ]))
        self.assert_fails(run, 'guest setup "./hugepages.sh 1G 1" exited 1')
        self.assertIn("0 1G huge pages instead of 1", run.failures[0][1][-1])
        # The tests after it are still counted.
        self.assertEqual(run.passed, 7)

    def test_skip_fails_only_where_skips_fail(self):
        self.assertEqual(self.judge(guest()).failed, 0)
        run, _ = results.judge(guest(), [], "test", skips_fail=True)
        self.assert_fails(run, "iommufd: iommufd.hugepage skipped")
        self.assertEqual(run.skipped, 0)
        self.assertEqual(run.passed, 7)

    def test_timeout_is_reported(self):
        lines = guest(done=False) + ["guest-timeout\n"]
        self.assert_fails(self.judge(lines), "timed out")


if __name__ == "__main__":
    unittest.main()
