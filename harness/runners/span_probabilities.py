"""Per-span probabilities of a spaCy NER pipeline, from its beam: ``ner.beam_parse`` then
``ner.scored_ents`` (spaCy's own API), as character offsets. The building block of the
expected-error ranking (:mod:`harness.core.expected_errors`); a model trained greedily
tends to put nearly all of its mass on one parse, so check :func:`~harness.core.expected_errors.calibration`
on an eval split before trusting them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.expected_errors import Span
from ..errors import PipelineError
from .spacy_runner import load_pipeline, resolve_pipeline_path

DEFAULT_BEAM_WIDTH = 16


def span_probabilities(
    path: str | Path, texts: Sequence[str], *, beam_width: int = DEFAULT_BEAM_WIDTH, batch_size: int = 128
) -> list[dict[Span, float]]:
    """For each text, (start char, end char, label) -> probability over the beam's parses
    (spans of probability 0 left out)."""
    nlp = load_pipeline(resolve_pipeline_path(path))
    if "ner" not in nlp.pipe_names:
        raise PipelineError(f"{path}: no 'ner' component to take span probabilities from (pipes: {nlp.pipe_names})")
    ner: Any = nlp.get_pipe("ner")  # an EntityRecognizer: beam_parse and scored_ents are its own
    before = nlp.pipe_names[: nlp.pipe_names.index("ner")]  # e.g. the tok2vec the ner listens to
    out: list[dict[Span, float]] = []
    for at in range(0, len(texts), batch_size):
        docs = [nlp.make_doc(text) for text in texts[at : at + batch_size]]
        for name in before:
            component: Any = nlp.get_pipe(name)
            docs = list(component.pipe(docs))
        beams = ner.beam_parse(docs, beam_width=beam_width)
        for doc, scores in zip(docs, ner.scored_ents(beams), strict=True):
            out.append(
                {
                    (doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text), str(label)): float(p)
                    for (start, end, label), p in scores.items()
                    if p > 0
                }
            )
    return out


def category_probabilities(path: str | Path, texts: Sequence[str], *, batch_size: int = 128) -> list[dict[str, float]]:
    """For each text, the pipeline's score per category (``doc.cats``: softmax for exclusive
    categories, independent sigmoids for multi-label ones)."""
    nlp = load_pipeline(resolve_pipeline_path(path))
    return [{str(k): float(v) for k, v in doc.cats.items()} for doc in nlp.pipe(texts, batch_size=batch_size)]


def probabilities(path: str | Path, texts: Sequence[str], *, spans: bool) -> list[dict[Any, float]]:
    """Span probabilities (NER) or category probabilities (textcat) of a spaCy pipeline."""
    if spans:
        return list(span_probabilities(path, texts))
    return list(category_probabilities(path, texts))
