"""The HTML report reviewers open: one self-contained file per run (``reports/report.html``).

- No external URL of any kind: CSS and JavaScript are inlined, and a strict
  Content-Security-Policy allows exactly those two blocks (by sha256) and nothing else.
- The figures are drawn from the result objects (:mod:`harness.core.results`; read back
  from JSON by :mod:`harness.reports.json_read` for ``harness report``), as the terminal and
  Markdown reports draw them. The example browser's data is embedded once, as the JSON
  reports themselves (``{"suites": [...]}``), in a ``<script type="application/json">``
  block; the page's script reads it.
- jinja2 renders the static parts with autoescaping on; the script builds the
  example browser with ``textContent`` only. Gold texts, labels, model output,
  LLM answers and file names are therefore always text, never markup.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.results import BaselineComparison, Comparison, Difference, PipelineResult, SuiteResult
from ..core.text import annotation_text, human_bytes
from ..io import atomic
from .format import number
from .learning_view import learning_svg

if TYPE_CHECKING:
    from ..core.forecast import LearningCurve

TEMPLATES = "templates"
#: Span colours, one class per label position (``.l0`` ..), in the style of displaCy.
LABEL_CLASSES = 12


def _resource(name: str) -> str:
    return (resources.files("harness.reports") / TEMPLATES / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def embed_json(data: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&``
    are written as ``\\u003c`` etc., so no text can close the block (``</script>``)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# -- view model: what the template draws (numbers to SVG coordinates, rows in order) --


def _size(value: Any) -> str:
    return human_bytes(value, missing="–")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _ci_text(ci: Any, signed: bool = False) -> str:
    if not ci or _missing(ci[0]) or _missing(ci[1]):
        return "–"
    fmt = "+.3f" if signed else ".3f"
    return f"[{format(ci[0], fmt)}, {format(ci[1], fmt)}]"


def _bar(f: float, ci: tuple[float, float]) -> dict[str, float] | None:
    """Point and interval on a 0..1 axis drawn 120 units wide."""
    if _missing(f) or _missing(ci[0]):
        return None
    return {"x": 120 * f, "lo": 120 * ci[0], "hi": 120 * ci[1]}


def _forest(title: str, differences: Sequence[Difference]) -> dict[str, Any] | None:
    """A forest plot of paired differences: one row per label (and micro), x from -span..span."""
    rows = [d for d in differences if not _missing(d.ci[0])]
    if not rows:
        return None
    span = max(0.05, *(max(abs(d.ci[0]), abs(d.ci[1]), abs(d.diff)) for d in rows))
    span = math.ceil(span * 20) / 20  # a round axis end: 0.05 steps
    width, left = 360.0, 130.0

    def x(value: float) -> float:
        return left + (value + span) / (2 * span) * width

    drawn = []
    for i, d in enumerate(rows):
        drawn.append(
            {
                "label": d.label,
                "y": 14 + i * 18,
                "x": x(d.diff),
                "lo": x(d.ci[0]),
                "hi": x(d.ci[1]),
                "cls": ("worse" if d.diff < 0 else "better") if d.significant else "same",
                "text": f"{d.diff:+.3f} {_ci_text(d.ci, signed=True)}",
            }
        )
    return {
        "title": title,
        "rows": drawn,
        "zero": x(0.0),
        "left": x(-span),
        "right": x(span),
        "span": span,
        "height": 24 + 18 * len(rows),
        "width": left + width + 150,
    }


def _spark(values: Sequence[Any]) -> dict[str, Any] | None:
    """A sparkline polyline in a 120 x 24 box (None when fewer than two figures)."""
    present = [(i, v) for i, v in enumerate(values) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(present) < 2:
        return None
    low, high = min(v for _, v in present), max(v for _, v in present)
    span = (high - low) or 1.0
    n = max(1, len(values) - 1)
    points = " ".join(f"{i / n * 116 + 2:.1f},{22 - (v - low) / span * 20:.1f}" for i, v in present)
    return {"points": points, "first": present[0][1], "last": present[-1][1]}


def _is_simulated(p: PipelineResult) -> bool:
    return p.llm is not None and p.llm.simulated


OVERVIEW = (
    ("Accuracy (micro F, 95% CI)", "f"),
    ("Macro F", "macro"),
    ("Speed (words/second)", "wps"),
    ("Latency p50 / p95 (ms)", "latency"),
    ("Model size", "size"),
    ("LLM tokens prompt / completion", "tokens"),
    ("LLM cost (USD)", "cost"),
    ("Unparseable LLM answers", "unparseable"),
    ("Evaluation examples", "examples"),
)
TRENDS = (
    ("micro F", "f", ".3f"),
    ("macro F", "macro_f", ".3f"),
    ("words/s", "words_per_second", ",.0f"),
    ("size (bytes)", "size_bytes", ",.0f"),
)


def _overview_cell(p: PipelineResult, key: str) -> str:
    """One pipeline's figure in the overview table."""
    stats = p.llm
    if key == "f":
        return f"{number(p.micro.f)} {_ci_text(p.micro.f_ci)}"
    if key == "macro":
        return number(p.scores.macro_f)
    if key == "wps":
        wps = p.words_per_second
        if _missing(wps):
            return "–"
        return (f"{wps:,.1f}" if wps < 100 else f"{wps:,.0f}") + (" (recorded)" if stats and stats.record_words_per_second else "")
    if key == "latency":
        return f"{number(p.speed.latency_p50_ms, '.1f')} / {number(p.speed.latency_p95_ms, '.1f')}"
    if key == "size":
        return _size(p.size_bytes) + (" (declared)" if p.size_source == "declared" else "")
    if stats is None:
        return str(p.eval_examples) if key == "examples" else "–"
    if key == "tokens":
        return f"{stats.prompt_tokens:,} / {stats.completion_tokens:,}"
    if key == "cost":
        return f"${stats.cost_usd:,.4f}" if stats.cost_usd is not None else "–"
    if key == "unparseable":
        return f"{stats.unparseable} / {stats.responses}"
    return str(p.eval_examples)


