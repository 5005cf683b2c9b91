"""xdist: a worker's session travels to the controller as JSON and comes back equal."""

from __future__ import annotations

import json
import math
from pathlib import Path

from harness.core.compare import compare
from harness.core.gates import MicroFGate
from harness.core.metrics import Counts, score_table
from harness.core.results import PipelineResult, SpeedStats
from harness.gold import GoldRef
from harness.session import HarnessSession, LoadedSuite
from harness.specs import PipelineSpec, SuiteSpec


def result(name: str, tp: int, fp: int, fn: int) -> PipelineResult:
    counts = {"LOC": Counts(tp=tuple(range(tp)), fp=tuple(range(fp)), fn=tuple(range(fn)))}
    n = max(tp, fp, fn, 1)
    table = score_table(counts, n, variant="strict", resamples=50)
    speed = SpeedStats(float("nan"), 0, 0, 0.0, float("nan"), float("nan"), 0, 0)  # NaN must survive
    return PipelineResult(
        name,
        "spacy",
        "m",
        "ner",
        table,
        None,
        None,
        speed,
        10,
        None,
        None,
        n,
        tuple(range(n)),
        counts=counts,
        outputs=tuple(((0, 1, "LOC"),) for _ in range(n)),
    )


def test_export_is_json_and_merge_restores_everything(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    worker = HarnessSession()
    spec = SuiteSpec(tmp_path / "s.toml", "s", GoldRef("g", 1), tmp_path, {"d": PipelineSpec("d", "spacy", "m")})
    worker.suites["s"] = LoadedSuite(spec, None, ())  # type: ignore[arg-type]
    a, b = result("d", 6, 2, 2), result("llm", 5, 3, 6)
    worker.results[("s", "d")] = a
    worker.results[("s", "llm")] = b
    worker.errors[("s", "x")] = "pipeline not found"
    worker.comparisons[("s", "d", "llm")] = compare(a, b, resamples=50)
    gate = MicroFGate("d", 0.7)
    worker.verdicts["s"] = {f"d::{gate.id}": gate.judge(a)}
    payload = worker.export()
    assert json.loads(payload)["schema"] == "distill-harness/xdist/v1"  # plain JSON, no pickle
    monkeypatch.setattr("harness.session.load_suite", lambda file, verify: LoadedSuite(spec, None, ()))  # type: ignore[arg-type]
    controller = HarnessSession()
    controller.merge(payload)
    assert controller.results[("s", "d")].scores == a.scores
    assert controller.results[("s", "d")].outputs == a.outputs and controller.results[("s", "d")].counts == a.counts
    assert math.isnan(controller.results[("s", "d")].speed.words_per_second)
    assert repr(controller.results[("s", "llm")]) == repr(b)
    assert controller.comparisons[("s", "d", "llm")] == worker.comparisons[("s", "d", "llm")]
    assert controller.verdicts == worker.verdicts and controller.errors == worker.errors
