"""The resolved versions a result depends on, recorded in model meta and JSON reports.

Two machines that train the same gold with the same config and seed can still get
different models when library versions differ; recording them makes that visible.
"""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata

from . import __version__

#: Distributions whose versions change models or scores.
TRACKED = ("spacy", "spacy-llm", "thinc", "numpy", "blis", "pydantic")


@lru_cache(maxsize=1)
def environment() -> dict[str, str]:
    """Python, the harness and the tracked libraries' installed versions."""
    versions = {"python": platform.python_version(), "distill-harness": __version__}
    for name in TRACKED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
