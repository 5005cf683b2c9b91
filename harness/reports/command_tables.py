"""The terminal tables of the ``harness noise`` and ``harness history`` commands."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from ..core.results import NoiseReport
from ..core.stats import format_interval
from ..core.text import human_bytes, printable
from .format import Justify, ascii_number, plain, sparkline

RowCell = Callable[[Mapping[str, object]], str]


def noise_tables(report: NoiseReport) -> list[Table | Text]:
    """``harness noise``: per pipeline and label, F over the blessed model and its replicates,
    and the smallest drop each regression gate can tell from noise."""

    out: list[Table | Text] = []
    single = [p for p in report.pipelines if len(report.models[p]) < 2]
    for pipeline, rows in report.pipelines.items():
        models = report.models[pipeline]
        if pipeline in single:
            continue
        machine = report.machines.get(pipeline) or "?"
        title = f"{report.suite} :: {pipeline}: {len(models)} model(s) of the blessed configuration " + (
            f"(replicates trained on {machine})" if len(models) > 1 else "(no replicates: eval-sample noise only)"
        )
        table = Table(title=plain(title), title_justify="left", box=box.SIMPLE_HEAD)
        for name in ("scope", "support", "mean F", "SD", "range", "detectable drop", "max_drop"):
            table.add_column(name, justify="left" if name == "scope" else "right", no_wrap=True)
        blind = []
        for r in rows:
            short = r.max_drop is not None and r.min_detectable == r.min_detectable and r.min_detectable > r.max_drop
            if short:
                blind.append(f"{r.scope} (support {r.support}): drops under {r.min_detectable:.3f}")
            table.add_row(
                plain(r.scope),
                str(r.support),
                f"{r.mean_f:.3f}",
                ascii_number(r.sd, ".3f"),
                f"{r.low:.3f}-{r.high:.3f}",
                Text(ascii_number(r.min_detectable, ".3f"), "yellow" if short else ""),
                ascii_number(r.max_drop, ".3f"),
            )
        out.append(table)
        if blind:
            out.append(Text("  cannot be told from noise (max_drop is smaller): ", "yellow") + plain("; ".join(blind)))
        out.append(plain("  models (micro F): " + ", ".join(f"{seed} {f:.3f}" for seed, f in models)))
    if single:
        out.append(
            plain(
                f"no replicates (blessed model only: eval-sample noise only): {', '.join(single)}; a pipeline "
                "with a [train] table gets them from `harness bless SUITE --replicates N`"
            )
        )
    confidence = report.confidence
    out.append(
        plain(
            f"detectable drop: the smallest observed drop that is significant alone at {confidence:.0%} "
            "(Holm's first step over the pipeline's no_regression F gates), from eval-sample noise (paired "
            "bootstrap, leave-one-model-out) plus training noise (SD over the models). See README, "
            '"How figures are computed".'
        )
    )
    return out


def history_tables(suite: str, runs: Sequence[Mapping[str, object]], *, label: str | None = None) -> list[Table | Text]:
    """``harness history``: per pipeline, one row per run (oldest first), then a sparkline
    per metric; the blessed model's runs are marked ★."""

    def value(row: Mapping[str, object], key: str) -> float | None:
        v = row.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    # (title, justify, cell(row), trend key or None)
    columns: list[tuple[str, Justify, RowCell, str | None]] = [
        ("time (UTC)", "left", lambda r: str(r.get("time", ""))[5:16].replace("T", " "), None),
        ("commit", "left", lambda r: str(r.get("git_commit") or "-")[:8] + ("*" if r.get("git_dirty") else ""), None),
        ("model", "left", lambda r: str(r.get("model_sha256") or "-")[:8] + (" ★" if r.get("blessed") else ""), None),
        ("F", "right", lambda r: ascii_number(value(r, "f"), ".3f"), "f"),
        ("95% CI", "right", lambda r: format_interval((value(r, "f_ci_low") or float("nan"), value(r, "f_ci_high") or float("nan"))), None),
        ("P", "right", lambda r: ascii_number(value(r, "p"), ".3f"), "p"),
        ("R", "right", lambda r: ascii_number(value(r, "r"), ".3f"), "r"),
    ]
    if label:
        columns.append(("support", "right", lambda r: ascii_number(value(r, "support"), ".0f"), "support"))
    else:
        columns += [
            ("macro F", "right", lambda r: ascii_number(value(r, "macro_f"), ".3f"), "macro_f"),
            ("words/s", "right", lambda r: ascii_number(value(r, "words_per_second"), ",.0f"), "words_per_second"),
            ("size", "right", lambda r: human_bytes(value(r, "size_bytes")), "size_bytes"),
        ]
    columns.append(
        ("gates pass/fail/skip", "right", lambda r: f"{r.get('gates_passed', 0)}/{r.get('gates_failed', 0)}/{r.get('gates_skipped', 0)}", None)
    )
    out: list[Table | Text] = []
    for pipeline in dict.fromkeys(str(r["pipeline"]) for r in runs):
        rows = [r for r in runs if r["pipeline"] == pipeline]
        scope = f"label {label}" if label else "micro"
        golds = list(dict.fromkeys(str(r.get("gold", "")) for r in rows))
        shown = columns if len(golds) == 1 else [*columns[:2], ("gold", "left", lambda r: str(r.get("gold", "")), None), *columns[2:]]
        table = Table(
            title=plain(f"{suite} :: {pipeline} ({scope}) on {', '.join(golds)}: last {len(rows)} run(s); ★ = the blessed model"),
            title_justify="left",
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
        )
        for title, justify, _, _ in shown:
            table.add_column(title, justify=justify, no_wrap=True)
        for r in rows:
            failed = bool(r.get("gates_failed"))
            table.add_row(*(Text(printable(str(make(r))), "red" if failed and title.startswith("gates") else "") for title, _, make, _ in shown))
        out.append(table)
        trends = [f"{title} {sparkline(value(r, key) for r in rows)}" for title, _, _, key in shown if key]
        out.append(plain("  trend (oldest → newest): " + "   ".join(trends)))
    return out
