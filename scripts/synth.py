#!/usr/bin/python3
"""Synthesises the RTL with Yosys and writes the cell counts to docs/area.md.

Units: the processing element, the systolic array and the matrix engine for each
input-precision set (rtl/fp_decode.sv's `Formats` mask), the vector engine and the
sequencer (one row each: they have no precision parameter), and the core top level for
each precision set. Yosys' generic `synth` flow (technology-independent gates and
flip-flops, no vendor library) runs with the hierarchy kept, so an array costs one
synthesis per distinct PE and `stat -top` sums the instances. Inferred memories are not
mapped to flip-flops: they stay `$mem_v2` cells and their bits are counted separately,
because a chip builds them as SRAM macros (docs/area.md). The area model calibrates
against these counts.

Rows are merged into the generated table of docs/area.md by (unit, formats), so a run of
one unit keeps the other rows; each row names the command that produced it.

Usage: scripts/synth.py [--rows 8 --cols 8] [--only pe,array,engine,vector,sequencer,core]
                        [--formats int8,fp8,bf16,all] [--flow synth|noabc|mapmem] [--out docs/area.md]
       scripts/synth.py --check [--gen DIR]   (the fast check of CTest rtl_lint; see check())
Needs yosys (Debian 12: 0.23) and the generated packages in build/gen/rtl (run
scripts/build.sh first, or pass --gen DIR); the core also needs tessera_cfg_pkg
(--cfg-pkg FILE, or a `tessera` binary to run `tessera config sv --arch tiny`).
"""
import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMAT_SETS = [  # (label, Formats mask: bit = ISA dtype code = MATRIX_PRECISIONS bit)
    ("int8", 0b0001),
    ("fp8 (e4m3 + e5m2)", 0b0110),
    ("bf16", 0b1000),
    ("all four", 0b1111),
]
UNITS = ["pe", "array", "engine", "vector", "sequencer", "core"]
PER_FORMAT = {"pe", "array", "engine", "core"}
# Yosys passes after `synth -run begin:fine`: synth's own fine and check stages without
# `memory_map` (memories stay $mem_v2 cells) and, for noabc, without abc.
FLOWS = {
    "synth": ["opt -fast -full", "opt -full", "techmap", "opt -fast", "abc -fast", "opt -fast"],
    "noabc": ["opt -fast -full", "opt -full", "techmap", "opt -fast"],
    "mapmem": ["opt -fast -full", "memory_map", "opt -full", "techmap", "opt -fast", "abc -fast", "opt -fast"],
}
FLOW_TEXT = {"synth": "synth, $mem kept", "noabc": "synth -noabc, $mem kept", "mapmem": "synth (memories as FFs)"}


def tiny_acc_bytes():
    """accumulator.bytes of the tiny preset (the engine rows' AccDepth = bytes / (Cols x 4)).
    The vector engine's and the sequencer's parameter defaults are tiny's already."""
    text = open(os.path.join(ROOT, "configs", "arch", "tiny.yaml")).read()
    m = re.search(r"^accumulator:\s*\n(?:\s+.*\n)*?\s+bytes:\s*(\d+)\s*(KiB|MiB)?", text, flags=re.M)
    if not m:
        sys.exit("synth.py: configs/arch/tiny.yaml: no accumulator.bytes")
    return int(m.group(1)) * {None: 1, "KiB": 1024, "MiB": 1 << 20}[m.group(2)]



def rtl_sources(gen_dir, cfg_pkg, tracked_only=False):
    pkgs = [os.path.join(gen_dir, "rtl", f) for f in ("tessera_num_pkg.sv", "tessera_isa_pkg.sv")]
    for p in pkgs:
        if not os.path.exists(p):
            sys.exit(f"synth.py: {p} is missing: build first (scripts/build.sh) or pass --gen")
    # The configuration package: the one given, else the build's if it has one; without it,
    # the modules that read it (the core) are left out.
    cfg = [cfg_pkg] if cfg_pkg else sorted(glob.glob(os.path.join(gen_dir, "rtl", "tessera_cfg_pkg*.sv")))[:1]
    pkgs += cfg
    files = [f for f in os.listdir(os.path.join(ROOT, "rtl")) if f.endswith(".sv")]
    if tracked_only:  # the table describes committed RTL, not another session's unfinished file
        git = subprocess.run(["git", "-C", ROOT, "ls-files", "rtl"], capture_output=True, text=True)
        if git.returncode == 0:
            files = [f for f in files if "rtl/" + f in git.stdout.split()]
    rtl = sorted(os.path.join(ROOT, "rtl", f) for f in files)
    return pkgs + [f for f in rtl if cfg or "tessera_cfg_pkg::" not in open(f).read()]


