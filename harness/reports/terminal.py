"""Rich terminal tables: the brief's comparison table and the per-label table."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.gates import describe_case
from ..core.metrics import ScoreTable
from ..core.results import BaselineComparison, Comparison, Flip, PipelineResult, SuiteResult
from ..core.stats import format_interval
from ..core.text import annotation_text, human_bytes, printable
from ..options import DEFAULT_SHOWN_FLIPS
from .format import Justify, ascii_number, plain
from .learning_view import render_learning

if TYPE_CHECKING:
    from ..core.forecast import LearningCurve


def _size(p: PipelineResult) -> str:
    if p.size_source == "unknown" or not p.size_bytes:
        return "-"
    return human_bytes(p.size_bytes) + (" (declared)" if p.size_source == "declared" else "")


def display_name(p: PipelineResult) -> str:
    """Column title: anything simulated says so wherever it is shown."""
    simulated = p.llm is not None and p.llm.simulated and "simulated" not in p.name.lower()
    return f"{p.name} (simulated)" if simulated else p.name


def overview_table(pipelines: Iterable[PipelineResult], title: str, comparisons: Sequence[Comparison] = ()) -> Table:
    """The brief's table: F, words/second, size, training and evaluation examples."""
    pipelines = list(pipelines)
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for p in pipelines:
        table.add_column(plain(display_name(p)), justify="right")

    def row(name: str, values: Iterable[str]) -> None:
        table.add_row(plain(name), *values)

    row("Accuracy (micro F)", (f"{p.scores.micro.f:.3f} {format_interval(p.scores.micro.f_ci)}" for p in pipelines))
    row("Macro F", (f"{p.scores.macro_f:.3f}" for p in pipelines))
    if any(p.overlap for p in pipelines):
        row("Overlap F (partial match)", (f"{p.overlap.micro.f:.3f}" if p.overlap else "-" for p in pipelines))
    if any(p.macro_auc is not None for p in pipelines):
        row("Macro ROC-AUC", (f"{p.macro_auc:.3f}" if p.macro_auc is not None else "-" for p in pipelines))
    row(
        "Speed (words/second)",
        (
            ascii_number(p.words_per_second, ",.1f" if p.words_per_second < 100 else ",.0f")
            + (" (recorded)" if p.llm is not None and p.llm.record_words_per_second else "")
            for p in pipelines
        ),
    )
    row(
        "Latency p50 / p95 (ms)",
        (f"{ascii_number(p.speed.latency_p50_ms, '.1f')} / {ascii_number(p.speed.latency_p95_ms, '.1f')}" for p in pipelines),
    )
    row("Model size", (_size(p) for p in pipelines))
    row("Parameters", (f"{p.n_params:,}" if p.n_params is not None else "-" for p in pipelines))
    row("Training examples", (str(p.train_examples) if p.train_examples is not None else "-" for p in pipelines))
    row("Evaluation examples", (str(p.eval_examples) for p in pipelines))
    for c in comparisons:
        cells = {c.a: f"x{c.speed_ratio:,.0f} faster" if c.speed_ratio else "-"}
        row(f"{c.a} vs {c.b}: speed ratio", (cells.get(p.name, "") for p in pipelines))
        cells = {c.a: f"x{c.size_ratio:.1e}" if c.size_ratio else "-"}
        row(f"{c.a} vs {c.b}: size ratio", (cells.get(p.name, "") for p in pipelines))
    return table


def comparison_table(c: Comparison, names: Mapping[str, str]) -> Table:
    """Per-label F of both pipelines, the difference and its paired 95% CI."""
    table = Table(
        title=plain(f"{names.get(c.a, c.a)} - {names.get(c.b, c.b)}: F difference (paired bootstrap, {c.resamples} resamples)"),
        title_justify="left",
    )
    columns: tuple[tuple[str, Justify], ...] = (
        ("label", "left"),
        (f"F {c.a}", "right"),
        (f"F {c.b}", "right"),
        ("diff", "right"),
        ("95% CI", "right"),
        ("", "left"),
    )
    for name, justify in columns:
        table.add_column(plain(name), justify=justify)
    for d in (*c.labels, c.micro, c.macro):
        style = "bold" if d.label in ("micro", "macro") else ""
        flag = "" if not d.significant else ("better" if d.diff > 0 else "worse")
        table.add_row(
            Text(printable(d.label), style=style), f"{d.a_f:.3f}", f"{d.b_f:.3f}", f"{d.diff:+.3f}", format_interval(d.ci, signed=True), flag
        )
    return table


