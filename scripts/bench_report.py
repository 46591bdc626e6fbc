#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the bench guests' "csv,..." lines into CSV files, Markdown tables with
the ratios project / pristine 7.2 and the issue's goals, and SVG plots (no
plotting library needed).

    bench_report.py OUT_DIR CONFIG-KERNEL=RESULTS_LOG...

CONFIG is "debug" or "production", KERNEL "project" or "pristine" (the
run tags of scripts/bench.sh). With --benchmarks FILE, the part of FILE
between the lines BEGIN_MARK and END_MARK is replaced by the tables, so
that every number there comes from a run.
"""
import argparse
import math
import sys
from pathlib import Path

BEGIN_MARK = "<!-- bench_report.py: begin (generated, do not edit) -->"
END_MARK = "<!-- bench_report.py: end -->"

HEADERS = {
    "map": "path,bytes,reps,export_ns,map_ns,unmap_ns",
    "revoke": "areas,revoke_ns,reenable_ns,map_ns_per_area,unmap_ns_per_area",
    "revoke_copy": "areas,revoke_ns,reenable_ns,map_ns_per_area,unmap_ns_per_area",
    "flr": "areas,flr_ns",
    "mapfile_slab": "areas,slab_bytes_per_area",
    "attach": ("batch,query_no_fd_ns,query_memfd_ns,query_fd_ns,dma_buf_info_ns,attach_ns,"
               "map_ns,detach_ns,slab_bytes_per_attachment,slab_bytes_per_mapping"),
    "info": "key,value",
}
CONFIGS = ("debug", "production")
KERNELS = ("project", "pristine")
# The goals of the issue "Performance against the code we replace".
MAP_GOAL = 1.05
REVOKE_GOAL = 0.5
REVOKE_GOAL_FROM = 64
TYPE1_GOAL = 1000
# struct page costs 64 bytes per 4 KiB page: "no memory that grows with the
# BAR size" is read as less than a sixteenth of that for the whole BAR.
FIRST_EXPORT_FRACTION = 16


def parse(lines):
    tables = {name: [] for name in HEADERS}
    for line in lines:
        line = line.strip().replace("\r", "")
        if not line.startswith("csv,"):
            continue
        _, table, *fields = line.split(",")
        if table in tables:
            tables[table].append(fields)
    return tables


def human(size):
    return f"{size >> 30} GiB" if size >= 1 << 30 else f"{size >> 20} MiB"


def fmt(ns):
    return f"{int(ns):,}"


def ratio(a, b):
    return a / b if b else float("inf")


def ratio_text(a, b):
    """a / b for a table; a dash where b is not positive (no meaningful ratio)."""
    return f"{a / b:.2f}" if b > 0 else "-"


def met(ok):
    return "met" if ok else "**not met**"


class Run:
    """The tables of one guest run."""

    def __init__(self, path):
        self.t = parse(Path(path).read_text(errors="replace").splitlines())
        if not self.t["map"] or not self.t["revoke"] or not self.t["flr"]:
            sys.exit(f"{path}: the benchmark printed no complete results")
        self.info = dict(self.t["info"])
        self.map = {}
        for path_, size, _, export, mapped, unmapped in self.t["map"]:
            self.map.setdefault(path_, {})[int(size)] = (int(export), int(mapped), int(unmapped))
        self.revoke = {int(r[0]): [int(x) for x in r[1:]] for r in self.t["revoke"]}
        self.revoke_copy = {int(r[0]): [int(x) for x in r[1:]] for r in self.t["revoke_copy"]}
        self.flr = {int(n): int(v) for n, v in self.t["flr"]}

    def flr_growth(self, n):
        return self.flr[n] - self.flr[0]


def map_section(cfg, proj, pris, goals):
    out = [f"#### Map and unmap ({cfg})", "",
           "| size | export | export / pristine | MAP_FILE | MAP_FILE / pristine "
           "| IOAS_UNMAP | IOAS_UNMAP / pristine | type1 map + unmap | type1 / dma-buf |",
           "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    worst_map = worst_unmap = 0.0
    for size in sorted(proj.map["dmabuf"]):
        e, m, u = proj.map["dmabuf"][size]
        pe, pm, pu = pris.map["dmabuf"][size]
        t = proj.map.get("type1", {}).get(size)
        rm, ru = ratio(m, pm), ratio(u, pu)
        worst_map, worst_unmap = max(worst_map, rm), max(worst_unmap, ru)
        t1 = f"{fmt(t[1] + t[2])} | {ratio(t[1] + t[2], m + u):.1f}" if t else "- | -"
        out.append(f"| {human(size)} | {fmt(e)} | {ratio(e, pe):.2f} | {fmt(m)} | {rm:.2f} | "
                   f"{fmt(u)} | {ru:.2f} | {t1} |")
    goals.append((cfg, f"IOMMU_IOAS_MAP_FILE <= {MAP_GOAL}x pristine at every size",
                  f"worst {worst_map:.2f}x", met(worst_map <= MAP_GOAL)))
    goals.append((cfg, f"IOMMU_IOAS_UNMAP <= {MAP_GOAL}x pristine at every size",
                  f"worst {worst_unmap:.2f}x", met(worst_unmap <= MAP_GOAL)))
    big = max(proj.map["dmabuf"])
    t = proj.map.get("type1", {}).get(big)
    if t and cfg == "production":
        _, m, u = proj.map["dmabuf"][big]
        r = ratio(t[1] + t[2], m + u)
        goals.append((cfg, f"type1 / dma-buf (map + unmap) at {human(big)} >= {TYPE1_GOAL}",
                      f"{r:.0f}", met(r >= TYPE1_GOAL)))
    return out


def revoke_section(cfg, proj, pris, goals):
    out = [f"#### Revoke ({cfg})", "",
           "Memory disable (the PCI_COMMAND write through VFIO) with N areas of 2 MiB: "
           "N maps (N IOMMU_IOAS_MAP_FILE of the buffer: N attachments on pristine, "
           "one per iommufd context in the project), or one map and N - 1 "
           "IOMMU_IOAS_COPY of it; FLR (VFIO_DEVICE_RESET) of virtio-rng with N maps of "
           "its BAR4, over the FLR with none (the reset itself waits 100 ms).", "",
           "| N | N maps | / pristine | one map, N copies | / pristine "
           "| FLR over none | / pristine | MAP_FILE per area | / pristine |",
           "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    fails = {"imports": [], "copy": [], "flr": []}
    for n in sorted(proj.revoke):
        r, pr = proj.revoke[n][0], pris.revoke[n][0]
        c, pc = proj.revoke_copy[n][0], pris.revoke_copy[n][0]
        f, pf = proj.flr_growth(n), pris.flr_growth(n)
        m, pm = proj.revoke[n][2], pris.revoke[n][2]
        out.append(f"| {n} | {fmt(r)} | {ratio_text(r, pr)} | {fmt(c)} | {ratio_text(c, pc)} | "
                   f"{fmt(f)} | {ratio_text(f, pf)} | {fmt(m)} | {ratio_text(m, pm)} |")
        if n >= REVOKE_GOAL_FROM:
            for key, a, b in (("imports", r, pr), ("copy", c, pc), ("flr", f, pf)):
                fails[key].append(ratio(a, b))
    base = proj.revoke[min(proj.revoke)][1], pris.revoke[min(pris.revoke)][1]
    out += ["", f"Re-enable (the same write, nothing to revoke): project {fmt(base[0])}, "
            f"pristine {fmt(base[1])}."]
    # The unmap of the N areas, not revoked, in one IOMMU_IOAS_UNMAP; runs
    # of before this column was measured have no such field.
    if all(len(t[n]) > 3 for run in (proj, pris) for t in (run.revoke, run.revoke_copy)
           for n in t):
        out += ["", "IOMMU_IOAS_UNMAP of the N areas (not revoked) in one call, per area:", "",
                "| N | N maps | / pristine | one map, N copies | / pristine |",
                "| ---: | ---: | ---: | ---: | ---: |"]
        for n in sorted(proj.revoke):
            u, pu = proj.revoke[n][3], pris.revoke[n][3]
            uc, puc = proj.revoke_copy[n][3], pris.revoke_copy[n][3]
            out.append(f"| {n} | {fmt(u)} | {ratio_text(u, pu)} | {fmt(uc)} | "
                       f"{ratio_text(uc, puc)} |")
    # The FLR rows measure the revoke as the growth over a reset that waits
    # 100 ms: where that wait's own jitter (the spread of the rows below
    # N = 64, which revoke next to nothing) is as large as pristine's
    # growth, there is no ratio to judge.
    jitter = max(abs(run.flr_growth(n)) for run in (proj, pris) for n in run.flr
                 if 0 < n < REVOKE_GOAL_FROM)
    for key, what in (("imports", "N maps"), ("copy", "one map, N copies"),
                      ("flr", "FLR, N maps")):
        worst = max(fails[key])
        goal = f"revoke ({what}) <= {REVOKE_GOAL}x pristine for N >= {REVOKE_GOAL_FROM}"
        hidden = []
        if key == "flr":
            judged = [n for n in pris.flr
                      if n >= REVOKE_GOAL_FROM and pris.flr_growth(n) > 2 * jitter]
            if not judged:
                goals.append((cfg, goal, f"jitter of the reset {fmt(jitter)}",
                              "not measurable: the reset's jitter is as large as the revoke"))
                continue
            # The project's growth, where the jitter hides it (below it,
            # negative too), counts as the jitter: the most it can be.
            hidden = [n for n in judged if proj.flr_growth(n) < jitter]
            worst = max(ratio(max(proj.flr_growth(n), jitter), pris.flr_growth(n))
                        for n in judged)
            goal += f" (N = {', '.join(map(str, judged))}: above twice the reset's jitter)"
        measured = f"worst {worst:.2f}x"
        if hidden:
            measured = (f"at most {worst:.2f}x (the project's growth at N = "
                        f"{', '.join(map(str, hidden))} is within the jitter, {fmt(jitter)})")
        goals.append((cfg, goal, measured, met(worst <= REVOKE_GOAL)))
    return out


def memory_section(cfg, proj, pris, goals):
    bar = int(proj.info["bar_bytes"])
    limit = bar // 4096 * 64 // FIRST_EXPORT_FRACTION
    out = [f"#### First export and memory ({cfg})", "",
           "| | project | pristine | project / pristine |", "| --- | ---: | ---: | ---: |"]
    for key, what in (("first_export_ns", f"first export of the {human(bar)} BAR (instructions)"),
                      ("first_export_memfree_drop_bytes", "its memory (MemFree drop, bytes)"),
                      ("first_export_slab_bytes", "its slab (bytes)")):
        a, b = int(proj.info[key]), int(pris.info[key])
        out.append(f"| {what} | {fmt(a)} | {fmt(b)} | {ratio_text(a, b)} |")
    a = int(proj.t["mapfile_slab"][0][1])
    b = int(pris.t["mapfile_slab"][0][1])
    out.append(f"| slab per IOMMU_IOAS_MAP_FILE area (over 1024, bytes) | {a:,} | {b:,} | "
               f"{ratio_text(a, b)} |")
    drop = int(proj.info["first_export_memfree_drop_bytes"])
    goals.append((cfg, f"first export of a {human(bar)} BAR: no memory growing with the BAR "
                  f"(< {limit:,} bytes, 1/{FIRST_EXPORT_FRACTION} of its struct pages)",
                  f"{drop:,} bytes", met(drop < limit)))
    return out


def attach_section(cfg, proj):
    if not proj.t["attach"]:
        return []
    n, query, memfd, neg, bufinfo, att, mp, det, slab_a, slab_m = proj.t["attach"][0]
    return [f"#### Through the framework, project only ({cfg})", "",
            f"| per call (least of 5 rounds of {n}) | instructions |", "| --- | ---: |",
            f"| IOMMU_DMABUF_GET_INFO without a fd (the ioctl alone) | {fmt(query)} |",
            f"| IOMMU_DMABUF_GET_INFO with a memfd (+ fd lookup, EINVAL) | {fmt(memfd)} |",
            f"| IOMMU_DMABUF_GET_INFO with a dma-buf (+ negotiation) | {fmt(neg)} |",
            f"| DMA_BUF_IOCTL_IC_INFO (counts only) | {fmt(bufinfo)} |",
            f"| attach (test importer, negotiates) | {fmt(att)} |",
            f"| map (physical list) | {fmt(mp)} |",
            f"| detach | {fmt(det)} |",
            f"| slab bytes per attachment (over 1024) | {slab_a} |",
            f"| slab bytes per mapping (over 1024) | {slab_m} |"]


def before_section(tag, before, after, pris):
    """Revoke and map costs of the project's kernel before and after a change."""
    out = [f"#### Before and after the last change ({tag})", "",
           "| N | N maps, before | after | after / pristine | one map, N copies, before "
           "| after | after / pristine |",
           "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n in sorted(after.revoke):
        b, a, p = before.revoke[n][0], after.revoke[n][0], pris.revoke[n][0]
        bc, ac, pc = before.revoke_copy[n][0], after.revoke_copy[n][0], pris.revoke_copy[n][0]
        out.append(f"| {n} | {fmt(b)} | {fmt(a)} | {ratio_text(a, p)} | {fmt(bc)} | {fmt(ac)} | "
                   f"{ratio_text(ac, pc)} |")
    big = max(after.map["dmabuf"])
    b, a = before.map["dmabuf"][big], after.map["dmabuf"][big]
    out += ["", f"MAP_FILE + IOAS_UNMAP of {human(big)}: before {fmt(b[1] + b[2])}, "
            f"after {fmt(a[1] + a[2])}.", ""]
    return out


def svg_lines(title, xlabel, series, xfmt, logx=True):
    """Log-log plot of named series of (x, y) points."""
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    w, h, left, right, top, bottom = 640, 400, 80, 20, 30, 50
    pts = [(x, y) for s in series.values() for x, y in s if y > 0]
    xs = sorted({x for x, _ in pts})
    fx = (lambda x: math.log2(x)) if logx else (lambda x: x)
    x0, x1 = fx(xs[0]), fx(xs[-1])
    y0 = math.floor(min(math.log10(y) for _, y in pts))
    y1 = math.ceil(max(math.log10(y) for _, y in pts))
    y1 = max(y1, y0 + 1)

    def px(x):
        return left + (fx(x) - x0) / ((x1 - x0) or 1) * (w - left - right)

    def py(y):
        return h - bottom - (math.log10(y) - y0) / (y1 - y0) * (h - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="18" text-anchor="middle">{title}</text>']
    for y in range(y0, y1 + 1):
        out.append(f'<line x1="{left}" y1="{py(10 ** y):.1f}" x2="{w - right}" '
                   f'y2="{py(10 ** y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{py(10 ** y) + 4:.1f}" text-anchor="end">1e{y}</text>')
    for x in xs:
        out.append(f'<text x="{px(x):.1f}" y="{h - bottom + 18}" text-anchor="middle">'
                   f'{xfmt(x)}</text>')
    for i, (name, s) in enumerate(series.items()):
        colour = colours[i % len(colours)]
        s = [(x, y) for x, y in s if y > 0]
        dash = ' stroke-dasharray="6,4"' if "pristine" in name else ""
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                   f'stroke-width="2"{dash}/>')
        for x, y in s:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        ly = top + 10 + i * 18
        out.append(f'<rect x="{left + 10}" y="{ly - 9}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{left + 28}" y="{ly + 1}">{name}</text>')
    out.append(f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle">{xlabel}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("runs", nargs="+", help="CONFIG-KERNEL=RESULTS_LOG")
    ap.add_argument("--benchmarks", type=Path, help="Markdown file whose marked part to replace")
    ap.add_argument("--before", action="append", default=[], metavar="CONFIG-project=LOG",
                    help="a run of the project's kernel before a change, to compare with")
    args = ap.parse_args()
    runs = {}
    for spec in args.runs:
        tag, _, path = spec.partition("=")
        runs[tag] = Run(path)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    # CSV: one file per table, with the run's tag in front.
    for name, header in HEADERS.items():
        rows = [f"{tag}," + ",".join(r) for tag, run in runs.items() for r in run.t[name]]
        (args.out_dir / f"{name}.csv").write_text("run," + header + "\n" + "\n".join(rows) + "\n")

    goals, text = [], []
    configs = [c for c in CONFIGS if f"{c}-project" in runs and f"{c}-pristine" in runs]
    if not configs:
        sys.exit("need a project and a pristine run of at least one configuration")
    for cfg in configs:
        proj, pris = runs[f"{cfg}-project"], runs[f"{cfg}-pristine"]
        text += [f"### {cfg.capitalize()} configuration", ""]
        for part in (map_section(cfg, proj, pris, goals), revoke_section(cfg, proj, pris, goals),
                     memory_section(cfg, proj, pris, goals), attach_section(cfg, proj)):
            if part:
                text += part + [""]
    for spec in args.before:
        tag, _, path = spec.partition("=")
        if tag not in runs or f"{tag.split('-')[0]}-pristine" not in runs:
            sys.exit(f"--before {tag}: no such run to compare with")
        text += before_section(tag, Run(path), runs[tag], runs[f"{tag.split('-')[0]}-pristine"])
    goal_md = ["### Goals", "", "| config | goal | measured | |", "| --- | --- | ---: | --- |"]
    goal_md += [f"| {c} | {g} | {v} | {m} |" for c, g, v, m in goals]
    runs_md = ["Runs: " + ", ".join(f"{tag} (`{run.info.get('uapi', '?')}` uAPI)"
                                    for tag, run in runs.items()) + "."]
    md = "\n".join(goal_md + [""] + runs_md + [""] + text)
    (args.out_dir / "tables.md").write_text(md)

    # Plots: map + unmap against size, revoke against areas.
    series = {}
    for cfg in configs:
        for kernel in KERNELS:
            run = runs[f"{cfg}-{kernel}"]
            series[f"dma-buf, {kernel} ({cfg})"] = [(s, v[1] + v[2]) for s, v in
                                                    sorted(run.map["dmabuf"].items())]
        t1 = runs[f"{cfg}-project"].map.get("type1", {})
        series[f"type1, project ({cfg})"] = [(s, v[1] + v[2]) for s, v in sorted(t1.items())]
    (args.out_dir / "map.svg").write_text(svg_lines(
        "IOMMU_IOAS_MAP_FILE + IOMMU_IOAS_UNMAP (guest instructions, log scale)",
        "size of the BAR range", series, human))
    series = {}
    for cfg in configs:
        for kernel in KERNELS:
            run = runs[f"{cfg}-{kernel}"]
            series[f"{kernel} ({cfg})"] = [(n, v[0]) for n, v in sorted(run.revoke.items())]
    (args.out_dir / "revoke.svg").write_text(svg_lines(
        "revoke by memory disable, N maps (guest instructions, log scale)",
        "areas mapped (N)", series, str))

    if args.benchmarks:
        doc = args.benchmarks.read_text()
        if BEGIN_MARK not in doc or END_MARK not in doc:
            sys.exit(f"{args.benchmarks}: no generated part between {BEGIN_MARK} and {END_MARK}")
        head, rest = doc.split(BEGIN_MARK, 1)
        _, tail = rest.split(END_MARK, 1)
        args.benchmarks.write_text(head + BEGIN_MARK + "\n\n" + md + "\n" + END_MARK + tail)
    print(md)


if __name__ == "__main__":
    main()
