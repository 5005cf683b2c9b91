"""Rich terminal tables: the brief's comparison table and the per-label table."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..metrics import ScoreTable
from ..results import PipelineResult, SuiteResult


def _ci(interval: tuple[float, float]) -> str:
    if any(math.isnan(x) for x in interval):
        return "-"
    return f"{interval[0]:.3f}-{interval[1]:.3f}"


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:,.1f} MB"


def overview_table(pipelines: Iterable[PipelineResult], title: str) -> Table:
    """The brief's table: F, words/second, size, training and evaluation examples."""
    pipelines = list(pipelines)
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for p in pipelines:
        table.add_column(p.name, justify="right")

    def row(name: str, values: Iterable[str]) -> None:
        table.add_row(name, *values)

    row("Accuracy (micro F)", (f"{p.scores.micro.f:.3f} [{_ci(p.scores.micro.f_ci)}]" for p in pipelines))
    row("Macro F", (f"{p.scores.macro_f:.3f}" for p in pipelines))
    if any(p.overlap for p in pipelines):
        row("Overlap F (partial match)", (f"{p.overlap.micro.f:.3f}" if p.overlap else "-" for p in pipelines))
    if any(p.macro_auc is not None for p in pipelines):
        row("Macro ROC-AUC", (f"{p.macro_auc:.3f}" if p.macro_auc is not None else "-" for p in pipelines))
    row("Speed (words/second)", (f"{p.speed.words_per_second:,.0f}" for p in pipelines))
    row("Latency p50 / p95 (ms)", (f"{p.speed.latency_p50_ms:.1f} / {p.speed.latency_p95_ms:.1f}" for p in pipelines))
    row("Model size", (_size(p.size_bytes) for p in pipelines))
    row("Parameters", (f"{p.n_params:,}" if p.n_params is not None else "-" for p in pipelines))
    row("Training examples", (str(p.train_examples) if p.train_examples is not None else "-" for p in pipelines))
    row("Evaluation examples", (str(p.eval_examples) for p in pipelines))
    return table


def label_table(scores: ScoreTable, title: str) -> Table:
    """Per-label P, R, F with the F's 95% bootstrap CI and support."""
    table = Table(title=title, title_justify="left")
    for name, justify in (("label", "left"), ("P", "right"), ("R", "right"), ("F", "right"),
                          ("F 95% CI", "right"), ("support", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in scores.labels:
        table.add_row(s.label, f"{s.p:.3f}", f"{s.r:.3f}", f"{s.f:.3f}", _ci(s.f_ci), str(s.support))
    m = scores.micro
    table.add_row(Text("micro", style="bold"), f"{m.p:.3f}", f"{m.r:.3f}", f"{m.f:.3f}", _ci(m.f_ci), str(m.support))
    table.add_row(Text("macro", style="bold"), f"{scores.macro_p:.3f}", f"{scores.macro_r:.3f}", f"{scores.macro_f:.3f}",
                  _ci(scores.macro_f_ci), "")
    return table


def render_suite(console: Console, result: SuiteResult) -> None:
    """Print one suite: overview, per-label tables, gate verdicts and errors."""
    gold = result.gold
    status = "[green]PASSED[/]" if result.passed else "[red]FAILED[/]"
    console.rule(f"[bold]{result.name}[/] on gold {gold.ref} ({gold.task}, sha256 {gold.sha256[:12]}) {status}")
    if result.pipelines:
        console.print(overview_table(result.pipelines.values(), "Overview"))
        for p in result.pipelines.values():
            what = "strict match" if p.scores.variant == "strict" else f"threshold {p.scores.extras.get('threshold', 0.5)}"
            console.print(label_table(p.scores, f"{p.name}: per label ({what}, {p.scores.resamples} bootstrap resamples)"))
    for name, error in result.errors.items():
        console.print(f"[red]pipeline {name} failed:[/] {error}", markup=True, highlight=False)
    if result.verdicts:
        gates = Table(title="Gates", title_justify="left")
        for name, justify in (("gate", "left"), ("result", "left"), ("measured", "right"), ("threshold", "right"),
                              ("95% CI", "right")):
            gates.add_column(name, justify=justify, no_wrap=name != "gate")  # type: ignore[arg-type]
        for v in result.verdicts:
            big = v.gate_id.startswith(("words_per_second", "size_bytes"))
            measured = f"{v.measured:,.0f}" if big else f"{v.measured:.3f}"
            threshold = f"{v.op} {v.threshold:,.0f}" if big else f"{v.op} {v.threshold:.3f}"
            gates.add_row(f"{v.pipeline}::{v.gate_id}", Text("pass", "green") if v.passed else Text("FAIL", "bold red"),
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
