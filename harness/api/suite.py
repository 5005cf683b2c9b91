"""Reading a suite file, for every command that takes one."""

from __future__ import annotations

from ..specs import SuiteSpec


def parse_suite(path: str) -> SuiteSpec:
    """Read and validate a suite file (pydantic is imported only when one is read)."""
    from ..suites import parse_suite as parse

    return parse(path)
