"""Run history (Parquet under reports/history, polars) and the Markdown CI summary."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import re
from pathlib import Path

import polars as pl
import pytest

from harness import history
from harness.baselines import example_digests
from harness.core.gates import NoRegressionGate
from harness.core.regression import BaselineContext, BaselineEntry, compare_with_baseline
from harness.core.results import GoldInfo, SuiteResult
from harness.evaluate import count_outputs
from harness.reports.format import sparkline
from harness.reports.markdown import cell, code, render_markdown

from .test_baselines import LABELS, examples, perfect, result


def suite_result(name: str = "s", *, broken: int = 0, text: str | None = None) -> SuiteResult:
    exs = examples()
    if text is not None:
        exs = [type(e)(**{**e.__dict__, "text": text + e.text[len(text) :] if len(text) < len(e.text) else text}) for e in exs]
    base = result(exs, perfect(exs))
    outputs = [() if i < broken else e.spans for i, e in enumerate(exs)]
    now = result(exs, outputs, sha="model-b" if broken else "model-a")
    digests = example_digests(exs)
    compared = compare_with_baseline(
        now,
        BaselineEntry({"sha256": "model-a"}, dict(zip(base.example_ids, base.outputs, strict=True)), 1.0, 1, "m"),
        BaselineContext("b.json", "2026-11-26T00:00:00+00:00", "g@v1", "x", digests),
        texts=[e.text for e in exs],
        gold=[e.spans for e in exs],
        gold_digests=[digests[e.input_hash] for e in exs],
        count=lambda p, o: count_outputs("ner", [exs[i] for i in p], o, LABELS, threshold=0.5),
        machine="m",
        min_coverage=0.8,
        resamples=200,
        seed=0,
    )
    verdict = NoRegressionGate("distilled", -0.02).judge_baseline(now, compared, None)
    gold = GoldInfo("g", 1, "f" * 64, "ner", 10, len(exs))
    return SuiteResult(name, "suites/s.toml", gold, {"distilled": now}, {}, [verdict], (), {"distilled": compared}, distilled="distilled")


def context(i: int = 0) -> history.RunContext:
    when = dt.datetime(2026, 11, 26, tzinfo=dt.UTC) + dt.timedelta(minutes=i)
    return history.RunContext(f"run-{i:05d}", when, "abc123", False, "m")


def test_a_run_is_one_parquet_file_with_every_figure_and_verdict(tmp_path: Path) -> None:
    rows = history.run_rows([suite_result()], context())
    path = history.append_run(tmp_path, rows, context())
    assert path is not None and path.name.startswith("run-") and path.suffix == ".parquet"
    frame = history.runs(tmp_path, "s")
    f = frame.filter((pl.col("metric") == "f") & (pl.col("label") == ""))
    assert f["value"].to_list() == [1.0] and f["model_sha256"].to_list() == ["model-a"]
    gate = frame.filter(pl.col("metric") == "gate")
    assert gate["label"].to_list() == ["no_regression<=0.02"] and gate["passed"].to_list() == [True]
    assert set(frame.filter(pl.col("label") != "")["label"].unique()) >= {"DISH", "LOC", "no_regression<=0.02"}


def _write_runs(args: tuple[str, int, int]) -> None:
    directory, worker, n = args
    for i in range(n):
        ctx = history.RunContext(f"w{worker}-{i:03d}", dt.datetime.now(dt.UTC), None, None, "m")
        history.append_run(directory, history.run_rows([suite_result()], ctx), ctx)


def test_concurrent_writers_lose_nothing_and_compaction_keeps_every_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_write_runs, [(str(tmp_path), w, 25) for w in range(4)])
    run_ids = history.runs(tmp_path, "s")["run_id"].unique().to_list()
    assert len(run_ids) == 100
    assert list(tmp_path.glob("segment-*.parquet"))  # 100 > COMPACT_RUNS_AT: merged on the way
    assert not list(tmp_path.glob(".*"))  # no temp file left
    assert len(list(tmp_path.glob("*.parquet"))) < 100
    history.compact(tmp_path, force=True)
    assert len(list(tmp_path.glob("*.parquet"))) == 1
    assert history.runs(tmp_path, "s")["run_id"].n_unique() == 100


def test_last_and_prune_keep_the_newest_runs(tmp_path: Path) -> None:
    for i in range(6):
        history.append_run(tmp_path, history.run_rows([suite_result(), suite_result("t")], context(i)), context(i))
    last = history.runs(tmp_path, "s", last=2)
    assert sorted(last["run_id"].unique().to_list()) == ["run-00004", "run-00005"]
    kept, removed = history.prune(tmp_path, keep=3)
    assert (kept, removed) == (6, 6)  # 3 per suite kept, of 2 suites
    assert sorted(history.runs(tmp_path, "s")["run_id"].unique().to_list()) == ["run-00003", "run-00004", "run-00005"]


def test_run_table_counts_gates_and_sparkline_scales(tmp_path: Path) -> None:
    for i, broken in enumerate((0, 120)):
        history.append_run(tmp_path, history.run_rows([suite_result(broken=broken)], context(i)), context(i))
    table = history.run_table(tmp_path, "s")
    assert [t["gates_failed"] for t in table] == [0, 1] and table[0]["f"] == 1.0 and table[1]["f"] < 1.0
    assert table[1]["f_ci_low"] < table[1]["f"] < table[1]["f_ci_high"] and table[1]["model_sha256"] == "model-b"
    label = history.run_table(tmp_path, "s", label="LOC", last=1)
    assert len(label) == 1 and label[0]["support"] == 100 and "macro_f" not in label[0]
    assert sparkline([0.0, 0.5, 1.0, None]) == "▁▅█ "
    assert sparkline([2.0, 2.0]) == "▁▁"


def test_markdown_has_verdict_gate_and_label_tables_and_newly_broken_examples() -> None:
    text = render_markdown([suite_result(broken=120)])
    assert text.startswith("## distill-harness: ❌ 1 of 1 suite failed")
    assert re.search(r"^\|\s+\|\s+gate\s+\|\s+measured\s+\|", text, re.MULTILINE)  # the failing-gates table
    assert "`distilled::no_regression<=0.02`" in text
    assert "baseline F" in text and "Δ vs baseline" in text
    assert "newly broken" in text and "pasta number 0 in rome" in text


def test_markdown_escapes_user_text() -> None:
    assert cell("a | b <script>x</script>\n`c`") == "a \\| b &lt;script&gt;x&lt;/script&gt; \\`c\\`"
    assert code("a`b|c <i>") == "``a`b\\|c <i>``"  # the backtick stays a backtick (a longer fence)
    assert code("`x`") == "`` `x` ``" and code("plain") == "`plain`"
    text = render_markdown([suite_result(broken=120, text="<img src=x onerror=alert(1)>|")])
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;\\|" in text


def test_markdown_stays_under_the_limit_and_says_what_it_left_out() -> None:
    results = [suite_result(f"suite-{i}", broken=120) for i in range(40)]
    full = render_markdown(results)
    small = render_markdown(results, max_bytes=len(full.encode()) // 2)
    assert len(small.encode()) <= len(full.encode()) // 2
    assert "left out" in small or "truncated" in small
    tiny = render_markdown(results, max_bytes=6000)
    assert len(tiny.encode()) <= 6000 and "truncated" in tiny


@pytest.mark.parametrize("reader", ["runs", "append_run", "compact", "prune"])
def test_a_damaged_or_foreign_history_file_is_moved_aside_and_the_history_goes_on(tmp_path: Path, reader: str) -> None:
    history.take_notices()
    history.append_run(tmp_path, history.run_rows([suite_result()], context(0)), context(0))
    (tmp_path / "run-zz-damaged.parquet").write_bytes(b"PAR1 this is not parquet")
    pl.DataFrame({"a": [1, 2]}).write_parquet(tmp_path / "segment-zz-foreign.parquet")
    if reader == "runs":
        assert history.runs(tmp_path, "s")["run_id"].unique().to_list() == ["run-00000"]
    elif reader == "append_run":
        history.append_run(tmp_path, history.run_rows([suite_result()], context(1)), context(1))
        assert sorted(history.runs(tmp_path, "s")["run_id"].unique().to_list()) == ["run-00000", "run-00001"]
    elif reader == "compact":
        assert history.compact(tmp_path, force=True)
        assert history.runs(tmp_path, "s")["run_id"].unique().to_list() == ["run-00000"]
    else:
        assert history.prune(tmp_path, keep=5) == (1, 0)
    aside = tmp_path / history.MOVED_ASIDE_DIRNAME
    assert sorted(p.name for p in aside.iterdir()) == ["run-zz-damaged.parquet", "segment-zz-foreign.parquet"]
    assert (aside / "run-zz-damaged.parquet").read_bytes() == b"PAR1 this is not parquet"  # moved, not deleted
    notices = history.take_notices()
    assert len(notices) == 2 and any("not a readable Parquet file" in n for n in notices)
    assert any("not a history file of this harness" in n for n in notices)