def find_cfg_pkg(args):
    """tessera_cfg_pkg of the tiny preset: --cfg-pkg, the build's copy, or `tessera config sv`."""
    if args.cfg_pkg:
        return args.cfg_pkg
    found = sorted(glob.glob(os.path.join(args.gen, "rtl", "tessera_cfg_pkg*.sv")))
    if found:
        return found[0]
    exe = shutil.which("tessera") or next(
        (p for p in sorted(glob.glob(os.path.join(ROOT, "build*", "bin", "tessera"))) if os.access(p, os.X_OK)), None)
    if not exe:
        sys.exit("synth.py: the core needs tessera_cfg_pkg: pass --cfg-pkg FILE or build the tessera CLI")
    out = os.path.join(tempfile.mkdtemp(prefix="tessera_cfg_"), "tessera_cfg_pkg.sv")
    subprocess.run([exe, "config", "sv", "--arch", "tiny", "-o", out], check=True)
    return out


def default_span(text, name, what):
    """(start, end) of the default value of `parameter/localparam ... name = <value>` in text."""
    m = re.search(r"\b(?:parameter|localparam)\b[^=;]*?\b" + name + r"\s*=\s*", text)
    if not m:
        return None
    i, depth = m.end(), 0
    while i < len(text):  # the value ends at a top-level ',', ')' or ';', or a comment
        ch = text[i]
        if text.startswith("//", i) or text.startswith("/*", i):
            break
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif ch in ",;" and depth == 0:
            break
        i += 1
    value = text[m.end():i].rstrip()
    if not value:
        sys.exit(f"synth.py: cannot read the default of {name} in {what}")
    return m.end(), m.end() + len(value)


def set_defaults(text, params, what):
    for k, v in params.items():
        span = default_span(text, k, what)
        if span is None:
            sys.exit(f"synth.py: {what} has no parameter {k}")
        text = text[:span[0]] + str(v) + text[span[1]:]
    return text


def run_yosys(sources, top, params, pkg_params, flow):
    # Yosys 0.23's chparam / hierarchy -chparam trip over parameterised sub-instances, so
    # the top module is read from a copy whose parameter defaults are the requested values
    # (and the configuration package from a copy with the requested localparams).
    tmp = tempfile.mkdtemp(prefix="tessera_synth_")
    top_src = os.path.join(ROOT, "rtl", top + ".sv")
    srcs = []
    for s in sources:
        name = os.path.basename(s)
        if s == top_src or (pkg_params and name.startswith("tessera_cfg_pkg")):
            text = open(s).read()
            text = set_defaults(text, params if s == top_src else pkg_params, name)
            s = os.path.join(tmp, name)
            with open(s, "w") as f:
                f.write(text)
        srcs.append(s)
    script = [f"read_verilog -sv -I{os.path.join(ROOT, 'rtl')} {s}" for s in srcs]
    script += [f"hierarchy -check -top {top}", f"synth -top {top} -run begin:fine"] + FLOWS[flow]
    script += [f"hierarchy -check -top {top}", "check -assert",
               f"tee -q -o {tmp}/cells.txt stat -top {top}",
               "memory_unpack", f"tee -q -o {tmp}/mems.txt stat -top {top}"]
    path = os.path.join(tmp, "synth.ys")
    with open(path, "w") as f:
        f.write("\n".join(script) + "\n")
    t0 = time.time()
    try:
        out = subprocess.run(["nice", "yosys", "-q", "-s", path], capture_output=True, text=True)
        cells = open(os.path.join(tmp, "cells.txt")).read() if out.returncode == 0 else ""
        mems = open(os.path.join(tmp, "mems.txt")).read() if out.returncode == 0 else ""
    finally:
        shutil.rmtree(tmp)
    if out.returncode != 0:
        sys.exit(f"yosys failed on {top} {params} {pkg_params}:\n{out.stdout[-2000:]}{out.stderr[-3000:]}")
    total, types = parse_stat(cells, top)
    _, mem_types = parse_stat(mems, top)
    bits = re.findall(r"Number of memory bits:\s+(\d+)", mems.split("=== design hierarchy ===")[-1])
    mem = {"bits": int(bits[0]) if bits else 0, "rd": mem_types.get("$memrd_v2", 0),
           "wr": mem_types.get("$memwr_v2", 0)}
    return (total, types, mem), time.time() - t0


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


