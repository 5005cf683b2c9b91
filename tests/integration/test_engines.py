"""The engines (local, processes, ray) on thousands of examples: identical scores, CIs and
queues; one model load per Ray actor; a worker killed mid-run is retried; a pool with
malformed lines names them and loses nothing else. The Ray tests run on a real local
cluster (2 CPUs), started once for the xdist group ``ray``."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from harness.engines import EngineStats, InMemory, build_engine
from harness.engines.base import MapTexts
from harness.errors import PipelineError
from harness.evaluate import evaluate_pipeline
from harness.gold import GoldStore, GoldVersion, import_examples
from harness.gold.synthetic import SYNTHETIC_NOTE, synthetic_copies
from harness.loop.fill import fill
from harness.options import EngineChoice
from harness.runners.spacy_data import spacy_tokenizer
from harness.specs import PipelineSpec
from harness.suites import parse_suite

from .conftest import SHIPPED_GOLD
from .test_llm import write_config

pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.slow]

ENGINES = ("local", "processes", "ray")
SMALL_BATCHES = 64  # many batches (and Ray blocks) on a few thousand texts


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """One local Ray cluster for every test of this module (they share an xdist group)."""
    import ray
    import ray.cloudpickle

    # The works defined here travel to Ray's workers by value (they cannot import this file).
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def big_gold(tmp_path_factory: pytest.TempPathFactory) -> GoldVersion:
    """4,000 synthetic restaurant queries (real texts, numbered copies), half of them eval."""
    root = tmp_path_factory.mktemp("big")
    records = [
        json.loads(line) for split in ("train", "eval") for line in (SHIPPED_GOLD / "restaurant-reviews" / "v1" / f"{split}.jsonl").open()
    ]
    with (root / "synthetic.jsonl").open("w", encoding="utf-8") as handle:
        for record in synthetic_copies(records, 4000):
            handle.write(json.dumps(record) + "\n")
    store = GoldStore(root / "gold")
    import_examples(
        store, [root / "synthetic.jsonl"], name="big", tokenizer=spacy_tokenizer("en"), eval_fraction=0.5, seed=0, notes=SYNTHETIC_NOTE
    )
    return store.resolve("big@v1")


def choice(engine: str) -> EngineChoice:
    return EngineChoice(name=engine, batch_size=SMALL_BATCHES, workers=2)


def test_eval_scores_and_intervals_do_not_depend_on_the_engine(ray_cluster: None, big_gold: GoldVersion, ner_model: Path) -> None:
    spec = PipelineSpec(name="distilled", kind="spacy", path=str(ner_model))
    examples = list(big_gold.iter_examples("eval"))
    assert len(examples) > 1500
    results = {e: evaluate_pipeline(big_gold, spec, resamples=200, seed=0, examples=examples, engine=choice(e)) for e in ENGINES}
    local = results["local"]
    for engine, result in results.items():
        assert result.outputs == local.outputs, engine
        assert result.scores == local.scores and result.overlap == local.overlap, engine  # figures and CIs, label by label
        assert result.counts == local.counts and result.example_ids == local.example_ids, engine
    assert "processes engine, 2 worker(s)" in results["processes"].speed.method
    assert "ray engine, 2 worker(s)" in results["ray"].speed.method
    assert results["ray"].size_bytes == local.size_bytes and results["ray"].identity == local.identity


@pytest.fixture
def pool_suite(tmp_path: Path, big_gold: GoldVersion, ner_model: Path) -> Path:
    """A suite on the synthetic gold with the simulated teacher (its cassette in record mode)."""
    config = write_config(
        tmp_path / "llm.cfg",
        tmp_path / "cassette.jsonl",
        "harness.SimulatedTeacher.v1",
        {"gold": "big@v1", "gold_dir": str(big_gold.path.parent.parent), "task": "ner", "seed": 0},
        mode="record",
    )
    path = tmp_path / "suites" / "pool.toml"
    path.parent.mkdir()
    path.write_text(
        f'[suite]\nname = "pool"\ngold = "big@v1"\ngold_dir = "{big_gold.path.parent.parent}"\n\n'
        f'[pipelines.distilled]\npath = "{ner_model}"\n\n[pipelines.llm]\nkind = "llm"\nconfig = "{config}"\n'
    )
    return path


def write_pool(directory: Path, texts: Sequence[str]) -> tuple[int, list[str]]:
    """The texts as three JSONL shards and one Parquet shard, two malformed lines in the
    first shard; returns (readable texts, the malformed lines' ``file:line``)."""
    directory.mkdir()
    quarter = len(texts) // 4
    parts = [texts[:quarter], texts[quarter : 2 * quarter], texts[2 * quarter : 3 * quarter]]
    for i, part in enumerate(parts):
        lines = [json.dumps({"text": t}) for t in part]
        if i == 0:
            lines.insert(5, '{"text": "unterminated')
            lines.insert(10, json.dumps({"txt": "no text field"}))
        (directory / f"pool-{i}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pl.DataFrame({"text": list(texts[3 * quarter :])}).write_parquet(directory / "pool-3.parquet")
    first = directory / "pool-0.jsonl"
    return len(texts), [f"{first}:6", f"{first}:11"]


def without_times(path: Path) -> list[dict]:
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record["harness"] = {k: v for k, v in record["harness"].items() if k not in ("first_seen", "last_seen")}
        records.append(record)
    return records


def test_the_queue_is_the_same_on_every_engine_and_bad_pool_lines_are_named(
    ray_cluster: None, pool_suite: Path, big_gold: GoldVersion, tmp_path: Path
) -> None:
    spec = parse_suite(pool_suite)
    texts = [e.text for e in big_gold.iter_examples("train")]
    readable, bad = write_pool(tmp_path / "pool", texts)
    eval_text = next(iter(big_gold.iter_examples("eval"))).text
    with (tmp_path / "pool" / "pool-2.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": eval_text}) + "\n")  # an eval text: left out by hash
    queues = {}
    for engine in ENGINES:
        # The cassette is recorded once, by the local engine; the others replay it.
        summary = fill(
            spec,
            reports_dir=tmp_path / engine,
            limit=150,
            pool=str(tmp_path / "pool"),
            engine=choice(engine),
            llm_mode="record" if engine == "local" else "replay",
        )
        assert summary.pool == readable and summary.engine == engine, engine  # every readable text answered, the eval one not
        assert [f"{p.origin}" for p in summary.problems] == bad, engine
        assert "not valid JSON" in summary.problems[0].message and "'text'" in summary.problems[1].message
        assert summary.queued == 150 and summary.disagreements > 150
        queues[engine] = without_times(summary.path)
    assert queues["processes"] == queues["local"] and queues["ray"] == queues["local"]
    assert eval_text not in {r["text"] for r in queues["local"]}


