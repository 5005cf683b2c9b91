"""Run a spaCy pipeline (directory or installed package) over texts, timed."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, PipelineError
from ..gold import GoldExample, TokenTuple, stable_hash
from ..results import SpeedStats

if TYPE_CHECKING:
    from spacy.language import Language

SpanTuple = tuple[int, int, str]


@dataclass(frozen=True)
class Prediction:
    """What a pipeline said about one text."""

    spans: tuple[SpanTuple, ...] = ()
    cats: Mapping[str, float] | None = None
    n_words: int = 0


@dataclass(frozen=True)
class PipelineRun:
    """Predictions plus the figures about the pipeline that produced them."""

    predictions: tuple[Prediction, ...]
    speed: SpeedStats
    size_bytes: int
    n_params: int | None
    path: str
    meta: Mapping[str, Any] = field(default_factory=dict)


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def resolve_pipeline_path(path_or_name: str | Path) -> Path:
    """The directory a pipeline loads from: a path, or an installed package's data dir."""
    path = Path(path_or_name)
    if path.exists():
        if not (path / "config.cfg").exists():
            raise PipelineError(f"{path} is not a spaCy pipeline directory (no config.cfg)")
        return path
    import spacy.util

    name = str(path_or_name)
    if spacy.util.is_package(name):
        package = spacy.util.get_package_path(name)
        meta = spacy.util.get_model_meta(package)
        return package / f"{meta['lang']}_{meta['name']}-{meta['version']}"
    raise PipelineError(f"pipeline not found: {path_or_name} (neither a directory nor an installed package)")


def load_pipeline(path_or_name: str | Path) -> Language:
    """``spacy.load`` with a clear error for a missing or broken pipeline."""
    import spacy

    path = resolve_pipeline_path(path_or_name)
    try:
        return spacy.load(path)
    except Exception as err:  # spaCy raises many types; the user needs the path.
        raise PipelineError(f"could not load spaCy pipeline {path}: {err}") from err


def size_on_disk(path: Path) -> int:
    """Bytes of every file under ``path`` (what shipping the model costs)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def parameter_count(nlp: Language) -> int | None:
    """Trainable parameters over all components' thinc models (shared nodes once)."""
    seen: set[int] = set()
    total = 0
    found = False
    for _, component in nlp.components:
        model = getattr(component, "model", None)
        if model is None or not hasattr(model, "walk"):
            continue
        found = True
        for node in model.walk():
            if node.id in seen:
                continue
            seen.add(node.id)
            for name in node.param_names:
                if node.has_param(name):
                    total += int(node.get_param(name).size)
    return total if found else None


def _prediction(doc: Any, task: str) -> Prediction:
    if task == "ner":
        spans = tuple((ent.start_char, ent.end_char, ent.label_) for ent in doc.ents)
        return Prediction(spans=spans, n_words=len(doc))
    return Prediction(cats=dict(doc.cats), n_words=len(doc))


def predict_timed(
    nlp: Language, texts: Sequence[str], *, task: str, latency_docs: int = 32, batch_size: int = 128
) -> tuple[list[Prediction], SpeedStats]:
    """Run ``nlp`` over ``texts`` once, timing per-doc latency then batched throughput."""
    predictions: list[Prediction] = []
    latencies: list[float] = []
    total_words = 0
    started = time.perf_counter()
    head = texts[:latency_docs]
    head_words = 0
    head_seconds = 0.0
    for text in head:
        t0 = time.perf_counter()
        doc = nlp(text)
        elapsed = time.perf_counter() - t0
        latencies.append(elapsed * 1000.0)
        head_seconds += elapsed
        head_words += len(doc)
        predictions.append(_prediction(doc, task))
    total_words += head_words
    rates: list[float] = []
    rest = texts[latency_docs:]
    for offset in range(0, len(rest), batch_size):
        batch = rest[offset : offset + batch_size]
        t0 = time.perf_counter()
        docs = list(nlp.pipe(batch, batch_size=batch_size))
        elapsed = time.perf_counter() - t0
        words = sum(len(doc) for doc in docs)
        total_words += words
        if elapsed > 0 and words > 0:
            rates.append(words / elapsed)
        predictions.extend(_prediction(doc, task) for doc in docs)
    seconds = time.perf_counter() - started
    if rates:
        wps = statistics.median(rates)
    else:
        wps = head_words / head_seconds if head_seconds > 0 else 0.0
    speed = SpeedStats(
        words_per_second=wps,
        words=total_words,
        docs=len(texts),
        seconds=seconds,
        latency_p50_ms=_percentile(latencies, 0.5),
        latency_p95_ms=_percentile(latencies, 0.95),
        timed_batches=len(rates),
        batch_size=batch_size,
    )
    return predictions, speed


def run_spacy_pipeline(
    path_or_name: str | Path, texts: Sequence[str], *, task: str, latency_docs: int = 32, batch_size: int = 128
) -> PipelineRun:
    """Load a spaCy pipeline, predict on ``texts`` and measure speed, size and parameters."""
    path = resolve_pipeline_path(path_or_name)
    nlp = load_pipeline(path)
    if task == "ner" and "ner" not in nlp.pipe_names and not any(
        getattr(c, "__class__", type).__name__ == "EntityRuler" for _, c in nlp.components
    ):
        raise PipelineError(f"pipeline {path} has no 'ner' component but the gold task is ner (pipes: {nlp.pipe_names})")
    if task != "ner" and not any(name.startswith("textcat") for name in nlp.pipe_names):
        raise PipelineError(f"pipeline {path} has no textcat component but the gold task is {task} (pipes: {nlp.pipe_names})")
    predictions, speed = predict_timed(nlp, texts, task=task, latency_docs=latency_docs, batch_size=batch_size)
    return PipelineRun(
        predictions=tuple(predictions),
        speed=speed,
        size_bytes=size_on_disk(path),
        n_params=parameter_count(nlp),
        path=str(path),
        meta=read_meta(path),
    )


def read_meta(path: Path) -> dict[str, Any]:
    """The pipeline's ``meta.json`` (including the ``harness`` training record), or {}."""
    import json

    meta_path = path / "meta.json"
    if not meta_path.exists():
        return {}
    return json.loads(meta_path.read_text(encoding="utf-8"))


def spacy_tokenizer(lang: str = "en"):  # type: ignore[no-untyped-def]
    """A tokenizer callable for :mod:`harness.gold` imports: text -> token tuples."""
    import spacy

    try:
        nlp = spacy.blank(lang)
    except Exception as err:
        raise InputError(f"unknown spaCy language {lang!r}: {err}", field="lang") from None

    def tokenize(text: str) -> list[TokenTuple]:
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

