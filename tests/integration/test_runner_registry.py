"""A pipeline kind from another package plugs in through the entry point group
``distill_harness.runners``: one module and one entry-point line, no edit of the harness.

The package here is a gazetteer: a JSON file of phrases and their labels, matched in the
text. It is installed the way pip installs a package (a module and a ``.dist-info`` with
``entry_points.txt`` on the path), and the suite, the CLI and pytest run it like any kind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import read_json

GAZETTEER_MODULE = '''
"""A gazetteer pipeline for distill-harness: phrases -> labels, matched case-insensitively."""
import json
import re
import time
from typing import ClassVar

from harness.core.results import SpeedStats
from harness.runners import Kind, Prediction, RunOutput

KIND = Kind("gazetteer", "gazetteer_runner:GazetteerRunner", role="distilled", source="file", suffixes=(".gazetteer",))


def _spans(text, phrases):
    found = []
    for phrase, label in phrases.items():
        for match in re.finditer(r"\\b" + re.escape(phrase) + r"\\b", text.lower()):
            found.append((match.start(), match.end(), label))
    found.sort()
    kept, end = [], -1
    for span in found:  # no overlaps: leftmost first
        if span[0] >= end:
            kept.append(span)
            end = span[1]
    return tuple(kept)


class GazetteerRunner:
    kind: ClassVar[str] = "gazetteer"

    def _phrases(self, spec):
        with open(spec.path, encoding="utf-8") as handle:
            return {k.lower(): v for k, v in json.load(handle).items()}

    def run(self, spec, examples, *, task, llm_mode=None, timed=True):
        phrases = self._phrases(spec)
        started = time.perf_counter()
        predictions = tuple(Prediction(spans=_spans(e.text, phrases), n_words=len(e.text.split())) for e in examples)
        seconds = max(time.perf_counter() - started, 1e-9)
        words = sum(p.n_words for p in predictions)
        speed = SpeedStats(words / seconds, len(examples), words, seconds, 0.0, 0.0, 0, len(examples))
        size = len(open(spec.path, "rb").read())
        return RunOutput(predictions=predictions, speed=speed, path=spec.path, size_bytes=size, size_source="disk",
                         identity={"kind": "gazetteer", "path": spec.path})

    def predictor(self, spec, task, *, llm_mode=None):
        phrases = self._phrases(spec)
        return lambda texts: [_spans(text, phrases) for text in texts]
'''


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """The gazetteer package, laid out as pip installs one."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "gazetteer_runner.py").write_text(GAZETTEER_MODULE)
    info = site / "gazetteer_runner-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gazetteer-runner\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[distill_harness.runners]\ngazetteer = gazetteer_runner:KIND\n")
    return site


def test_a_kind_from_another_package_runs_in_a_suite_and_the_cli(
    project: pytest.Pytester, installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lexicon = project.path / "places.gazetteer"
    lexicon.write_text(json.dumps({"boston": "Location", "nearby": "Location", "sushi": "Dish", "pizza": "Dish"}))
    (project.path / "suites" / "gazetteer.toml").write_text(
        '[suite]\nname = "gaz"\ngold = "mini-restaurant@v1"\nresamples = 50\n\n'
        '[pipelines.lexicon]\nkind = "gazetteer"\npath = "../places.gazetteer"\n\n'
        "[gates.lexicon]\nf_min = 0.01\nsize_bytes_max = 1000\n\n"
        "[behaviour.lexicon]\ntitlecase = { min_pass_rate = 0.5, max_examples = 20, min_cases = 5 }\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{installed}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])
    result = project.runpytest_subprocess("suites/gazetteer.toml", "-p", "no:randomly")
    assert result.ret == 0, result.stdout.str()
    report = read_json(project.path / "reports" / "gaz.json")
    assert report["pipelines"]["lexicon"]["kind"] == "gazetteer" and report["pipelines"]["lexicon"]["micro"]["f"] > 0.01
    assert {g["id"] for g in report["gates"]} >= {"f>=0.01", "size_bytes<=1000", "pass>=0.50[titlecase]"}
    # the CLI picks the kind by the file suffix the package declared
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "eval", "--gold", "mini-restaurant@v1", "--pipeline", str(lexicon), "--resamples", "20"],
        cwd=project.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "places" in done.stdout and "micro" in done.stdout
    # without the package the kind is unknown, and the error lists the known ones
    monkeypatch.delenv("PYTHONPATH")
    without = project.runpytest_subprocess("suites/gazetteer.toml", "-p", "no:randomly")
    assert without.ret != 0
    without.stdout.fnmatch_lines(["*pipelines.lexicon.kind*unknown pipeline kind; expected one of spacy, llm, predictions*"])


def test_the_built_in_kinds_are_the_registry_s() -> None:
    from harness.runners import get_runner, kind_for_path, kind_of, kinds
    from harness.runners.llm_runner import LLMRunner
    from harness.runners.predictions_runner import PredictionsRunner
    from harness.runners.spacy_runner import SpacyRunner

    assert list(kinds())[:3] == ["spacy", "llm", "predictions"]
    assert isinstance(get_runner("spacy"), SpacyRunner) and isinstance(get_runner("llm"), LLMRunner)
    assert isinstance(get_runner("predictions"), PredictionsRunner)
    assert kind_for_path("teacher.cfg") == "llm" and kind_for_path("answers.jsonl") == "predictions"
    assert kind_for_path("models/ner") == "spacy"
    assert kind_of("spacy").trainable and not kind_of("predictions").has_model and kind_of("llm").role == "llm"
    from harness.errors import InputError

    with pytest.raises(InputError, match="unknown pipeline kind 'onnx' \\(supported: spacy, llm, predictions"):
        get_runner("onnx")
