"""Baselines: the paired comparison with a blessed run, its gates, and the baseline file."""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import replace
from pathlib import Path

import pytest

from harness.baselines import baseline_path, bless, example_digests, load
from harness.core.gates import NoRegressionGate, SizeRegressionGate, SpeedRegressionGate
from harness.core.regression import BaselineContext, BaselineEntry, compare_with_baseline
from harness.core.results import PipelineResult, SpeedStats
from harness.errors import InputError
from harness.evaluate import count_outputs, score_outputs
from harness.gold.records import GoldExample

LABELS = ["DISH", "LOC"]


def examples(n: int = 200) -> list[GoldExample]:
    """``n`` texts, each with one DISH span and (every other one) one LOC span."""
    out = []
    for i in range(n):
        text = f"pasta number {i} in rome"
        spans = ((0, 5, "DISH"),) + (((len(text) - 4, len(text), "LOC"),) if i % 2 == 0 else ())
        out.append(GoldExample(input_hash=1000 + i, text=text, spans=spans, split="eval"))
    return out


def result(
    exs: list[GoldExample], outputs: list, *, sha: str = "model-a", wps: float = 10_000.0, size: int = 1_000_000, name: str = "distilled"
) -> PipelineResult:
    scores, overlap, auc, counts = score_outputs("ner", exs, outputs, LABELS, resamples=200, seed=0, threshold=0.5)
    speed = SpeedStats(wps, 100, len(exs), 0.01, 1.0, 2.0, 1, 128)
    return PipelineResult(
        name=name,
        kind="spacy",
        path="m",
        task="ner",
        scores=scores,
        overlap=overlap,
        macro_auc=auc,
        speed=speed,
        size_bytes=size,
        n_params=None,
        train_examples=None,
        eval_examples=len(exs),
        example_ids=tuple(e.input_hash for e in exs),
        counts=counts,
        outputs=tuple(outputs),
        identity={"kind": "spacy", "sha256": sha},
    )


def entry(r: PipelineResult, *, machine: str = "m1", replicates: dict | None = None) -> BaselineEntry:
    return BaselineEntry(
        identity=dict(r.identity),
        predictions=dict(zip(r.example_ids, r.outputs, strict=True)),
        words_per_second=r.words_per_second,
        size_bytes=r.size_bytes,
        machine=machine,
        replicates=replicates or {},
    )


def context(exs: list[GoldExample]) -> BaselineContext:
    return BaselineContext(
        file="baselines/s.json", blessed="2026-11-26T00:00:00+00:00", gold_ref="g@v1", gold_sha256="abc", gold_digests=example_digests(exs)
    )


def against(
    current: PipelineResult,
    base: BaselineEntry,
    exs: list[GoldExample],
    ctx: BaselineContext | None = None,
    machine: str = "m1",
    min_coverage: float = 0.8,
):  # type: ignore[no-untyped-def]
    digests = example_digests(exs)
    return compare_with_baseline(
        current,
        base,
        ctx or context(exs),
        texts=[e.text for e in exs],
        gold=[e.spans for e in exs],
        gold_digests=[digests[e.input_hash] for e in exs],
        machine=machine,
        min_coverage=min_coverage,
        count=lambda positions, outs: count_outputs("ner", [exs[i] for i in positions], outs, LABELS, threshold=0.5),
        resamples=300,
        seed=0,
    )


def perfect(exs: list[GoldExample]) -> list:
    return [e.spans for e in exs]


def test_identical_model_and_predictions_pass_and_say_so() -> None:
    exs = examples()
    now = result(exs, perfect(exs))
    compared = against(now, entry(now), exs)
    assert compared.identical_model and compared.identical_predictions and compared.flips == ()
    verdict = NoRegressionGate("distilled", -0.02).judge_baseline(now, compared, None)
    assert verdict.passed and "identical to baseline" in verdict.message
    assert verdict.baseline == pytest.approx(1.0) and verdict.delta == 0.0


