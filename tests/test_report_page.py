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


def busy() -> object:
    """A report on many branches with long names, release lines apart, and ages in years."""
    import dataclasses

    from analyzers.lines import ReleaseLine
    from tests.test_report import aged, branch, report_of

    names = [f"team/stable-2.{i}_maintenance-backports" for i in range(8)]
    names += [
        f"feature/very-long-team-name_{i}/refactor-the-billing-pipeline-again" for i in range(30)
    ]
    names.append("x" * 90)  # one piece with nowhere to wrap: its table scrolls inside its card
    branches = [
        branch(n, 4000 - 90 * i, 10 + i, 2000 - i, "Margaret Hamilton-Lovelace", (100 + i,))
        for i, n in enumerate(names)
    ]
    pairs = [
        (names[i], names[i + 1], (f"src/module_{i}/deeply/nested/file_{i}.py",))
        for i in range(8, 20)
    ]
    weeks = [aged(n, 4377 - 7 * n, landings=n % 3) for n in range(11, -1, -1)]
    report = report_of(weeks, branches, pairs, {names[0]: ("lib/ansible/module_utils/basic.py",)})
    lines = tuple(
        ReleaseLine(
            f"release/stable-2.{i}_maintenance-backports",
            f"refs/heads/release/stable-2.{i}_maintenance-backports",
            "a" * 40,
            1000 + i,
            45000 - 3000 * i,
            None,
            1_780_000_000 - 400 * 86400 * (12 - i) // 12,
            "Margaret Hamilton-Lovelace",
            tuple(f"backport/fix-{n}-for-the-stable-2.{i}-line" for n in range(i % 5)),
        )
        for i in range(12, 0, -1)
    )
    return dataclasses.replace(report, release_lines=lines)


OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 0.5) continue;
    if (el.closest(".table")) continue;  /* scrolls sideways inside its card */
    out.push(el.tagName + " " + el.className + " " + Math.round(box.right));
  }
  return {scroll: document.body.scrollWidth, client: document.body.clientWidth, out: out};
}"""

OVERLAPS = """() => {
  const out = [];
  for (const svg of document.querySelectorAll("svg.chart")) {
    const boxes = [...svg.querySelectorAll("text")]
      .map(t => [t.textContent, t.getBoundingClientRect()]);
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const [a, p] = boxes[i], [b, q] = boxes[j];
      const apart = p.right <= q.left + 0.5 || q.right <= p.left + 0.5
        || p.bottom <= q.top + 0.5 || q.bottom <= p.top + 0.5;
      if (!apart)
        out.push(svg.dataset.chart + ": " + a + " / " + b);
    }
  }
  return out;
}"""


WRAPPED = """() => {
  const out = [];
  for (const code of document.querySelectorAll("code.name")) for (const node of code.childNodes) {
    if (node.nodeType !== Node.TEXT_NODE) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    if (lines.size > 1) out.push(node.textContent);
  }
  return out;
}"""


@pytest.mark.parametrize("width", [390, 1200], ids=["phone", "desktop"])
def test_a_busy_report_fits_its_width_and_no_chart_label_overlaps(tmp_path, width):
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "busy.html"
    page_file.write_text(report_html(busy()), encoding="utf-8")  # type: ignore[arg-type]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(page_file.as_uri())
            found = page.evaluate(OVERFLOW)
            assert found["scroll"] <= found["client"] and found["out"] == []
            assert page.evaluate(OVERLAPS) == []
            # Release lines apart, the ten newest, after the lists of feature work.
            rows = page.query_selector_all("section[aria-labelledby=release-lines] tbody tr")
            assert len(rows) == 10
            assert "And 2 older release lines." in page.inner_text("body")
            # The last column of every table can be scrolled to inside its card.
            for table in page.query_selector_all("div.table"):
                table.evaluate("t => t.scrollLeft = t.scrollWidth")
                last = table.query_selector("tr th:last-child")
                assert last is not None and last.is_visible()
                box, card = last.bounding_box(), table.bounding_box()
                assert box is not None and card is not None
                assert box["x"] + box["width"] <= card["x"] + card["width"] + 1
            # Names wrap at "/", "-" and "_", never inside a piece between those.
            assert page.evaluate(WRAPPED) == []
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / f"report-busy-{width}.png"), full_page=True)
        finally:
            browser.close()
