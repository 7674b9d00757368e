#!/usr/bin/python3
"""Synthesises the RTL with Yosys and writes the cell counts to docs/area.md.

For each input-precision set the matrix engine can be built with (rtl/fp_decode.sv's
`Formats` mask) it synthesises the processing element, the systolic array and the
matrix engine with Yosys' generic `synth` (technology-independent gates and flip-flops,
no vendor library) and records the cells by type. Yosys keeps the hierarchy, so an
array costs one synthesis per distinct PE, and its `stat -top` sums the instances.
The area model calibrates against these counts (docs/area.md says how).

Usage: scripts/synth.py [--rows 8 --cols 8] [--only pe,array,engine] [--out docs/area.md]
Needs yosys (Debian 12: 0.23) and the generated package build/gen/rtl/tessera_num_pkg.sv
(run scripts/build.sh first, or pass --gen DIR).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMAT_SETS = [  # (label, Formats mask: bit = ISA dtype code)
    ("int8", 0b0001),
    ("fp8 (e4m3 + e5m2)", 0b0110),
    ("bf16", 0b1000),
    ("all four", 0b1111),
]


def rtl_sources(gen_dir):
    pkgs = [os.path.join(gen_dir, "rtl", f) for f in ("tessera_num_pkg.sv", "tessera_isa_pkg.sv")]
    for p in pkgs:
        if not os.path.exists(p):
            sys.exit(f"synth.py: {p} is missing: build first (scripts/build.sh) or pass --gen")
    rtl = sorted(os.path.join(ROOT, "rtl", f) for f in os.listdir(os.path.join(ROOT, "rtl")) if f.endswith(".sv"))
    return pkgs + rtl


def run_yosys(sources, top, params):
    # Yosys 0.23's chparam / hierarchy -chparam trip over parameterised sub-instances, so
    # the top module is read from a copy whose parameter defaults are the requested values.
    tmp = tempfile.mkdtemp(prefix="tessera_synth_")
    top_src = os.path.join(ROOT, "rtl", top + ".sv")
    text = open(top_src).read()
    for k, v in params.items():
        text, n = re.subn(r"(parameter\s+[^=;]*?\b" + k + r"\s*=\s*)[\w']+", lambda m: m.group(1) + str(v), text, count=1)
        if n != 1:
            sys.exit(f"synth.py: {top} has no parameter {k}")
    with open(os.path.join(tmp, top + ".sv"), "w") as f:
        f.write(text)
    srcs = [os.path.join(tmp, top + ".sv") if s == top_src else s for s in sources]
    script = [f"read_verilog -sv -I{os.path.join(ROOT, 'rtl')} {s}" for s in srcs]
    script += [f"hierarchy -check -top {top}", f"synth -top {top}"]
    path = os.path.join(tmp, "synth.ys")
    with open(path, "w") as f:
        f.write("\n".join(script) + "\n")
    t0 = time.time()
    try:
        out = subprocess.run(["yosys", "-q", "-s", path, "-p", f"tee -o /dev/stdout stat -top {top}"],
                             capture_output=True, text=True)
    finally:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    if out.returncode != 0:
        sys.exit(f"yosys failed on {top} {params}:\n{out.stderr[-3000:]}")
    return parse_stat(out.stdout, top), time.time() - t0


def parse_stat(text, top):
    """Cells by type of the whole design below `top` (the 'design hierarchy' totals)."""
    part = text.split("=== design hierarchy ===")
    body = part[-1] if len(part) > 1 else text.split(f"=== {top} ===")[-1]
    cells = {}
    total = None
    for line in body.splitlines():
        m = re.match(r"\s+Number of cells:\s+(\d+)", line)
        if m and total is None:
            total = int(m.group(1))
            continue
        # Gate and flip-flop types ($_AND_, $_DFF_PN0_, ...) and memories; not the counts of
        # submodule instances ($paramod...), which the hierarchy already folds into these.
        m = re.match(r"\s+(\$_\w+_|\$mem\w*)\s+(\d+)", line)
        if m:
            cells[m.group(1)] = int(m.group(2))
    if total is None:
        sys.exit(f"synth.py: could not read yosys stat output for {top}")
    return total, cells


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--cols", type=int, default=8)
    ap.add_argument("--only", default="pe,array")
    ap.add_argument("--formats", default="", help="comma list of int8, fp8, bf16, all (default: every set)")
    ap.add_argument("--gen", default=os.path.join(ROOT, "build", "gen"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "area.md"))
    args = ap.parse_args()
    sources = rtl_sources(args.gen)
    units = args.only.split(",")
    wanted = args.formats.split(",") if args.formats else [label for label, _ in FORMAT_SETS]
    sets = [(label, mask) for label, mask in FORMAT_SETS if label.split(" ")[0] in wanted or label in wanted]
    jobs = []  # every PE first (fast), then the arrays, then the engines
    for unit in ("pe", "array", "engine"):
        if unit in units:
            jobs += [(unit, label, mask) for label, mask in sets]
    rows = []
    for unit, label, mask in jobs:
        f = f"4'd{mask}"
        if unit == "pe":
            name, top, params = "pe", "pe", {"Formats": f}
        elif unit == "array":
            name, top = f"systolic_array {args.rows}x{args.cols}", "systolic_array"
            params = {"Formats": f, "Rows": args.rows, "Cols": args.cols}
        else:
            name, top = f"matrix_engine {args.rows}x{args.cols}", "matrix_engine"
            params = {"Formats": f, "Rows": args.rows, "Cols": args.cols}
        counts, seconds = run_yosys(sources, top, params)
        rows.append((name, label, counts, seconds))
        print(f"{name:28s} {label:18s} cells {counts[0]:8d}  ({seconds:.0f} s)", flush=True)
        write_doc(args, rows)  # after every row, so a long run keeps what it has


def write_doc(args, rows):
    types = sorted({t for r in rows for t in r[2][1]})
    head = open(args.out).read().split("<!-- synth.py begin -->")[0] if os.path.exists(args.out) else ""
    lines = ["<!-- synth.py begin -->",
             f"Generated by `scripts/synth.py --rows {args.rows} --cols {args.cols}` with "
             f"{subprocess.run(['yosys', '-V'], capture_output=True, text=True).stdout.strip()}.",
             "", "| unit | formats | cells | " + " | ".join(f"`{t}`" for t in types) + " |",
             "|---|---|---:|" + "---:|" * len(types)]
    for unit, label, (total, cells), _ in rows:
        lines.append(f"| {unit} | {label} | {total} | " + " | ".join(str(cells.get(t, 0)) for t in types) + " |")
    lines.append("<!-- synth.py end -->")
    tail = ""
    if os.path.exists(args.out):
        parts = open(args.out).read().split("<!-- synth.py end -->")
        tail = parts[1] if len(parts) > 1 else ""
    with open(args.out, "w") as f:
        f.write(head + "\n".join(lines) + tail + ("\n" if not tail else ""))


if __name__ == "__main__":
    main()
