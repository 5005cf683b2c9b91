"""Noise-aware regression verdicts: training noise from replicates, Holm over a pipeline's
family of F gates, the minimum detectable drop, and baselines with and without replicates."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.baselines import Replicate, bless, load
from harness.core.gates import NoRegressionGate
from harness.core.noise import holm, leave_one_out_se, min_detectable_drop, one_sided_p, regression_tests
from harness.evaluate import count_outputs

from .test_baselines import LABELS, against, context, entry, examples, perfect, result


def noisy(exs: list, seed: int, miss: float) -> list:
    """Predictions that drop each gold span with probability ``miss`` (a seeded "model")."""
    rng = random.Random(seed)
    return [tuple(s for s in e.spans if rng.random() >= miss) for e in exs]


def counts(exs: list, outputs: list):  # type: ignore[no-untyped-def]
    return count_outputs("ner", exs, outputs, LABELS, threshold=0.5)


# -- Holm ------------------------------------------------------------------------------


def test_holm_matches_the_step_down_by_hand() -> None:
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005})
    # sorted: d 0.005*4 = 0.02; a 0.01*3 = 0.03; c 0.03*2 = 0.06; b max(0.06, 0.04*1) = 0.06
    assert adjusted == pytest.approx({"d": 0.02, "a": 0.03, "c": 0.06, "b": 0.06})


@given(st.dictionaries(st.text(min_size=1, max_size=3), st.floats(0, 1), min_size=1, max_size=12))
def test_holm_is_at_least_raw_at_most_one_and_keeps_the_order(p: dict[str, float]) -> None:
    adjusted = holm(p)
    assert set(adjusted) == set(p)
    for name, value in p.items():
        assert value <= adjusted[name] + 1e-12 and adjusted[name] <= 1.0
    ranked = sorted(p, key=lambda k: (p[k], k))
    assert [adjusted[k] for k in ranked] == sorted(adjusted[k] for k in ranked)


def test_holm_controls_the_family_wise_error_on_null_p_values() -> None:
    """Nine uniform (null) p-values per family, 4,000 families: Holm rejects any at <= 5%."""
    rng = random.Random(0)
    families = 4000
    any_rejected = sum(1 for _ in range(families) if min(holm({str(i): rng.random() for i in range(9)}).values()) < 0.05)
    unadjusted = sum(1 for _ in range(families) if min(rng.random() for _ in range(9)) < 0.05)
    assert any_rejected / families <= 0.06
    assert unadjusted / families > 0.3  # what the per-label 95% gates gave before: 1 - 0.95**9 = 0.37


# -- the test statistic -----------------------------------------------------------------


def test_training_noise_widens_the_interval_and_says_so() -> None:
    exs = examples(400)
    blessed = counts(exs, noisy(exs, 0, 0.10))
    replicates = [counts(exs, noisy(exs, seed, 0.10 + 0.03 * (seed % 3))) for seed in range(1, 6)]
    candidate = counts(exs, noisy(exs, 99, 0.16))
    alone = {t.scope: t for t in regression_tests(candidate, [blessed], len(exs), resamples=400, seed=0, confidence=0.95)}
    with_training = {t.scope: t for t in regression_tests(candidate, [blessed, *replicates], len(exs), resamples=400, seed=0, confidence=0.95)}
    micro, micro_t = alone["micro"], with_training["micro"]
    assert micro.models == 1 and micro.train_sd is None and micro.sources == "eval sample only"
    assert micro_t.models == 6 and micro_t.train_sd is not None and micro_t.train_sd > 0
    assert micro_t.sources == "eval sample + training (6 models)"
    assert micro_t.se > micro_t.se_eval and micro_t.p_value > micro.p_value
    assert micro_t.reference_range[0] <= micro_t.reference_f <= micro_t.reference_range[1]
    assert micro_t.ci[0] < micro_t.diff < micro_t.ci[1]
    # se is the two variances added: eval sample, and training with the reference mean's own share
    assert micro_t.se == pytest.approx((micro_t.se_eval**2 + micro_t.train_sd**2 * (1 + 1 / 6)) ** 0.5)


def test_one_sided_p_is_small_for_a_drop_and_large_for_a_gain() -> None:
    assert one_sided_p(-0.1, 0.02) < 1e-5 and one_sided_p(0.1, 0.02) > 0.99
    assert one_sided_p(-0.1, 0.0) == 0.0 and one_sided_p(0.0, 0.0) == 1.0


def test_min_detectable_drop_grows_with_the_family_and_the_noise() -> None:
    assert min_detectable_drop(0.01, 1, 0.95) == pytest.approx(0.01645, abs=1e-4)  # one-sided 95%
    assert min_detectable_drop(0.01, 9, 0.95) > min_detectable_drop(0.01, 1, 0.95)
    assert min_detectable_drop(0.02, 9, 0.95) == pytest.approx(2 * min_detectable_drop(0.01, 9, 0.95))


def test_leave_one_out_gives_what_a_candidate_faces() -> None:
    exs = examples(300)
    models = [counts(exs, noisy(exs, seed, 0.12)) for seed in range(6)]
    spread = leave_one_out_se(models, len(exs), resamples=300, seed=0, confidence=0.95)
    se, sd = spread["micro"]
    assert sd is not None and sd > 0 and se > sd


# -- the gate ------------------------------------------------------------------------------


def _family_gate(label: str | None, family: tuple[str, ...], max_drop: float = 0.02) -> NoRegressionGate:
    return NoRegressionGate("distilled", -max_drop, label=label, family=family)


def test_a_retrain_within_training_noise_passes_what_eval_noise_alone_fails() -> None:
    exs = examples(400)
    base = result(exs, noisy(exs, 0, 0.02))
    candidate = result(exs, noisy(exs, 7, 0.10), sha="retrained")
    old_format = against(candidate, entry(base), exs)
    replicates = {
        seed: dict(zip(base.example_ids, noisy(exs, seed, miss), strict=True))
        for seed, miss in ((1, 0.06), (2, 0.12), (3, 0.04), (4, 0.10), (5, 0.08))
    }
    with_replicates = against(candidate, entry(base, replicates=replicates), exs)
    assert old_format.replicates == 0 and with_replicates.replicates == 5
    gate = _family_gate("LOC", ("micro", "DISH", "LOC"))
    eval_only = gate.judge_baseline(candidate, old_format, None)
    noise_aware = gate.judge_baseline(candidate, with_replicates, None)
    assert not eval_only.passed and eval_only.noise == "eval sample only"
    assert "vs baseline" in eval_only.message
    assert noise_aware.passed, noise_aware.message
    assert noise_aware.noise == "eval sample + training (6 models)"
    assert "vs blessed configuration" in noise_aware.message and "mean of 6 models" in noise_aware.message
    assert "Holm-adjusted" in noise_aware.message and "over 3 gates" in noise_aware.message
    assert noise_aware.p_adjusted is not None and noise_aware.p_value is not None
    assert noise_aware.p_adjusted >= noise_aware.p_value
    # the row says which part of the two-part rule decided
    drop = -noise_aware.measured  # against the mean of 6 models: within max_drop here
    assert 0 < drop <= 0.02 and noise_aware.decision == f"drop {drop:.3f} <= 0.020: pass"
    lenient = _family_gate("LOC", ("micro", "DISH", "LOC"), max_drop=0.01).judge_baseline(candidate, with_replicates, None)
    assert lenient.passed and lenient.p_adjusted is not None
    assert lenient.decision == f"drop {drop:.3f} > 0.010 but not significant (Holm p {lenient.p_adjusted:.3g}): pass"
    assert eval_only.decision.startswith(f"drop {-eval_only.measured:.3f} > 0.020 and significant (Holm p ")
    assert eval_only.decision.endswith("): FAIL")


def test_the_family_adjustment_passes_a_label_that_fails_alone() -> None:
    """A label whose drop is significant at 95% on its own but not once nine gates share the rate."""
    exs = examples(200)
    base = result(exs, perfect(exs))
    # misses a few LOC spans: a small drop with a raw one-sided p between 0.05/9 and 0.05
    worse = [tuple(s for s in e.spans if not (s[2] == "LOC" and i in (0, 2, 4))) for i, e in enumerate(exs)]
    now = result(exs, worse, sha="b")
    compared = against(now, entry(base), exs)
    raw_p = compared.test("LOC").p_value
    assert 0.05 / 9 < raw_p < 0.05, raw_p
    alone = _family_gate("LOC", ("LOC",), max_drop=0.0).judge_baseline(now, compared, None)
    family = ("micro", "LOC", *(f"L{i}" for i in range(7)))  # nine gates; seven have no test here (ignored)
    in_family = _family_gate("LOC", ("micro", "LOC", "DISH"), max_drop=0.0).judge_baseline(now, compared, None)
    assert not alone.passed and alone.p_adjusted == pytest.approx(raw_p)
    assert in_family.passed and in_family.p_adjusted is not None and in_family.p_adjusted >= 0.05 > raw_p
    assert _family_gate("LOC", family).family == family


def test_a_max_drop_below_the_detectable_drop_warns_without_failing() -> None:
    exs = examples(60)
    base = result(exs, noisy(exs, 0, 0.1))
    now = result(exs, noisy(exs, 1, 0.1), sha="b")
    compared = against(now, entry(base), exs)
    verdict = _family_gate("LOC", ("micro", "DISH", "LOC"), max_drop=0.01).judge_baseline(now, compared, None)
    assert verdict.min_detectable is not None and verdict.min_detectable > 0.01
    assert verdict.warning is not None
    assert f"LOC (support {compared.test('LOC').support}): drops under {verdict.min_detectable:.3f} cannot be told from noise" in verdict.warning
    wide = _family_gate("LOC", ("micro", "DISH", "LOC"), max_drop=0.9).judge_baseline(now, compared, None)
    assert wide.warning is None


def test_identical_predictions_keep_the_fast_path() -> None:
    exs = examples()
    now = result(exs, perfect(exs))
    compared = against(now, entry(now), exs)
    assert compared.tests == ()  # no bootstrap drawn without replicates
    verdict = _family_gate(None, ("micro", "DISH", "LOC")).judge_baseline(now, compared, None)
    assert verdict.passed and "identical to baseline" in verdict.message
    assert verdict.decision == "identical predictions to the baseline: pass"
    missing = _family_gate(None, ("micro",)).judge_baseline(now, None, "no baseline file baselines/x.json")
    assert not missing.passed and missing.decision == "no usable baseline: FAIL"


# -- the baseline file --------------------------------------------------------------------


def _replicate(exs: list, seed: int, identity_config: dict) -> Replicate:
    outputs = tuple(noisy(exs, seed, 0.1))
    return Replicate(seed, f"sha-{seed}", tuple(e.input_hash for e in exs), outputs, 0.9, identity_config)


TRAINED = {"meta": {"training": {"gold_sha256": "g", "config_sha256": "c", "max_steps": 100, "checkpoint": "last", "seed": 0}}}


def _bless(path: Path, exs: list, r, replicates=None) -> None:  # type: ignore[no-untyped-def]
    bless(
        path,
        suite="s",
        gold={"ref": "g@v1", "name": "g", "version": 1, "sha256": "abc", "task": "ner"},
        task="ner",
        examples=exs,
        results={"distilled": r},
        all_pipelines=["distilled"],
        replicates=replicates,
    )


def test_replicates_round_trip_and_are_kept_only_for_the_same_configuration(tmp_path: Path) -> None:
    exs = examples(50)
    path = tmp_path / "s.json"
    blessed = result(exs, perfect(exs))
    blessed = type(blessed)(**{**blessed.__dict__, "identity": {"kind": "spacy", "sha256": "m", **TRAINED}})
    config = {"gold_sha256": "g", "config_sha256": "c", "max_steps": 100, "checkpoint": "last"}
    _bless(path, exs, blessed, {"distilled": [_replicate(exs, s, config) for s in (1, 2)]})
    loaded = load(path).pipelines["distilled"]
    assert sorted(loaded.replicates) == [1, 2]
    assert loaded.replicates[1][exs[0].input_hash] == tuple(noisy(exs, 1, 0.1))[0]
    assert '"machine"' in path.read_text() and '"seed": 1' in path.read_text()

    # pytest --harness-bless blesses without training: the replicates of the same configuration stay ...
    _bless(path, exs, blessed)
    assert sorted(load(path).pipelines["distilled"].replicates) == [1, 2]
    # ... and go when the blessed model was trained otherwise (here: other steps)
    other = {"meta": {"training": {**TRAINED["meta"]["training"], "max_steps": 50}}}
    changed = type(blessed)(**{**blessed.__dict__, "identity": {"kind": "spacy", "sha256": "n", **other}})
    _bless(path, exs, changed)
    assert load(path).pipelines["distilled"].replicates == {}


def test_an_old_baseline_without_replicates_loads_and_counts_eval_noise_only(tmp_path: Path) -> None:
    exs = examples(80)
    path = tmp_path / "s.json"
    base = result(exs, noisy(exs, 0, 0.05))
    _bless(path, exs, base)
    assert '"replicates"' not in path.read_text()  # the format before replicates existed
    loaded = load(path)
    assert loaded.pipelines["distilled"].replicates == {}
    now = result(exs, noisy(exs, 3, 0.05), sha="b")
    digests = {e.input_hash: d for e, d in zip(exs, [loaded.context.gold_digests[e.input_hash] for e in exs], strict=True)}
    assert digests  # the baseline's digests are there for pairing
    compared = against(now, loaded.pipelines["distilled"], exs, ctx=context(exs))
    verdict = _family_gate(None, ("micro",)).judge_baseline(now, compared, None)
    assert verdict.noise == "eval sample only" and "noise: eval sample only" in verdict.message


def test_candidates_from_the_same_distribution_rarely_fail_the_family() -> None:
    """40 candidates drawn like the six reference models (same miss rate, other seeds), each
    judged by a family of three gates with max_drop 0 (significance alone decides): at most
    the stated 5% (2 of 40) fail any gate (measured: 0; eval-sample noise alone: 4)."""
    exs = examples(200)
    hashes = [e.input_hash for e in exs]
    failures = 0
    for trial in range(40):
        rng = random.Random(trial)
        reference = [dict(zip(hashes, noisy(exs, rng.randrange(10**6), 0.15), strict=True)) for _ in range(6)]
        base = result(exs, [reference[0][h] for h in hashes])
        now = result(exs, noisy(exs, rng.randrange(10**6), 0.15), sha="c")
        compared = against(now, entry(base, replicates=dict(enumerate(reference[1:], 1))), exs)
        family = ("micro", "DISH", "LOC")
        failures += any(not _family_gate(None if s == "micro" else s, family, 0.0).judge_baseline(now, compared, None).passed for s in family)
    assert failures <= 2, failures
