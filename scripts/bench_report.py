#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the bench guest's "csv,..." lines into CSV files, Markdown tables and
an SVG plot of map+unmap cost against size (no plotting library needed).

    bench_report.py RESULTS_LOG OUT_DIR
"""
import math
import sys
from pathlib import Path

MAP_HEADER = "path,bytes,reps,export_ns,map_ns,unmap_ns"
REVOKE_HEADER = "areas,revoke_ns,reenable_ns,map_file_ns_per_area"
FLR_HEADER = "areas,flr_ns"
ATTACH_HEADER = ("batch,query_no_fd_ns,query_memfd_ns,query_fd_ns,dma_buf_info_ns,attach_ns,map_ns,detach_ns,"
                 "slab_bytes_per_attachment,slab_bytes_per_mapping")


def parse(lines):
    tables = {"map": [], "revoke": [], "flr": [], "attach": [], "info": []}
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


def map_table(rows):
    by_size = {}
    for path, size, reps, export, mapped, unmapped in rows:
        by_size.setdefault(int(size), {})[path] = (int(export), int(mapped), int(unmapped))
    out = ["| size | dma-buf export | dma-buf map | dma-buf unmap | type1 map | type1 unmap "
           "| type1 / dma-buf (map+unmap) |",
           "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for size in sorted(by_size):
        d, t = by_size[size].get("dmabuf"), by_size[size].get("type1")
        if not d or not t:
            continue
        ratio = (t[1] + t[2]) / (d[1] + d[2])
        out.append(f"| {human(size)} | {fmt(d[0])} | {fmt(d[1])} | {fmt(d[2])} | "
                   f"{fmt(t[1])} | {fmt(t[2])} | {ratio:.1f} |")
    return "\n".join(out), by_size


def svg_plot(by_size):
    """Log-log plot of map+unmap against size, both paths."""
    sizes = sorted(s for s in by_size if "dmabuf" in by_size[s] and "type1" in by_size[s])
    series = {
        "dma-buf (export excluded)": [(s, sum(by_size[s]["dmabuf"][1:])) for s in sizes],
        "VFIO type1": [(s, sum(by_size[s]["type1"][1:])) for s in sizes],
    }
    colours = ["#1f77b4", "#d62728"]
    w, h, left, right, top, bottom = 640, 400, 80, 20, 30, 50
    xs = [math.log2(s) for s in sizes]
    ys = [math.log10(v) for pts in series.values() for _, v in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = math.floor(min(ys)), math.ceil(max(ys))

    def px(x):
        return left + (x - x0) / (x1 - x0) * (w - left - right)

    def py(y):
        return h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="18" text-anchor="middle">map + unmap of a BAR range '
           '(guest instructions, log scale)</text>']
    for y in range(y0, y1 + 1):
        out.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{w - right}" y2="{py(y):.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">1e{y}</text>')
    for s in sizes:
        x = px(math.log2(s))
        out.append(f'<text x="{x:.1f}" y="{h - bottom + 18}" text-anchor="middle">{human(s)}</text>')
    for (name, pts), colour in zip(series.items(), colours):
        path = " ".join(f"{px(math.log2(s)):.1f},{py(math.log10(v)):.1f}" for s, v in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for s, v in pts:
            out.append(f'<circle cx="{px(math.log2(s)):.1f}" cy="{py(math.log10(v)):.1f}" r="3" '
                       f'fill="{colour}"/>')
    for i, (name, colour) in enumerate(zip(series, colours)):
        y = top + 10 + i * 18
        out.append(f'<rect x="{left + 10}" y="{y - 9}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{left + 28}" y="{y + 1}">{name}</text>')
    out.append(f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle">size of the BAR range</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    log, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    tables = parse(log.read_text(errors="replace").splitlines())
    if not tables["map"] or not tables["revoke"] or not tables["attach"]:
        sys.exit(f"{log}: the benchmark printed no complete results")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, header in (("map", MAP_HEADER), ("revoke", REVOKE_HEADER),
                         ("flr", FLR_HEADER), ("attach", ATTACH_HEADER)):
        rows = [",".join(r) for r in tables[name]]
        (out_dir / f"{name}.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    md, by_size = map_table(tables["map"])
    revoke = ["| areas mapped | revoke (memory disable) | re-enable | IOMMU_IOAS_MAP_FILE per area |",
              "| ---: | ---: | ---: | ---: |"]
    for n, rev, re_en, per in tables["revoke"]:
        revoke.append(f"| {n} | {fmt(rev)} | {fmt(re_en)} | {fmt(per)} |")
    if tables["flr"]:
        base = int(tables["flr"][0][1])
        revoke += ["", "| areas mapped (virtio-rng BAR4) | FLR (VFIO_DEVICE_RESET) | over the FLR with none |",
                   "| ---: | ---: | ---: |"]
        for n, flr in tables["flr"]:
            revoke.append(f"| {n} | {fmt(flr)} | {fmt(int(flr) - base)} |")
    n, query, memfd, neg, bufinfo, att, mp, det, slab_a, slab_m = tables["attach"][0]
    attach = ["| per call (least of 5 rounds of " + n + ") | instructions |", "| --- | ---: |",
              f"| IOMMU_DMABUF_GET_INFO without a fd (the ioctl alone) | {fmt(query)} |",
              f"| IOMMU_DMABUF_GET_INFO with a memfd (+ fd lookup, EINVAL) | {fmt(memfd)} |",
              f"| IOMMU_DMABUF_GET_INFO with a dma-buf (+ negotiation) | {fmt(neg)} |",
              f"| DMA_BUF_IOCTL_IC_INFO (counts only) | {fmt(bufinfo)} |",
              f"| attach (test importer, negotiates) | {fmt(att)} |",
              f"| map (physical list) | {fmt(mp)} |",
              f"| detach | {fmt(det)} |",
              f"| slab bytes per attachment (over 1024) | {slab_a} |",
              f"| slab bytes per mapping (over 1024) | {slab_m} |"]
    info = {k: v for k, v in tables["info"]}
    text = ("## Map and unmap\n\n" + md + "\n\n## Revoke\n\n" + "\n".join(revoke) +
            "\n\n## Attach\n\n" + "\n".join(attach) + "\n\n" +
            f"BAR: {human(int(info.get('bar_bytes', 0)))}; first export of the BAR: "
            f"{fmt(info.get('first_export_ns', 0))} instructions.\n")
    (out_dir / "tables.md").write_text(text)
    (out_dir / "map.svg").write_text(svg_plot(by_size))
    print(text)


if __name__ == "__main__":
    main()
