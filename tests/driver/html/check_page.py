#!/usr/bin/python3
"""Checks a report page without a browser: it is byte-identical across two runs, parses as XML
(XHTML with SVG in its namespace), loads nothing (no scripts, style sheets, images, frames or CSS
url()), every chart figure holds either a non-empty SVG or a "No data" note, and the chart kinds
named are drawn.

usage: check_page.py [--kinds K1,K2,...] WORK_DIR PROGRAM [ARG...]

PROGRAM ARG... PAGE must write the page to PAGE. Default kinds: stacked-bars,roofline,timeline,scatter.
"""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    args = sys.argv[1:]
    wanted = {"stacked-bars", "roofline", "timeline", "scatter"}
    if len(args) >= 2 and args[0] == "--kinds":
        wanted = set(args[1].split(","))
        args = args[2:]
    if len(args) < 2:
        fail("usage: check_page.py [--kinds K1,K2,...] WORK_DIR PROGRAM [ARG...]")
    work, program = args[0], args[1:]
    os.makedirs(work, exist_ok=True)
    pages = [os.path.join(work, f"page{i}.html") for i in (1, 2)]
    for p in pages:
        subprocess.run(program + [p], check=True, stdout=subprocess.DEVNULL)
    first, second = (open(p, "rb").read() for p in pages)
    if first != second:
        fail("two runs of the program wrote different pages")

    try:
        root = ET.fromstring(first)
    except ET.ParseError as e:
        fail(f"the page is not well-formed XML: {e}")
    if root.tag != XHTML + "html":
        fail(f"root element is {root.tag}, expected XHTML <html>")

    for el in root.iter():
        tag = el.tag.split("}")[-1]
        if tag in ("script", "link", "img", "iframe", "object", "embed", "image", "use", "foreignObject"):
            fail(f"the page has a <{tag}> element")
        for name, value in el.attrib.items():
            if name in ("src", "srcset", "xlink:href"):
                fail(f"<{tag}> has a {name} attribute")
            if name == "style" and "url(" in value:
                fail(f"<{tag}> style loads a url(): {value}")
    style = "".join(el.text or "" for el in root.iter(XHTML + "style"))
    if "url(" in style or "@import" in style:
        fail("the style sheet loads a resource")

    figures = [f for f in root.iter(XHTML + "figure") if f.get("class") == "chart"]
    if len(figures) < len(wanted):
        fail(f"only {len(figures)} chart figures in the page")
    kinds = set()
    for f in figures:
        svgs = f.findall(SVG + "svg")
        notes = [p for p in f.iter(XHTML + "p") if p.get("class") == "no-data"]
        if notes:
            if svgs:
                fail(f"a {f.get('data-kind')} figure has both a 'no data' note and an SVG")
            continue
        if len(svgs) != 1 or len(list(svgs[0].iter())) < 10:
            fail(f"a {f.get('data-kind')} figure has no drawing and no 'no data' note")
        kinds.add(f.get("data-kind"))
    missing = wanted - kinds
    if missing:
        fail(f"chart kinds missing from the page: {sorted(missing)}")
    if root.find(f".//{XHTML}table") is None:
        fail("no table in the page")
    print(f"PASS: {len(first)} bytes, {len(figures)} chart figures, identical across runs")


if __name__ == "__main__":
    main()
