"""The HTML report, default tier: parsed with html.parser (no browser). The browser tier
is tests/integration/test_html_browser.py."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.core.compare import compare
from harness.core.gates import MicroFGate, NoRegressionGate
from harness.core.results import BehaviourCase, BehaviourResult, EvalExample, GoldInfo, LLMStats, SuiteResult, Verdict
from harness.errors import InputError
from harness.gold.records import GoldExample
from harness.reports.html_report import embed_json, render_html
from harness.reports.json_read import suite_from_dict
from harness.reports.json_report import suite_to_dict, verdict_to_dict

from .test_baselines import against, entry, examples, result

HOSTILE = [
    "<img src=x onerror=\"document.title='PWNED'\"> pasta",
    "</script><script>document.title='PWNED'</script> pasta",
    'pasta "quoted" & <b>bold</b> {{ jinja }} javascript:alert(1)',
]


def hostile_examples() -> list[GoldExample]:
    """The usual synthetic examples, the first three with hostile texts (gold spans kept on "pasta")."""
    out = []
    for i, e in enumerate(examples(60)):
        if i < len(HOSTILE):
            text = HOSTILE[i]
            start = text.index("pasta")
            e = GoldExample(input_hash=e.input_hash, text=text, spans=((start, start + 5, "DISH"),), split="eval")
        out.append(e)
    return out


def render_documents(documents: list[dict]) -> str:
    """The page ``harness report`` draws from these JSON documents."""
    return render_html([suite_from_dict(d) for d in documents], documents, created="now")


def hostile_suite() -> SuiteResult:
    exs = hostile_examples()
    # The model misses DISH on every third example and invents a LOC on every fifth.
    outputs = []
    for i, e in enumerate(exs):
        spans = [s for s in e.spans if not (i % 3 == 0 and s[2] == "DISH")]
        if i % 5 == 0:
            spans.append((0, 3, "LOC"))
        outputs.append(tuple(sorted(spans)))
    now = result(exs, outputs, name="distilled")
    verdict = MicroFGate("distilled", 0.99).judge(now)
    views = tuple(EvalExample(e.input_hash, e.text, e.spans) for e in exs)
    suite = SuiteResult(
        "hostile<i>suite",
        "suites/<x>.toml",
        GoldInfo("g<b>", 1, "0" * 64, "ner", 10, len(exs)),
        {"distilled": now},
        {},
        [verdict],
        examples=views,
        distilled="distilled",
    )
    return suite


def hostile_document() -> dict:
    return suite_to_dict(hostile_suite(), created="2026-11-26T00:00:00+00:00", harness_version="test")


class Page(HTMLParser):
    """Every element with its attributes, and the text inside <script> blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._open: str | None = None
        self._attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open, self._attrs = tag, dict(attrs)
            if tag == "script":
                self.scripts.append((dict(attrs), ""))
            else:
                self.styles.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open == "script":
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        elif self._open == "style":
            self.styles[-1] += data


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_page_is_self_contained_with_a_strict_csp() -> None:
    html = render_documents([hostile_document()])
    page = parse(html)
    csp = next(a["content"] for tag, a in page.elements if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp
    (data_attrs, _), (code_attrs, code) = page.scripts
    assert data_attrs.get("type") == "application/json" and "src" not in code_attrs
    assert f"script-src {sha(code)};" in csp and f"style-src {sha(page.styles[0])};" in csp
    for tag, attrs in page.elements:
        assert tag not in ("link", "img", "iframe", "object", "embed", "base")
        for name, value in attrs.items():
            assert not name.startswith("on"), f"inline handler on <{tag}>"
            if name in ("href", "src", "action", "xlink:href") and value:
                assert value.startswith("#"), f"<{tag} {name}={value!r}> leaves the page"
            assert name != "style", "a style attribute would need 'unsafe-inline'"
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html.replace("http-equiv", "")), "an external URL"


def test_embedded_json_is_the_json_report_and_hostile_text_stays_text() -> None:
    document = hostile_document()
    html = render_documents([document])
    page = parse(html)
    data = json.loads(page.scripts[0][1])
    assert data["suites"] == [json.loads(json.dumps(document))]
    assert "</script><script>" not in html and "<img" not in html and "<b>bold</b>" not in html
    assert "hostile&lt;i&gt;suite" in html and "g&lt;b&gt;@v1" in html
    assert [tag for tag, _ in page.elements].count("script") == 2  # nothing the texts could have opened
    assert embed_json({"t": "</script>&"}) == '{"t":"\\u003c/script\\u003e\\u0026"}'