def test_parallel_workers_refuse_to_record_one_cassette(pool_suite: Path, big_gold: GoldVersion, tmp_path: Path) -> None:
    texts = [e.text for e in big_gold.iter_examples("train")][:200]
    write_pool(tmp_path / "pool", texts)
    with pytest.raises(PipelineError, match="record mode cannot be shared by parallel workers"):
        fill(parse_suite(pool_suite), reports_dir=tmp_path / "r", pool=str(tmp_path / "pool"), engine=choice("processes"), llm_mode="record")
    assert not (tmp_path / "r" / "queue" / "pool.jsonl").exists()  # nothing half-written


@dataclass(frozen=True)
class CountingWork:
    """Upper-cases texts; every load leaves a line in ``log`` (one per worker process).
    ``die_once``: the first worker to see a text containing "die" kills its own process
    (once across the cluster, marked by a file), as a node lost mid-run would."""

    log: str
    die_once: str | None = None

    def load(self) -> MapTexts:
        with open(self.log, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        die_once = self.die_once

        def answer(texts: Sequence[str]) -> list[tuple[str, int]]:
            if die_once and any("die" in t for t in texts) and not os.path.exists(die_once):
                open(die_once, "w").close()
                os._exit(1)  # noqa: SLF001  (a crash, not an exception: the process is gone)
            return [(json.dumps(t.upper()), len(t.split())) for t in texts]

        return answer


def run_texts(engine: str, work: CountingWork, n: int = 2000) -> tuple[dict[int, str], EngineStats]:
    from harness.gold.records import GoldExample

    examples = [GoldExample(input_hash=i, text=f"text {i}" + (" die" if i == n // 2 else "")) for i in range(n)]
    stats = EngineStats(engine)
    rows = [row for batch in build_engine(choice(engine)).run(work, InMemory(examples), stats) for row in batch]
    return {row.position: row.answer for row in rows}, stats


def test_the_model_loads_once_per_ray_actor(ray_cluster: None, tmp_path: Path) -> None:
    answers, stats = run_texts("ray", CountingWork(str(tmp_path / "loads.log")))
    loads = (tmp_path / "loads.log").read_text().split()
    assert len(answers) == 2000 and stats.batches > 1
    assert len(loads) == stats.workers == 2 and set(map(int, loads)) == stats.worker_ids


def test_a_ray_worker_killed_mid_run_is_restarted_and_the_results_are_the_same(ray_cluster: None, tmp_path: Path) -> None:
    expected, _ = run_texts("local", CountingWork(str(tmp_path / "local.log")))
    marker = tmp_path / "died"
    answers, _ = run_texts("ray", CountingWork(str(tmp_path / "loads.log"), die_once=str(marker)))
    assert marker.exists()  # a worker did die
    assert len((tmp_path / "loads.log").read_text().split()) == 3  # two actors, one restarted
    assert answers == expected


def test_processes_load_once_per_worker(tmp_path: Path) -> None:
    answers, stats = run_texts("processes", CountingWork(str(tmp_path / "loads.log")))
    expected, _ = run_texts("local", CountingWork(str(tmp_path / "local.log")))
    assert answers == expected and stats.workers == 2
    assert len((tmp_path / "loads.log").read_text().split()) <= 2


def test_an_engine_names_what_a_worker_raised(ray_cluster: None, tmp_path: Path) -> None:
    spec = PipelineSpec(name="gone", kind="spacy", path=str(tmp_path / "no-such-model"))
    shutil.rmtree(tmp_path / "no-such-model", ignore_errors=True)
    from harness.gold.records import GoldExample
    from harness.runners.engine_work import PipelineWork

    examples = [GoldExample(input_hash=i, text=f"text {i}") for i in range(10)]
    for engine in ("processes", "ray"):
        with pytest.raises(Exception, match="pipeline not found"):
            list(build_engine(choice(engine)).run(PipelineWork(spec, "ner"), InMemory(examples), EngineStats(engine)))


def test_pytest_runs_a_suite_on_another_engine_with_the_same_verdicts(project: pytest.Pytester) -> None:
    """`--harness-engine processes`: the same scores, CIs and verdicts in the JSON report; the
    speed is the engine's (its method says so)."""
    local = project.runpytest("suites", "--harness-reports", "local")
    assert local.ret == 0
    other = project.runpytest("suites", "--harness-reports", "other", "--harness-engine", "processes", "--harness-workers", "2")
    assert other.ret == 0
    a = json.loads((project.path / "local" / "mini-ner.json").read_text())
    b = json.loads((project.path / "other" / "mini-ner.json").read_text())
    pa, pb = a["pipelines"]["distilled"], b["pipelines"]["distilled"]
    assert (pa["micro"], pa["labels"], pa["macro"]) == (pb["micro"], pb["labels"], pb["macro"])
    assert [(g["id"], g["passed"]) for g in a["gates"]] == [(g["id"], g["passed"]) for g in b["gates"]]
    assert a["examples"] == b["examples"]
    assert "processes engine, 2 worker(s)" in pb["speed"]["method"] and "processes engine" not in pa["speed"]["method"]
