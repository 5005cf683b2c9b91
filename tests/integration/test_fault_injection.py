"""Fault injection: a real pytest run of a suite (with --harness-bless and a Markdown summary)
interrupted after each gate, and inside each writer (JSON results, history, HTML, Markdown,
correction queue, baseline). After every interruption, each file under reports/ and
baselines/ is either the one from before or a complete new one, no temp file is left, and
nothing claims a verdict the run did not reach."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import write_suite

GATES = "f_min = 0.0\nlabel_f_min = 0.0\nsize_bytes_max = 100_000_000\nno_regression = { max_drop = 0.5 }\n"

# The project's conftest: Ctrl-C (KeyboardInterrupt, as pytest sees SIGINT) as gate N starts, or
# half-way through writing the first file whose path contains INTERRUPT_WRITE.
CONFTEST = """
import contextlib, os

import harness.io.atomic as atomic

calls = []

def pytest_runtest_call(item):
    calls.append(item.nodeid)
    if os.environ.get("INTERRUPT_AFTER") and len(calls) == int(os.environ["INTERRUPT_AFTER"]):
        raise KeyboardInterrupt

_original = atomic.atomic_open

@contextlib.contextmanager
def _interrupting(path, mode="w", *args, **kwargs):
    target = os.environ.get("INTERRUPT_WRITE")
    with _original(path, mode, *args, **kwargs) as handle:
        if target and target in str(path):
            handle.write(b"PAR1 half a file" if "b" in mode else '{"half": ')
            raise KeyboardInterrupt
        yield handle

atomic.atomic_open = _interrupting
"""


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("reports", "baselines")
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


def _complete(path: Path) -> bool:
    """Whether ``path`` is a whole file of its kind (not one cut half-way)."""
    data = path.read_bytes()
    if path.suffix in (".json",):
        json.loads(data)
        return True
    if path.suffix == ".jsonl":
        for line in data.decode().splitlines():
            json.loads(line)
        return True
    if path.suffix == ".parquet":
        import polars as pl

        pl.read_parquet(path)
        return True
    if path.suffix == ".html":
        return data.rstrip().endswith(b"</html>")
    if path.suffix == ".md":
        return data.startswith(b"## distill-harness")
    return True


def _check_after(project: pytest.Pytester, before: dict[str, bytes]) -> None:
    root = project.path
    leftovers = [p for p in root.rglob("*.tmp") if "unreadable" not in str(p)]
    assert leftovers == [], leftovers
    for name, data in _snapshot(root).items():
        if before.get(name) == data:
            continue
        assert _complete(root / name), f"{name} was left incomplete"
    # Whatever a results file says, it never claims a pass for a run that was cut short.
    results = root / "reports" / "mini-ner.json"
    if results.exists() and before.get("reports/mini-ner.json") != results.read_bytes():
        document = json.loads(results.read_bytes())
        judged = len(document["gates"])
        assert document["passed"] is False or judged == document["gates_total"]


@pytest.fixture
def blessed_project(project: pytest.Pytester, ner_model: Path) -> pytest.Pytester:
    write_suite(project, ner_model, gates=GATES)
    first = project.runpytest_subprocess("suites", "--harness-bless", "--harness-markdown=reports/summary.md")
    assert first.ret == 0, first.stdout.str()
    project.makeconftest(CONFTEST)
    return project


@pytest.mark.slow
def test_interrupted_after_each_gate_claims_nothing_and_blesses_nothing(
    blessed_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = blessed_project
    gates = json.loads((project.path / "reports" / "mini-ner.json").read_text())["gates_total"]
    baseline = (project.path / "baselines" / "mini-ner.json").read_bytes()
    rewritten = 0
    for n in range(1, gates + 1):
        before = _snapshot(project.path)
        monkeypatch.setenv("INTERRUPT_AFTER", str(n))
        run = project.runpytest_subprocess("suites", "--harness-bless", "--harness-markdown=reports/summary.md")
        assert run.ret == pytest.ExitCode.INTERRUPTED, (n, run.stdout.str()[-2000:])
        _check_after(project, before)
        results = (project.path / "reports" / "mini-ner.json").read_bytes()
        if results != before["reports/mini-ner.json"]:  # interrupted before any pipeline ran: nothing new written
            rewritten += 1
            document = json.loads(results)
            assert document["passed"] is False and document["status"] == "INCOMPLETE", n
            assert document["incomplete"].startswith("interrupted"), n
        assert (project.path / "baselines" / "mini-ner.json").read_bytes() == baseline, n  # never re-blessed
    assert rewritten >= gates - 1  # the runs cut after the pipeline ran did write their (incomplete) results


@pytest.mark.slow
@pytest.mark.parametrize(
    "writer", ["reports/mini-ner.json", "history/run-", "report.html", "summary.md", "queue/mini-ner.jsonl", "baselines/mini-ner.json"]
)
def test_interrupted_inside_each_writer_leaves_old_or_whole_files(
    blessed_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    project = blessed_project
    before = _snapshot(project.path)
    monkeypatch.setenv("INTERRUPT_WRITE", writer)
    run = project.runpytest_subprocess("suites", "--harness-bless", "--harness-markdown=reports/summary.md")
    assert run.ret != 0  # the interrupt is not swallowed
    _check_after(project, before)
    target = next((name for name in before if writer in name), None)
    if target is not None:  # the interrupted file is exactly the old one
        assert (project.path / target).read_bytes() == before[target]