def test_real_drop_fails_and_lists_newly_broken_examples_per_label() -> None:
    exs = examples()
    base = result(exs, perfect(exs))
    # The new model misses every LOC span of the first 60 examples: a drop no bootstrap calls noise.
    worse = [tuple(s for s in e.spans if not (i < 60 and s[2] == "LOC")) for i, e in enumerate(exs)]
    now = result(exs, worse, sha="model-b")
    compared = against(now, entry(base), exs)
    broken = compared.broken
    assert len(broken) == 30 and {f.label for f in broken} == {"LOC"} and compared.fixed == ()
    assert broken[0].baseline == broken[0].gold and broken[0].current == ()
    assert broken[0].text == exs[0].text
    micro = NoRegressionGate("distilled", -0.02).judge_baseline(now, compared, None)
    assert not micro.passed and micro.ci is not None and micro.ci[1] < 0
    assert "vs baseline 1.000" in micro.message and "95% CI" in micro.message
    loc = NoRegressionGate("distilled", -0.02, label="LOC").judge_baseline(now, compared, None)
    dish = NoRegressionGate("distilled", -0.02, label="DISH").judge_baseline(now, compared, None)
    assert not loc.passed and dish.passed
    assert loc.gate_id == "no_regression<=0.02[LOC]"


def test_small_drop_within_noise_passes() -> None:
    exs = examples()
    base = result(exs, perfect(exs))
    worse = [e.spans if i != 0 else () for i, e in enumerate(exs)]  # one example worse
    now = result(exs, worse, sha="model-b")
    compared = against(now, entry(base), exs)
    assert len(compared.broken) == 2  # DISH and LOC of that example
    verdict = NoRegressionGate("distilled", -0.001).judge_baseline(now, compared, None)
    assert verdict.passed and "drop not significant" in verdict.message


def test_changed_gold_compares_on_unchanged_examples_and_refuses_below_coverage() -> None:
    exs = examples()
    base = result(exs, perfect(exs))
    ctx = context(exs)
    changed = dict(ctx.gold_digests)
    for e in exs[:12]:
        changed[e.input_hash] = "0" * 16  # the baseline's gold said something else for these
    compared = against(base, entry(base), exs, ctx=replace(ctx, gold_digests=changed))
    assert (compared.compared, compared.changed, compared.unseen) == (188, 12, 0)
    verdict = NoRegressionGate("distilled", -0.02).judge_baseline(base, compared, None)
    assert verdict.passed and "compared on 188 of 200 examples (12 with changed gold" in verdict.message
    for e in exs[:100]:
        changed[e.input_hash] = "0" * 16
    refused = against(base, entry(base), exs, ctx=replace(ctx, gold_digests=changed))
    assert refused.comparison is None and "100 of 200" in str(refused.problem)
    verdict = NoRegressionGate("distilled", -0.02).judge_baseline(base, refused, None)
    assert not verdict.passed and "under the 80% required" in verdict.message


def test_same_model_bytes_with_other_predictions_is_flagged_as_nondeterminism() -> None:
    exs = examples()
    base = result(exs, perfect(exs))
    now = result(exs, [e.spans if i else () for i, e in enumerate(exs)])  # same sha256 "model-a"
    verdict = NoRegressionGate("distilled", -0.5).judge_baseline(now, against(now, entry(base), exs), None)
    assert not verdict.passed and "not deterministic" in verdict.message


def test_missing_baseline_fails_with_the_bless_command() -> None:
    exs = examples()
    now = result(exs, perfect(exs))
    verdict = NoRegressionGate("distilled", -0.02).judge_baseline(now, None, "no baseline: run `harness bless s.toml`")
    assert not verdict.passed and "harness bless" in verdict.message


def test_speed_compared_on_the_same_machine_only_and_size_everywhere() -> None:
    exs = examples()
    base = result(exs, perfect(exs), wps=10_000, size=1_000_000)
    slow = result(exs, perfect(exs), wps=5_000, size=1_200_000, sha="model-b")
    here = against(slow, entry(base, machine="m1"), exs, machine="m1")
    speed = SpeedRegressionGate("distilled", 0.2).judge_baseline(slow, here, None)
    assert not speed.passed and speed.skipped is None and "-50.0%" in speed.message
    elsewhere = against(slow, entry(base, machine="m2"), exs, machine="m1")
    skipped = SpeedRegressionGate("distilled", 0.2).judge_baseline(slow, elsewhere, None)
    assert skipped.skipped and "another machine" in skipped.skipped and not skipped.passed
    size = SizeRegressionGate("distilled", 0.1).judge_baseline(slow, elsewhere, None)
    assert not size.passed and size.measured == pytest.approx(0.2)
    assert SizeRegressionGate("distilled", 0.25).judge_baseline(slow, elsewhere, None).passed
    assert speed.message == "distilled: 5,000 words/s vs baseline 10,000 (-50.0%); beyond the allowed drop of 20%"
    assert size.message == "distilled: 1,200,000 bytes vs baseline 1,000,000 (+20.0%); beyond the allowed growth of 10%"
    assert (speed.baseline, speed.delta, size.baseline, size.delta) == (10_000, -5_000, 1_000_000, 200_000)


