"""Runners: the only code that imports spaCy (and, later, spacy-llm), always lazily.

Import the submodules (``harness.runners.spacy_pipeline``, ``harness.runners.training``)
only when a pipeline actually has to run, so that importing the pytest plugin or
the pure core stays free of spaCy's import cost.
"""
