#!/usr/bin/python3
"""`tessera sweep` end to end on a small sweep (the tiny preset, a generated 2-layer Llama).

usage: sweep_cli_test.py TESSERA WORK_DIR MODE [SCREENSHOT_TEST [PAGE]]

MODE:
  jobs        -j 1 and -j 2 give byte-identical files (results, fronts, page, every point report)
  resume      a sweep killed midway (SIGKILL) and resumed equals an uninterrupted run, and the
              resumed run redoes none of the finished points
  mpi         `mpirun -np 2` equals the single-machine run (exit 77 = CTest skip when mpirun is
              absent or tessera was built without MPI)
  errors      a bad spec is exit 2 naming the file, line and field; results without --resume are
              refused
  screenshot  the sweep's pareto.html in headless Chromium (tests/driver/html/screenshot_test.py)
  page PAGE   only the Chromium check, of an existing pareto.html (e.g. of configs/sweeps/*.yaml)
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

SPEC = """\
name: cli-test
base: tiny
workloads:
  - {name: small, model: ./model, batch: 2, prompt: 16, gen: 4, decode_points: 1}
axes:
  - key: clock.core_mhz
    values: [0, 500, 1000]      # 0 is out of range: those points are recorded as invalid
  - zip:
      matrix.rows: [8, 16]
      matrix.cols: [8, 16]
  - key: l1.bytes
    values: [64KiB, 128KiB]
constraints:
  - ttft_ms <= 0.1
objectives:
  - maximise tokens_per_s
  - minimise area_mm2
  - minimise ttft_ms
"""
POINTS = 12
FILES = ["results.jsonl", "results.csv", "pareto.csv", "pareto.html", "sweep.json"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def setup(tessera, work, slow=False):
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(work)
    subprocess.run([tessera, "gen-model", "--family", "llama", "--out", os.path.join(work, "model")], check=True,
                   stdout=subprocess.DEVNULL)
    spec = os.path.join(work, "spec.yaml")
    with open(spec, "w") as f:
        f.write(SPEC.replace("prompt: 16, gen: 4, decode_points: 1", "prompt: 64, gen: 64, decode_points: 4") if slow else SPEC)
    return spec


def sweep(tessera, spec, out, *extra, launcher=()):
    run = subprocess.run([*launcher, tessera, "sweep", spec, "-o", out, *extra], capture_output=True, text=True,
                         timeout=600)
    if run.returncode != 0:
        fail(f"tessera sweep {' '.join(extra)} exited {run.returncode}:\n{run.stderr[-3000:]}")
    return run.stderr


def tree(d):
    """Every file under d (relative path -> bytes)."""
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            out[os.path.relpath(p, d)] = open(p, "rb").read()
    return out


def same(a, b, what):
    ta, tb = tree(a), tree(b)
    if sorted(ta) != sorted(tb):
        fail(f"{what}: different files: {sorted(set(ta) ^ set(tb))}")
    for name in sorted(ta):
        if ta[name] != tb[name]:
            fail(f"{what}: {name} differs")
    lines = ta["results.jsonl"].decode().splitlines()
    if len(lines) != POINTS:
        fail(f"{what}: {len(lines)} result lines, expected {POINTS}")
    statuses = [l.split('"status":"')[1].split('"')[0] for l in lines]
    if statuses.count("invalid") != 4 or statuses.count("ok") < 4:
        fail(f"{what}: unexpected statuses {statuses}")
    print(f"{what}: {len(ta)} files identical; statuses {statuses}")


def screenshot(shot_test, page, work):
    """The page in headless Chromium with the report pages' probe (tests/driver/html/screenshot_test.py):
    no console message but the probe's, every scatter drawn with a laid-out box, and the front's
    and the dominated points' colours on screen. A scatter page is mostly white, so the demo
    page's ink threshold does not apply."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("screenshot_test", shot_test)
    st = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(st)
    source = open(page, encoding="utf-8").read()
    probed = os.path.join(os.path.dirname(page), "pareto_probe.html")  # next to points/ for the links
    shot = os.path.join(work, "pareto.png")
    console = st.capture(source, probed, shot, work)
    figures = [line for line in console if line.startswith("tessera-check figure=")]
    expected = source.count('<figure class="chart" data-kind="scatter"')
    if not expected or len(figures) != expected or f"tessera-check done figures={expected}" not in console:
        fail(f"the page has {expected} scatter plots, the browser reported: {console}")
    for line in figures:
        print(line)
        fields = dict(kv.split("=") for kv in line.split()[1:])
        w, h = (int(v) for v in fields["box"].split("x"))
        if fields["kind"] != "scatter" or fields["nodata"] != "0" or int(fields["elements"]) < 20 or w < 300 or h < 200:
            fail("an empty or collapsed scatter plot: " + line)
    _, _, counts = st.colour_counts(shot)
    # The markers' fill colours (front and dominated) must be on screen.
    fills = list(dict.fromkeys(re.findall(r'<circle [^>]*class="pt(?: front)?" fill="(#[0-9a-f]{6})"', source)))
    if len(fills) < 2:
        fail(f"expected front and dominated marker colours in the page, found {fills}")
    for colour in fills:
        n = counts.get(bytes.fromhex(colour[1:]), 0)
        print(f"marker colour {colour}: {n} px")
        if n < 20:
            fail(f"marker colour {colour} covers only {n} pixels of {shot}")
    print(f"screenshot {shot}: {len(counts)} distinct colours")


