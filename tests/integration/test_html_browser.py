"""The HTML report in a real browser: Debian's chromium driven by selenium through
/usr/bin/chromedriver (no driver download). `.ci/run` installs the browser and sets
HARNESS_REQUIRE_BROWSER=1, so there a missing browser fails instead of skipping."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.reports.html_report import write_html
from harness.reports.json_read import suite_from_dict

from ..unit.test_html_report import HOSTILE, hostile_document

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing or shutil.which("chromium") is None:
        reason = f"{', '.join(missing) or 'chromium'} not installed: `apt-get install chromium chromium-driver` (.ci/run does it)"
        if os.environ.get("HARNESS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    reports = tmp_path_factory.mktemp("reports")
    document = hostile_document()
    return write_html(reports / "report.html", [suite_from_dict(document)], [document], created="2026-11-26T00:00:00+00:00"), document


def open_page(driver, path: Path, fragment: str = ""):  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get("about:blank")
    driver.get(path.as_uri() + fragment)
    WebDriverWait(driver, 10).until(lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "1")
    return driver


def shown(driver) -> int:  # type: ignore[no-untyped-def]
    return int(driver.find_element("css selector", "ol.examples[data-suite='0']").get_attribute("data-count"))


def mentions(value: object, label: str) -> bool:
    return any(s[2] == label for s in value or [])  # type: ignore[union-attr]


def test_hostile_text_renders_as_text_and_runs_nothing(browser, page) -> None:  # type: ignore[no-untyped-def]
    path, _ = page
    driver = open_page(browser, path)
    assert "PWNED" not in driver.title and driver.title.startswith("distill-harness: FAILED")
    assert driver.find_elements("tag name", "img") == []
    assert len(driver.find_elements("tag name", "script")) == 2
    # The example texts as the browser holds them (label tags left out): each probe verbatim.
    texts = driver.execute_script(
        "return Array.from(document.querySelectorAll('ol.examples .txt')).map(function (n) {"
        " var c = n.cloneNode(true); c.querySelectorAll('.lab').forEach(function (x) { x.remove(); });"
        " return c.textContent; });"
    )
    for probe in HOSTILE:
        assert probe in texts, probe
    heading = driver.find_element("css selector", "section.suite h2").text
    assert "hostile<i>suite" in heading
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors  # the CSP let the page's own script run and blocked nothing it needed


def test_filters_match_the_json(browser, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import Select

    path, document = page
    items = document["examples"]["items"]
    driver = open_page(browser, path)
    assert shown(driver) == len(items)
    driver.find_element("css selector", "form.filters input[name='failing']").click()
    failing = [i for i in items if i["errors"]["distilled"]]
    assert shown(driver) == len(failing) > 0
    Select(driver.find_element("css selector", "form.filters select[name='label']")).select_by_visible_text("LOC")
    assert shown(driver) == len([i for i in failing if any(e["label"] == "LOC" for e in i["errors"]["distilled"])])
    driver.find_element("css selector", "form.filters input[name='failing']").click()  # off again
    assert shown(driver) == len([i for i in items if mentions(i["gold"], "LOC") or mentions(i["predictions"]["distilled"], "LOC")])
    Select(driver.find_element("css selector", "form.filters select[name='label']")).select_by_visible_text("any")
    box = driver.find_element("css selector", "form.filters input[name='q']")
    box.send_keys("NUMBER 1")  # case-insensitive
    assert shown(driver) == len([i for i in items if "number 1" in i["text"].lower()]) > 1
    assert "q=NUMBER%201" in driver.current_url  # the state is in the URL as it changes
    screenshot = tmp_path / "reports" / "report-filtered.png"
    screenshot.parent.mkdir()
    assert driver.save_screenshot(str(screenshot)) and screenshot.read_bytes()[:4] == b"\x89PNG"


def test_a_shared_link_restores_the_filters(browser, page) -> None:  # type: ignore[no-untyped-def]
    path, document = page
    items = document["examples"]["items"]
    driver = open_page(browser, path, "#s=0&failing=1&label=DISH&kind=missed")
    assert driver.find_element("css selector", "form.filters input[name='failing']").is_selected()
    assert driver.find_element("css selector", "form.filters select[name='label']").get_attribute("value") == "DISH"
    expected = [i for i in items if any(e["kind"] == "missed" and e["label"] == "DISH" for e in i["errors"]["distilled"])]
    assert shown(driver) == len(expected) > 0
    link = driver.find_element("css selector", "a.permalink").get_attribute("href")
    assert link.endswith("#s=0&pipeline=distilled&failing=1&label=DISH&kind=missed")


def test_label_table_sorts_on_click(browser, page) -> None:  # type: ignore[no-untyped-def]
    path, _ = page
    driver = open_page(browser, path)
    header = driver.find_element("xpath", "//table[contains(@class,'labels')]//th[normalize-space()='distilled F']")
    header.click()
    first = driver.find_element("css selector", "table.labels tbody tr td").text
    header.click()
    assert driver.find_element("css selector", "table.labels tbody tr td").text != first


def test_the_table_of_contents_stays_and_a_failing_gate_is_one_click_away(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import copy

    passing = hostile_document()
    passing["suite"] = {**passing["suite"], "name": "passing-suite"}
    passing.update(passed=True, status="PASSED", gates=[{**g, "passed": True} for g in passing.get("gates", [])])
    failing = copy.deepcopy(passing)
    failing["suite"]["name"] = "failing-suite"
    from harness.core.results import Verdict
    from harness.reports.json_report import verdict_to_dict

    gate = verdict_to_dict(
        Verdict(
            "f>=0.90",
            "distilled",
            False,
            0.5,
            0.9,
            ">=",
            (0.4, 0.6),
            "distilled: micro F = 0.500 fails >= 0.900",
            decision="0.500 < 0.900: FAIL",
        )
    )
    failing.update(passed=False, status="FAILED", gates=[*failing["gates"], gate])
    path = write_html(
        tmp_path / "report.html", [suite_from_dict(d) for d in (passing, failing)], [passing, failing], created="2026-11-30T00:00:00+00:00"
    )
    driver = open_page(browser, path)
    chips = [a.text for a in driver.find_elements("css selector", "nav.toc .chip")]
    assert chips[0].endswith("failing-suite") and chips[1].endswith("passing-suite")  # failing suites first
    link = driver.find_element("css selector", "nav.toc a.toc-gate")
    assert link.text == "distilled::f>=0.90"
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    nav_top = driver.execute_script("return document.querySelector('nav.toc').getBoundingClientRect().top")
    assert nav_top == 0  # still on screen at the bottom of the page
    link.click()
    target = driver.execute_script("const r = document.getElementById('suite-1-failing').getBoundingClientRect(); return [r.top, innerHeight]")
    assert 0 < target[0] < target[1] / 2, target  # the failing gate's table is on screen, below the sticky bar
    row = driver.find_element("css selector", "#suite-1-failing tr.fail td.why")
    assert row.text == "0.500 < 0.900: FAIL"
    uncovered = driver.execute_script(
        "const c = arguments[0], r = c.getBoundingClientRect();"
        "return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === c;",
        row,
    )
    assert uncovered  # not hidden under the sticky bar or a sticky table header
    shot = tmp_path / "toc.png"
    assert driver.save_screenshot(str(shot))
    if os.environ.get("HARNESS_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["HARNESS_SCREENSHOTS"]) / "toc.png")