def test_report_lists_failing_gates_first_and_marks_simulated() -> None:
    document = hostile_document()
    html = render_documents([document])
    top, main = html.split("<main>")
    assert main.index("1 failing") < main.index("distilled::f&gt;=0.99")
    assert "FAILED" in top and 'class="toc-gate"' in top and "distilled::f&gt;=0.99" in top  # one click away


def test_ten_thousand_examples_stay_under_ten_megabytes(tmp_path: Path) -> None:
    exs = examples(10_000)
    outputs = [e.spans if i % 4 else () for i, e in enumerate(exs)]
    now = result(exs, outputs)
    views = tuple(EvalExample(e.input_hash, e.text, e.spans) for e in exs)
    suite = SuiteResult(
        "big",
        "suites/big.toml",
        GoldInfo("g", 1, "0" * 64, "ner", 10, len(exs)),
        {"distilled": now},
        {},
        [],
        examples=views,
        distilled="distilled",
    )
    document = suite_to_dict(suite, created="now", harness_version="test")
    assert document["examples"]["total"] == 10_000 and document["examples"]["included"] == 5_000
    assert all(any(item["errors"].values()) for item in document["examples"]["items"][:2_500])  # failing first
    html = render_documents([document])
    assert len(html.encode()) < 10 * 2**20
    assert "5000 of 10000 eval examples" in html and "capped at 5000" in html


def test_regression_verdicts_show_their_noise_p_values_and_warnings() -> None:
    document = hostile_document()
    verdict = Verdict(
        "no_regression<=0.02[DISH]",
        "distilled",
        False,
        -0.2,
        -0.02,
        ">=",
        (-0.3, -0.1),
        "m",
        baseline=0.9,
        delta=-0.2,
        p_value=0.0012,
        p_adjusted=0.0048,
        noise="eval sample + training (6 models)",
        min_detectable=0.31,
        warning="distilled: DISH (support 4): drops under 0.310 cannot be told <b>from noise</b>",
    )
    document["gates"].append(verdict_to_dict(verdict))
    html = render_documents([document])
    section = html[html.index("Regression vs the blessed configuration") :]
    assert "eval sample + training (6 models)" in section and "0.0048" in section and "0.310" in section
    assert "drops under 0.310 cannot be told &lt;b&gt;from noise&lt;/b&gt;" in section  # escaped, as all user text
    assert "Regression vs the blessed configuration" not in render_documents([hostile_document()])


def test_an_incomplete_suite_says_so_on_the_page() -> None:
    document = hostile_document()
    document.update(passed=False, status="INCOMPLETE", incomplete="interrupted: 1 of 9 gates judged", gates=[])
    html = render_documents([document])
    assert ">INCOMPLETE</span>" in html and "incomplete: interrupted: 1 of 9 gates judged" in html
    assert "⚠ INCOMPLETE: 0 of 1 suite passed" in html  # not FAILED: nothing failed, not all was judged


def test_failing_suites_come_first() -> None:
    passing = hostile_document()
    passing.update(passed=True, status="PASSED", gates=[])
    passing["suite"] = {**passing["suite"], "name": "a-passing-suite"}
    failing = hostile_document()
    failing["suite"] = {**failing["suite"], "name": "z-failing-suite"}
    html = render_documents([passing, failing])
    body = html.split("<main>")[-1] if "<main>" in html else html
    assert body.index("z-failing-suite") < body.index("a-passing-suite")
    nav = html.split('<ul class="suite-nav">')[1].split("</ul>")[0]
    assert nav.index("z-failing-suite") < nav.index("a-passing-suite")