# ---- --check: a fast test that Yosys keeps the whole design (CTest rtl_lint) ---------------
def strip_comments(text):
    # Newlines inside block comments are kept, so line numbers stay right.
    return re.sub(r"//[^\n]*|/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


def struct_arrays(sources):
    """Variables of a struct type with an unpacked dimension. Yosys 0.23 accepts them but
    drops the unpacked dimension (the array becomes one struct and x[i] a bit select), so
    the synthesised logic silently differs from what Verilator simulates."""
    texts = {s: strip_comments(open(s).read()) for s in sources}
    structs = set()
    for t in texts.values():
        structs |= set(re.findall(r"typedef\s+struct\s+packed\s*\{[^}]*\}\s*(\w+)\s*;", t))
    found = []
    for s, t in texts.items():
        for m in re.finditer(r"^\s*(?:\w+::)?(\w+)\s+(\w+)\s*\[[^\]]*\]\s*[;=]", t, flags=re.M):
            if m.group(1) in structs:
                line = t[:m.start(1)].count("\n") + 1
                found.append(f"{os.path.relpath(s, ROOT)}:{line}: {m.group(1)} {m.group(2)}[...]")
    return found


def checked_modules():
    """Modules of rtl/ that instantiate another module or declare an unpacked array: the
    ones whose instances or memories a synthesis could lose."""
    files = sorted(f for f in os.listdir(os.path.join(ROOT, "rtl")) if f.endswith(".sv"))
    texts = {f[:-3]: strip_comments(open(os.path.join(ROOT, "rtl", f)).read()) for f in files}
    return [m for m, t in texts.items()
            if re.search(r"[\w\]]\s+\w+\s*\[[^\]]*\]\s*;", t)
            or any(o != m and re.search(r"^\s*" + o + r"\s*(#\s*\(|\w+\s*\()", t, flags=re.M) for o in texts)]


def own_stat(stat_text, top):
    """Instances by module type and memories of `top` alone (its children are black boxes)."""
    body = stat_text.split(f"=== {top} ===")[-1].split("=== ")[0]
    cells = dict((t, int(n)) for t, n in re.findall(r"^\s+(\S+)\s+(\d+)\s*$", body, flags=re.M))
    insts = {t: n for t, n in cells.items() if not t.startswith("$") or t.startswith("$paramod")}
    mems = re.search(r"Number of memories:\s+(\d+)", body)
    return insts, int(mems.group(1)) if mems else 0, cells.get("$mem_v2", 0)


def check(sources):
    """Runs Yosys' coarse passes (proc, opt, wreduce, memory -nomap) on each module that has
    instances or arrays, with its default parameters and its submodules read as black boxes
    (so each module's own logic is checked once, and the whole core costs seconds, not
    minutes). Fails when an instance or a memory disappears on the way or Yosys warns of a
    non-constant async reset value (signs of RTL that Yosys reads differently from
    Verilator), or when the RTL declares an array of structs."""
    errors = [f"array of structs (Yosys 0.23 drops its unpacked dimension): {f}" for f in struct_arrays(sources)]
    inc = f"-I{os.path.join(ROOT, 'rtl')}"
    t_all = time.time()
    modules = checked_modules()
    for top in modules:
        tmp = tempfile.mkdtemp(prefix="tessera_synth_check_")
        own = os.path.join(ROOT, "rtl", top + ".sv")
        script = [f"read_verilog -sv {inc} {s}" for s in sources if s == own or s.endswith("_pkg.sv")]
        script += [f"read_verilog -sv -lib {inc} {s}" for s in sources if s != own and not s.endswith("_pkg.sv")]
        script += [f"hierarchy -check -top {top}", "proc", "opt_clean", f"tee -q -o {tmp}/pre.txt stat",
                   "opt -nodffe -nosdff", "opt", "wreduce", "opt_clean", "memory -nomap", "opt_clean",
                   f"tee -q -o {tmp}/post.txt stat"]
        with open(os.path.join(tmp, "check.ys"), "w") as f:
            f.write("\n".join(script) + "\n")
        out = subprocess.run(["nice", "yosys", "-q", "-s", os.path.join(tmp, "check.ys")], capture_output=True, text=True)
        if out.returncode != 0:
            errors.append(f"{top}: yosys failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
        else:
            pre_insts, pre_mems, _ = own_stat(open(os.path.join(tmp, "pre.txt")).read(), top)
            post_insts, _, post_mems = own_stat(open(os.path.join(tmp, "post.txt")).read(), top)
            for t, n in sorted(pre_insts.items()):
                if post_insts.get(t, 0) < n:
                    errors.append(f"{top}: optimisation removed {n - post_insts.get(t, 0)} of {n} instances of {t}")
            if post_mems < pre_mems:
                errors.append(f"{top}: {pre_mems} memories after proc, {post_mems} after memory -nomap")
            for w in sorted(set(re.findall(r"Warning: (Async reset value .*)", out.stdout + out.stderr))):
                errors.append(f"{top}: {w}")
        shutil.rmtree(tmp)
    print(f"synth check: {len(modules)} modules in {time.time() - t_all:.0f} s")
    for e in errors:
        print(f"synth.py --check: {e}", file=sys.stderr)
    return not errors


# ---- the generated table in docs/area.md --------------------------------------------------
BEGIN, END = "<!-- synth.py begin -->", "<!-- synth.py end -->"
FIXED = ["unit", "formats", "flow", "cmd", "cells", "memories", "mem bits", "mem ports r/w"]


def read_table(path):
    """Rows of the generated table as dicts (column name -> text) and the command list."""
    if not os.path.exists(path):
        return [], {}
    text = open(path).read()
    if BEGIN not in text:
        return [], {}
    block = text.split(BEGIN)[1].split(END)[0]
    rows, cmds, head = [], {}, None
    for line in block.splitlines():
        m = re.match(r"- \[(\d+)\] `(.*)`", line)
        if m:
            cmds[m.group(1)] = m.group(2)
            continue
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cols = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if head is None:
            head = cols
        else:
            rows.append(dict(zip(head, cols)))
    # Rows written before the cmd column came from the one command the old header named.
    old = re.search(r"Generated by `([^`]*)`", block)
    for r in rows:
        if "cmd" not in r:
            r["cmd"], r["flow"] = "0", "synth"
            cmds["0"] = old.group(1) if old else "scripts/synth.py"
    return rows, cmds


def sort_key(row):
    unit = row["unit"].split(" ")[0]
    order = {"pe": 0, "systolic_array": 1, "matrix_engine": 2, "vector_engine": 3, "sequencer": 4, "core": 5}
    fmts = [label for label, _ in FORMAT_SETS]
    return (order.get(unit, 9), row["unit"], fmts.index(row["formats"]) if row["formats"] in fmts else 9)


def write_doc(path, new_rows, command):
    rows, cmds = read_table(path)
    keys = {(r["unit"], r["formats"]) for r in new_rows}
    rows = [r for r in rows if (r["unit"], r["formats"]) not in keys]
    # Renumber the commands still in use, then add this run's.
    used = []
    for r in sorted(rows, key=sort_key):
        if cmds.get(r["cmd"], "?") not in used:
            used.append(cmds.get(r["cmd"], "?"))
    if command not in used:
        used.append(command)
    for r in rows:
        r["cmd"] = str(used.index(cmds.get(r["cmd"], "?")) + 1)
    for r in new_rows:
        r["cmd"] = str(used.index(command) + 1)
    rows = sorted(rows + new_rows, key=sort_key)
    types = sorted({k for r in rows for k in r if k.startswith("$")})
    version = subprocess.run(["yosys", "-V"], capture_output=True, text=True).stdout.strip()
    lines = [BEGIN, f"Generated by `scripts/synth.py` with {version}; `cmd` is the command of the list below the table.",
             "", "| " + " | ".join(FIXED + [f"`{t}`" for t in types]) + " |",
             "|---|---|---|---:|" + "---:|" * (len(FIXED) - 4 + len(types))]
    for r in rows:
        lines.append("| " + " | ".join([r.get(c, "") for c in FIXED] + [r.get(t, "0") for t in types]) + " |")
    lines.append("")
    lines += [f"- [{i + 1}] `{c}`" for i, c in enumerate(used)]
    lines.append(END)
    text = open(path).read() if os.path.exists(path) else ""
    head = text.split(BEGIN)[0] if BEGIN in text else text
    tail = text.split(END)[1] if END in text else "\n"
    with open(path, "w") as f:
        f.write(head + "\n".join(lines) + tail)


def plausibility(path):
    """A unit must not cost less than the units inside it: catches a synthesis that drops logic."""
    rows, _ = read_table(path)
    cells = {}
    for r in rows:
        cells[(r["unit"].split(" ")[0], r["formats"])] = int(r["cells"])
    bad = []
    for (unit, fmt), n in cells.items():
        parts = {"systolic_array": [("pe", fmt)], "matrix_engine": [("systolic_array", fmt)],
                 "core": [("matrix_engine", fmt), ("vector_engine", "-"), ("sequencer", "-")]}.get(unit, [])
        inner = sum(cells.get(p, 0) for p in parts)
        if n < inner:
            bad.append(f"{unit} {fmt}: {n} cells < {inner} of {', '.join(p[0] for p in parts)}")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--cols", type=int, default=8)
    ap.add_argument("--only", default="pe,array,engine,vector,sequencer")
    ap.add_argument("--formats", default="", help="comma list of int8, fp8, bf16, all (default: every set)")
    ap.add_argument("--flow", default="synth", choices=sorted(FLOWS))
    ap.add_argument("--gen", default=os.path.join(ROOT, "build", "gen"))
    ap.add_argument("--cfg-pkg", default="", help="tessera_cfg_pkg.sv of the tiny preset (core only)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "area.md"))
    ap.add_argument("--check", action="store_true", help="only the fast synthesis check (see check())")
    args = ap.parse_args()
    if args.check:
        sys.exit(0 if check(rtl_sources(args.gen, "")) else 1)
    units = args.only.split(",")
    for u in units:
        if u not in UNITS:
            sys.exit(f"synth.py: unknown unit {u} (expected one of {', '.join(UNITS)})")
    cfg_pkg = find_cfg_pkg(args) if "core" in units else ""
    sources = rtl_sources(args.gen, cfg_pkg, tracked_only=True)
    wanted = args.formats.split(",") if args.formats else [label for label, _ in FORMAT_SETS]
    sets = [(label, mask) for label, mask in FORMAT_SETS if label.split(" ")[0] in wanted or label in wanted]
    jobs = []  # small units first, so a long run has written them before the big ones
    for unit in ["pe", "sequencer", "vector", "array", "engine", "core"]:
        if unit in units:
            jobs += [(unit, label, mask) for label, mask in sets] if unit in PER_FORMAT else [(unit, "-", 0)]
    argv = [a for a in sys.argv[1:]]
    command = "scripts/synth.py " + " ".join(shlex.quote(a) for a in argv) if argv else "scripts/synth.py"
    for unit, label, mask in jobs:
        f = f"4'd{mask}"
        size = f"{args.rows}x{args.cols}"
        pkg_params = {}
        if unit == "pe":
            name, top, params = "pe", "pe", {"Formats": f}
        elif unit == "array":
            name, top = f"systolic_array {size}", "systolic_array"
            params = {"Formats": f, "Rows": args.rows, "Cols": args.cols}
        elif unit == "engine":
            name, top = f"matrix_engine {size}", "matrix_engine"
            params = {"Formats": f, "Rows": args.rows, "Cols": args.cols,
                      "AccDepth": tiny_acc_bytes() // (args.cols * 4)}
        elif unit == "vector":
            name, top, params = "vector_engine (tiny)", "vector_engine", {}
        elif unit == "sequencer":
            name, top, params = "sequencer (tiny)", "sequencer", {}
        else:
            # The core takes every parameter from tessera_cfg_pkg; only the precision set
            # differs from the tiny preset.
            name, top, params = "core (tiny)", "core", {}
            pkg_params = {"MATRIX_PRECISIONS": f"4'b{mask:04b}"}
        (total, types, mem), seconds = run_yosys(sources, top, params, pkg_params, args.flow)
        row = {"unit": name, "formats": label, "flow": FLOW_TEXT[args.flow], "cells": str(total),
               "memories": str(types.get("$mem_v2", 0)), "mem bits": str(mem["bits"]),
               "mem ports r/w": f"{mem['rd']}/{mem['wr']}"}
        row.update({t: str(n) for t, n in types.items() if t != "$mem_v2"})
        print(f"{name:28s} {label:18s} cells {total:8d}  mem bits {mem['bits']:7d}  ({seconds:.0f} s)", flush=True)
        write_doc(args.out, [row], command)  # after every row, so a long run keeps what it has
    bad = plausibility(args.out)
    for b in bad:
        print(f"synth.py: implausible: {b}", file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
