"""Suite parsing errors name file and key; gates give readable ids and verdicts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.core.gates import LabelFGate, MacroFGate, MicroFGate, SizeGate, WordsPerSecondGate, judge
from harness.core.metrics import Counts, score_table
from harness.core.results import PipelineResult, SpeedStats
from harness.errors import InputError
from harness.suites import build_gates, parse_suite

VALID = """
[suite]
name = "s"
gold = "data@v2"

[pipelines.distilled]
path = "../models/m"

[gates.distilled]
f_min = 0.7
label_f_min = 0.5
label_f_min_overrides = { LOC = 0.8 }
words_per_second_min = 1000
size_bytes_max = 50_000_000
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suites" / "s.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_valid_suite_parses_and_expands_label_gates(tmp_path: Path) -> None:
    spec = parse_suite(write(tmp_path, VALID))
    assert spec.name == "s" and str(spec.gold) == "data@v2"
    assert spec.gold_dir == (tmp_path / "gold").resolve()
    assert spec.pipelines["distilled"].path == str((tmp_path / "models" / "m").resolve())
    trained = parse_suite(
        write(
            tmp_path, VALID.replace("[gates.distilled]", '[pipelines.distilled.train]\nmax_steps = 9\ncheckpoint = "last"\n\n[gates.distilled]')
        )
    )
    assert trained.pipelines["distilled"].train is not None and trained.pipelines["distilled"].train.checkpoint == "last"
    ids = [g.id for g in build_gates(spec, ["LOC", "ORG"])]
    assert ids == ["f>=0.70", "words_per_second>=1000", "size_bytes<=50000000", "label_f>=0.80[LOC]", "label_f>=0.50[ORG]"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (VALID.replace('gold = "data@v2"', 'gold = "data@@v2"'), "suite.gold"),
        (VALID.replace("f_min = 0.7", "f_minimum = 0.7"), "gates.distilled.f_minimum"),
        (VALID.replace("f_min = 0.7", 'f_min = "high"'), "gates.distilled.f_min"),
        (VALID.replace('path = "../models/m"', 'path = "../models/m"\nkind = "onnx"'), "pipelines.distilled.kind"),
        (VALID.replace("[gates.distilled]", "[gates.teacher]"), "gates.teacher"),
        (VALID.replace('name = "s"\n', ""), "suite.name"),
        (
            VALID.replace("[gates.distilled]", '[pipelines.distilled.train]\ncheckpoint = "newest"\n\n[gates.distilled]'),
            "pipelines.distilled.train.checkpoint",
        ),
    ],
)
def test_invalid_suite_names_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        parse_suite(path)
    assert str(path) in str(err.value) and f"field '{key}'" in str(err.value)


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("f_min = 0.7", "f_min = = 0.7"))
    with pytest.raises(InputError, match=rf"{path}:10: invalid TOML: .*line 10"):
        parse_suite(path)


def test_unknown_label_override_is_an_error(tmp_path: Path) -> None:
    spec = parse_suite(write(tmp_path, VALID.replace("LOC = 0.8", "LOCATION = 0.8")))
    with pytest.raises(InputError, match=r"field 'gates.distilled.label_f_min_overrides.LOCATION'.*unknown label"):
        build_gates(spec, ["LOC", "ORG"])


def test_overrides_without_default_gate_only_named_labels(tmp_path: Path) -> None:
    spec = parse_suite(write(tmp_path, VALID.replace("label_f_min = 0.5\n", "")))
    labels = [g.label for g in build_gates(spec, ["LOC", "ORG"]) if g.metric == "label_f"]
    assert labels == ["LOC"]


def result_with(tp: int, fp: int, fn: int, wps: float = 5000.0, size: int = 1000) -> PipelineResult:
    counts = {"LOC": Counts(tp=tuple(range(tp)), fp=tuple(range(fp)), fn=tuple(range(fn)))}
    n = max(tp, fp, fn, 1)
    table = score_table(counts, n, variant="strict", resamples=100)
    speed = SpeedStats(wps, 100, 10, 0.1, 1.0, 2.0, 3, 8)
    return PipelineResult("distilled", "spacy", "m", "ner", table, None, None, speed, size, None, None, n, tuple(range(n)))


