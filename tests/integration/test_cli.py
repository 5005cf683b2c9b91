"""The ``harness`` CLI through its installed entry point (subprocesses, real files)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SHIPPED_GOLD, read_json

HARNESS = shutil.which("harness", path=os.path.dirname(sys.executable)) or "harness"


def run(*args: str, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.run([HARNESS, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_gold_import_list_show_diff_verify(tmp_path: Path) -> None:
    source = tmp_path / "food.jsonl"
    lines = (SHIPPED_GOLD / "food-ingredients" / "v1" / "train.jsonl").read_text().splitlines()
    source.write_text("\n".join(lines[:60]) + "\n")
    out = run("gold", "import", str(source), "--name", "food", "--eval-fraction", "0.25", cwd=tmp_path).stdout
    assert "wrote food@v1" in out
    source.write_text("\n".join(lines[:80]) + "\n")
    assert "wrote food@v2" in run("gold", "import", str(source), "--name", "food", cwd=tmp_path).stdout
    listing = run("gold", "list", cwd=tmp_path).stdout
    assert "food@v1" in listing and "food@v2" in listing
    assert "│ train │ eval │ labels │" in listing.replace("┃", "│")  # headers whole in an 80-column log
    manifest = json.loads(run("gold", "show", "food@v2", cwd=tmp_path).stdout)
    assert manifest["parent"] == "v1" and manifest["task"] == "ner" and manifest["labels"]["INGRED"] > 0
    diff = run("gold", "diff", "food@v1", "food@v2", cwd=tmp_path).stdout
    assert "20 added, 0 removed, 0 changed" in diff and "INGRED" in diff
    assert "ok      food@v1" in run("gold", "verify", cwd=tmp_path).stdout

    train_file = tmp_path / "gold" / "food" / "v1" / "train.jsonl"
    train_file.write_text(train_file.read_text().replace("INGRED", "INGREDIENT", 1))
    proc = run("gold", "verify", cwd=tmp_path, ok=False)
    assert proc.returncode == 1
    assert "FAILED" in proc.stdout and "train.jsonl" in proc.stdout and "food@v1" in proc.stdout


def test_gold_import_bad_input_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"text": "ok", "spans": []}\n{"text": \n')
    proc = run("gold", "import", str(source), "--name", "bad", cwd=tmp_path, ok=False)
    assert proc.returncode == 2
    assert f"{source}:2" in proc.stdout.replace("\n", "") and "not valid JSON" in proc.stdout
    assert not (tmp_path / "gold" / "bad").exists() or not any((tmp_path / "gold" / "bad").iterdir())


def test_docbin_import(tmp_path: Path) -> None:
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    docbin = DocBin()
    for i in range(10):
        doc = nlp(f"I ate pasta number {i} in Rome")
        doc.ents = [doc.char_span(6, 11, label="DISH"), doc.char_span(len(doc.text) - 4, len(doc.text), label="LOC")]
        docbin.add(doc)
    docbin.to_disk(tmp_path / "in.spacy")
    run("gold", "import", str(tmp_path / "in.spacy"), "--name", "db", cwd=tmp_path)
    manifest = json.loads(run("gold", "show", "db", cwd=tmp_path).stdout)
    assert manifest["labels"] == {"DISH": 10, "LOC": 10}


def test_train_records_inputs_and_reuses(tmp_path: Path, mini_gold_dir: Path) -> None:
    shutil.copytree(mini_gold_dir, tmp_path / "gold")
    args = ("train", "--gold", "mini-cooking@v1", "--output", "models/tc", "--max-steps", "20")
    first = run(*args, cwd=tmp_path).stdout
    assert "trained" in first
    meta = read_json(tmp_path / "models" / "tc" / "meta.json")["harness"]
    gold = read_json(tmp_path / "gold" / "mini-cooking" / "v1" / "manifest.json")
    assert meta["gold"] == "mini-cooking" and meta["gold_version"] == 1 and meta["gold_sha256"] == gold["sha256"]
    assert len(meta["config_sha256"]) == 64
    # Eval split is never trained on: train + dev carve-out account for the train split exactly.
    assert meta["train_examples"] + meta["dev_examples"] == gold["splits"]["train"]["examples"]
    assert "up to date" in run(*args, cwd=tmp_path).stdout
    assert "trained" in run(*args[:-1], "21", cwd=tmp_path).stdout  # changed input -> retrain
    # checkpoint "last": spaCy's model-last, trained on the whole train split (dev carve-out included)
    out = run(*args, "--checkpoint", "last", cwd=tmp_path).stdout
    assert "trained" in out and "not held out" in " ".join(out.split())
    last = read_json(tmp_path / "models" / "tc" / "meta.json")["harness"]
    assert last["checkpoint"] == "last" and last["inputs_sha256"] != meta["inputs_sha256"]
    assert last["train_examples"] == gold["splits"]["train"]["examples"] and last["dev_examples"] > 0
    assert "also trained on" in last["dev_source"]


def test_eval_prints_tables_and_writes_json(tmp_path: Path, mini_gold_dir: Path, textcat_model: Path) -> None:
    out = run(
        "eval",
        "--gold",
        "mini-cooking@v1",
        "--pipeline",
        str(textcat_model),
        "--json",
        "out/r.json",
        "--gold-dir",
        str(mini_gold_dir),
        "--resamples",
        "100",
        cwd=tmp_path,
    ).stdout
    assert "Accuracy (micro F)" in out and "Macro ROC-AUC" in out and "F 95% CI" in out
    report = read_json(tmp_path / "out" / "r.json")
    pipeline = next(iter(report["pipelines"].values()))
    assert report["gold"]["ref"] == "mini-cooking@v1" and pipeline["task"] == "textcat_multilabel"
    assert set(pipeline["labels"]) == set(read_json(mini_gold_dir / "mini-cooking" / "v1" / "manifest.json")["labels"])
    assert pipeline["bootstrap"]["resamples"] == 100


def test_a_cli_process_freezes_its_heap_once_the_pipeline_is_loaded(tmp_path: Path, mini_gold_dir: Path, textcat_model: Path) -> None:
    # In-process through cli.main so the collector's state can be read after the command.
    code = (
        "import gc, sys; from harness import cli; before = gc.get_freeze_count(); rc = cli.main(sys.argv[1:]); "
        "print('frozen', before, gc.get_freeze_count(), gc.isenabled(), rc)"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "eval",
            "--gold",
            "mini-cooking@v1",
            "--pipeline",
            str(textcat_model),
            "--gold-dir",
            str(mini_gold_dir),
            "--resamples",
            "50",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    before, after, enabled, rc = out.strip().splitlines()[-1].split()[1:]
    # spaCy's import and the model: ~90,000 tracked objects, frozen; the collector is back on.
    assert before == "0" and int(after) > 50_000 and enabled == "True" and rc == "0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("eval", "--gold", "mini-cooking@v3", "--pipeline", "x"), "unknown gold version mini-cooking@v3"),
        (("eval", "--gold", "mini-cooking", "--pipeline", "no/such/dir"), "pipeline not found: no/such/dir"),
        (("train", "--gold", "mini-cooking"), "needs --gold and --output, or --suite"),
    ],
)
def test_cli_errors_are_clear(tmp_path: Path, mini_gold_dir: Path, args: tuple[str, ...], message: str) -> None:
    proc = run(*args, "--gold-dir", str(mini_gold_dir), cwd=tmp_path, ok=False)
    assert proc.returncode == 2 and message in proc.stdout.replace("\n", " ")
