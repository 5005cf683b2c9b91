"""distill-harness: evaluate distilled spaCy pipelines against versioned gold, as a pytest run."""

__version__ = "0.1.0"