def _overview_rows(result: SuiteResult, vs_llm: Comparison | None, baseline: BaselineComparison | None) -> list[dict[str, Any]]:
    pipelines, distilled = result.pipelines, result.distilled
    rows = [{"title": title, "cells": [_overview_cell(p, key) for p in pipelines.values()]} for title, key in OVERVIEW]
    if vs_llm:
        rows.append(
            {
                "title": f"{distilled} vs {result.llm}: speed / size ratio",
                "cells": [
                    f"×{vs_llm.speed_ratio:,.0f} faster / ×{vs_llm.size_ratio:.1e}"
                    if n == distilled and vs_llm.speed_ratio and vs_llm.size_ratio
                    else ""
                    for n in pipelines
                ],
            }
        )
    if baseline and baseline.comparison:
        micro = baseline.comparison.micro
        rows.append(
            {
                "title": "vs blessed baseline (micro F)",
                "cells": [(f"{micro.b_f:.3f} → {micro.a_f:.3f} ({micro.diff:+.3f})" if n == distilled else "") for n in pipelines],
            }
        )
    return rows


def _label_rows(pipelines: Mapping[str, PipelineResult]) -> list[dict[str, Any]]:
    rows = []
    for label in sorted({s.label for p in pipelines.values() for s in p.scores.labels}):
        row: dict[str, Any] = {"label": label, "support": None, "cells": []}
        for p in pipelines.values():
            s = next((s for s in p.scores.labels if s.label == label), None)
            if s is None:
                row["cells"].append(None)
                continue
            row["support"] = s.support
            row["cells"].append({"p": s.p, "r": s.r, "f": s.f, "ci": _ci_text(s.f_ci), "bar": _bar(s.f, s.f_ci)})
        rows.append(row)
    return rows


def _by_label(c: Comparison) -> list[Difference]:
    return [*sorted(c.labels, key=lambda d: d.label), c.micro]


def _forests(result: SuiteResult, vs_llm: Comparison | None, baseline: BaselineComparison | None) -> list[dict[str, Any]]:
    distilled, llm = result.distilled, result.llm
    forests = []
    if vs_llm and llm is not None:
        simulated = " (SIMULATED)" if _is_simulated(result.pipelines[llm]) else ""
        forests.append(_forest(f"{distilled} − {llm}{simulated}: paired F difference, 95% CI", _by_label(vs_llm)))
    if baseline and baseline.comparison:
        forests.append(_forest(f"{distilled}: current − blessed baseline, paired F difference, 95% CI", _by_label(baseline.comparison)))
    return [f for f in forests if f]