# -- the file -----------------------------------------------------------------------

GOLD = {"ref": "g@v1", "name": "g", "version": 1, "sha256": "a" * 64, "task": "ner"}


def write_baseline(tmp_path: Path, results: dict[str, PipelineResult], gold: dict | None = None, all_pipelines: list[str] | None = None) -> Path:
    exs = examples()
    return bless(
        baseline_path(tmp_path / "baselines", "s"),
        suite="s",
        gold=gold or GOLD,
        task="ner",
        examples=exs,
        results=results,
        all_pipelines=all_pipelines or list(results),
    )


def test_bless_then_load_round_trips_predictions_exactly(tmp_path: Path) -> None:
    exs = examples()
    now = result(exs, perfect(exs))
    path = write_baseline(tmp_path, {"distilled": now})
    loaded = load(path)
    assert loaded.pipelines["distilled"].predictions == dict(zip(now.example_ids, now.outputs, strict=True))
    assert loaded.context.gold_ref == "g@v1" and loaded.context.gold_digests == example_digests(exs)
    text = path.read_text()
    assert text.count("\n") > len(exs)  # one example per line: reviewable diffs
    assert json.loads(text)["sha256"]


def test_hand_edited_baseline_is_detected_and_named(tmp_path: Path) -> None:
    exs = examples()
    path = write_baseline(tmp_path, {"distilled": result(exs, perfect(exs))})
    path.write_text(path.read_text().replace('"f": 1.0', '"f": 0.9', 1))
    with pytest.raises(InputError, match="edited by hand or damaged") as err:
        load(path)
    assert str(path) in str(err.value)
    path.write_text("{ not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load(path)


def test_bless_refuses_to_replace_a_file_it_did_not_write(tmp_path: Path) -> None:
    path = baseline_path(tmp_path / "baselines", "s")
    path.parent.mkdir(parents=True)
    path.write_text('{"mine": true}\n')
    exs = examples()
    with pytest.raises(InputError, match="not a harness baseline"):
        write_baseline(tmp_path, {"distilled": result(exs, perfect(exs))})
    assert path.read_text() == '{"mine": true}\n'


def test_blessing_one_pipeline_keeps_the_others_on_the_same_gold_only(tmp_path: Path) -> None:
    exs = examples()
    a, b = result(exs, perfect(exs)), result(exs, perfect(exs), name="llm", sha="llm-1")
    write_baseline(tmp_path, {"distilled": a, "llm": b})
    path = write_baseline(tmp_path, {"distilled": result(exs, perfect(exs), sha="model-2")}, all_pipelines=["distilled", "llm"])
    loaded = load(path)
    assert loaded.pipelines["llm"].identity["sha256"] == "llm-1"
    assert loaded.pipelines["distilled"].identity["sha256"] == "model-2"
    with pytest.raises(InputError, match="bless every pipeline together"):
        write_baseline(tmp_path, {"distilled": a}, gold={**GOLD, "ref": "g@v2", "sha256": "b" * 64}, all_pipelines=["distilled", "llm"])


def _bless_in_process(args: tuple[str, int]) -> None:
    tmp, seed = args
    exs = examples()
    outputs = [e.spans if (i + seed) % 7 else () for i, e in enumerate(exs)]
    write_baseline(Path(tmp), {"distilled": result(exs, outputs, sha=f"model-{seed}")})


def test_concurrent_blessings_leave_one_valid_file(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_bless_in_process, [(str(tmp_path), seed) for seed in range(8)])
    path = baseline_path(tmp_path / "baselines", "s")
    assert load(path).pipelines["distilled"].identity["sha256"].startswith("model-")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
