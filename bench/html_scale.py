"""The HTML report of a 10,000-example NER suite: file size, and the time chromium takes
to open it (until the example browser is drawn) and to apply the failing-only filter.

Targets: under 10 MB; opens and filters in under a second each. Needs Debian's
chromium + chromium-driver (apt) and selenium (the dev extra).

    .venv/bin/python bench/html_scale.py [--examples 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.core.results import EvalExample, GoldInfo, SuiteResult  # noqa: E402
from harness.reports.html_report import write_html  # noqa: E402
from harness.reports.json_report import suite_to_dict  # noqa: E402
from tests.unit.test_baselines import examples, result  # noqa: E402  (the synthetic examples of the tests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    exs = examples(args.examples)
    outputs = [e.spans if i % 4 else () for i, e in enumerate(exs)]  # a quarter wrong
    now = result(exs, outputs)
    suite = SuiteResult(
        "big",
        "suites/big.toml",
        GoldInfo("g", 1, "0" * 64, "ner", 10, len(exs)),
        {"distilled": now},
        {},
        [],
        examples=tuple(EvalExample(e.input_hash, e.text, e.spans) for e in exs),
        distilled="distilled",
    )
    started = time.perf_counter()
    path = write_html(Path(tempfile.mkdtemp()) / "report.html", [suite_to_dict(suite, created="now", harness_version="bench")], created="now")
    print(
        f"rendered in {time.perf_counter() - started:.2f} s: {path.stat().st_size / 2**20:.2f} MiB for {args.examples:,} "
        "examples (target < 10 MiB)"
    )

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    opened, filtered = [], []
    try:
        for _ in range(args.repeats):
            driver.get("about:blank")
            started = time.perf_counter()
            driver.get(path.as_uri())
            WebDriverWait(driver, 60).until(lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "1")
            opened.append(time.perf_counter() - started)
            # The filter as a click does it: the change event, the filtering and the redraw, timed in the page.
            filtered.append(
                driver.execute_script(
                    "var box = document.querySelector(\"form.filters input[name='failing']\");"
                    "var t = performance.now(); box.click(); return (performance.now() - t) / 1000;"
                )
            )
            assert driver.find_element("css selector", "ol.examples").get_attribute("data-count") != str(args.examples)
    finally:
        driver.quit()
    print(f"open (load, parse, draw): median {statistics.median(opened):.3f} s ({', '.join(f'{t:.3f}' for t in opened)})")
    print(f"failing-only filter: median {statistics.median(filtered):.3f} s ({', '.join(f'{t:.3f}' for t in filtered)})")
    print(f"slowest of open / filter, ratio to the 1 s target: {max(statistics.median(opened), statistics.median(filtered)):.2f}")


if __name__ == "__main__":
    main()