def test_failing_gate_message_has_measured_threshold_and_ci() -> None:
    verdict = judge(MicroFGate("distilled", 0.8), result_with(tp=6, fp=2, fn=2))
    assert not verdict.passed and verdict.measured == pytest.approx(0.75)
    assert "micro F = 0.750 (95% CI" in verdict.message and "fails >= 0.800" in verdict.message
    assert verdict.ci is not None and verdict.ci[0] <= verdict.ci[1]


def test_every_threshold_row_says_what_it_compared_and_why() -> None:
    result = result_with(tp=6, fp=2, fn=2, wps=1500.0, size=2_000_000)
    assert judge(MicroFGate("distilled", 0.8), result).decision == "0.750 < 0.800: FAIL"
    assert judge(MicroFGate("distilled", 0.7), result).decision == "0.750 >= 0.700: pass"
    assert judge(SizeGate("distilled", 1_000_000), result).decision == "2,000,000 > 1,000,000: FAIL"
    assert judge(WordsPerSecondGate("distilled", 1000), result).decision == "1,500 >= 1,000: pass"


def test_the_llm_comparison_measures_the_difference_and_decides_on_the_lower_bound() -> None:
    """The row used to show the CI's lower bound as "measured" (-0.040) where the difference
    was +0.002; the id now matches the suite key."""
    from harness.core.gates import VsLLMGate
    from harness.core.results import Comparison, Difference

    micro = Difference("micro", 0.702, 0.700, 0.002, (-0.040, 0.044))
    comparison = Comparison("distilled", "llm", micro, micro, (), 1.0, 1.0, 1000, 0)
    gate = VsLLMGate("distilled", -0.10, llm="llm")
    verdict = gate.judge(result_with(tp=6, fp=2, fn=2), comparison)
    assert gate.id == "distilled_vs_llm<=0.10[llm]"
    assert verdict.passed and verdict.measured == pytest.approx(0.002) and verdict.ci == (-0.040, 0.044)
    assert verdict.decision == "lower 95% bound -0.040 > -0.100 (difference +0.002): pass"
    tight = VsLLMGate("distilled", -0.01, llm="llm").judge(result_with(tp=6, fp=2, fn=2), comparison)
    assert not tight.passed and tight.decision == "lower 95% bound -0.040 <= -0.010 (difference +0.002): FAIL"


def test_speed_size_and_label_gates() -> None:
    result = result_with(tp=8, fp=0, fn=0, wps=1500.0, size=2_000_000)
    assert not judge(WordsPerSecondGate("distilled", 2000), result).passed
    assert judge(SizeGate("distilled", 5_000_000), result).passed
    assert not judge(SizeGate("distilled", 1_000_000), result).passed
    assert judge(LabelFGate("distilled", 0.9, label="LOC"), result).passed
    missing = judge(LabelFGate("distilled", 0.1, label="ORG"), result)
    assert not missing.passed and missing.measured == 0.0
    assert not math.isnan(judge(MacroFGate("distilled", 0.5), result).measured)


def test_a_gate_on_a_figure_that_was_not_measured_fails() -> None:
    """One rule: size and speed gates on a pipeline that has neither (imported predictions)
    fail saying so; they never pass on 'measured 0'."""
    import dataclasses

    unknown = dataclasses.replace(result_with(tp=8, fp=0, fn=0, wps=float("nan"), size=0), kind="predictions", size_source="unknown")
    for gate in (SizeGate("distilled", 1), WordsPerSecondGate("distilled", 10)):
        verdict = judge(gate, unknown)
        assert not verdict.passed and math.isnan(verdict.measured)
        assert "was not measured for this pipeline (kind predictions)" in verdict.message
