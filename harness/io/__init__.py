"""Edges that touch the file system and the clock: atomic writes, JSONL, timestamps.

Everything that writes to ``gold/``, the queue or the reports goes through
:mod:`harness.io.atomic`, so a crash or Ctrl-C never leaves a half-written file.
"""