def llm_table(pipelines: Iterable[PipelineResult]) -> Table | None:
    """The LLM's own figures: parse failures, tokens, cost, recorded latency."""
    llms = [p for p in pipelines if p.llm is not None]
    if not llms:
        return None
    table = Table(title="LLM figures", title_justify="left")
    table.add_column("")
    for p in llms:
        table.add_column(plain(display_name(p)), justify="right")
    stats = [p.llm for p in llms]

    def row(name: str, values: Iterable[str]) -> None:
        table.add_row(name, *values)

    row("Mode", (s.mode + (" (simulated teacher)" if s.simulated else "") for s in stats if s))
    row("Unparseable or empty answers", (f"{s.unparseable} / {s.responses} ({s.unparseable_share:.1%})" for s in stats if s))
    row(
        "Tokens prompt / completion",
        (f"{s.prompt_tokens:,} / {s.completion_tokens:,}" + (" (estimated)" if s.tokens_estimated else "") for s in stats if s),
    )
    row("Estimated cost (USD)", (ascii_number(s.cost_usd, ",.4f") for s in stats if s))
    row(
        "Recorded latency p50 / p95 (ms)",
        (f"{ascii_number(s.recorded_latency_p50_ms, ',.0f')} / {ascii_number(s.recorded_latency_p95_ms, ',.0f')}" for s in stats if s),
    )
    row("Words/second at record time", (ascii_number(s.record_words_per_second, ",.1f") for s in stats if s))
    row("Words/second replaying", (ascii_number(p.speed.words_per_second, ",.0f") for p in llms))
    row("Calls made / cached / failed", (f"{s.calls_made} / {s.cached} / {s.failures}" for s in stats if s))
    return table


