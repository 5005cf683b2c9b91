"""GitHub-flavoured Markdown summary for CI (``--harness-markdown FILE``, ``$GITHUB_STEP_SUMMARY``).

Per suite: the verdict line, the failing gates (measured, threshold, CI, baseline,
delta), a per-label table of the distilled model vs the LLM vs the baseline with
deltas, and the first newly broken examples. Tables are made by tabulate. The
whole summary stays under ``max_bytes`` (GitHub refuses step summaries over 1 MiB):
example lists are cut first, then whole sections, and the summary says so.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from tabulate import tabulate

from ..core.gates import describe_case
from ..core.results import BaselineComparison, Comparison, PipelineResult, SuiteResult, Verdict
from ..core.stats import format_interval
from ..core.text import printable
from ..options import DEFAULT_SHOWN_FLIPS, MARKDOWN_MAX_BYTES
from .format import number
from .terminal import flip_annotation


def cell(text: object, limit: int = 120) -> str:
    """User text made safe for a Markdown table cell: no control characters or newlines,
    HTML escaped (GitHub renders inline HTML), pipes and backticks escaped, shortened."""
    value = re.sub(r"\s+", " ", printable(str(text))).strip()
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    value = html.escape(value, quote=False)
    return re.sub(r"([|`*_\[\]\\])", r"\\\1", value)


def code(text: object) -> str:
    """User text as a Markdown code span: literal inside (no HTML, no emphasis), so only
    backticks (which would end it) and table pipes need care."""
    value = re.sub(r"\s+", " ", printable(str(text))).strip().replace("|", "\\|")
    # CommonMark: a code span's fence is a run of backticks longer than any inside it, and a
    # space pads content that starts or ends with one (the text shows exactly, backticks too).
    fence = "`" * (max((len(run) for run in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _gate_row(v: Verdict) -> list[str]:
    fmt, delta_fmt = v.value_format, v.delta_format
    status = "⏭ skip" if v.skipped else "✅ pass" if v.passed else "❌ FAIL"
    return [
        status,
        code(f"{v.pipeline}::{v.gate_id}"),
        number(v.measured, fmt),
        f"{v.op} {v.threshold:{fmt}}",
        format_interval(v.ci) if v.ci else "–",
        number(v.baseline, delta_fmt),
        number(v.delta, "+" + delta_fmt),
        f"{number(v.p_value, '.3g')} / {number(v.p_adjusted, '.3g')}" if v.noise else "–",
        cell(v.noise or "–"),
        cell(v.decision or "–"),
    ]


def _distilled_and_llm(result: SuiteResult) -> tuple[PipelineResult | None, PipelineResult | None]:
    distilled = result.pipelines.get(result.distilled) if result.distilled else None
    llm = result.pipelines.get(result.llm) if result.llm else None
    return distilled, llm


def _llm_name(p: PipelineResult) -> str:
    return f"{p.name} (SIMULATED)" if p.llm is not None and p.llm.simulated else p.name


def _label_table(result: SuiteResult) -> str:
    distilled, llm = _distilled_and_llm(result)
    if distilled is None:
        return ""
    vs_llm: Comparison | None = next((c for c in result.comparisons if llm and c.a == distilled.name and c.b == llm.name), None)
    baseline = result.baselines.get(distilled.name)
    vs_base = baseline.comparison if baseline is not None and not baseline.tests else None
    tests = {t.scope: t for t in baseline.tests} if baseline is not None else {}
    headers = ["label", f"{cell(distilled.name)} F", "support"]
    if vs_llm is not None and llm is not None:
        headers += [f"{cell(_llm_name(llm))} F", "Δ vs LLM (95% CI)"]
    if vs_base is not None:
        headers += ["baseline F", "Δ vs baseline (95% CI)"]
    if tests:
        first = next(iter(tests.values()))
        what = "baseline" if first.models == 1 else "blessed config"
        headers += [f"{what} F", f"Δ vs {what} (95% CI; {cell(first.sources)})"]
    rows = []
    for score in (*distilled.scores.labels, distilled.scores.micro):
        name = "**micro**" if score is distilled.scores.micro else cell(score.label)
        row = [name, f"{score.f:.3f}", str(score.support)]
        for comparison in (vs_llm if llm is not None else None, vs_base):
            if comparison is None:
                continue
            try:
                d = comparison.micro if score is distilled.scores.micro else comparison.label(score.label)
            except KeyError:
                row += ["–", "–"]
                continue
            flag = " ⚠️" if d.significant and d.diff < 0 else ""
            row += [f"{d.b_f:.3f}", f"{d.diff:+.3f} {format_interval(d.ci, signed=True)}{flag}"]
        if tests:
            t = tests.get("micro" if score is distilled.scores.micro else score.label)
            row += ["–", "–"] if t is None else [f"{t.reference_f:.3f}", f"{t.diff:+.3f} {format_interval(t.ci, signed=True)}"]
        rows.append(row)
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _failing_gate_lines(failed: Sequence[Verdict]) -> list[str]:
    table = tabulate(
        [_gate_row(v) for v in failed],
        tablefmt="github",
        disable_numparse=True,
        headers=["", "gate", "measured", "threshold", "95% CI", "baseline", "Δ", "p / Holm", "noise", "decision"],
    )
    return ["**Failing gates**", "", table, "", *(f"> {cell(v.message, 400)}" for v in failed), ""]


def _behaviour_lines(result: SuiteResult, shown_flips: int) -> list[str]:
    rows = [
        [
            code(b.pipeline),
            code(b.check),
            f"{b.passed} / {b.cases}",
            number(b.pass_rate),
            format_interval(b.ci) if not b.skipped else "–",
            f"{b.min_pass_rate:.2f}",
            ("⏭ " + cell(b.skipped, 80)) if b.skipped else ("✅" if b.pass_rate >= b.min_pass_rate else "❌"),
        ]
        for b in result.behaviour
    ]
    headers = ["pipeline", "check", "passed / cases", "pass rate", "95% CI", "min", ""]
    lines = ["**Behavioural checks**", "", tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]
    for b in result.behaviour:
        if b.shrunk and b.pass_rate < b.min_pass_rate and shown_flips > 0:
            lines += [f"> {code(b.check)} shrunk failing case: {cell(describe_case(b.shrunk[0]), 400)}", ""]
    return lines


def _baseline_lines(name: str, compared: BaselineComparison, shown_flips: int) -> list[str]:
    if compared.comparison is None:
        return [f"- baseline for {code(name)}: {cell(compared.problem or '', 400)}", ""]
    micro = compared.comparison.micro
    state = (
        "identical to baseline" if compared.identical_predictions else f"{len(compared.broken)} newly broken, {len(compared.fixed)} newly fixed"
    )
    lines = [
        f"**{cell(name)} vs baseline** (blessed {cell(compared.blessed)}): micro F {micro.a_f:.3f} vs {micro.b_f:.3f} "
        f"({micro.diff:+.3f}, 95% CI {format_interval(micro.ci, signed=True)}); {state}; compared on "
        f"{compared.compared} of {compared.eval_examples} examples",
        "",
    ]
    broken = compared.broken
    if broken and shown_flips > 0:
        rows = [
            [
                cell(f.label),
                cell(f.text, 100),
                cell(flip_annotation(f.gold, f.text)),
                cell(flip_annotation(f.baseline, f.text)),
                cell(flip_annotation(f.current, f.text)),
            ]
            for f in broken[:shown_flips]
        ]
        lines += [tabulate(rows, headers=["label", "text", "gold", "baseline", "now"], tablefmt="github", disable_numparse=True), ""]
    if len(broken) > shown_flips:
        lines += [
            f"_{len(broken) - shown_flips} more newly broken examples are in the JSON report and the correction queue (category `regression`)._",
            "",
        ]
    return lines


def suite_section(result: SuiteResult, *, shown_flips: int = DEFAULT_SHOWN_FLIPS) -> str:
    """One suite's Markdown."""
    failed = [v for v in result.verdicts if not v.passed and not v.skipped]
    icon = {"PASSED": "✅", "FAILED": "❌"}.get(result.status, "⚠️")
    gold = result.gold
    lines = [
        f"### {icon} {cell(result.name)}: {'passed' if result.passed else result.status}",
        f"gold {code(gold.ref)} ({gold.task}, sha256 `{gold.sha256[:12]}`), "
        f"{len(result.verdicts) - len(failed)} of {len(result.verdicts)} gates passed or skipped",
        "",
    ]
    if result.incomplete:
        lines += [f"- ⚠️ incomplete: {cell(result.incomplete, 300)}", ""]
    for name, error in result.errors.items():
        lines += [f"- ❌ pipeline {code(name)} failed: {cell(error, 400)}"]
    if failed:
        lines += _failing_gate_lines(failed)
    warnings = [v.warning for v in result.verdicts if v.warning]
    if warnings:
        lines += [f"- ⚠️ {cell(w, 300)}" for w in warnings] + [""]
    table = _label_table(result)
    if table:
        lines += ["**Per label**", "", table, ""]
    if result.behaviour:
        lines += _behaviour_lines(result, shown_flips)
    for name, compared in result.baselines.items():
        lines += _baseline_lines(name, compared, shown_flips)
    return "\n".join(lines)


