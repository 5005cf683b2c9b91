"""The README and the docs/ pages, checked block by block (see ``docs_blocks``).

The slow test follows the README as a newcomer would: it builds the wheel with
``make wheel``, installs it into a fresh virtualenv (not this checkout's editable
install), and runs every ``sh`` block of the README, then the CI workflows
``harness init`` wrote (their ``run:`` / ``script:`` commands, in a clone of
the new project), then the ``sh`` blocks of the docs pages, comparing the output
lines the pages show.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

import pytest

from harness.cli import build_parser

from .docs_blocks import (
    KINDS,
    PAGES,
    REPO,
    Block,
    all_blocks,
    argv,
    blocks,
    commands,
    expected_output,
    missing_output,
)

# Commands shown for reference that are not ours; each is named so an unknown one fails.
EXTERNAL_TOOLS = {"prodigy", "export", "xdg-open"}


def test_every_block_says_what_it_is() -> None:
    untagged = [f"{b.where}: {b.kind or '(no info string)'}" for b in all_blocks() if b.kind not in KINDS]
    assert not untagged, f"blocks without a known kind ({', '.join(KINDS)}): {untagged}"
    readme = blocks(REPO / "README.md")
    assert sum(b.kind == "sh" for b in readme) >= 4 and len(PAGES) >= 8


# -- synopsis: parsed, not run --------------------------------------------------------------


def _pytest_help() -> str:
    return subprocess.run([sys.executable, "-m", "pytest", "--help"], capture_output=True, text=True, cwd=REPO, timeout=120).stdout


def _make_targets() -> set[str]:
    return {
        line.split(":", 1)[0]
        for line in (REPO / "Makefile").read_text().splitlines()
        if line and not line[0].isspace() and ":" in line and not line.startswith((".", "#")) and "=" not in line
    }


def _synopsis_problem(words: list[str], pytest_help: str) -> str | None:
    tool = Path(words[0]).name
    if tool == "harness":
        try:
            build_parser().parse_args(words[1:])
        except SystemExit:
            return "harness's parser refuses it"
        return None
    if tool == "pytest":
        unknown = [w.split("=")[0] for w in words[1:] if w.startswith("--") and w.split("=")[0] not in pytest_help]
        return f"unknown pytest option(s) {unknown}" if unknown else None
    if tool in ("python", "python3"):
        return None if (REPO / words[1]).is_file() else f"no file {words[1]}"
    if tool == "pip":
        extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
        wanted = [w.split("[", 1)[1].rstrip("]") for w in words if "[" in w]
        return None if all(e in extras for e in wanted) else f"unknown extra(s) {wanted}"
    if tool == "make":
        return None if words[1] in _make_targets() else f"no Makefile target {words[1]}"
    if tool == "ray":  # the Ray CLI (the ray extra): the sub-command's --help lists every option used
        shown = subprocess.run([str(Path(sys.executable).parent / "ray"), words[1], "--help"], capture_output=True, text=True, timeout=120)
        unknown = [w for w in words[2:] if w.startswith("--") and w not in shown.stdout]
        return f"ray {words[1]}: exit {shown.returncode}, unknown option(s) {unknown}" if shown.returncode or unknown else None
    return None if tool in EXTERNAL_TOOLS else f"unknown command {tool!r}"


def test_every_synopsis_line_parses() -> None:
    pytest_help = _pytest_help()
    problems = []
    for block in (b for b in all_blocks() if b.kind == "synopsis"):
        for command in commands(block):
            problem = _synopsis_problem(argv(command), pytest_help)
            if problem:
                problems.append(f"{block.where}: {command.line!r}: {problem}")
    assert not problems, "\n".join(problems)


def test_help_lists_the_options_of_every_command() -> None:
    """`pytest --help`, `harness --help` and every sub-command's --help exit 0 and list their
    options (argparse %-formats help strings: a bare "95% c..." once crashed them all, and
    pytest's --help in every project where the plugin is installed)."""
    import argparse

    def parsers(parser: argparse.ArgumentParser, words: list[str]) -> list[tuple[list[str], argparse.ArgumentParser]]:
        out = [(words, parser)]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    out += parsers(child, [*words, name])
        return out

    every = parsers(build_parser(), [])
    assert len(every) > 20
    for words, parser in every:
        done = subprocess.run([sys.executable, "-m", "harness.cli", *words, "--help"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (words, done.stderr)
        options = [o for a in parser._actions for o in a.option_strings]
        assert all(o in done.stdout for o in options), (words, [o for o in options if o not in done.stdout])
    pytest_help = _pytest_help()
    from harness import plugin

    parser = pytest.Parser(_ispytest=True)
    plugin.pytest_addoption(parser)
    ours = [name for option in parser.getgroup("harness").options for name in option.names()]
    assert len(ours) >= 8 and all(o in pytest_help for o in ours), [o for o in ours if o not in pytest_help]


# -- toml, ini, python, yaml ------------------------------------------------------------------


MINIMAL_SUITE: dict[str, Any] = {"suite": {"name": "s", "gold": "g@v1"}, "pipelines": {"distilled": {"path": "m"}}}


def _as_suite(fragment: dict[str, Any]) -> dict[str, Any]:
    """A suite-file fragment inside the smallest whole suite (bare gate keys in [gates.distilled])."""
    from harness.suite_schema import GatesTable

    if "suite" in fragment:
        return fragment
    tables = {k: v for k, v in fragment.items() if k in ("pipelines", "gates", "behaviour")}
    bare = {k: v for k, v in fragment.items() if k not in tables}
    assert set(bare) <= set(GatesTable.model_fields), f"not a suite fragment: {sorted(bare)}"
    merged: dict[str, Any] = {**MINIMAL_SUITE, **tables}
    merged["pipelines"] = {**MINIMAL_SUITE["pipelines"], **tables.get("pipelines", {})}
    if bare:
        merged["gates"] = {"distilled": {**merged.get("gates", {}).get("distilled", {}), **bare}}
    return merged


def test_suite_blocks_follow_the_suite_schema() -> None:
    from harness.suite_schema import SuiteFileModel

    toml_blocks = [b for b in all_blocks() if b.kind == "toml"]
    assert toml_blocks
    for block in toml_blocks:
        SuiteFileModel.model_validate(_as_suite(tomllib.loads(block.text)))


def test_config_blocks_parse() -> None:
    from thinc.api import Config

    for block in (b for b in all_blocks() if b.kind == "ini"):
        # a fragment of a config: its sections' parents are declared first, as in a whole file
        sections = [line.strip("[] ") for line in block.text.splitlines() if line.startswith("[")]
        parents = sorted(
            {".".join(s.split(".")[:i]) for s in sections for i in range(1, s.count(".") + 1)} - set(sections), key=lambda s: s.count(".")
        )
        config = Config().from_str("".join(f"[{p}]\n" for p in parents) + block.text, interpolate=False)
        assert all(s.split(".")[0] in config for s in sections), block.where


def test_python_and_yaml_blocks_are_the_files_harness_init_writes() -> None:
    import srsly

    from harness.scaffold import _template

    templates = {name: _template(f"templates/{name}") for name in ("test_examples.py", "github-models.yml", "gitlab-ci.yml")}
    for block in (b for b in all_blocks() if b.kind in ("python", "yaml")):
        if block.page.name == "README.md":
            assert block.text in templates.values(), f"{block.where}: not the file harness init writes"
        elif block.kind == "python":
            exec(compile(block.text, block.where, "exec"), {})  # defines what it shows
        else:
            srsly.yaml_loads(block.text)
    github, gitlab = srsly.yaml_loads(templates["github-models.yml"]), srsly.yaml_loads(templates["gitlab-ci.yml"])
    assert set(github["on"]) == {"push", "pull_request"}
    steps = github["jobs"]["gate"]["steps"]
    assert any(s.get("uses", "").startswith("actions/cache@") and s["with"]["path"] == ".venv" for s in steps)
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") and s["with"]["path"] == "reports/" for s in steps)
    assert gitlab["models"]["artifacts"]["reports"]["junit"] == "reports/junit.xml"
    assert [s["run"] for s in steps if "run" in s] == gitlab["models"]["script"]  # one set of commands


# -- the newcomer's flow, from a wheel --------------------------------------------------------


def _venv_with_our_dependencies(where: Path) -> Path:
    """A fresh virtualenv that sees this environment's third-party packages (symlinked: no
    download) but not distill-harness, which must come from the wheel."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = Path(
        subprocess.run(
            [str(where / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for entry in ours.iterdir():
        lowered = entry.name.lower()
        if lowered.startswith(("distill_harness", "__editable__", "harness", "_distutils_hack", "distutils-precedence")):
            continue
        if not (theirs / entry.name).exists():
            (theirs / entry.name).symlink_to(entry)
    # pytest's console script, as pip wrote it here, for the new interpreter (its package is
    # linked, its script is not)
    installed = Path(sys.executable).parent / "pytest"
    script = where / "bin" / "pytest"
    script.write_text(f"#!{where / 'bin' / 'python'}\n" + installed.read_text().split("\n", 1)[1])
    script.chmod(0o755)
    return where


class Reader:
    """Runs a page's ``sh`` blocks as a reader would, in one shell state (cwd, PATH)."""

    def __init__(self, repo_copy: Path, home: Path, venv: Path) -> None:
        self.repo_copy, self.cwd = repo_copy, home
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "GITHUB_STEP_SUMMARY")
        }
        self.env.update(
            PATH=f"{venv / 'bin'}:{os.environ['PATH']}",
            COLUMNS="120",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            PIP_NO_INDEX="1",
            PYTHON=sys.executable,
        )

    def run_block(self, block: Block, shown: list[str]) -> str:
        output = ""
        for command in commands(block):
            words = argv(command)
            if words[0] == "cd":
                self.cwd = (self.cwd / words[1]).resolve()
                continue
            if words[:2] in (["make", "demo"], ["make", "test"]):
                # the quickstart: .ci/run runs exactly these on every clean clone
                assert f"\n{command.line}\n" in (REPO / ".ci" / "run").read_text(), command.line
                continue
            in_repo = words[0] == "make" or any(w.startswith("dist/") for w in words)
            env = dict(self.env)
            if words[0] == "make":
                env.pop("PIP_NO_INDEX")  # building the wheel fetches setuptools as `make install` does
            done = subprocess.run(
                ["bash", "-c", command.line], cwd=self.repo_copy if in_repo else self.cwd, env=env, capture_output=True, text=True, timeout=900
            )
            said = done.stdout + done.stderr
            assert done.returncode == command.expected_status, (
                f"{block.where}: `{command.line}` exited {done.returncode}, the page says {command.expected_status}:\n{said[-6000:]}"
            )
            output += said
        missing = missing_output(shown, output)
        assert not missing, f"{block.where}: output lines the page shows were not printed: {missing}\n{output[-8000:]}"
        return output

    def run_page(self, page: Path) -> None:
        found = blocks(page)
        for i, block in enumerate(found):
            if block.kind == "sh":
                self.run_block(block, expected_output(block, found[i + 1] if i + 1 < len(found) else None))


def _copy_repo(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for name in listed:
        source = REPO / name
        if source.is_file() and not name.startswith(("gold/", "baselines/", "bench/", "tests/")):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _run_ci_workflow(project: Path, wheels: Path) -> None:
    """The workflow's commands in a clone of the committed project: a CI runner's view (no
    models/, no reports/), with .venv as a cache restore would leave it (dependencies only)."""
    import srsly

    subprocess.run("git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm project", shell=True, cwd=project, check=True)
    clone = project.parent / "ci-clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    assert not (clone / "models").exists() and (clone / "baselines" / "example.json").is_file()
    _venv_with_our_dependencies(clone / ".venv")
    summary = clone / "step-summary.md"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTEST_XDIST_WORKER")}
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PIP_DISABLE_PIP_VERSION_CHECK="1", GITHUB_STEP_SUMMARY=str(summary))
    steps = srsly.yaml_loads((clone / ".github" / "workflows" / "models.yml").read_text())["jobs"]["gate"]["steps"]
    for step in (s for s in steps if "run" in s):
        done = subprocess.run(["bash", "-c", step["run"]], cwd=clone, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, (step["run"], (done.stdout + done.stderr)[-6000:])
    assert "harness/__init__.py" in subprocess.run(
        [str(clone / ".venv/bin/python"), "-c", "import harness; print(harness.__file__)"], capture_output=True, text=True
    ).stdout.replace(str(clone / ".venv"), "")
    junit = (clone / "reports" / "junit.xml").read_text()
    assert 'name="decision"' in junit and "no_regression" in junit
    assert "example" in summary.read_text() and "passed" in summary.read_text()


@pytest.mark.slow
def test_a_newcomer_follows_the_readme_from_a_wheel(tmp_path: Path) -> None:
    repo_copy = _copy_repo(tmp_path / "repo")
    venv = _venv_with_our_dependencies(tmp_path / "venv")
    home = tmp_path / "work"
    home.mkdir()
    reader = Reader(repo_copy, home, venv)
    reader.run_page(REPO / "README.md")
    # the package came from the wheel, not from this checkout
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import harness; print(harness.__file__)"], capture_output=True, text=True, cwd=home, check=True
    ).stdout.strip()
    assert where.startswith(str(venv)), where
    project = reader.cwd
    assert (project / "pyproject.toml").is_file() and (project / "baselines" / "example.json").is_file()
    # CI on the committed project with the suite's own model: green
    subprocess.run(
        ["bash", "-c", "harness train --suite suites/example.toml"], cwd=project, env=reader.env, check=True, capture_output=True, timeout=900
    )
    _run_ci_workflow(project, repo_copy / "dist")
    for page in PAGES[1:]:
        reader.run_page(page)


def test_init_refuses_to_overwrite_and_names_what_is_there(tmp_path: Path) -> None:
    from harness.errors import InputError
    from harness.scaffold import FILES, init

    made = init(tmp_path / "p")
    assert set(made.written) == {"pyproject.toml", *FILES} and (tmp_path / "p" / "gold").is_dir()
    suite = (tmp_path / "p" / "suites" / "example.toml").read_text()
    assert 'gold = "example@v1"' in suite and "# resamples = 1000" in suite
    before = {p: p.read_bytes() for p in (tmp_path / "p").rglob("*") if p.is_file()}
    (tmp_path / "p" / "tests" / "test_examples.py").write_text("# mine\n")
    with pytest.raises(InputError, match=r"refusing to overwrite what is there: .*pyproject.toml.*suites/example.toml"):
        init(tmp_path / "p")
    assert (tmp_path / "p" / "tests" / "test_examples.py").read_text() == "# mine\n"
    assert all(p.read_bytes() == data for p, data in before.items() if p.name != "test_examples.py")
    own = tmp_path / "own"
    own.mkdir()
    (own / "pyproject.toml").write_text('[project]\nname = "x"\n')
    made = init(own, ini="pytest.ini")
    assert "pytest.ini" in made.written and (own / "pyproject.toml").read_text() == '[project]\nname = "x"\n'


def test_the_layout_names_every_module() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    layout = layout[: layout.index("\n## ")] if "\n## " in layout else layout
    package = REPO / "harness"
    missing = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.stem not in ("__init__", "__main__") and "templates" not in path.parts and path.stem not in layout
    ]
    missing += [f"{d.name}/" for d in package.iterdir() if d.is_dir() and (d / "__init__.py").exists() and f"{d.name}/" not in layout]
    assert missing == []