def label_table(scores: ScoreTable, title: str) -> Table:
    """Per-label P, R, F with the F's 95% bootstrap CI and support."""
    table = Table(title=plain(title), title_justify="left")
    columns: tuple[tuple[str, Justify], ...] = (
        ("label", "left"),
        ("P", "right"),
        ("R", "right"),
        ("F", "right"),
        ("F 95% CI", "right"),
        ("support", "right"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for s in scores.labels:
        table.add_row(plain(s.label), f"{s.p:.3f}", f"{s.r:.3f}", f"{s.f:.3f}", format_interval(s.f_ci), str(s.support))
    m = scores.micro
    table.add_row(Text("micro", style="bold"), f"{m.p:.3f}", f"{m.r:.3f}", f"{m.f:.3f}", format_interval(m.f_ci), str(m.support))
    table.add_row(
        Text("macro", style="bold"),
        f"{scores.macro_p:.3f}",
        f"{scores.macro_r:.3f}",
        f"{scores.macro_f:.3f}",
        format_interval(scores.macro_f_ci),
        "",
    )
    return table


def flip_annotation(value: object, text: str) -> str:
    """A flip's annotation: span texts (the flip names the label) or every label score."""
    return annotation_text(value, text, labels=False, scores=True)


def flip_line(flip: Flip, width: int = 70) -> str:
    """One newly broken (or fixed) example: label, text excerpt, gold / baseline / current."""
    text = flip.text if len(flip.text) <= width else flip.text[: width - 1] + "…"
    return (
        f"{flip.label}: {text!r}; gold {flip_annotation(flip.gold, flip.text)}, baseline "
        f"{flip_annotation(flip.baseline, flip.text)}, now {flip_annotation(flip.current, flip.text)}"
    )


def baseline_lines(name: str, b: BaselineComparison, shown: int = DEFAULT_SHOWN_FLIPS) -> list[Text]:
    """What changed since the blessed baseline: the headline difference, coverage, flips."""
    lines: list[Text] = []
    head = f"{name} vs baseline (blessed {b.blessed} on {b.baseline_gold})"
    if b.comparison is None:
        return [plain(f"{head}: {b.problem}")]
    micro = b.comparison.micro
    same = (
        "identical to baseline"
        if b.identical_predictions
        else (f"{b.differing_predictions} of {b.compared} predictions differ" + (" (same model bytes!)" if b.identical_model else ""))
    )
    line = plain(
        f"{head}: micro F {micro.a_f:.3f} vs {micro.b_f:.3f} ({micro.diff:+.3f}, 95% CI {format_interval(micro.ci, signed=True)}); {same}"
    )
    if b.replicates:
        line += plain(f" (flips: against the blessed model; gates: against its configuration, {b.replicates + 1} models)")
    if b.compared != b.eval_examples:
        line += plain(
            f"; compared on {b.compared} of {b.eval_examples} examples ({b.changed} with changed gold, {b.unseen} not in the baseline)"
        )
    lines.append(line)
    broken, fixed = b.broken, b.fixed
    if broken or fixed:
        per_label: dict[str, list[int]] = {}
        for f in b.flips:
            per_label.setdefault(f.label, [0, 0])[0 if f.broken else 1] += 1
        counts = ", ".join(f"{label} -{n_b}/+{n_f}" for label, (n_b, n_f) in sorted(per_label.items()))
        lines.append(plain(f"  flips: {len(broken)} newly broken, {len(fixed)} newly fixed ({counts})"))
        for flip in broken[:shown]:
            lines.append(Text("  broken ", "red") + plain(flip_line(flip)))
        if len(broken) > shown:
            lines.append(plain(f"  ... and {len(broken) - shown} more newly broken (all in the JSON report and the queue)"))
    return lines


def _scope(gate_id: str) -> str:
    """``no_regression<=0.02[Price]`` -> ``Price``; the micro gate has no bracket."""
    return gate_id[gate_id.index("[") + 1 : -1] if gate_id.endswith("]") and "[" in gate_id else "micro"


def regression_tables(result: SuiteResult) -> list[Table | Text]:
    """Per pipeline, its no_regression F gates against the blessed configuration: the drop,
    its interval, raw and Holm-adjusted p and the smallest drop each can detect; then one
    line naming the gates whose max_drop is below that (they cannot see such drops)."""
    out: list[Table | Text] = []
    for pipeline in dict.fromkeys(v.pipeline for v in result.verdicts if v.noise is not None):
        rows = [v for v in result.verdicts if v.noise is not None and v.pipeline == pipeline]
        table = Table(
            title=plain(
                f"{pipeline} vs its blessed configuration (config: mean F of its models; noise: "
                f"{rows[0].noise}; p one-sided, Holm over its {len(rows)} F gates; detectable: "
                "the smallest drop that can be significant)"
            ),
            title_justify="left",
        )
        # Short headers: the table must fit pytest's terminal; the title says what the columns are.
        for name in ("scope", "now", "config", "Δ", "95% CI", "p", "Holm p", "detectable", ""):
            table.add_column(name, justify="left" if name in ("scope", "") else "right", no_wrap=True)
        for v in rows:
            now = (v.baseline + v.delta) if v.baseline is not None and v.delta is not None else None
            status = Text("skip", "yellow") if v.skipped else Text("pass", "green") if v.passed else Text("FAIL", "bold red")
            table.add_row(
                plain(_scope(v.gate_id)),
                ascii_number(now, ".3f"),
                ascii_number(v.baseline, ".3f"),
                ascii_number(v.delta, "+.3f"),
                format_interval(v.ci, signed=True),
                ascii_number(v.p_value, ".3g"),
                ascii_number(v.p_adjusted, ".3g"),
                Text(ascii_number(v.min_detectable, ".3f"), "yellow" if v.warning else ""),
                status,
            )
        out.append(table)
        blind = [v for v in rows if v.warning]
        if blind:
            out.append(
                Text("warning: ", "yellow")
                + plain(
                    f"{pipeline}: drops smaller than the detectable drop cannot be told from noise, and max_drop is smaller on "
                    f"{len(blind)} of {len(rows)} gates: "
                    + "; ".join((v.warning or "").split(": ", 1)[-1].split(" cannot be told")[0] for v in blind)
                )
            )
    return out


def behaviour_table(result: SuiteResult) -> Table:
    """Behavioural checks: cases generated, pass rate with its 95% CI, the gate."""
    table = Table(title="Behavioural checks (Hypothesis, derandomised; vs the model's own answer on the original)", title_justify="left")
    columns: tuple[tuple[str, Justify], ...] = (
        ("pipeline", "left"),
        ("check", "left"),
        ("passed / cases", "right"),
        ("pass rate", "right"),
        ("95% CI", "right"),
        ("min", "right"),
        ("", "left"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for b in result.behaviour:
        status = Text("skip", "yellow") if b.skipped else Text("pass", "green") if b.pass_rate >= b.min_pass_rate else Text("FAIL", "bold red")
        table.add_row(
            plain(b.pipeline),
            plain(b.check),
            f"{b.passed} / {b.cases}",
            ascii_number(b.pass_rate, ".3f"),
            format_interval(b.ci) if not b.skipped else "-",
            f"{b.min_pass_rate:.2f}",
            status if not b.skipped else plain(f"skip: {b.skipped}"),
        )
    return table


def gates_table(result: SuiteResult) -> Table:
    """One row per gate: the figure compared, the threshold, the interval, the decision."""
    gates = Table(title="Gates", title_justify="left")
    longest = max(len(f"{v.pipeline}::{v.gate_id}") for v in result.verdicts)
    columns: tuple[tuple[str, Justify], ...] = (
        ("gate", "left"),
        ("measured", "right"),
        ("threshold", "right"),
        ("95% CI", "right"),
        ("decision", "left"),
    )
    for name, justify in columns:
        # ids fold rather than end in "…" (a gate must stay identifiable in a narrow CI log) and
        # get room first; the decision (which ends in the outcome) wraps instead
        gates.add_column(
            name,
            justify=justify,
            no_wrap=name not in ("gate", "decision"),
            overflow="fold" if name == "gate" else "ellipsis",
            min_width=min(longest, 30) if name == "gate" else 20 if name == "decision" else None,
        )
    tests_passed = [v for v in result.verdicts if v.pipeline == "test" and v.passed]
    fold_tests = len(tests_passed) > SHOWN_PASSING_TESTS
    for v in result.verdicts:
        if fold_tests and v.pipeline == "test" and v.passed:
            continue
        style = "yellow" if v.skipped else "green" if v.passed else "bold red"
        decision = Text(printable(v.decision or ("skipped" if v.skipped else "pass" if v.passed else "FAIL")), style)
        if v.pipeline == "test":  # a Python test's outcome: nothing measured against a threshold
            gates.add_row(plain(v.gate_id), "-", "-", "-", decision)
            continue
        measured = ascii_number(v.measured, v.value_format)
        threshold = f"{v.op} {v.threshold:{v.value_format}}"
        gates.add_row(plain(f"{v.pipeline}::{v.gate_id}"), measured, threshold, format_interval(v.ci) if v.ci else "-", decision)
    if fold_tests:
        summary = Text(f"({len(tests_passed)} Python tests passed; each is listed in the JSON and HTML reports)")
        gates.add_row(summary, "", "", "", Text("pass", "green"))
    return gates


def _print_pipelines(console: Console, result: SuiteResult) -> None:
    """The overview, each pipeline's per-label table, the comparisons and the LLM's own figures."""
    names = {p.name: display_name(p) for p in result.pipelines.values()}
    console.print(overview_table(result.pipelines.values(), "Overview", result.comparisons))
    for p in result.pipelines.values():
        what = "strict match" if p.scores.variant == "strict" else f"threshold {p.scores.extras.get('threshold', 0.5)}"
        console.print(label_table(p.scores, f"{names[p.name]}: per label ({what}, {p.scores.resamples} bootstrap resamples)"))
    for c in result.comparisons:
        console.print(comparison_table(c, names))
    llm = llm_table(result.pipelines.values())
    if llm is None:
        return
    console.print(llm)
    for p in result.pipelines.values():
        if p.llm is None:
            continue
        if p.llm.simulated:
            console.print(plain(f"Note: {p.name} is a SIMULATED teacher (answers derived from gold with seeded error rates), not a real LLM."))
        for text, response in p.llm.unparseable_examples[:2]:
            console.print(plain(f"  unparseable answer from {p.name} for {text[:60]!r}: {response[:80]!r}"))


def _print_behaviour(console: Console, result: SuiteResult) -> None:
    console.print(behaviour_table(result))
    for b in result.behaviour:
        if b.note:
            console.print(Text(f"  {b.check}: ", "yellow") + plain(b.note))
    for b in result.behaviour:
        for case in b.shrunk[:1]:
            console.print(Text(f"  {b.check} (shrunk): ", "yellow") + plain(describe_case(case)))


def render_suite(console: Console, result: SuiteResult) -> None:
    """Print one suite: overview, per-label tables, gate verdicts and errors."""
    gold = result.gold
    title = Text(printable(result.name), style="bold") + plain(f" on gold {gold.ref} ({gold.task}, sha256 {gold.sha256[:12]}) ")
    status = result.status
    console.rule(title + Text(status, {"PASSED": "green", "FAILED": "red"}.get(status, "yellow")))
    if result.incomplete:
        console.print(Text("incomplete: ", "yellow") + plain(f"{result.incomplete}; no verdict for the suite is recorded as passed"))
    if result.pipelines:
        _print_pipelines(console, result)
    for p in result.pipelines.values():
        for warning in p.warnings:
            console.print(Text("warning: ", "yellow") + plain(warning))
    for name, error in result.errors.items():
        console.print(Text("pipeline failed: ", "red") + plain(f"{name}: {error}"))
    for name, compared in result.baselines.items():
        for line in baseline_lines(name, compared):
            console.print(line)
    if result.baseline_problem and any(v.gate_id.startswith("no_regression") for v in result.verdicts):
        console.print(Text("baseline: ", "yellow") + plain(result.baseline_problem))
    for item in regression_tables(result):
        console.print(item)
    if result.behaviour:
        _print_behaviour(console, result)
    if result.verdicts:
        console.print(gates_table(result))


SHOWN_PASSING_TESTS = 5  # more passing Python tests than this fold into one row


def render_to_string(
    results: Iterable[SuiteResult], *, width: int = 120, color: bool = False, curves: Mapping[str, LearningCurve] | None = None
) -> str:
    """Render suites into a string (pytest's terminal reporter writes it out), each with its
    learning curve and effort forecast when ``curves`` has one."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system="standard" if color else None, highlight=False)
    for result in results:
        render_suite(console, result)
        if curves and result.name in curves:
            render_learning(console, curves[result.name])
    return buffer.getvalue()