def render_markdown(results: Sequence[SuiteResult], *, max_bytes: int = MARKDOWN_MAX_BYTES, shown_flips: int = DEFAULT_SHOWN_FLIPS) -> str:
    """The whole summary, under ``max_bytes`` bytes of UTF-8."""
    failed = [r for r in results if not r.passed]
    head = (
        f"## distill-harness: {'❌ ' + str(len(failed)) + ' of ' if failed else '✅ '}{len(results)} "
        f"suite{'s' if len(results) != 1 else ''} {'failed' if failed else 'passed'}\n\n"
    )
    for flips in (shown_flips, 0):
        body = "\n".join(suite_section(r, shown_flips=flips) for r in results)
        note = "" if flips == shown_flips else "\n_Example lists left out to keep this summary under 1 MiB._\n"
        text = head + body + note
        if len(text.encode()) <= max_bytes:
            return text
    # Still too big (thousands of suites or labels): whole sections go, failing suites first kept.
    note = "\n_Summary truncated to stay under 1 MiB: see the JSON reports for the rest._\n"
    budget = max_bytes - len(head.encode()) - len(note.encode())
    kept = []
    for r in sorted(results, key=lambda r: r.passed):
        section = suite_section(r, shown_flips=0) + "\n"
        if len(section.encode()) > budget:
            break
        kept.append(section)
        budget -= len(section.encode())
    return head + "".join(kept) + note
