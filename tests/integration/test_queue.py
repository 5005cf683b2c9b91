"""The correction queue and the loop: export, fill, review, apply, distill, retrain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.gold import GoldStore
from harness.loop import queue, records
from harness.loop.apply import apply, simulated_review
from harness.loop.distill import distill
from harness.loop.fill import fill
from harness.loop.retrain import retrain
from harness.suites import parse_suite

from .test_llm import write_config


@pytest.fixture
def suite(tmp_path: Path, mini_gold_dir: Path, ner_model: Path) -> Path:
    """A suite on a private copy of mini-restaurant, with the teacher recorded for all splits."""
    import shutil

    gold_dir = tmp_path / "gold"
    shutil.copytree(mini_gold_dir / "mini-restaurant", gold_dir / "mini-restaurant")
    config = write_config(
        tmp_path / "llm.cfg",
        tmp_path / "cassette.jsonl",
        "harness.SimulatedTeacher.v1",
        {"gold": "mini-restaurant@v1", "gold_dir": str(gold_dir), "task": "ner", "seed": 0},
        mode="record",
    )
    model = tmp_path / "models" / "distilled"
    shutil.copytree(ner_model, model)
    path = tmp_path / "suites" / "s.toml"
    path.parent.mkdir()
    path.write_text(
        f'[suite]\nname = "q"\ngold = "mini-restaurant@v1"\ngold_dir = "{gold_dir}"\npool = "mini-restaurant@v1:train"\n'
        f'resamples = 50\n\n[pipelines.distilled]\npath = "{model}"\n[pipelines.distilled.train]\nmax_steps = 30\n\n'
        f'[pipelines.llm]\nkind = "llm"\nconfig = "{config}"\n\n[gates.distilled]\nf_min = 0.0\n'
    )
    return path


def test_pytest_run_exports_failures_idempotently(suite: Path, pytester: pytest.Pytester) -> None:
    reports = pytester.path / "reports"
    result = pytester.runpytest(str(suite), f"--harness-reports={reports}")
    assert result.ret == 0
    path = reports / "queue" / "q.jsonl"
    first = queue.load(path)
    assert first and {r["harness"]["category"] for r in first} <= {"train_signal", "hard_case", "gold_suspect"}
    record = first[0]
    assert {"text", "spans", "tokens", "meta", "_input_hash", "_task_hash"} <= set(record)
    assert set(record["harness"]["predictions"]) == {"distilled", "llm"} and record["harness"]["gold"] is not None
    # a reviewer's decision survives re-export, and nothing is duplicated
    record["harness"]["decision"] = "flag"
    queue.save(path, first)
    pytester.runpytest(str(suite), f"--harness-reports={reports}")
    second = queue.load(path)
    assert len(second) == len(first)
    assert len({r["_input_hash"] for r in second}) == len(second)
    assert next(r for r in second if r["_input_hash"] == record["_input_hash"])["harness"]["decision"] == "flag"


def test_merge_resolves_records_that_now_pass_without_deleting() -> None:
    from harness.gold import GoldExample

    example = GoldExample(5, "a b", spans=((0, 1, "X"),), tokens=((0, 1, "a", True), (2, 3, "b", False)))
    record = records.make_record(
        suite="s",
        scope="eval",
        category="hard_case",
        example=example,
        task="ner",
        best=example.spans,
        gold=example.spans,
        predictions={"d": ()},
        informativeness=1.0,
    )
    once = queue.merge([], [record], scope="eval")
    assert once[0]["harness"]["status"] == "open"
    twice = queue.merge(once, [], scope="eval")
    assert len(twice) == 1 and twice[0]["harness"]["status"] == "resolved"
    again = queue.merge(twice, [record], scope="eval")
    assert again[0]["harness"]["status"] == "open"


def test_fill_apply_retrain_loop_pieces(suite: Path, tmp_path: Path) -> None:
    spec = parse_suite(suite)
    reports = tmp_path / "reports"
    summary = fill(spec, reports_dir=reports, limit=15)
    assert 0 < summary.queued <= 15 and summary.disagreements >= summary.queued
    records = queue.load(summary.path)
    scores = [r["harness"]["informativeness"] for r in records]
    assert scores == sorted(scores, reverse=True)  # most informative first
    assert all(r["harness"]["category"] == "disagreement" and r["harness"]["gold"] is None for r in records)
    assert fill(spec, reports_dir=reports, limit=15).queued <= 15
    assert len({r["_input_hash"] for r in queue.load(summary.path)}) == len(queue.load(summary.path))

    decided = simulated_review(spec, reports_dir=reports)
    assert decided == len(queue.load(summary.path))
    applied = apply(spec, reports_dir=reports)
    assert applied.training_version == "mini-restaurant-train@v1" and applied.training_records == decided
    store = GoldStore(spec.gold_dir)
    version = store.resolve("mini-restaurant-train@v1")
    assert version.split_size("eval") == 0 and "queue apply" in version.manifest["notes"]
    assert apply(spec, reports_dir=reports).nothing_to_do  # applying twice changes nothing
    assert store.version_numbers("mini-restaurant-train") == [1]

    silver = distill(spec)
    assert silver.ref == "mini-restaurant-train@v2" and silver.manifest["parent"] == "v1"
    assert "no gold labels" in silver.manifest["notes"]
    # re-distilling keeps the reviewed examples (they win over their silver labels) ...
    corrected = {e.input_hash: e.spans for e in version.iter_examples("train") if e.meta.get("corrected_from_queue")}
    kept = {e.input_hash: e.spans for e in silver.iter_examples("train") if e.meta.get("corrected_from_queue")}
    assert kept == corrected and f"{decided} corrected example(s) of mini-restaurant-train@v1 kept" in silver.manifest["notes"]
    assert len({e.input_hash for e in silver.iter_examples("train")}) == silver.split_size("train")
    # ... unless asked for silver only
    only = distill(spec, keep_corrected=False)
    assert not any(e.meta.get("corrected_from_queue") for e in only.iter_examples("train"))

    result = retrain(spec, output=tmp_path / "models" / "new", max_steps=20, evaluate_llm=False, resamples=20)
    meta = json.loads((result.model / "meta.json").read_text())["harness"]
    assert meta["gold"] == "mini-restaurant-train" and meta["gold_version"] == 3
    assert meta["eval"]["gold"] == "mini-restaurant@v1" and "micro_f" in meta["eval"]


def test_gold_suspect_fix_makes_a_new_gold_version(suite: Path, tmp_path: Path, pytester: pytest.Pytester) -> None:
    spec = parse_suite(suite)
    reports = tmp_path / "reports"
    pytester.runpytest(str(suite), f"--harness-reports={reports}")
    path = queue.queue_path(reports, "q")
    records = queue.load(path)
    for record in records:  # only the records this test decides
        record["harness"]["category"] = "hard_case"
    target = records[0]
    target["harness"]["category"] = "gold_suspect"  # pretend both models agreed against the gold
    target["harness"]["decision"] = "distilled"
    target["harness"]["answer"] = target["harness"]["predictions"]["distilled"]
    other = records[1]
    other["harness"]["category"] = "train_signal"  # an eval-split record is a gold check, never training data
    other["harness"]["decision"] = "gold"
    other["harness"]["answer"] = other["harness"]["gold"]
    queue.save(path, records)
    summary = apply(spec, reports_dir=reports)
    assert summary.gold_version == "mini-restaurant@v2" and summary.gold_fixes == 1
    assert summary.gold_confirmed == 1 and summary.training_version is None and not summary.refused
    diff = GoldStore(spec.gold_dir).diff("mini-restaurant@v1", "mini-restaurant@v2")
    assert diff.changed == (target["_input_hash"],) and not diff.moved_split
    applied = {r["_input_hash"]: r["harness"]["applied_to"] for r in queue.load(path)}
    assert applied[other["_input_hash"]] == "mini-restaurant@v1 (gold confirmed)"
    assert applied[target["_input_hash"]] == "mini-restaurant@v2"


def test_pool_with_eval_texts_is_refused_and_named(suite: Path) -> None:
    text = suite.read_text().replace('pool = "mini-restaurant@v1:train"', 'pool = "mini-restaurant@v1:eval"')
    suite.write_text(text)
    with pytest.raises(InputError, match=r"pool contains \d+ text\(s\) of the eval split .*leakage"):
        fill(parse_suite(suite), limit=5)


def test_hand_broken_queue_line_is_named_and_nothing_lost(suite: Path, tmp_path: Path) -> None:
    spec = parse_suite(suite)
    reports = tmp_path / "reports"
    path = fill(spec, reports_dir=reports, limit=5).path
    before = path.read_text()
    lines = before.splitlines()
    path.write_text(lines[0] + "\n" + lines[1][:30] + "\n" + "\n".join(lines[2:]) + "\n")
    broken = path.read_text()
    with pytest.raises(InputError, match=rf"{path}:2"):
        apply(spec, reports_dir=reports)
    assert path.read_text() == broken  # nothing rewritten


def test_misaligned_reviewed_answer_is_refused(suite: Path, tmp_path: Path) -> None:
    spec = parse_suite(suite)
    reports = tmp_path / "reports"
    path = fill(spec, reports_dir=reports, limit=3).path
    records = queue.load(path)
    records[0]["harness"]["decision"] = "edited"
    records[0]["harness"]["answer"] = [[0, 2, "Cuisine"]]  # cuts through a token
    queue.save(path, records)
    with pytest.raises(InputError, match="no longer aligns"):
        apply(spec, reports_dir=reports)
    assert GoldStore(spec.gold_dir).version_numbers("mini-restaurant-train") == []


def test_terminal_review_saves_each_decision_and_resumes(suite: Path, tmp_path: Path) -> None:
    spec = parse_suite(suite)
    reports = tmp_path / "reports"
    path = fill(spec, reports_dir=reports, limit=4).path
    env = {**os.environ, "COLUMNS": "120"}
    args = [sys.executable, "-m", "harness.cli", "queue", "review", str(suite), "--reports", str(reports)]
    # accept the LLM version, then edit by token range, then quit
    proc = subprocess.run(args, input="a 2\ne 0 Cuisine\nq\n", capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = queue.load(path)
    decided = [r for r in records if r["harness"]["decision"]]
    assert [r["harness"]["decision"] for r in decided] == ["llm", "edited"]
    first_token = decided[1]["tokens"][0]
    assert decided[1]["harness"]["answer"] == [[first_token["start"], first_token["end"], "Cuisine"]]
    assert decided[1]["spans"][0]["label"] == "Cuisine"  # the Prodigy task itself carries the answer
    # resumes at the first undecided record; end of input stops cleanly
    proc = subprocess.run(args, input="r\n", capture_output=True, text=True, env=env, timeout=120)
    assert "[1/2]" in proc.stdout and len([r for r in queue.load(path) if r["harness"]["decision"]]) == 3


def test_review_offers_training_records_before_eval_gold_checks(suite: Path, tmp_path: Path, pytester: pytest.Pytester) -> None:
    """The first records reviewed used to be eval-split ones that apply then refused."""
    reports = tmp_path / "reports"
    pytester.runpytest(str(suite), f"--harness-reports={reports}")  # eval-split records first in the file
    path = fill(parse_suite(suite), reports_dir=reports, limit=3).path
    loaded = queue.load(path)
    assert loaded[0]["harness"]["scope"] == "eval" and any(r["harness"]["scope"] == "pool" for r in loaded)
    env = {**os.environ, "COLUMNS": "200"}
    args = [sys.executable, "-m", "harness.cli", "queue", "review", str(suite), "--reports", str(reports)]
    n_pool = sum(r["harness"]["scope"] == "pool" for r in loaded)
    proc = subprocess.run(args, input="s\n" * (n_pool + 1), capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    said = proc.stdout
    first_eval = said.index("(eval)")
    assert said.count("(pool)") == n_pool and said.index("(pool)") < first_eval
    assert "training data: your answer goes into the next training version" in said[:first_eval]
    assert "gold check (eval split)" in said[first_eval:] and "never becomes training data" in said[first_eval:]


def test_prodigy_export_comes_back_as_decisions(suite: Path, tmp_path: Path) -> None:
    from harness.loop.apply import import_prodigy_answers

    spec = parse_suite(suite)
    reports = tmp_path / "reports"
    path = fill(spec, reports_dir=reports, limit=3).path
    tasks = queue.load(path)
    exported = tmp_path / "db-out.jsonl"
    tasks[0]["answer"] = "accept"
    tasks[0]["spans"] = tasks[0]["spans"][:1]
    tasks[1]["answer"] = "reject"
    exported.write_text("\n".join(json.dumps(t) for t in tasks[:2]) + "\n")
    assert import_prodigy_answers(spec, exported, reports_dir=reports) == 2
    decided = {r["_input_hash"]: r["harness"] for r in queue.load(path)}
    assert decided[tasks[0]["_input_hash"]]["decision"] == "edited"
    assert len(decided[tasks[0]["_input_hash"]]["answer"]) == len(tasks[0]["spans"])
    assert decided[tasks[1]["_input_hash"]]["decision"] == "reject"
    exported.write_text(json.dumps({**tasks[0], "_input_hash": 123}) + "\n")
    with pytest.raises(InputError, match=rf"{exported}:1, field '_input_hash'"):
        import_prodigy_answers(spec, exported, reports_dir=reports)


def test_demo_loop_runs_rounds_on_a_scratch_copy(suite: Path, tmp_path: Path) -> None:
    from harness.loop.demo import loop

    spec = parse_suite(suite)
    rows = loop(spec, rounds=1, per_round=10, workdir=tmp_path / "loop", max_steps=20)
    assert [r.round for r in rows] == [0, 1]
    assert rows[0].corrected == 0 and 0 < rows[1].corrected <= 10
    assert rows[0].training == "mini-restaurant-train@v1" and rows[1].training == "mini-restaurant-train@v2"
    assert rows[0].llm_f == rows[1].llm_f > 0
    # the suite's own gold directory was not touched
    assert GoldStore(spec.gold_dir).version_numbers("mini-restaurant-train") == []


def test_loop_ranks_distilled_texts_with_a_held_out_student_once_unseen_ones_are_used_up(suite: Path, tmp_path: Path) -> None:
    from harness.loop.demo import loop

    spec = parse_suite(suite)
    workdir = tmp_path / "loop"
    # round 1 queues every unseen disagreement; round 2 has only distilled texts left
    rows = loop(spec, rounds=2, per_round=10_000, workdir=workdir, max_steps=20)
    store = GoldStore(workdir / "gold")
    silver = {e.input_hash for e in store.resolve("mini-restaurant-train@v1").iter_examples("train")}
    records = queue.load(queue.queue_path(workdir / "reports", spec.name))
    queued = {int(r["_input_hash"]) for r in records}
    unseen = {e.input_hash for e in store.resolve("mini-restaurant@v1").iter_examples("train")} - silver
    # unseen texts the two pipelines disagree on came first; then distilled texts, ranked by a
    # student trained on those corrections only (it never saw the silver labels)
    held_out = store.resolve("mini-restaurant-train-held-out@v1")
    held_out_texts = {e.input_hash for e in held_out.iter_examples("train")}
    assert held_out_texts and held_out_texts <= unseen
    assert all(e.meta.get("corrected_from_queue") for e in held_out.iter_examples("train"))
    assert queued & silver and queued & unseen
    assert rows[1].corrected < rows[2].corrected == len(queued)
    # unseen texts that were never queued (the pipelines agreed) joined the training data as silver
    final = store.resolve(rows[2].training)
    assert {e.input_hash for e in final.iter_examples("train")} == silver | unseen
    assert (workdir / "models" / "round-2-held-out" / "meta.json").exists()


def test_random_rank_samples_the_whole_pool_in_a_seeded_order(suite: Path, tmp_path: Path) -> None:
    """--rank random: every pool text alike (agreements too), the order a function of the
    suite's seed and the input hashes only; the same on another engine."""
    from harness.core.stats import keyed_uniform
    from harness.options import EngineChoice

    spec = parse_suite(suite)
    fill(spec, reports_dir=tmp_path / "warm", limit=1)  # the cassette records every pool text once
    sampled = fill(spec, reports_dir=tmp_path / "a", limit=40, rank="random", llm_mode="replay")
    records = queue.load(sampled.path)
    assert sampled.rank == "random" and sampled.queued == 40 and {r["harness"]["category"] for r in records} == {"sampled"}
    hashes = [r["_input_hash"] for r in records]
    pool = [e.input_hash for e in GoldStore(spec.gold_dir).resolve("mini-restaurant@v1").iter_examples("train")]
    # The sample: the 40 pool texts with the highest keyed draw (the queue file then orders them for review).
    assert set(hashes) == set(sorted(pool, key=lambda h: (-keyed_uniform(spec.seed, "sample", h), h))[:40])
    agreeing = [r for r in records if r["harness"]["predictions"]["distilled"] == r["harness"]["predictions"]["llm"]]
    assert agreeing  # not only disagreements: a random sample of the pool
    ranked = fill(spec, reports_dir=tmp_path / "b", limit=40, llm_mode="replay")
    assert ranked.rank == "disagreement" and hashes != [r["_input_hash"] for r in queue.load(ranked.path)]
    other = fill(spec, reports_dir=tmp_path / "c", limit=40, rank="random", llm_mode="replay", engine=EngineChoice(name="processes", workers=2))
    assert [r["_input_hash"] for r in queue.load(other.path)] == hashes


