#!/usr/bin/python3
"""Checks the html_demo page without a browser: it is byte-identical across two runs, parses as XML
(XHTML with SVG in its namespace), loads nothing (no scripts, style sheets, images, frames or CSS
url()), and every chart figure holds either a non-empty SVG or a "No data" note.

usage: check_page.py HTML_DEMO WORK_DIR
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
    demo, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    pages = [os.path.join(work, f"demo{i}.html") for i in (1, 2)]
    for p in pages:
        subprocess.run([demo, p], check=True)
    first, second = (open(p, "rb").read() for p in pages)
    if first != second:
        fail("two runs of html_demo wrote different pages")

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
    if len(figures) < 6:
        fail(f"only {len(figures)} chart figures in the demo page")
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
    missing = {"stacked-bars", "roofline", "timeline", "scatter"} - kinds
    if missing:
        fail(f"chart kinds missing from the demo page: {sorted(missing)}")
    if root.find(f".//{XHTML}table") is None:
        fail("no table in the demo page")
    print(f"PASS: {len(first)} bytes, {len(figures)} chart figures, identical across runs")


if __name__ == "__main__":
    main()
