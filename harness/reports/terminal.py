"""Rich terminal tables: the brief's comparison table and the per-label table."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.metrics import ScoreTable
from ..core.results import Comparison, PipelineResult, SuiteResult
from ..core.stats import format_interval
from ..core.text import printable


def _ci(interval: tuple[float, float] | None) -> str:
    return format_interval(interval)


def _size(p: PipelineResult) -> str:
    if p.size_source == "unknown" or not p.size_bytes:
        return "-"
    shown = f"{p.size_bytes / 1e12:,.1f} TB" if p.size_bytes >= 1e12 else (
        f"{p.size_bytes / 1e9:,.1f} GB" if p.size_bytes >= 1e9 else f"{p.size_bytes / 1e6:,.1f} MB")
    return shown + (" (declared)" if p.size_source == "declared" else "")


def _plain(text: object) -> Text:
    """User text as a rich Text: no markup is interpreted and control characters are shown escaped."""
    return Text(printable(str(text)))


def display_name(p: PipelineResult) -> str:
    """Column title: anything simulated says so wherever it is shown."""
    simulated = p.llm is not None and p.llm.simulated and "simulated" not in p.name.lower()
    return f"{p.name} (simulated)" if simulated else p.name


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None or value != value else format(value, fmt)


def overview_table(pipelines: Iterable[PipelineResult], title: str,
                   comparisons: Sequence[Comparison] = ()) -> Table:
    """The brief's table: F, words/second, size, training and evaluation examples."""
    pipelines = list(pipelines)
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for p in pipelines:
        table.add_column(_plain(display_name(p)), justify="right")

    def row(name: str, values: Iterable[str]) -> None:
        table.add_row(_plain(name), *values)

    row("Accuracy (micro F)", (f"{p.scores.micro.f:.3f} {_ci(p.scores.micro.f_ci)}" for p in pipelines))
    row("Macro F", (f"{p.scores.macro_f:.3f}" for p in pipelines))
    if any(p.overlap for p in pipelines):
        row("Overlap F (partial match)", (f"{p.overlap.micro.f:.3f}" if p.overlap else "-" for p in pipelines))
    if any(p.macro_auc is not None for p in pipelines):
        row("Macro ROC-AUC", (f"{p.macro_auc:.3f}" if p.macro_auc is not None else "-" for p in pipelines))
    row("Speed (words/second)", (_num(p.words_per_second, ",.1f" if p.words_per_second < 100 else ",.0f")
                                 + (" (recorded)" if p.llm is not None and p.llm.record_words_per_second else "")
                                 for p in pipelines))
    row("Latency p50 / p95 (ms)", (f"{_num(p.speed.latency_p50_ms, '.1f')} / {_num(p.speed.latency_p95_ms, '.1f')}"
                                   for p in pipelines))
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
    table = Table(title=_plain(f"{names.get(c.a, c.a)} - {names.get(c.b, c.b)}: F difference (paired bootstrap, "
                               f"{c.resamples} resamples)"), title_justify="left")
    for name, justify in (("label", "left"), (f"F {c.a}", "right"), (f"F {c.b}", "right"), ("diff", "right"),
                          ("95% CI", "right"), ("", "left")):
        table.add_column(_plain(name), justify=justify)  # type: ignore[arg-type]
    for d in (*c.labels, c.micro, c.macro):
        style = "bold" if d.label in ("micro", "macro") else ""
        flag = "" if not d.significant else ("better" if d.diff > 0 else "worse")
        table.add_row(Text(printable(d.label), style=style), f"{d.a_f:.3f}", f"{d.b_f:.3f}", f"{d.diff:+.3f}",
                      format_interval(d.ci, signed=True), flag)
    return table


def llm_table(pipelines: Iterable[PipelineResult]) -> Table | None:
    """The LLM's own figures: parse failures, tokens, cost, recorded latency."""
    llms = [p for p in pipelines if p.llm is not None]
    if not llms:
        return None
    table = Table(title="LLM figures", title_justify="left")
    table.add_column("")
    for p in llms:
        table.add_column(_plain(display_name(p)), justify="right")
    stats = [p.llm for p in llms]

    def row(name: str, values: Iterable[str]) -> None:
        table.add_row(name, *values)

    row("Mode", (s.mode + (" (simulated teacher)" if s.simulated else "") for s in stats if s))
    row("Unparseable or empty answers", (f"{s.unparseable} / {s.responses} ({s.unparseable_share:.1%})" for s in stats if s))
    row("Tokens prompt / completion", (f"{s.prompt_tokens:,} / {s.completion_tokens:,}" + (" (estimated)" if s.tokens_estimated else "")
                                       for s in stats if s))
    row("Estimated cost (USD)", (_num(s.cost_usd, ",.4f") for s in stats if s))
    row("Recorded latency p50 / p95 (ms)", (f"{_num(s.recorded_latency_p50_ms, ',.0f')} / {_num(s.recorded_latency_p95_ms, ',.0f')}"
                                            for s in stats if s))
    row("Words/second at record time", (_num(s.record_words_per_second, ",.1f") for s in stats if s))
    row("Words/second replaying", (_num(p.speed.words_per_second, ",.0f") for p in llms))
    row("Calls made / cached / failed", (f"{s.calls_made} / {s.cached} / {s.failures}" for s in stats if s))
    return table


