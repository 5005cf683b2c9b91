"""Pools in files (JSONL, Parquet; a file, a directory, a glob), read as a stream with bad
lines named and nothing else lost; the queue's exact top-k; the local engine's rows."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.engines import EngineStats, InMemory, Item, Problem, build_engine
from harness.engines.base import MapTexts
from harness.errors import InputError
from harness.gold.records import GoldExample, stable_hash
from harness.loop.fill import TopK
from harness.loop.pool_source import PoolFiles, pool_files
from harness.options import EngineChoice


def write_jsonl(path: Path, lines: Sequence[str]) -> Path:
    path.write_bytes(b"".join(line.encode("utf-8") if isinstance(line, str) else line for line in lines))
    return path


def test_pool_files_are_a_file_a_directory_or_a_glob_sorted(tmp_path: Path) -> None:
    for name in ("b.jsonl", "a.parquet", "c.jsonl"):
        (tmp_path / name).write_text("")
    (tmp_path / "notes.txt").write_text("")
    assert pool_files(str(tmp_path)) == tuple(str(tmp_path / n) for n in ("a.parquet", "b.jsonl", "c.jsonl"))
    assert pool_files(str(tmp_path / "*.jsonl")) == (str(tmp_path / "b.jsonl"), str(tmp_path / "c.jsonl"))
    assert pool_files(str(tmp_path / "b.jsonl")) == (str(tmp_path / "b.jsonl"),)
    with pytest.raises(InputError, match="no pool files"):
        pool_files(str(tmp_path / "missing-*.jsonl"))
    with pytest.raises(InputError, match="not a .jsonl or .parquet file"):
        pool_files(str(tmp_path / "*.txt"))


def test_bad_lines_are_named_with_file_and_line_and_the_rest_is_read(tmp_path: Path) -> None:
    shard = write_jsonl(
        tmp_path / "pool.jsonl",
        [
            json.dumps({"text": "cheap sushi"}) + "\n",
            "\n",  # blank: skipped, not a problem
            '{"text": "broken\n',
            "[1, 2]\n",
            json.dumps({"text": ""}) + "\n",
            b'{"text": "caf\xe9"}\n',
            json.dumps({"text": "late pizza", "_input_hash": 7}) + "\n",
        ],
    )
    read = list(PoolFiles((str(shard),)).read(str(shard)))
    items = [r for r in read if isinstance(r, Item)]
    problems = [r for r in read if isinstance(r, Problem)]
    assert [(i.key, i.text) for i in items] == [(stable_hash("cheap sushi"), "cheap sushi"), (7, "late pizza")]
    assert [p.origin for p in problems] == [f"{shard}:3", f"{shard}:4", f"{shard}:5", f"{shard}:6"]
    assert "not valid JSON" in problems[0].message and "JSON object" in problems[1].message
    assert "'text'" in problems[2].message and "UTF-8" in problems[3].message


def test_known_and_eval_texts_are_left_out_by_hash(tmp_path: Path) -> None:
    shard = write_jsonl(
        tmp_path / "p.jsonl",
        [json.dumps({"text": t}) + "\n" for t in ("a b", "c d", "e f")] + [json.dumps({"text": "g h", "_input_hash": 5}) + "\n"],
    )
    # "a b" excluded by its text's hash (an eval text), "g h" by its record's own hash (queued).
    source = PoolFiles((str(shard),), frozenset({stable_hash("a b"), 5}))
    assert [i.text for i in source.items() if isinstance(i, Item)] == ["c d", "e f"]
    examples = [GoldExample(input_hash=i, text=f"t{i}") for i in range(5)]
    assert [i.key for i in InMemory(examples, frozenset({1, 3})).items()] == [0, 2, 4]  # type: ignore[union-attr]


def test_parquet_shards_are_read_in_chunks_with_their_rows_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.loop.pool_source as pool_source

    monkeypatch.setattr(pool_source, "PARQUET_ROWS", 3)  # several chunks from a small file
    texts = [f"text {i}" for i in range(8)]
    pl.DataFrame({"text": [*texts[:4], None, *texts[4:]], "_input_hash": list(range(9))}).write_parquet(tmp_path / "p.parquet")
    read = list(PoolFiles((str(tmp_path / "p.parquet"),)).items())
    assert [r.key for r in read if isinstance(r, Item)] == [0, 1, 2, 3, 5, 6, 7, 8]
    assert [r.origin for r in read if isinstance(r, Problem)] == [f"{tmp_path / 'p.parquet'}:row 5"]
    pl.DataFrame({"body": ["x"]}).write_parquet(tmp_path / "q.parquet")
    (problem,) = PoolFiles((str(tmp_path / "q.parquet"),)).items()
    assert isinstance(problem, Problem) and "no 'text' column" in problem.message


entries = st.lists(st.tuples(st.integers(0, 5).map(float), st.integers(-20, 20), st.sampled_from(["a", "b", "c"])), max_size=60)


@given(entries, st.integers(1, 10), st.integers(0, 2**16))
def test_top_k_is_exact_in_any_order_and_over_parts(found: list[tuple[float, int, str]], k: int, seed: int) -> None:
    """The queue's top-k: best score, then lowest hash, then text; the same whatever order the
    rows come in, and the top-k of a union is the top-k of the parts' top-ks (engines' shards)."""
    expected = sorted(found, key=lambda e: (-e[0], e[1], e[2]))[:k]
    shuffled = list(found)
    random.Random(seed).shuffle(shuffled)
    whole = TopK(k)
    for score, key, text in shuffled:
        whole.add(score, key, text, {})
    assert [e[:3] for e in whole.best()] == expected
    parts = [shuffled[i::3] for i in range(3)]
    merged = TopK(k)
    for part in parts:
        top = TopK(k)
        for score, key, text in part:
            top.add(score, key, text, {})
        for score, key, text, answers in top.best():
            merged.add(score, key, text, answers)
    assert [e[:3] for e in merged.best()] == expected


@dataclass(frozen=True)
class Upper:
    def load(self) -> MapTexts:
        return lambda texts: [(json.dumps(t.upper()), len(t.split())) for t in texts]


def test_the_local_engine_answers_in_batches_and_collects_problems() -> None:
    @dataclass(frozen=True)
    class Mixed:
        def shards(self) -> Sequence[str]:
            return ()

        def read(self, shard: str):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        def items(self):  # type: ignore[no-untyped-def]
            for i in range(25):
                yield Problem(f"f:{i}", "bad") if i % 10 == 9 else Item(i, f"t {i}", i)

    stats = EngineStats("local")
    batches = list(build_engine(EngineChoice(name="local", batch_size=4)).run(Upper(), Mixed(), stats))
    rows = [row for batch in batches for row in batch]
    assert [len(b) for b in batches] == [4, 4, 4, 4, 4, 3] and stats.rows == 23
    assert [r.position for r in rows] == [i for i in range(25) if i % 10 != 9]
    assert rows[0].answer == '"T 0"' and rows[0].words == 2
    assert [p.origin for p in stats.problems or ()] == ["f:9", "f:19"] and stats.loads == 1
