"""spaCy on the gold side: tokenizing records that lack tokens, reading DocBins.

Kept here so that :mod:`harness.gold` never imports spaCy: the importer is handed
these functions by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from ..core.spans import TokenTuple
from ..errors import InputError
from ..gold.records import GoldExample, stable_hash


def spacy_tokenizer(lang: str = "en") -> Callable[[str], list[TokenTuple]]:
    """A tokenizer callable for :mod:`harness.gold` imports: text -> token tuples."""
    import spacy

    try:
        nlp = spacy.blank(lang)
    except Exception as err:
        raise InputError(f"unknown spaCy language {lang!r}: {err}", field="lang") from None

    def tokenize(text: str) -> list[TokenTuple]:
        # Tokenizing needs none of the memory max_length guards against (parser, NER):
        # a 2 MB record tokenizes fine, so lift spaCy's limit (E088) for this one text.
        nlp.max_length = max(nlp.max_length, len(text) + 1)
        return [(t.idx, t.idx + len(t), t.text, bool(t.whitespace_)) for t in nlp.make_doc(text)]

    return tokenize


def read_docbin(path: Path, lang: str = "en") -> Iterator[GoldExample]:
    """Convert a spaCy ``.spacy`` DocBin into gold examples (``doc.ents`` or ``doc.cats``)."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank(lang)
    try:
        docbin = DocBin().from_disk(path)
    except Exception as err:
        raise InputError(f"not a readable spaCy DocBin: {err}", path=path) from None
    for i, doc in enumerate(docbin.get_docs(nlp.vocab), start=1):
        tokens = tuple((t.idx, t.idx + len(t), t.text, bool(t.whitespace_)) for t in doc)
        source = f"{path}:{i}"
        if doc.cats:
            yield GoldExample(stable_hash(doc.text), doc.text, cats=dict(doc.cats), tokens=None, source=source)
        else:
            spans = tuple((e.start_char, e.end_char, e.label_) for e in doc.ents)
            yield GoldExample(stable_hash(doc.text), doc.text, spans=spans, tokens=tokens, source=source)
