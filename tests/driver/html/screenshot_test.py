#!/usr/bin/python3
"""Opens a report page in headless Chromium, screenshots it and fails on console messages,
empty charts or a blank screenshot.

usage: screenshot_test.py [--height PX] WORK_DIR PROGRAM [ARG...]

PROGRAM ARG... PAGE must write the page to PAGE (html_demo PAGE, or tessera run ... --html PAGE).

A probe script is appended to a copy of the page: it logs, for every chart figure, how many SVG
elements it has and the size of their bounding box as laid out by the browser. Any console line
that is not the probe's (an uncaught error, a failed load) fails the test, and the probe's own lines
must appear, so a broken capture cannot pass silently. The PNG is decoded with zlib (no PIL): it
must show the charts' palette colours. Exit 77 (CTest skip) only when no Chromium is installed.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import zlib

WIDTH, HEIGHT = 1280, 2000

PROBE = """<script>
(function () {
  var figs = document.querySelectorAll('figure.chart');
  for (var i = 0; i < figs.length; i++) {
    var svg = figs[i].querySelector('svg.plot');
    var box = svg ? svg.getBBox() : {width: 0, height: 0};
    console.log('tessera-check figure=' + i + ' kind=' + figs[i].getAttribute('data-kind') +
                ' elements=' + (svg ? svg.querySelectorAll('*').length : 0) +
                ' box=' + Math.round(box.width) + 'x' + Math.round(box.height) +
                ' nodata=' + (figs[i].querySelector('.no-data') ? 1 : 0));
  }
  console.log('tessera-check done figures=' + figs.length);
})();
</script>
"""


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def png_pixels(path):
    """(width, height, channels, rows of raw bytes) of an 8-bit RGB/RGBA, non-interlaced PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = ihdr
    if depth != 8 or colour_type not in (2, 6) or interlace:
        fail(f"unexpected PNG format depth={depth} colour_type={colour_type} interlace={interlace}")
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif f == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def chromium_or_skip():
    """Chromium's path; exit 77 (CTest skip) with a message when it is not installed."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("SKIP: Chromium is not installed (scripts/setup.sh installs Debian's chromium); "
              "the HTML report pages were not opened in a browser")
        sys.exit(77)
    return chromium


def capture(source, probed, shot, work, height=None):
    """Writes `source` with the probe appended to `probed`, screenshots it in headless Chromium
    into `shot` and returns the probe's console lines; fails on any other console message."""
    chromium = chromium_or_skip()
    os.makedirs(work, exist_ok=True)
    with open(probed, "w", encoding="utf-8") as f:
        f.write(source.replace("</body>", PROBE + "</body>"))
    if os.path.exists(shot):
        os.remove(shot)
    start = time.monotonic()
    # No network: every host name fails to resolve, so a page that needs one shows it.
    cmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--screenshot={shot}", f"--window-size={WIDTH},{height or HEIGHT}", "--enable-logging=stderr", "--v=0",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--no-first-run", "--disable-extensions",
           "--disable-background-networking", "--disable-sync", "--disable-component-update",
           "--disable-dev-shm-usage", f"--user-data-dir={os.path.join(work, 'profile')}",
           "file://" + os.path.abspath(probed)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    print(f"chromium took {time.monotonic() - start:.1f} s, exit {run.returncode}")
    if run.returncode != 0:
        fail("chromium failed:\n" + run.stderr[-3000:])
    console = [m.group(1) for m in re.finditer(r':CONSOLE[^\]]*\] "(.*)", source:', run.stderr)]
    foreign = [line for line in console if not line.startswith("tessera-check ")]
    if foreign:
        fail("console messages from the page:\n  " + "\n  ".join(foreign))
    if not os.path.exists(shot):
        fail("no screenshot written")
    return console


def colour_counts(shot):
    """(width, height, pixels per RGB colour) of a screenshot."""
    width, height, bpp, rows = png_pixels(shot)
    counts = {}
    for row in rows:
        for i in range(0, len(row), bpp):
            px = row[i:i + 3]
            counts[px] = counts.get(px, 0) + 1
    return width, height, counts


def main():
    global HEIGHT
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--height":
        HEIGHT = int(args[1])
        args = args[2:]
    if len(args) < 2:
        fail("usage: screenshot_test.py [--height PX] WORK_DIR PROGRAM [ARG...]")
    work, program = args[0], args[1:]
    chromium_or_skip()
    os.makedirs(work, exist_ok=True)
    page = os.path.join(work, "demo.html")
    subprocess.run(program + [page], check=True, stdout=subprocess.DEVNULL)
    source = open(page, encoding="utf-8").read()
    shot = os.path.join(work, "demo.png")
    console = capture(source, os.path.join(work, "demo_probe.html"), shot, work)
    done = [line for line in console if line.startswith("tessera-check done ")]
    if not done:
        fail("the probe's console lines are missing (console capture broken?): " + repr(console))
    figures = [line for line in console if line.startswith("tessera-check figure=")]
    expected_figures = source.count('<figure class="chart"')
    expected_no_data = source.count('<p class="no-data">')
    if len(figures) != expected_figures or f"figures={expected_figures}" not in done[0]:
        fail(f"the page has {expected_figures} chart figures, the browser reported {len(figures)}")
    no_data = 0
    for line in figures:
        print(line)
        fields = dict(kv.split("=") for kv in line.split()[1:])
        w, h = (int(v) for v in fields["box"].split("x"))
        if fields["nodata"] == "1":
            no_data += 1
            if int(fields["elements"]) != 0:
                fail("a 'no data' figure also drew an SVG: " + line)
        elif int(fields["elements"]) < 10 or w < 300 or h < 40:
            fail("an empty or collapsed chart: " + line)
    if no_data != expected_no_data:
        fail(f"{expected_no_data} 'no data' notes in the page, {no_data} in the browser")

    width, height, counts = colour_counts(shot)
    if (width, height) != (WIDTH, HEIGHT):
        fail(f"screenshot is {width}x{height}, expected {WIDTH}x{HEIGHT}")
    white = counts.get(b"\xff\xff\xff", 0)
    inked = 1 - white / (width * height)
    print(f"screenshot {shot}: {len(counts)} distinct colours, {100 * inked:.1f} % of pixels not white")
    if len(counts) < 50 or inked < 0.05:
        fail("the screenshot looks blank")
    # The first series colours of the charts must be on screen as solid areas.
    palette = re.findall(r'fill="(#[0-9a-f]{6})"', source)
    wanted = list(dict.fromkeys(palette))[:4]
    for colour in wanted:
        rgb = bytes.fromhex(colour[1:])
        if counts.get(rgb, 0) < 200:
            fail(f"chart colour {colour} covers only {counts.get(rgb, 0)} pixels of the screenshot")
    print("PASS: " + ", ".join(f"{c} {counts[bytes.fromhex(c[1:])]} px" for c in wanted))


if __name__ == "__main__":
    main()
