"""Cassette directories (append-only shards, an index of offsets) and the batch-file flow."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.llm.batch import import_batch, pending_path, request_body, write_batch
from harness.llm.cassette import Cassette, cassette_key
from harness.llm.sharded_cassette import ShardedCassette, open_cassette, shard_name

IDENTITY = {"registry_name": "harness.OpenAICompatible.v1", "config": {"name": "m", "config": {"temperature": 0}}}
OTHER = {"registry_name": "harness.OpenAICompatible.v1", "config": {"name": "other", "config": {}}}


def add(cassette: ShardedCassette | Cassette, prompt: str, answer: str, identity: dict = IDENTITY) -> None:
    cassette.add(prompt, identity, answer, latency_s=0.1, usage={"prompt_tokens": 3, "completion_tokens": 1}, simulated=False)


def test_records_are_appended_to_shards_and_found_again_after_a_reload(tmp_path: Path) -> None:
    cassette = open_cassette(f"{tmp_path / 'c'}/")
    assert isinstance(cassette, ShardedCassette) and len(cassette) == 0
    for i in range(300):
        add(cassette, f"prompt {i}", f"answer {i}")
    add(cassette, "prompt 0", "a second answer")  # the first record of a key wins, on reload too
    add(cassette, "prompt 1", "another model's", OTHER)
    shards = list((tmp_path / "c").glob("shard-*.jsonl"))
    assert 100 < len(shards) <= 256 and all(s.name == shard_name(json.loads(s.read_text().splitlines()[0])["key"]) for s in shards)
    again = ShardedCassette.load(tmp_path / "c")
    assert len(again) == 301 and isinstance(open_cassette(tmp_path / "c"), ShardedCassette)
    find = again.lookup(IDENTITY)
    assert find("prompt 7").response == "answer 7" and find("prompt 0").response == "answer 0"  # type: ignore[union-attr]
    assert find("never asked") is None and again.lookup(OTHER)("prompt 1").response == "another model's"  # type: ignore[union-attr]
    assert again.has(cassette_key("prompt 5", IDENTITY)) and not again.has(cassette_key("prompt 5", OTHER))


def test_a_hand_edited_record_is_named_when_read_and_a_foreign_line_on_load(tmp_path: Path) -> None:
    cassette = ShardedCassette.load(tmp_path)
    add(cassette, "sushi", "[]")
    shard = tmp_path / shard_name(cassette_key("sushi", IDENTITY))
    shard.write_text(shard.read_text().replace('"response": "[]"', '"response": "[]"').replace("sushi", "pizza"))
    with pytest.raises(InputError, match="does not match its prompt") as err:
        ShardedCassette.load(tmp_path).lookup(IDENTITY)("sushi")
    assert err.value.path == str(shard)
    with shard.open("a") as handle:
        handle.write('{"prompt": "no key"}\n')
    with pytest.raises(InputError) as err:
        ShardedCassette.load(tmp_path)
    assert err.value.path == str(shard) and err.value.line == 2 and err.value.field == "key"


def _append(directory: str, worker: int) -> None:
    cassette = ShardedCassette.load(directory)
    for i in range(150):
        add(cassette, f"worker {worker} prompt {i}", f"{worker}:{i}")


def test_workers_append_at_once_and_nothing_is_lost(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append, args=(str(tmp_path), w)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    cassette = ShardedCassette.load(tmp_path)
    assert len(cassette) == 600
    for shard in tmp_path.glob("shard-*.jsonl"):
        assert all(json.loads(line)["key"] for line in shard.read_text().splitlines())  # whole lines only
    find = cassette.lookup(IDENTITY)
    assert all(find(f"worker {w} prompt {i}").response == f"{w}:{i}" for w in range(4) for i in range(150))  # type: ignore[union-attr]


def results_line(key: str, content: str | None = None, status: int = 200, error: object = None) -> str:
    body = {"choices": [{"message": {"role": "assistant", "content": content}}], "usage": {"prompt_tokens": 9, "completion_tokens": 2}}
    return json.dumps({"id": "r", "custom_id": key, "response": {"status_code": status, "body": body}, "error": error})


@pytest.mark.parametrize("sharded", [False, True])
def test_batch_requests_out_and_results_back_idempotently(tmp_path: Path, sharded: bool) -> None:
    path = tmp_path / ("cassette" if sharded else "cassette.jsonl")
    cassette = open_cassette(f"{path}/" if sharded else path)
    add(cassette, "known", "[]")
    cassette.flush()
    pending = pending_path(path, sharded)
    body = request_body("harness.OpenAICompatible.v1", {"name": "m", "config": {"temperature": 0}}, None)
    written = write_batch(["a", "b", "a", "c", "d", "e"], IDENTITY, body, tmp_path / "requests.jsonl", pending)
    requests = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert written.requests == 5 and [r["custom_id"] for r in requests] == [cassette_key(p, IDENTITY) for p in "abcde"]
    assert requests[0]["url"] == "/v1/chat/completions" and requests[0]["method"] == "POST"
    assert requests[0]["body"] == {"model": "m", "temperature": 0, "messages": [{"role": "user", "content": "a"}]}
    key = {p: cassette_key(p, IDENTITY) for p in "abcde"}
    results = tmp_path / "results.jsonl"
    results.write_text(
        "\n".join(
            [
                results_line(key["a"], "[A]"),
                results_line(key["b"], error={"code": "rate_limit", "message": "slow down"}),
                results_line(key["c"], "[C]", status=500),
                results_line(cassette_key("never requested", IDENTITY), "[X]"),
                "{not json",
                results_line(key["d"], None),
                results_line(cassette_key("known", IDENTITY), "[]"),
            ]
        )
        + "\n"
    )
    done = import_batch(results, open_cassette(f"{path}/" if sharded else path), pending)
    assert (done.recorded, done.already) == (1, 1)
    assert [line for line, _ in done.failed] == [2, 3, 4, 5, 6]
    assert "rate_limit" in done.failed[0][1] and "500" in done.failed[1][1] and "not requested" in done.failed[2][1]
    assert done.still_pending == 4  # b, c, d (failed) and e (no answer yet): misses still
    reread = open_cassette(f"{path}/" if sharded else path)
    find = reread.lookup(IDENTITY)
    assert find("a").response == "[A]" and find("b") is None and find("d") is None  # type: ignore[union-attr]
    again = import_batch(results, reread, pending)
    assert (again.recorded, again.already, again.still_pending) == (0, 2, 4)  # importing twice adds nothing
