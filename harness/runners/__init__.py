"""Runners: one :class:`~harness.runners.base.Runner` per pipeline kind, the code that
runs pipelines (spaCy, spacy-llm, imported predictions).

spaCy and spacy-llm are imported lazily, inside the functions that need them, so
importing the pytest plugin or the pure core stays free of their import cost.
The kinds and their runners are registered in :mod:`harness.runners.registry`.
"""

from .base import Predict, Prediction, Runner, RunOutput
from .registry import Kind, get_runner, kind_for_path, kind_of, kinds

__all__ = ["Kind", "Predict", "Prediction", "RunOutput", "Runner", "get_runner", "kind_for_path", "kind_of", "kinds"]
