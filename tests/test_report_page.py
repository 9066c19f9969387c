"""The HTML report in a real browser: headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.report.html import report_html
from tests.test_report import constructed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [  # a closed network: no background connections, no sandbox as root
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).parent.parent / ".screenshots"  # kept for people to look at

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Chromium is not installed (apt-get install chromium): the report page test needs it",
)


@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "desktop"])
def test_report_page_renders_every_chart_readably_with_no_errors(tmp_path, width):
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "report.html"
    page_file.write_text(report_html(constructed()), encoding="utf-8")
    problems: list[str] = []
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("request", lambda request: requested.append(request.url))
            page.goto(page_file.as_uri())
            assert page.title() == "trunkguard · acme/app · 2026-W22"
            # Nothing sideways to scroll on a phone: the page fits its width.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            charts = page.query_selector_all("svg.chart")
            assert [c.get_attribute("data-chart") for c in charts] == [
                "age_distribution", "median_age", "p90_age", "landings", "conflicts_paid",
            ]  # fmt: skip
            for chart in charts:
                box = chart.bounding_box()
                assert box is not None and box["width"] >= min(300, width - 60)
                # Axis labels stay legible: at least 10 CSS pixels tall once scaled.
                label = chart.query_selector("text.axis")
                assert label is not None and label.bounding_box()["height"] >= 10
            bars = page.query_selector_all('svg[data-chart="age_distribution"] rect.bar')
            assert len(bars) == 7
            assert page.inner_text('[data-figure="median_age"] .value') == "2 days"
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / f"report-{width}.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert requested == [page_file.as_uri()]  # nothing fetched from anywhere