def _suite_view(
    result: SuiteResult, document: Mapping[str, Any], index: int, history: Sequence[Mapping[str, Any]], curve: LearningCurve | None = None
) -> dict[str, Any]:
    """What the template draws for one suite: figures from the result objects; the example
    browser's data (confusions, examples) as the JSON document holds them, since the page
    embeds that document."""
    distilled = result.distilled
    baseline = result.baselines.get(distilled) if distilled else None
    gates = sorted(result.verdicts, key=lambda g: (g.passed or bool(g.skipped), bool(g.skipped)))
    names = list(result.pipelines)
    vs_llm = next((c for c in result.comparisons if c.a == distilled and c.b == result.llm), None)
    mine = [h for h in history if h.get("pipeline") == distilled]
    trends = [{"title": title, "spark": _spark([h.get(key) for h in mine]), "fmt": fmt} for title, key, fmt in TRENDS]
    return {
        "index": index,
        "result": result,
        "name": result.name,
        "passed": result.passed,
        "status": result.status,
        "gates": gates,
        "gate_counts": (
            sum(1 for g in gates if g.passed),
            sum(1 for g in gates if not g.passed and not g.skipped),
            sum(1 for g in gates if g.skipped),
        ),
        "names": names,
        "simulated": {n: _is_simulated(p) for n, p in result.pipelines.items()},
        "overview": _overview_rows(result, vs_llm, baseline),
        "labels": _label_rows(result.pipelines),
        "forests": _forests(result, vs_llm, baseline),
        "distilled": distilled,
        "llm": result.llm,
        "baseline": baseline,
        "trends": [t for t in trends if t["spark"]],
        "confusion": document.get("confusion", {}),
        "task": result.gold.task,
        "examples": document.get("examples", {}),
        "history_runs": len(mine),
        "learning": learning_svg(curve),
    }


def render_html(
    results: Sequence[SuiteResult],
    documents: Sequence[Mapping[str, Any]],
    *,
    created: str,
    history: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    curves: Mapping[str, LearningCurve] | None = None,
) -> str:
    """The page for ``results``; ``documents`` are their JSON reports, embedded as they are
    (the example browser reads them)."""
    import jinja2

    css, script = _resource("report.css"), _resource("report.js")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["num"] = number
    environment.filters["size"] = _size
    environment.filters["ci"] = _ci_text
    environment.globals["annotation"] = annotation_text
    template = environment.from_string(_resource("report.html.j2"))
    history = history or {}
    curves = curves or {}
    views = [
        _suite_view(r, doc, i, history.get(r.name, []), curves.get(r.name)) for i, (r, doc) in enumerate(zip(results, documents, strict=True))
    ]
    # What a reviewer came for comes first: failing suites, then incomplete, then passing (each
    # keeps its index: the embedded documents stay in their order, anchors stay stable).
    views.sort(key=lambda v: ({"FAILED": 0, "INCOMPLETE": 1}.get(v["status"], 2), v["index"]))
    labels = sorted({s.label for r in results for p in r.pipelines.values() for s in p.scores.labels})
    failed = [v for v in views if not v["passed"]]
    csp = f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(css)}; img-src data:; base-uri 'none'; form-action 'none'"
    return template.render(
        suites=views,
        created=created,
        css=css,
        script=script,
        csp=csp,
        failed=failed,
        data=embed_json({"suites": list(documents), "label_classes": {label: f"l{i % LABEL_CLASSES}" for i, label in enumerate(labels)}}),
    )


def write_html(
    path: str | Path,
    results: Sequence[SuiteResult],
    documents: Sequence[Mapping[str, Any]],
    *,
    created: str,
    history: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    curves: Mapping[str, LearningCurve] | None = None,
) -> Path:
    """Atomically write the page; returns its path."""
    target = Path(path)
    atomic.write_text(target, render_html(results, documents, created=created, history=history, curves=curves))
    return target
