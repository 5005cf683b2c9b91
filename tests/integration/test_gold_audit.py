"""``harness gold audit``: out-of-fold students find planted gold errors; suspects are queued,
reviewed as gold checks and applied as a new gold version."""

from __future__ import annotations

import dataclasses
import random
import shutil
from pathlib import Path

from harness.gold import GoldStore
from harness.loop import queue
from harness.loop.audit import audit
from harness.specs import PipelineSpec

from .test_cli import run
from .test_queue import suite  # noqa: F401  (the fixture)

PLANTED_SHARE = 0.10


def plant_errors(store: GoldStore, ref: str, seed: int = 0) -> tuple[str, set[int]]:
    """A new version of ``ref`` with one span corrupted (label swapped or deleted) in about 10%
    of the examples that have spans; (its ref, the corrupted examples' hashes)."""
    version = store.resolve(ref)
    labels = sorted(version.manifest["labels"])
    rng = random.Random(seed)
    planted: set[int] = set()
    examples = []
    for split in ("train", "eval"):
        for example in version.iter_examples(split):
            if example.spans and rng.random() < PLANTED_SHARE:
                spans = list(example.spans)
                at = rng.randrange(len(spans))
                start, end, label = spans[at]
                if rng.random() < 0.5:
                    spans[at] = (start, end, rng.choice([x for x in labels if x != label]))
                else:
                    del spans[at]
                example = dataclasses.replace(example, spans=tuple(spans))
                planted.add(example.input_hash)
            examples.append(example)
    noisy = store.write_version(version.name, examples, task=version.task, source={"test": "planted"}, eval_fraction=0.3, seed=0, parent=version)
    return noisy.ref, planted


def test_the_audit_finds_planted_errors_far_above_chance(tmp_path: Path, mini_gold_dir: Path) -> None:
    """420 examples, ~10% with a planted error; 3 students of 600 steps (weak: F about 0.6).
    Measured here: 20 most suspect 0.45-0.50 planted (chance: 0.10), a third or more of the
    planted errors among the 2n most suspect; the bounds leave room for another CPU's training."""
    shutil.copytree(mini_gold_dir / "mini-restaurant", tmp_path / "gold" / "mini-restaurant")
    store = GoldStore(tmp_path / "gold")
    noisy, planted = plant_errors(store, "mini-restaurant@v1")
    result = audit(store.resolve(noisy), PipelineSpec(name="student", kind="spacy", path=""), folds=3, max_steps=600)
    ranked = [item.example.input_hash for item in result.suspects]
    assert result.examples == 420 and 30 <= len(planted) <= 55
    top = sum(h in planted for h in ranked[:20]) / 20
    recall = sum(h in planted for h in ranked[: 2 * len(planted)]) / len(planted)
    assert top >= 0.25, (top, recall)
    assert recall >= 0.25, (top, recall)


def test_audit_cli_queues_suspects_that_apply_as_a_new_gold_version(suite: Path, tmp_path: Path) -> None:  # noqa: F811
    reports = tmp_path / "reports"
    out = run(
        "gold",
        "audit",
        "mini-restaurant@v1",
        "--suite",
        str(suite),
        "--folds",
        "2",
        "--max-steps",
        "30",
        "--limit",
        "5",
        "--reports",
        str(reports),
        cwd=tmp_path,
    )
    assert "out-of-fold students" in out.stdout and "gold_suspect" in out.stdout
    path = reports / "queue" / "q.jsonl"
    records = queue.load(path)
    assert 1 <= len(records) <= 5
    assert {r["harness"]["scope"] for r in records} == {"gold"} and {r["harness"]["category"] for r in records} == {"gold_suspect"}
    assert all(r["meta"]["evidence"] and r["meta"]["audit"] == "mini-restaurant@v1" for r in records)
    assert [r["harness"]["informativeness"] for r in records] == sorted((r["harness"]["informativeness"] for r in records), reverse=True)
    # The reviewer takes the student's proposal for one suspect (it differs from the gold by construction).
    chosen = records[0]
    assert chosen["harness"]["predictions"]["out-of-fold student"] != chosen["harness"]["gold"]
    queue.decide(chosen, "edited", chosen["harness"]["predictions"]["out-of-fold student"], reviewer="test", task="ner")
    queue.save(path, records)
    applied = run("queue", "apply", str(suite), "--reports", str(reports), cwd=tmp_path)
    assert "mini-restaurant@v2" in applied.stdout
    gold_dir = Path(str(suite.read_text()).split('gold_dir = "')[1].split('"')[0])
    v2 = GoldStore(gold_dir).resolve("mini-restaurant@v2")
    fixed = next(e for split in ("train", "eval") for e in v2.iter_examples(split) if e.input_hash == chosen["_input_hash"])
    assert [list(s) for s in fixed.spans] == chosen["harness"]["predictions"]["out-of-fold student"]
    assert queue.load(path)[0]["harness"]["applied_to"] == "mini-restaurant@v2"
