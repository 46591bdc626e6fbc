#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Judge one guest run from its two serial logs.

The guest (scripts/guest/init) writes, on its second serial port, the output
of every test program between "@@@ begin NAME" and "@@@ end NAME rc=N" lines,
then the kmemleak report and the whole kernel log. This script counts:

- every KUnit case in the kernel log (KTAP), suite plans included, and each
  suite the guest must run (--kunit-suites) that did not run as a failure;
- every kselftest case of every program (TAP), plans and exit codes included;
  with --skips-fail a skipped case fails, unless --allowed-skips lists it
  (with the message it skips with, and why that skip is legitimate);
- three checks on the run itself: the guest finished, the kernel log has no
  KASAN, lockdep, WARN, BUG, refcount or other splat, kmemleak found nothing
  (with --no-kmemleak, for kernels built without it, a kmemleak that is not
  there is no failure);
- a failure of each "setup" line of the guest's list (huge pages, ...).

It prints a summary a person can read, the reports that failed the run, and
as its last line "N passed, N failed, N skipped". Exit status 1 on any
failure. With --json FILE it also writes the counts for scripts/test.sh.

Two host stages of scripts/test.sh are judged here too, from their output
and their exit status (--rc): --mode lint (scripts/lint.sh's "lint: NAME
ok|FAILED" lines) and --mode cargo (the output of cargo test).
"""

import argparse
import json
import re
import sys

TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
MARK_BEGIN = re.compile(r"^@@@ begin (\S+)")
MARK_END = re.compile(r"^@@@ end (\S+) rc=(-?\d+)")
SETUP_FAILED = re.compile(r"^@@@ setup-failed rc=(-?\d+) (.*)$")

# A line of the kernel log that starts one of these reports fails the run.
SPLATS = [
    re.compile(p)
    for p in (
        r"\bBUG: ",  # KASAN, sleeping in atomic context, soft lockup...
        r"\bWatchdog detected hard LOCKUP\b",
        r"\bWARNING: ",  # WARN_ON and every lockdep report
        r"\bINFO: (task .* blocked|rcu|trying to register non-static key)",
        r"\brefcount_t: ",
        r"\bUBSAN: ",
        r"\bOops: ",
        r"\bgeneral protection fault\b",
        r"\bKernel panic\b",
        r"\bkmemleak: \d+ new suspected memory leaks",
        r"\bkmemleak: .*(disabled|Cannot allocate)",
        r"\bKernel memory leak detector disabled",
    )
]
END_OF_REPORT = re.compile(r"---\[ end trace|^=+$")


class Run:
    """Counts and failure reports of one guest run."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.layers = {}  # layer -> [passed, failed, skipped]
        self.failures = []  # (title, detail lines)

    def count(self, layer, outcome):
        row = self.layers.setdefault(layer, [0, 0, 0])
        index = {"pass": 0, "fail": 1, "skip": 2}[outcome]
        row[index] += 1
        if outcome == "pass":
            self.passed += 1
        elif outcome == "fail":
            self.failed += 1
        else:
            self.skipped += 1

    def fail(self, layer, title, detail=()):
        self.count(layer, "fail")
        self.failures.append((title, list(detail)))


def clean(line):
    return line.replace("\r", "").rstrip("\n")


def sections(lines):
    """Split the results log into {name: (lines, rc or None)}."""
    found = {}
    name, body = None, []
    for line in lines:
        begin = MARK_BEGIN.match(line)
        end = MARK_END.match(line)
        if begin:
            name, body = begin.group(1), []
            found[name] = (body, None)
        elif end and name == end.group(1):
            found[name] = (body, int(end.group(2)))
            name = None
        elif name is not None:
            body.append(line)
    return found


def tap_result(line):
    """Return (ok, name, directive) for a TAP result line, or None."""
    m = re.match(r"^(not ok|ok) \d+ ?-? ?([^#]*)(#\s*(\S+).*)?$", line)
    if not m:
        return None
    return m.group(1) == "ok", m.group(2).strip(), (m.group(4) or "").upper()


def skip_message(line):
    """The text after "# SKIP" of a TAP result line ("" if none)."""
    m = re.search(r"#\s*SKIP\b\s*(.*)$", line, re.IGNORECASE)
    return m.group(1).strip() if m else ""


def read_allowed_skips(path):
    """Read an allow-list of skips: "PROGRAM CASE | MESSAGE | WHY" lines.

    PROGRAM is the name of the guest list's line ("kunit" for KUnit, whose
    CASE is SUITE.CASE), MESSAGE the exact text the case prints after
    "# SKIP", WHY the reason this skip is legitimate in this guest.
    """
    entries = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = [field.strip() for field in line.split("|")]
            if len(fields) != 3 or len(fields[0].split()) != 2 or not all(fields):
                raise ValueError(f"{path}:{number}: not \"PROGRAM CASE | MESSAGE | WHY\": {line}")
            program, case = fields[0].split()
            entries.append((program, case, fields[1], fields[2]))
    return entries


def read_names(path):
    """One name a line; blank lines and "#" comments ignored."""
    with open(path) as f:
        return [line.split()[0] for line in f if line.strip() and not line.lstrip().startswith("#")]


class SkipPolicy:
    """Which skipped cases a run tolerates.

    Without skips_fail every skip counts as a skip. With it, a skip fails the
    run unless the allow-list names its program and case and the case skipped
    with the listed message; and an entry of the list whose case did not skip
    fails the run too, so that the list says exactly what skips, and why.
    """

    def __init__(self, skips_fail=False, allowed=()):
        self.skips_fail = skips_fail
        self.allowed = {(program, case): (message, why) for program, case, message, why in allowed}
        self.seen = set()

    def skip(self, run, layer, program, case, message, detail):
        if not self.skips_fail:
            run.count(layer, "skip")
            return
        entry = self.allowed.get((program, case))
        if entry is not None and entry[0] == message:
            self.seen.add((program, case))
            run.count(layer, "skip")
        elif entry is not None:
            self.seen.add((program, case))  # one failure for it, not two
            run.fail(layer, f"{program}: {case} skipped with \"{message}\"; the allowed skip"
                     f" is \"{entry[0]}\" ({entry[1]})", detail)
        else:
            run.fail(layer, f"{program}: {case} skipped in a guest that has what it needs"
                     f" (\"{message}\")", detail)

    def finish(self, run):
        for program, case in sorted(set(self.allowed) - self.seen):
            run.fail("checks", f"{program}: {case} is on the allow-list of skips but did not"
                     " skip (update the list)")


def judge_kselftest(run, name, body, rc, skips=None):
    layer = "kselftest"
    skips = skips or SkipPolicy()
    plan = None
    results = failed = 0
    for line in body:
        if plan is None:
            m = re.match(r"^1\.\.(\d+)$", line)
            if m:
                plan = int(m.group(1))
                continue
        res = tap_result(line)
        if res is None:
            continue
        ok, case, directive = res
        results += 1
        if directive == "SKIP":
            skips.skip(run, layer, name, case, skip_message(line), failure_context(body, line))
        elif ok or directive == "XFAIL":
            run.count(layer, "pass")
        else:
            failed += 1
            run.fail(layer, f"{name}: {case}", failure_context(body, line))
    if rc is None:
        run.fail(layer, f"{name}: did not finish (guest crashed or hung)", body[-20:])
    elif plan is None:
        run.fail(layer, f"{name}: printed no TAP plan (exit status {rc})", body[-20:])
    elif results != plan:
        run.fail(layer, f"{name}: {results} results for a plan of {plan}", body[-20:])
    elif rc != 0 and failed == 0:
        run.fail(layer, f"{name}: exit status {rc} with no failed case", body[-20:])


def failure_context(body, result_line):
    """The harness output of one failed case: from its RUN line to its result."""
    end = body.index(result_line)
    start = end
    while start > 0 and "  RUN  " not in body[start]:
        start -= 1
    return body[start : end + 1][-40:]


def judge_setups(run, lines):
    """Fail the run for each "setup" line of the list that failed."""
    for i, line in enumerate(lines):
        m = SETUP_FAILED.match(line)
        if not m:
            continue
        start = i
        while start > 0 and lines[start - 1].startswith("# setup: "):
            start -= 1
        run.fail("checks", f"guest setup \"{m.group(2)}\" exited {m.group(1)}", lines[start:i])


def judge_kunit(run, log, expected=None, skips=None):
    """Count KUnit cases: results indented once inside a suite.

    @expected: the names of the suites that must run (None: any). A suite
    that must run and did not, or ran no case, fails the run.
    """
    layer = "kunit"
    skips = skips or SkipPolicy()
    suite, plan, results = None, None, 0
    ran = {}  # suite -> (plan, results, failed cases)
    failed = 0

    def close_suite():
        if suite is None:
            return
        ran[suite] = (plan, results, failed)
        if plan is not None and results != plan:
            run.fail(layer, f"KUnit suite {suite}: {results} results for a plan of {plan}")

    for line in log:
        m = re.match(r"^    # Subtest: (\S+)", line)
        if m:
            close_suite()
            suite, plan, results, failed = m.group(1), None, 0, 0
            continue
        m = re.match(r"^    1\.\.(\d+)$", line)
        if m and suite is not None and plan is None:
            plan = int(m.group(1))
            continue
        # The suite's own result, at the top level: "not ok N SUITE" with
        # every case passed (a failed suite init or exit) fails too.
        top = tap_result(line) if suite is not None and not line.startswith(" ") else None
        if top is not None and top[1] == suite:
            if not top[0] and top[2] != "SKIP" and failed == 0:
                run.fail(layer, f"KUnit suite {suite} failed", kunit_context(log, line))
            continue
        if suite is None or not line.startswith("    ") or line.startswith("     "):
            continue
        res = tap_result(line[4:])
        if res is None:
            continue
        ok, case, directive = res
        results += 1
        if directive == "SKIP":
            skips.skip(run, layer, "kunit", f"{suite}.{case}", skip_message(line),
                       kunit_context(log, line))
        elif ok:
            run.count(layer, "pass")
        else:
            failed += 1
            run.fail(layer, f"KUnit {suite}: {case}", kunit_context(log, line))
    close_suite()
    if not ran:
        run.fail(layer, "no KUnit suite ran (is CONFIG_KUNIT on?)")
    for name in expected or ():
        if name not in ran:
            run.fail(layer, f"KUnit suite {name} did not run (it must: a config option"
                     " lost, or a suite renamed?)")
        elif not ran[name][0]:
            run.fail(layer, f"KUnit suite {name} ran no case")


def kunit_context(log, result_line):
    end = log.index(result_line)
    start = max(0, end - 15)
    return [line for line in log[start : end + 1] if line.startswith("    ")]


def judge_log(run, log, source):
    """One check: no splat anywhere in the kernel log."""
    reports = []
    i = 0
    while i < len(log):
        if any(p.search(log[i]) for p in SPLATS):
            report = [log[i]]
            j = i + 1
            while j < len(log) and len(report) < 40 and not END_OF_REPORT.search(log[j - 1]):
                report.append(log[j])
                j += 1
            reports.append(report)
            i = j
        else:
            i += 1
    if reports:
        detail = []
        for report in reports[:5]:
            detail += report + [""]
        run.fail("checks", f"kernel log ({source}) has {len(reports)} report(s)", detail)
    else:
        run.count("checks", "pass")


def judge(results_lines, console_lines, mode, kunit=True, skips_fail=False,
          allowed_skips=(), kunit_suites=None, kmemleak=True):
    run = Run()
    skips = SkipPolicy(skips_fail, allowed_skips)
    results_lines = [clean(line) for line in results_lines]
    console_lines = [clean(line) for line in console_lines]
    found = sections(results_lines)

    done = "@@@ guest-done" in results_lines
    if done:
        run.count("checks", "pass")
    else:
        if "guest-timeout" in results_lines:
            why = "timed out"
        elif "guest-stuck" in results_lines:
            why = "stopped at the kernel's report that it is stuck"
        else:
            why = "crashed or powered off early"
        run.fail("checks", f"the guest did not finish ({why})", console_lines[-40:])

    # The kernel log: the guest's dmesg dump if it got that far, else the console.
    if "dmesg" in found and found["dmesg"][1] is not None:
        log, source = found["dmesg"][0], "dmesg"
    else:
        log, source = console_lines, "console"
    log = [TIMESTAMP.sub("", line) for line in log]

    judge_setups(run, results_lines)
    if kunit:
        judge_kunit(run, log, kunit_suites, skips)
    names = [n for n in found if n not in ("dmesg", "kmemleak")]
    for name in names:
        body, rc = found[name]
        if mode == "test":
            judge_kselftest(run, name, body, rc, skips)
        elif rc != 0:
            run.fail("demo", f"{name}: exit status {rc}", body[-20:])
    if mode == "test" and not names:
        run.fail("kselftest", "no test program ran")
    if mode == "test" and done:
        skips.finish(run)

    judge_log(run, log, source)
    # Without kmemleak by design (a production kernel) its absence is no
    # failure; a report that is there still counts.
    if "@@@ kmemleak-unavailable" in results_lines:
        if kmemleak:
            run.fail("checks", "kmemleak is not available in the guest")
    elif "kmemleak" in found:
        leaks = [line for line in found["kmemleak"][0] if line.strip()]
        if leaks:
            run.fail("checks", "kmemleak found unreferenced objects", leaks[:60])
        else:
            run.count("checks", "pass")
    elif done and kmemleak:
        run.fail("checks", "no kmemleak report in the results")
    return run, found


def judge_lint(lines, rc):
    """scripts/lint.sh: one "lint: NAME ok|FAILED" line a check, and its status.

    lint.sh may die before it prints its lines (a failed command under
    set -e): its exit status counts even when no line says FAILED.
    """
    run = Run()
    lines = [clean(line) for line in lines]
    start, failed = 0, 0
    for i, line in enumerate(lines):
        m = re.match(r"^lint: (\S+) (ok|FAILED)$", line)
        if not m:
            continue
        if m.group(2) == "ok":
            run.count("lint", "pass")
        else:
            failed += 1
            run.fail("lint", f"lint: {m.group(1)}", lines[start:i][-40:])
        start = i + 1
    if rc != 0 and failed == 0:
        run.fail("lint", f"lint.sh exited {rc} with no check failed: it died after"
                 f" {run.passed} check(s)", lines[-20:])
    elif run.passed + failed == 0:
        run.fail("lint", "lint.sh printed no check")
    return run


def judge_cargo(lines, rc):
    """cargo test: every test binary printed its result, every case passed.

    A test binary that crashes prints no "test result:" line; cargo's exit
    status says what the lines do not (a build error, a crash).
    """
    run = Run()
    lines = [clean(line) for line in lines]
    binaries = results = 0
    for i, line in enumerate(lines):
        if re.match(r"^\s+(Running|Doc-tests) ", line):
            binaries += 1
            continue
        m = re.match(r"^test (.+?) \.\.\. (ok|FAILED|ignored)\b", line)
        if m:
            if m.group(2) == "ok":
                run.count("cargo", "pass")
            elif m.group(2) == "ignored":
                run.count("cargo", "skip")
            else:
                run.fail("cargo", f"cargo test: {m.group(1)}")
            continue
        if line.startswith("test result: "):
            results += 1
    crashes = [line for line in lines
               if re.search(r"process didn't exit successfully|^error(\[|:)", line)]
    if binaries == 0:
        run.fail("cargo", "cargo test ran no test binary", lines[-20:])
    elif results < binaries:
        run.fail("cargo", f"{binaries - results} of {binaries} test binaries printed no"
                 " result (crashed?)", crashes[-10:] or lines[-20:])
    if rc != 0 and run.failed == 0:
        run.fail("cargo", f"cargo test exited {rc}", crashes[-10:] or lines[-20:])
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="the guest's results log (second serial port), or the"
                    " output of lint.sh or cargo test")
    ap.add_argument("console", nargs="?", help="the kernel console log (first serial port)")
    ap.add_argument("--mode", default="test", choices=("test", "demo", "lint", "cargo"),
                    help="test: sections are TAP programs; demo: they only need to succeed;"
                    " lint, cargo: the output of scripts/lint.sh, of cargo test")
    ap.add_argument("--rc", type=int, default=0,
                    help="lint, cargo: the exit status of the command")
    ap.add_argument("--no-kunit", action="store_true", help="KUnit was disabled in this run")
    ap.add_argument("--no-kmemleak", action="store_true",
                    help="the kernel has no kmemleak by design (a production kernel): its"
                    " absence is no failure")
    ap.add_argument("--kunit-suites", metavar="FILE",
                    help="the KUnit suites that must run, one a line")
    ap.add_argument("--skips-fail", action="store_true",
                    help="a skipped case fails the run (the guest has every device and"
                    " option its list's tests need), unless --allowed-skips lists it")
    ap.add_argument("--allowed-skips", metavar="FILE",
                    help="the skips this guest may have: \"PROGRAM CASE | MESSAGE | WHY\""
                    " lines")
    ap.add_argument("--json", help="write the counts to this file")
    ap.add_argument("--quiet", action="store_true", help="print only failures and the total")
    args = ap.parse_args()

    def read(path):
        try:
            with open(path, errors="replace") as f:
                return f.readlines()
        except (FileNotFoundError, TypeError):
            return []

    if args.mode == "lint":
        run = judge_lint(read(args.results), args.rc)
    elif args.mode == "cargo":
        run = judge_cargo(read(args.results), args.rc)
    else:
        allowed = read_allowed_skips(args.allowed_skips) if args.allowed_skips else ()
        suites = read_names(args.kunit_suites) if args.kunit_suites else None
        run, _ = judge(read(args.results), read(args.console), args.mode, not args.no_kunit,
                       args.skips_fail, allowed, suites, not args.no_kmemleak)
    if not args.quiet:
        for layer, (p, f, s) in sorted(run.layers.items()):
            print(f"    {layer:10} {p:5} passed {f:4} failed {s:4} skipped")
    for title, detail in run.failures:
        print(f"FAILED: {title}")
        for line in detail:
            print(f"    | {line}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"passed": run.passed, "failed": run.failed, "skipped": run.skipped,
                       "layers": run.layers}, f)
    print(f"{run.passed} passed, {run.failed} failed, {run.skipped} skipped")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
