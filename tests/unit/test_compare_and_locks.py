"""The paired bootstrap against a brute-force resample, ``assert_not_worse``, and the file
locks other processes rely on."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import numpy as np
import pytest

from harness.core.compare import compare, paired_differences
from harness.core.metrics import Counts, precision_recall_f
from harness.io.locks import directory_lock, file_lock
from harness.testing import HarnessAssertionError, assert_not_worse

from .test_baselines import examples, perfect, result
from .test_noise import noisy


def _brute_force_interval(a: dict[str, Counts], b: dict[str, Counts], n: int, resamples: int, seed: int) -> tuple[float, float]:
    """Micro-F difference CI by drawing document indices explicitly, both sides with the same draw."""
    labels = sorted(set(a) | set(b))

    def per_doc(counts: dict[str, Counts]) -> np.ndarray:
        table = np.zeros((n, 3))
        for label in labels:
            c = counts.get(label, Counts())
            for column, positions in enumerate((c.tp, c.fp, c.fn)):
                np.add.at(table[:, column], list(positions), 1)
        return table

    da, db = per_doc(a), per_doc(b)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        draw = rng.integers(0, n, n)
        sa, sb = da[draw].sum(axis=0), db[draw].sum(axis=0)
        diffs.append(precision_recall_f(*sa)[2] - precision_recall_f(*sb)[2])
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


def test_the_paired_bootstrap_matches_a_brute_force_resample() -> None:
    exs = examples(60)
    a = result(exs, noisy(exs, 1, 0.15))
    b = result(exs, noisy(exs, 2, 0.30), sha="b")
    micro, _, _ = paired_differences(a.counts, b.counts, len(exs), resamples=4000, seed=3)
    low, high = _brute_force_interval(dict(a.counts), dict(b.counts), len(exs), resamples=4000, seed=11)
    assert micro.diff == pytest.approx(a.micro.f - b.micro.f)
    assert micro.ci[0] == pytest.approx(low, abs=0.02) and micro.ci[1] == pytest.approx(high, abs=0.02)


def test_pairing_cancels_the_shared_noise() -> None:
    """Two pipelines wrong on the same documents: the paired interval of their difference is
    far narrower than either one's own interval."""
    exs = examples(80)
    same_errors = noisy(exs, 4, 0.25)
    a = result(exs, same_errors)
    b = result(exs, [tuple(s for s in spans if s[2] != "LOC" or i % 7) for i, spans in enumerate(same_errors)], sha="b")
    micro = compare(a, b, resamples=1000, seed=0).micro
    width = micro.ci[1] - micro.ci[0]
    own = a.scores.micro.f_ci[1] - a.scores.micro.f_ci[0]
    assert width < own / 2
    identical = compare(a, a, resamples=200, seed=0).micro
    assert identical.diff == 0 and identical.ci == (0.0, 0.0)


def test_assert_not_worse_judges_the_lower_bound_like_the_llm_gate() -> None:
    exs = examples(120)
    good = result(exs, perfect(exs), name="distilled")
    teacher = result(exs, noisy(exs, 5, 0.2), name="llm", sha="t")
    assert_not_worse(good, teacher, max_drop=0.0)  # better: passes even with no allowed drop
    bad = result(exs, noisy(exs, 6, 0.6), name="distilled", sha="bad")
    with pytest.raises(HarnessAssertionError, match=r"distilled - llm: micro F difference = -0\.\d{3} \(paired 95% CI \[") as raised:
        assert_not_worse(bad, teacher, max_drop=0.05)
    assert "not above -0.050" in str(raised.value)
    assert_not_worse(bad, teacher, max_drop=0.99)  # a drop inside max_drop passes
    with pytest.raises(HarnessAssertionError, match="F of label LOC difference"):
        assert_not_worse(bad, teacher, max_drop=0.05, label="LOC")


def _hold(directory: str, held: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event) -> None:
    with directory_lock(directory):
        held.set()
        release.wait(30)


def test_a_held_directory_lock_is_refused_without_waiting(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(str(tmp_path), held, release))
    holder.start()
    try:
        assert held.wait(60)
        with directory_lock(tmp_path, wait=False) as got:
            assert got is False
    finally:
        release.set()
        holder.join(60)
    with directory_lock(tmp_path, wait=False) as got:
        assert got is True
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no lock file left in the directory


def _increment(path: str, times: int) -> None:
    for _ in range(times):
        with file_lock(path):
            value = int(Path(path).read_text())
            time.sleep(0.001)  # widen the read-modify-write window
            Path(path).write_text(str(value + 1))


def test_file_lock_serialises_read_modify_write_across_processes(tmp_path: Path) -> None:
    counter = tmp_path / "counter.txt"
    counter.write_text("0")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment, args=(str(counter), 40)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert all(w.exitcode == 0 for w in workers)
    assert counter.read_text() == "120"  # no update lost
