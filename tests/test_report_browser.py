"""report.html in a real browser (Debian's chromium, driven by Playwright): it opens offline with
no request leaving the file, no console error, every chart drawn, and a screenshot that is not
blank; the report of hostile names runs no script."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from helpers import FEATURES, SCRIPT, run_cli, write_hostile_instance

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason="/usr/bin/chromium is missing: install Debian's chromium package "
           "(apt-get install -y chromium); .ci/run does")


def open_offline(report: Path, screenshot: Path) -> dict:
    """Load ``report`` with every other request aborted; what the browser saw."""
    from playwright.sync_api import sync_playwright

    url = report.resolve().as_uri()
    seen: dict = {"blocked": [], "console_errors": [], "dialogs": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})

            def route(r):
                if r.request.url == url:
                    r.continue_()
                else:
                    seen["blocked"].append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and seen["console_errors"].append(m.text))
            page.on("pageerror", lambda e: seen["console_errors"].append(str(e)))
            page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
            page.goto(url, wait_until="load")
            boxes = [svg.bounding_box() for svg in page.locator("figure svg").all()]
            seen["charts"] = [b for b in boxes if b and b["width"] > 300 and b["height"] > 100]
            seen["figures"] = len(boxes)
            seen["title"] = page.title()
            seen["png"] = page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return seen


def pixel_spread(png: bytes) -> tuple[float, float]:
    """(standard deviation of grey levels, share of pixels that are not near-white)."""
    from PIL import Image

    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    return float(grey.std()), float((grey < 230).mean())


def test_report_opens_offline_with_charts(tmp_path):
    out = tmp_path / "out"
    res = run_cli("solve", FEATURES, "--out", out, "--formats", "html", "--quiet")
    assert res.returncode == 0, res.stderr
    seen = open_offline(out / "report.html", tmp_path / "report.png")
    assert seen["blocked"] == []
    assert seen["console_errors"] == []
    assert seen["title"] == "features"
    # allocation, week, curtailment, prices, reservoirs, flows (48 h: no daily chart)
    assert seen["figures"] == 6 and len(seen["charts"]) == seen["figures"]
    std, inked = pixel_spread(seen["png"])
    assert std > 20 and inked > 0.03, (std, inked)


def test_hostile_report_runs_no_script(tmp_path):
    (tmp_path / "in").mkdir()
    res = run_cli("solve", write_hostile_instance(tmp_path / "in"), "--out", tmp_path / "out",
                  "--formats", "html", "--quiet")
    assert res.returncode == 0, res.stderr
    seen = open_offline(tmp_path / "out" / "report.html", tmp_path / "hostile.png")
    assert seen["dialogs"] == [] and seen["console_errors"] == [] and seen["blocked"] == []
    assert seen["title"] == SCRIPT  # shown as text


def test_blank_page_is_detected(tmp_path):
    """The blankness check itself: a page with nothing on it fails it."""
    page = tmp_path / "blank.html"
    page.write_text("<!DOCTYPE html><html><head><title>x</title></head><body></body></html>")
    seen = open_offline(page, tmp_path / "blank.png")
    std, inked = pixel_spread(seen["png"])
    assert std < 1 and inked == 0
