"""The pure core: metrics as additive counts, paired comparisons, gates as verdicts,
result types and span helpers. No I/O, no spaCy; numpy is imported lazily by the
modules that need it, so importing :mod:`harness.core` types stays cheap."""