def rich_suite() -> SuiteResult:
    """A failing suite with everything the page draws: a simulated LLM and the paired
    comparison with it, a blessed baseline with flips and regression gates, a behavioural check."""
    exs = examples(120)
    views = tuple(EvalExample(e.input_hash, e.text, e.spans) for e in exs)
    worse = [tuple(s for s in e.spans if not (i < 40 and s[2] == "LOC")) for i, e in enumerate(exs)]
    now = result(exs, worse, sha="model-b")
    blessed = result(exs, [e.spans for e in exs])
    stats = LLMStats("replay", True, {"name": "simulated"}, 120, 3, (("t", "r"),), 900, 300, True, None, 5.0, 9.0, 40.0, 0, 120, 0)
    llm = replace(result(exs, [e.spans if i % 7 else () for i, e in enumerate(exs)], name="llm", wps=40.0), kind="llm", llm=stats)
    compared = against(now, entry(blessed), exs)
    verdicts = [
        MicroFGate("distilled", 0.5).judge(now),
        NoRegressionGate("distilled", -0.02).judge_baseline(now, compared, None),
        NoRegressionGate("distilled", -0.02, label="LOC").judge_baseline(now, compared, None),
    ]
    case = BehaviourCase(exs[0].input_hash, exs[0].text, exs[0].text.upper(), "upper case", exs[0].spans, (), False)
    check = BehaviourResult("distilled", "case", 50, 41, 0.82, (0.69, 0.90), 0.9, (case,), (case,), 1.5, note="time budget")
    return SuiteResult(
        "rich",
        "suites/rich.toml",
        GoldInfo("g", 2, "1" * 64, "ner", 10, len(exs)),
        {"distilled": now, "llm": llm},
        {},
        verdicts,
        comparisons=[compare(now, llm, resamples=200, seed=0)],
        baselines={"distilled": compared},
        examples=views,
        behaviour=[check],
        gates_total=3,
        distilled="distilled",
        llm="llm",
    )


def test_the_page_from_result_objects_is_the_page_from_their_json() -> None:
    """A run draws its page from the objects in memory; `harness report` from the JSON read back
    into objects. Both are one page, figure for figure."""
    for suite in (rich_suite(), hostile_suite()):
        document = suite_to_dict(suite, created="now", harness_version="test")
        from_memory = render_html([suite], [document], created="now")
        assert from_memory == render_documents([document])
    page = render_html([rich_suite()], [suite_to_dict(rich_suite(), created="now", harness_version="test")], created="now")
    assert "distilled − llm (SIMULATED): paired F difference" in page and "current − blessed baseline" in page
    assert "newly broken" in page and "41 / 50" in page and "900 / 300" in page


def test_a_results_file_the_page_cannot_read_is_named_by_file_and_field() -> None:
    document = hostile_document()
    document["pipelines"]["distilled"]["micro"]["f"] = "high"
    with pytest.raises(InputError) as err:
        suite_from_dict(document, "reports/x.json")
    assert err.value.path == "reports/x.json" and err.value.field == "pipelines.distilled.micro.f"
    for key, broken, field in (("gates", {"id": 1}, "gates"), ("pipelines", [], "pipelines"), ("gold", None, "gold")):
        document = hostile_document()
        document[key] = broken
        with pytest.raises(InputError) as err:
            suite_from_dict(document)
        assert err.value.field == field, (key, err.value)
    document = hostile_document()
    del document["gates"]
    with pytest.raises(InputError, match="missing"):
        suite_from_dict(document)


def test_the_learning_curve_is_drawn_with_its_band_and_the_suite_name_stays_text() -> None:
    import numpy as np

    from harness.core.forecast import LearningCurve, forecast
    from harness.reports.learning_view import learning_svg

    rounds = [0, 250, 500]
    replicates = np.array([[f + d for d in np.linspace(-0.01, 0.01, 40)] for f in (0.46, 0.59, 0.66)])
    curve = LearningCurve("hostile<i>suite", tuple(zip(rounds, (0.46, 0.59, 0.66), strict=True)), 0.74, forecast(rounds, replicates, 0.74))
    drawn = learning_svg(curve)
    assert drawn is not None and len(drawn["points"]) == 3 and drawn["band"] and drawn["target"] is not None
    # every measured point and the target inside the plot box
    assert all(drawn["left"] <= p["x"] <= drawn["right"] and 0 <= p["y"] <= drawn["bottom"] for p in drawn["points"])
    page = render_html([hostile_suite()], [hostile_document()], created="now", curves={"hostile<i>suite": curve})
    assert '<svg class="learning"' in page and page.count('class="measured"') == 3
    assert "learning curve of hostile&lt;i&gt;suite" in page and "hostile<i>suite" not in page
    assert curve.text() in page
    # no curve: no section
    assert '<svg class="learning"' not in render_html([hostile_suite()], [hostile_document()], created="now")
