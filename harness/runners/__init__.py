"""Runners: one :class:`~harness.runners.base.Runner` per pipeline kind, the code that
runs pipelines (spaCy, spacy-llm, imported predictions).

spaCy and spacy-llm are imported lazily, inside the functions that need them, so
importing the pytest plugin or the pure core stays free of their import cost.
:func:`get_runner` is the one place that dispatches on a pipeline's ``kind``.
"""

from .base import Prediction, Runner, RunOutput, get_runner

__all__ = ["Prediction", "RunOutput", "Runner", "get_runner"]