def label_table(scores: ScoreTable, title: str) -> Table:
    """Per-label P, R, F with the F's 95% bootstrap CI and support."""
    table = Table(title=_plain(title), title_justify="left")
    for name, justify in (("label", "left"), ("P", "right"), ("R", "right"), ("F", "right"),
                          ("F 95% CI", "right"), ("support", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in scores.labels:
        table.add_row(_plain(s.label), f"{s.p:.3f}", f"{s.r:.3f}", f"{s.f:.3f}", _ci(s.f_ci), str(s.support))
    m = scores.micro
    table.add_row(Text("micro", style="bold"), f"{m.p:.3f}", f"{m.r:.3f}", f"{m.f:.3f}", _ci(m.f_ci), str(m.support))
    table.add_row(Text("macro", style="bold"), f"{scores.macro_p:.3f}", f"{scores.macro_r:.3f}", f"{scores.macro_f:.3f}",
                  _ci(scores.macro_f_ci), "")
    return table


def render_suite(console: Console, result: SuiteResult) -> None:
    """Print one suite: overview, per-label tables, gate verdicts and errors."""
    gold = result.gold
    title = Text(printable(result.name), style="bold") + _plain(f" on gold {gold.ref} ({gold.task}, sha256 {gold.sha256[:12]}) ")
    console.rule(title + (Text("PASSED", "green") if result.passed else Text("FAILED", "red")))
    if result.pipelines:
        names = {p.name: display_name(p) for p in result.pipelines.values()}
        console.print(overview_table(result.pipelines.values(), "Overview", result.comparisons))
        for p in result.pipelines.values():
            what = "strict match" if p.scores.variant == "strict" else f"threshold {p.scores.extras.get('threshold', 0.5)}"
            console.print(label_table(p.scores, f"{names[p.name]}: per label ({what}, {p.scores.resamples} bootstrap resamples)"))
        for c in result.comparisons:
            console.print(comparison_table(c, names))
        llm = llm_table(result.pipelines.values())
        if llm is not None:
            console.print(llm)
            for p in result.pipelines.values():
                if p.llm is None:
                    continue
                if p.llm.simulated:
                    console.print(_plain(f"Note: {p.name} is a SIMULATED teacher (answers derived from gold with seeded "
                                         "error rates), not a real LLM."))
                for text, response in p.llm.unparseable_examples[:2]:
                    console.print(_plain(f"  unparseable answer from {p.name} for {text[:60]!r}: {response[:80]!r}"))
    for p in result.pipelines.values():
        for warning in p.warnings:
            console.print(Text("warning: ", "yellow") + _plain(warning))
    for name, error in result.errors.items():
        console.print(Text("pipeline failed: ", "red") + _plain(f"{name}: {error}"))
    if result.verdicts:
        gates = Table(title="Gates", title_justify="left")
        for name, justify in (("gate", "left"), ("result", "left"), ("measured", "right"), ("threshold", "right"),
                              ("95% CI", "right")):
            gates.add_column(name, justify=justify, no_wrap=name != "gate")  # type: ignore[arg-type]
        for v in result.verdicts:
            big = v.gate_id.startswith(("words_per_second", "size_bytes"))
            measured = f"{v.measured:,.0f}" if big else f"{v.measured:.3f}"
            threshold = f"{v.op} {v.threshold:,.0f}" if big else f"{v.op} {v.threshold:.3f}"
            gates.add_row(_plain(f"{v.pipeline}::{v.gate_id}"), Text("pass", "green") if v.passed else Text("FAIL", "bold red"),
                          measured, threshold, _ci(v.ci) if v.ci else "-")
        console.print(gates)


def render_to_string(results: Iterable[SuiteResult], *, width: int = 120, color: bool = False) -> str:
    """Render suites into a string (pytest's terminal reporter writes it out)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system="standard" if color else None,
                      highlight=False)
    for result in results:
        render_suite(console, result)
    return buffer.getvalue()
