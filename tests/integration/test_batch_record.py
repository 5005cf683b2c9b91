"""Recording at scale: the Batch API flow (`harness record --batch-file` / `--import-batch`)
and recording with an engine's workers into a cassette directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import PipelineError
from harness.evaluate import evaluate_pipeline
from harness.gold import GoldVersion

from .test_llm import llm_spec, suite_file, teacher_answers, write_config

pytestmark = pytest.mark.slow


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


def test_batch_requests_out_results_in_then_replay_offline(tmp_path: Path, mini_gold_dir: Path, mini_restaurant: GoldVersion) -> None:
    # Nothing listens on the backend's address: the batch flow never calls it.
    config = write_config(
        tmp_path / "oai.cfg",
        tmp_path / "oai.jsonl",
        "harness.OpenAICompatible.v1",
        {"base_url": "http://127.0.0.1:9/v1", "name": "llama3.1:8b", "timeout": 1, "config": {"temperature": 0.0}},
    )
    suite = suite_file(tmp_path, mini_gold_dir, config)
    out = harness("record", str(suite), "--batch-file", "requests.jsonl", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    requests = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    n_eval = mini_restaurant.split_size("eval")
    assert len(requests) == n_eval and f"{n_eval} request(s)" in out.stdout
    assert requests[0]["body"]["model"] == "llama3.1:8b" and requests[0]["body"]["temperature"] == 0.0
    assert requests[0]["url"] == "/v1/chat/completions" and len(requests[0]["custom_id"]) == 64

    # What a batch API returns (here answered by the simulated teacher), one line failed.
    answer = teacher_answers(mini_gold_dir)

    def result_line(request: dict, failed: bool = False) -> str:
        content = answer(request["body"]["messages"][0]["content"])
        body = {"choices": [{"message": {"role": "assistant", "content": content}}], "usage": {"prompt_tokens": 50, "completion_tokens": 9}}
        if failed:
            return json.dumps({"custom_id": request["custom_id"], "response": None, "error": {"code": "server_error", "message": "try again"}})
        return json.dumps({"custom_id": request["custom_id"], "response": {"status_code": 200, "body": body}, "error": None})

    (tmp_path / "results.jsonl").write_text("\n".join(result_line(r, failed=i == 3) for i, r in enumerate(requests)) + "\n")
    first = harness("record", str(suite), "--import-batch", "results.jsonl", cwd=tmp_path)
    assert first.returncode == 1 and f"{n_eval - 1} answer(s) recorded" in first.stdout
    assert "results.jsonl:4: error:" in first.stdout and "left a miss" in first.stdout
    with pytest.raises(PipelineError, match="1 prompt"):  # the failed line was not recorded as an answer
        evaluate_pipeline(mini_restaurant, llm_spec(config), resamples=10)

    (tmp_path / "retry.jsonl").write_text(result_line(requests[3]) + "\n")
    second = harness("record", str(suite), "--import-batch", "retry.jsonl", cwd=tmp_path)
    assert second.returncode == 0 and "1 answer(s) recorded" in second.stdout and "0 still pending" in second.stdout
    again = harness("record", str(suite), "--import-batch", "results.jsonl", cwd=tmp_path)
    assert f"0 answer(s) recorded, {n_eval} already in the cassette" in again.stdout  # idempotent (line 4 came in the retry)
    result = evaluate_pipeline(mini_restaurant, llm_spec(config), resamples=10)
    assert result.llm is not None and result.llm.cached == n_eval and not result.llm.tokens_estimated and result.scores.micro.f > 0.5


def test_workers_record_into_a_cassette_directory_and_replay_matches(tmp_path: Path, mini_gold_dir: Path, mini_restaurant: GoldVersion) -> None:
    inner = {"gold": "mini-restaurant@v1", "gold_dir": str(mini_gold_dir), "task": "ner", "seed": 0}
    # A path ending in "/" is a cassette directory.
    sharded = write_config(tmp_path / "dir.cfg", f"{tmp_path / 'cassette'}/", "harness.SimulatedTeacher.v1", inner, mode="record")  # type: ignore[arg-type]
    one_file = write_config(tmp_path / "file.cfg", tmp_path / "one.jsonl", "harness.SimulatedTeacher.v1", inner, mode="record")
    total = mini_restaurant.split_size("train") + mini_restaurant.split_size("eval")

    done = harness(
        "record", str(suite_file(tmp_path, mini_gold_dir, sharded)), "--split", "all", "--engine", "processes", "--workers", "2", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    said = " ".join(done.stdout.split())  # the terminal wraps long lines
    assert f"{total} prompts, answered by the engine's workers" in said and f"({total} records)" in said
    assert len(list((tmp_path / "cassette").glob("shard-*.jsonl"))) > 100

    refused = harness("record", str(suite_file(tmp_path, mini_gold_dir, one_file)), "--engine", "processes", cwd=tmp_path)
    assert refused.returncode != 0 and "one-file cassette in record mode cannot be shared" in " ".join((refused.stdout + refused.stderr).split())
    assert harness("record", str(suite_file(tmp_path, mini_gold_dir, one_file)), cwd=tmp_path).returncode == 0  # local: fine

    from_dir = evaluate_pipeline(mini_restaurant, llm_spec(sharded), resamples=50, llm_mode="replay")
    from_file = evaluate_pipeline(mini_restaurant, llm_spec(one_file), resamples=50, llm_mode="replay")
    assert from_dir.llm is not None and from_dir.llm.cached == mini_restaurant.split_size("eval") and from_dir.llm.calls_made == 0
    assert from_dir.outputs == from_file.outputs and from_dir.scores == from_file.scores