def main():
    tessera, work, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "page":
        screenshot(sys.argv[4], sys.argv[5], work)
        print("PASS")
        return
    if mode == "mpi":
        mpirun = shutil.which("mpirun")
        if not mpirun:
            print("SKIP: mpirun is not installed (scripts/setup.sh installs openmpi-bin)")
            sys.exit(77)
        helptext = subprocess.run([tessera, "sweep", "--help"], capture_output=True, text=True).stdout
        if "not built in" in helptext:
            print("SKIP: this tessera was built without MPI")
            sys.exit(77)
    # The kill must land mid-sweep: longer requests make each point take long enough to catch.
    spec = setup(tessera, work, slow=mode == "resume")
    ref = os.path.join(work, "ref")

    if mode == "jobs":
        log = sweep(tessera, spec, ref, "-j", "1")
        if "sweep: point 0 invalid" not in log:
            fail("no plain progress line for point 0:\n" + log)
        sweep(tessera, spec, os.path.join(work, "j2"), "-j", "2")
        same(ref, os.path.join(work, "j2"), "-j 1 vs -j 2")
    elif mode == "resume":
        sweep(tessera, spec, ref, "-j", "2")
        out = os.path.join(work, "killed")
        proc = subprocess.Popen([tessera, "sweep", spec, "-o", out, "-j", "1"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        jsonl = os.path.join(out, "results.jsonl")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if os.path.exists(jsonl) and open(jsonl).read().count("\n") >= 6:
                break
            if proc.poll() is not None:
                fail("the sweep finished before it could be killed")
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        finished = open(jsonl).read().count("\n")
        if finished >= POINTS:
            fail("the sweep finished before it was killed")
        # A kill can also cut a line in half: the resumed run must drop it and redo that point.
        with open(jsonl, "a") as f:
            f.write('{"index": 11, "workload": "sm')
        again = subprocess.run([tessera, "sweep", spec, "-o", out], capture_output=True, text=True)
        if again.returncode != 2 or "--resume" not in again.stderr:
            fail(f"a second run without --resume must be refused (exit 2), got {again.returncode}: {again.stderr}")
        log = sweep(tessera, spec, out, "--resume", "-j", "2")
        expect = f"resuming, {finished} of {POINTS} points already finished"
        if expect not in log:
            fail(f"expected '{expect}' in:\n{log}")
        redone = log.count("sweep: point ")
        if redone != POINTS - finished:
            fail(f"the resumed run ran {redone} points, expected {POINTS - finished}:\n{log}")
        same(ref, out, f"killed after {finished} points and resumed")
    elif mode == "mpi":
        sweep(tessera, spec, ref, "-j", "2")
        env_launcher = ["mpirun", "-np", "2", "--oversubscribe"]
        if os.geteuid() == 0:
            env_launcher.append("--allow-run-as-root")
        sweep(tessera, spec, os.path.join(work, "mpi"), launcher=env_launcher)
        same(ref, os.path.join(work, "mpi"), "mpirun -np 2 vs -j 2")
    elif mode == "errors":
        bad = os.path.join(work, "bad.yaml")
        cases = [
            (SPEC.replace("key: l1.bytes", "key: l1.bites"), "bad.yaml:11: axes[2].key: expected a key of spec/arch.schema.yaml"),
            (SPEC.replace("ttft_ms <= 0.1", "power_mw <= 0.1"), "bad.yaml:14: constraints[0]: expected a metric"),
            (SPEC.replace("maximise tokens_per_s", "maximise speed"), "an unknown metric 'speed'"),
            (SPEC.replace("matrix.cols: [8, 16]", "matrix.cols: [8]"), "bad.yaml:10: axes[1].zip.matrix.cols: expected 2 values"),
            (SPEC.replace("base: tiny", "base: nosuch"), "bad.yaml:2: base:"),
            (SPEC.replace("batch: 2,", "batch: lots,"), "workloads[0].batch: expected an integer >= 1, got 'lots'"),
        ]
        for text, want in cases:
            with open(bad, "w") as f:
                f.write(text)
            run = subprocess.run([tessera, "sweep", bad, "-o", os.path.join(work, "bad")], capture_output=True, text=True)
            if run.returncode != 2 or want not in run.stderr:
                fail(f"expected exit 2 and '{want}', got {run.returncode}: {run.stderr}")
            print("refused:", run.stderr.strip())
    elif mode == "screenshot":
        shot_test = sys.argv[4]
        sweep(tessera, spec, ref)
        page = os.path.join(ref, "pareto.html")
        html = open(page, encoding="utf-8").read()
        # Three objectives: a scatter plot for each of the three pairs.
        for want in ['href="points/p00', "tokens_per_s against ttft_ms", "Pareto front of small"]:
            if want not in html:
                fail(f"pareto.html lacks {want}")
        screenshot(shot_test, page, os.path.join(work, "screenshot"))
    else:
        fail("unknown mode " + mode)
    print("PASS")


if __name__ == "__main__":
    main()
