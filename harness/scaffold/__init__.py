"""``harness init``: the files of a new project, from the templates beside this module.

A project is a directory with an ini file (so that pytest's rootdir, and with it
``gold/``, ``suites/`` and ``reports/``, is the project wherever pytest starts), a
suite with every key shown, a Python test file, CI workflows for GitHub Actions and
GitLab CI, a ``.gitignore`` for what runs rebuild, and a small NER sample
(``data/example.jsonl``: 600 restaurant search queries from Explosion's projects
repository, MIT licence) to try the flow on before importing one's own data.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

from ..errors import InputError
from ..io import atomic

#: Where each file goes in the project -> its template (package data of harness.scaffold).
FILES: dict[str, str] = {
    ".gitignore": "templates/gitignore",
    "requirements.txt": "templates/requirements.txt",
    "suites/example.toml": "templates/example.toml",
    "tests/test_examples.py": "templates/test_examples.py",
    ".github/workflows/models.yml": "templates/github-models.yml",
    ".gitlab-ci.yml": "templates/gitlab-ci.yml",
    "data/example.jsonl": "example.jsonl",
}
INI_FILES = ("pyproject.toml", "pytest.ini")
EXAMPLE_GOLD = "example@v1"  # what `harness gold import data/example.jsonl --name example` makes in a new store


@dataclass(frozen=True)
class Scaffold:
    """What ``init`` wrote: the project directory and the files, relative to it."""

    directory: Path
    written: tuple[str, ...]

    @property
    def next_commands(self) -> tuple[str, ...]:
        """The commands that take the new project to its first green run."""
        return (
            "harness gold import data/example.jsonl --name example    # or your own Prodigy JSONL / .spacy files",
            "harness train --suite suites/example.toml",
            "pytest",
        )


def _template(name: str) -> str:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    try:
        version = metadata.version("distill-harness")
    except metadata.PackageNotFoundError:  # a source checkout on sys.path without installing
        version = "0.1.0"
    return text.replace("__VERSION__", version).replace("__GOLD__", EXAMPLE_GOLD)


def init(directory: str | Path, *, ini: str = "pyproject.toml") -> Scaffold:
    """Write a new project into ``directory`` (made if missing).

    Nothing is overwritten: if any of the files exists, nothing is written and the
    error names every one of them. Each file is written atomically."""
    if ini not in INI_FILES:
        raise InputError(f"--ini must be one of {', '.join(INI_FILES)}, got {ini!r}", field="ini")
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise InputError("exists and is not a directory", path=root)
    plan = {ini: f"templates/{ini}", **FILES}
    existing = sorted(target for target in plan if (root / target).exists())
    if (
        ini == "pytest.ini"
        and (root / "pyproject.toml").exists()
        and "[tool.pytest" in (root / "pyproject.toml").read_text(encoding="utf-8", errors="replace")
    ):
        existing.append("pyproject.toml (its [tool.pytest.ini_options] would be ignored beside pytest.ini)")
    if (root / "gold" / "example").exists():
        existing.append("gold/example (the sample would not import as example@v1)")
    if existing:
        raise InputError(
            "refusing to overwrite what is there: "
            + ", ".join(existing)
            + (" (with your own pyproject.toml, use --ini pytest.ini)" if "pyproject.toml" in existing else ""),
            path=root,
        )
    for target, template in plan.items():
        path = root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, _template(template))
    (root / "gold").mkdir(exist_ok=True)
    return Scaffold(root, tuple(plan))
