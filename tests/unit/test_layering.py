"""Dependencies point down: the pure core imports no I/O room, reports take what they show
(no loop, no history), runners leave process policy to the process, nobody imports another
module's private names, and the plugin stays free of spaCy and numpy at import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "harness"

# room -> rooms (or modules) it must not import, and why
FORBIDDEN = {
    "core": ("gold", "runners", "llm", "loop", "reports", "history", "session", "plugin", "cli", "api", "outputs", "heap"),
    "reports": ("loop", "history", "session", "plugin", "cli", "api", "outputs", "heap"),
    "runners": ("heap", "session", "plugin", "cli", "api", "outputs", "reports", "loop"),
    "io": ("core", "gold", "runners", "llm", "loop", "reports", "session", "plugin", "cli", "api"),
    "gold": ("runners", "llm", "loop", "reports", "session", "plugin", "cli", "api"),
    # engines map work over texts and know nothing of tasks, pipelines or gold
    "engines": ("core", "gold", "runners", "llm", "loop", "reports", "history", "session", "plugin", "cli", "api", "heap"),
}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module imported, names taken from it) for every import in ``path``."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((target, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    return found


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "harness" else None


def test_dependencies_point_down() -> None:
    problems = []
    for path in PACKAGE.rglob("*.py"):
        room = path.relative_to(PACKAGE).parts[0] if len(path.relative_to(PACKAGE).parts) > 1 else None
        if room not in FORBIDDEN:
            continue
        for target, _ in _imports(path):
            if _room(target) in FORBIDDEN[room]:
                problems.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert problems == []


def test_no_private_names_imported_from_another_module() -> None:
    problems = [
        f"{path.relative_to(PACKAGE)}: from {target} import {name}"
        for path in PACKAGE.rglob("*.py")
        for target, names in _imports(path)
        if target.startswith("harness")
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert problems == []


def test_importing_the_plugin_imports_neither_spacy_nor_numpy() -> None:
    code = "import sys, harness.plugin; print(sorted(m for m in sys.modules if m.split('.')[0] in ('spacy', 'numpy', 'thinc')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_modules_and_functions_stay_small() -> None:
    """About 400 lines a module and 60 a function: a change lands in one small place."""
    too_long = []
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > 420:
            too_long.append(f"{path.relative_to(PACKAGE)}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                if node.end_lineno - node.lineno + 1 > 60:
                    too_long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}(): {node.end_lineno - node.lineno + 1} lines")
    assert too_long == []
