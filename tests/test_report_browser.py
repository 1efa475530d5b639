"""ro.report opened in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``
packages) driven by selenium.  Nothing is downloaded at run time: the system browser and driver are used
or the test is skipped, saying which is missing.  Asserts no console errors, that every chart drew data
(elements with a non-zero box), that the page needs no network, and saves a full-page screenshot (its path
is printed; run with -s to see it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import riskoffset as ro

CHROMIUM = next(
    (
        p
        for p in (
            os.environ.get("RISKOFFSET_CHROMIUM"),
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
        )
        if p
    ),
    None,
)
DRIVER = os.environ.get("RISKOFFSET_CHROMEDRIVER") or shutil.which("chromedriver")

webdriver: Any = None
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:  # pragma: no cover - depends on the environment
    pass

pytestmark = [
    pytest.mark.skipif(webdriver is None, reason="selenium is not installed (pip install selenium)"),
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium browser (Debian: apt-get install chromium)"),
    pytest.mark.skipif(DRIVER is None, reason="no chromedriver (Debian: apt-get install chromium-driver)"),
]

CHART_CHECK = """
return Array.from(document.querySelectorAll('svg.chart')).map(function (svg) {
  var box = svg.getBoundingClientRect();
  var drawn = Array.from(svg.querySelectorAll('.datum')).filter(function (e) {
    var b = e.getBBox();
    return (b.width > 0 || b.height > 0) && isFinite(b.x) && isFinite(b.y);
  }).length;
  return [svg.id, box.width, box.height, drawn];
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1500,1200",
        "--hide-scrollbars",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Both paths given: selenium looks nothing up and downloads nothing.
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def full_page_screenshot(driver: Any, path: Path) -> None:
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(1500, min(max(height + 40, 800), 16000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1500, 1200)


@pytest.mark.parametrize("name", ["market_maker", "short_strangle", "linear_inverse"])
def test_report_renders_in_chromium(browser: Any, tmp_path: Path, name: str) -> None:
    book = ro.Book.sample(name)
    balances = {"BTC": 1.0, "ETH": 30.0} if name == "short_strangle" else None
    report = ro.report(book, ro.Market.sample(), balances=balances, output=tmp_path / f"{name}.html")
    assert report.path is not None
    browser.get(report.path.resolve().as_uri())
    assert browser.title.startswith("Risk report")

    errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert errors == []

    charts = browser.execute_script(CHART_CHECK)
    assert len(charts) == len(report.charts()) > 5
    for chart_id, width, height, drawn in charts:
        assert width > 100 and height > 100, chart_id
        assert drawn > 0, chart_id

    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
    )
    assert resources == []  # everything is inline: no fetch, no CDN
    rows = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.data')).map(function (t) {"
        " return t.tBodies[0].rows.length; })"
    )
    assert rows and min(rows) > 0
    banner = browser.find_element("id", "synthetic-banner")
    assert banner.is_displayed() and "SYNTHETIC" in banner.text

    shot = tmp_path / f"{name}.png"
    full_page_screenshot(browser, shot)
    assert shot.stat().st_size > 50_000
    print(f"screenshot: {shot}")


def test_console_errors_are_seen(browser: Any, tmp_path: Path) -> None:
    """The console check is not vacuous: a page that logs an error and loads a missing image is caught."""
    page = tmp_path / "broken.html"
    page.write_text('<html><body><img src="missing.png"><script>console.error("boom")</script></body></html>')
    browser.get(page.resolve().as_uri())
    messages = [e["message"] for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert any("boom" in m for m in messages) and any("missing.png" in m for m in messages)
