# SPDX-License-Identifier: GPL-2.0
"""Tests for scripts/results.py: a guest run is judged as it should be."""

import os
import sys
import tempfile
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

ALLOWED = [("iommufd", "iommufd.hugepage", "no huge pages", "the pool is not reserved here")]


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
            "watchdog: CPU0: Watchdog detected hard LOCKUP on cpu 1",
            "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [stress:131]",
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

    def test_no_kmemleak_accepts_a_kernel_without_it(self):
        lines = [l for l in guest() if "kmemleak" not in l]
        lines.insert(-1, "@@@ kmemleak-unavailable\r\n")
        run, _ = results.judge(lines, [], "test", kmemleak=False)
        self.assertEqual(run.failed, 0, run.failures)
        # Guest finished and log clean; no kmemleak check to pass.
        self.assertEqual(run.passed, 6)
        # ... and with no word of kmemleak at all.
        lines = [l for l in guest() if "kmemleak" not in l]
        run, _ = results.judge(lines, [], "test", kmemleak=False)
        self.assertEqual(run.failed, 0, run.failures)

    def test_no_kmemleak_still_fails_on_a_leak(self):
        run, _ = results.judge(guest(kmemleak=["unreferenced object 0xffff888 (size 64):"]),
                               [], "test", kmemleak=False)
        self.assert_fails(run, "kmemleak found unreferenced objects")
        lines = guest(dmesg=["[ 9.0] kmemleak: 2 new suspected memory leaks"])
        run, _ = results.judge(lines, [], "test", kmemleak=False)
        self.assert_fails(run, "kernel log")

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

    def test_expected_kunit_suites(self):
        run, _ = results.judge(guest(), [], "test", kunit_suites=["rust_doctests_kernel"])
        self.assertEqual(run.failed, 0, run.failures)
        # A suite that must run and is not in the log fails the run, by name.
        run, _ = results.judge(guest(), [], "test",
                               kunit_suites=["rust_doctests_kernel", "dma-buf-interconnect-c"])
        self.assert_fails(run, "KUnit suite dma-buf-interconnect-c did not run")
        self.assertEqual(run.failed, 1)

    def test_expected_kunit_suite_with_no_case_fails(self):
        lines = [l for l in guest() if "ok 1 rust_doctest" not in l and "ok 2 rust_doctest" not in l]
        lines = [l.replace("    1..2", "    1..0") for l in lines]
        run, _ = results.judge(lines, [], "test", kunit_suites=["rust_doctests_kernel"])
        self.assert_fails(run, "KUnit suite rust_doctests_kernel ran no case")

    def test_kunit_suite_that_fails_as_a_whole_fails(self):
        lines = [l.replace("] ok 1 rust_doctests_kernel", "] not ok 1 rust_doctests_kernel")
                 for l in guest()]
        self.assert_fails(self.judge(lines), "KUnit suite rust_doctests_kernel failed")

    def test_kunit_skip_fails_where_skips_fail(self):
        lines = [l.replace("ok 2 rust_doctest_kernel_sync_rs_0",
                           "ok 2 rust_doctest_kernel_sync_rs_0 # SKIP no sync") for l in guest()]
        self.assertEqual(self.judge(lines).failed, 0)
        run, _ = results.judge(lines, [], "test", skips_fail=True, allowed_skips=ALLOWED)
        self.assert_fails(run, "kunit: rust_doctests_kernel.rust_doctest_kernel_sync_rs_0 skipped")

    def test_allowed_skip_counts_as_a_skip(self):
        run, _ = results.judge(guest(), [], "test", skips_fail=True, allowed_skips=ALLOWED)
        self.assertEqual(run.failed, 0, run.failures)
        self.assertEqual(run.skipped, 1)
        self.assertEqual(run.passed, 7)

    def test_allowed_skip_with_another_message_fails(self):
        selftest = [l.replace("# SKIP no huge pages", "# SKIP no /dev/iommu") for l in SELFTEST_OK]
        run, _ = results.judge(guest(selftest=selftest), [], "test", skips_fail=True,
                               allowed_skips=ALLOWED)
        self.assert_fails(run, 'iommufd.hugepage skipped with "no /dev/iommu"')

    def test_skip_of_another_case_or_program_fails(self):
        selftest = SELFTEST_OK[:6] + ["ok 2 iommufd.other # SKIP no huge pages"] + SELFTEST_OK[7:]
        run, _ = results.judge(guest(selftest=selftest), [], "test", skips_fail=True,
                               allowed_skips=ALLOWED)
        self.assert_fails(run, "iommufd: iommufd.other skipped in a guest that has what it needs")
        other = [("vfio", "iommufd.hugepage", "no huge pages", "elsewhere")]
        run, _ = results.judge(guest(), [], "test", skips_fail=True, allowed_skips=other)
        self.assert_fails(run, "iommufd: iommufd.hugepage skipped in a guest")

    def test_allowed_skip_that_did_not_skip_fails(self):
        selftest = [l.replace(" # SKIP no huge pages", "") for l in SELFTEST_OK]
        run, _ = results.judge(guest(selftest=selftest), [], "test", skips_fail=True,
                               allowed_skips=ALLOWED)
        self.assert_fails(run, "iommufd: iommufd.hugepage is on the allow-list of skips but did"
                          " not skip")

    def test_whole_program_skipped_fails(self):
        # kselftest's ksft_exit_skip() before any test: "1..0 # SKIP", exit 4.
        run = self.judge(guest(selftest=["TAP version 13", "1..0 # SKIP no device"], rc=4))
        self.assert_fails(run, "iommufd: printed no TAP plan (exit status 4)")
        # The harness with every case skipped exits 4 too.
        selftest = ["TAP version 13", "1..1", "ok 1 p2p.dma # SKIP no device"]
        self.assert_fails(self.judge(guest(selftest=selftest, rc=4)), "exit status 4")

    def test_allowed_skips_file(self):
        path = os.path.join(os.path.dirname(__file__), "..", "guest", "mock.skips")
        entries = results.read_allowed_skips(path)
        self.assertGreater(len(entries), 0)
        for program, case, message, why in entries:
            self.assertTrue(program and case and message and why)
        with tempfile.NamedTemporaryFile("w", suffix=".skips") as f:
            f.write("iommufd iommufd.hugepage no reason given\n")
            f.flush()
            with self.assertRaises(ValueError):
                results.read_allowed_skips(f.name)

    def test_kunit_suites_file(self):
        path = os.path.join(os.path.dirname(__file__), "..", "guest", "mock.kunit")
        self.assertIn("rust_doctests_kernel", results.read_names(path))

    def test_timeout_is_reported(self):
        lines = guest(done=False) + ["guest-timeout\n"]
        self.assert_fails(self.judge(lines), "timed out")

    def test_stop_at_a_stuck_report_is_reported(self):
        lines = guest(done=False) + ["guest-stuck\n"]
        self.assert_fails(self.judge(lines), "stopped at the kernel's report that it is stuck")