def test_retrained_models_feed_the_effort_forecast_everywhere(suite: Path, tmp_path: Path, pytester: pytest.Pytester) -> None:
    """Each loop round's retrain adds a learning-curve point; `harness forecast`, the pytest
    terminal summary and the HTML page show the curve and the forecast from them."""
    from harness.loop.demo import loop
    from harness.loop.learning import learning_path, load_points

    from .test_cli import run

    spec = parse_suite(suite)
    workdir = tmp_path / "loop"
    rows = loop(spec, rounds=2, per_round=10, workdir=workdir, max_steps=20)
    reports = workdir / "reports"
    points = load_points(reports, spec.name)
    assert [p.training for p in points] == [r.training for r in rows] and [p.corrected for p in points] == [r.corrected for r in rows]
    assert points[0].llm_f == rows[0].llm_f and points[1].llm_f is None  # later rounds do not re-score the LLM
    assert [p.micro_f for p in points] == [r.distilled_f for r in rows] and points[0].counts.shape[1] == 3
    out = run("forecast", str(suite), "--reports", str(reports), cwd=tmp_path).stdout
    assert "effort forecast:" in out and "learning curve (q)" in out and f"{rows[0].llm_f:.3f}" in out
    missing = run("forecast", str(suite), "--reports", str(tmp_path / "none"), cwd=tmp_path, ok=False)
    assert missing.returncode == 1 and "harness retrain" in missing.stdout
    result = pytester.runpytest(str(suite), f"--harness-reports={reports}")
    result.stdout.fnmatch_lines(["*effort forecast:*", "*learning curve (q)*"])
    page = (reports / "report.html").read_text(encoding="utf-8")
    assert '<svg class="learning"' in page and page.count('class="measured"') == 3
    # a damaged learning file is named by file and line, and costs the run nothing else
    learning_path(reports, spec.name).write_text("{not json\n", encoding="utf-8")
    result = pytester.runpytest(str(suite), f"--harness-reports={reports}")
    result.stdout.fnmatch_lines(["*learning curve of q not read:*q.jsonl:1*"])