LINT_OK = [
    "==> [00:21] lint: rustfmt, rustdoc and checkpatch",
    "lint: rustfmt ok",
    "lint: rustdoc ok",
]

CARGO_OK = [
    "   Compiling dmabuf-ic v0.1.0 (/work/tools/dmabuf-ic)",
    "    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.84s",
    "     Running unittests src/main.rs (target/debug/deps/dmabuf_ic-0a42)",
    "",
    "running 2 tests",
    "test cli::parses ... ok",
    "test uapi::layout ... ok",
    "",
    "test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out",
    "",
    "     Running tests/sysfs.rs (target/debug/deps/sysfs-77aa)",
    "",
    "running 1 test",
    "test reads_fake_sysfs ... ok",
    "",
    "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out",
]


class HostStageTest(unittest.TestCase):
    def assert_fails(self, run, words):
        self.assertGreater(run.failed, 0)
        self.assertTrue(any(words in title for title, _ in run.failures), run.failures)

    def test_lint_ok(self):
        run = results.judge_lint(LINT_OK, 0)
        self.assertEqual((run.passed, run.failed), (2, 0), run.failures)

    def test_lint_failed_check_fails_with_its_output(self):
        lines = LINT_OK + ["rust/kernel/x.rs:1: bad format", "lint: checkpatch FAILED"]
        run = results.judge_lint(lines, 1)
        self.assertEqual((run.passed, run.failed), (2, 1), run.failures)
        self.assert_fails(run, "lint: checkpatch")
        self.assertEqual(run.failures[0][1], ["rust/kernel/x.rs:1: bad format"])

    def test_lint_that_dies_early_fails(self):
        # set -e ended lint.sh after two checks: no FAILED line, status 128.
        run = results.judge_lint(LINT_OK + ["fatal: bad revision 'pristine..HEAD'"], 128)
        self.assert_fails(run, "lint.sh exited 128 with no check failed")
        # ... or before it printed anything.
        self.assert_fails(results.judge_lint([], 1), "lint.sh exited 1")
        self.assert_fails(results.judge_lint([], 0), "lint.sh printed no check")

    def test_cargo_ok(self):
        run = results.judge_cargo(CARGO_OK, 0)
        self.assertEqual((run.passed, run.failed), (3, 0), run.failures)

    def test_cargo_failed_case_fails(self):
        lines = [l.replace("uapi::layout ... ok", "uapi::layout ... FAILED") for l in CARGO_OK]
        run = results.judge_cargo(lines, 101)
        self.assertEqual((run.passed, run.failed), (2, 1), run.failures)
        self.assert_fails(run, "cargo test: uapi::layout")

    def test_cargo_crashed_binary_fails(self):
        # The second binary dies before it prints its result; the first's
        # "test result: ok" line must not hide that.
        lines = CARGO_OK[:14] + [
            "error: test failed, to rerun pass `--test sysfs`",
            "",
            "Caused by:",
            "  process didn't exit successfully: `target/debug/deps/sysfs-77aa`"
            " (signal: 11, SIGSEGV: invalid memory reference)",
            "error: 1 target failed:",
        ]
        run = results.judge_cargo(lines, 101)
        self.assert_fails(run, "1 of 2 test binaries printed no result")
        self.assertTrue(any("SIGSEGV" in line for line in run.failures[0][1]))

    def test_cargo_status_alone_fails(self):
        # Every line looks fine, but cargo says otherwise.
        self.assert_fails(results.judge_cargo(CARGO_OK, 101), "cargo test exited 101")
        # A build error: no test binary at all.
        run = results.judge_cargo(["error[E0425]: cannot find value `x`"], 101)
        self.assert_fails(run, "cargo test ran no test binary")


if __name__ == "__main__":
    unittest.main()
