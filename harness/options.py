"""Every shared choice and default, defined once, and how a run resolves them.

The pytest plugin, the ``harness`` CLI and the suite parser all read from here:
the choices (LLM modes, checkpoints, pipeline kinds, tasks), the defaults
(resamples, seed, threshold, ...) and the command-line options they share.
Like pytest-benchmark's option table, an option is described once and added to
either an ``argparse`` parser or pytest's parser (whose ``addoption`` takes the
same keywords).

Resolution order everywhere: a value given on the command line, else the
suite's, else the default here (:func:`first_given`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

# -- choices -----------------------------------------------------------------------

#: LLM cassette modes: answer from the cassette only / call the model for missing
#: prompts and record them / bypass the cassette.
LLM_MODES: tuple[str, ...] = ("replay", "record", "live")
DEFAULT_LLM_MODE = "replay"
#: "best": spaCy's model-best on a held-out 10% of the train split; "last": model-last trained on all of it.
CHECKPOINTS: tuple[str, ...] = ("best", "last")
DEFAULT_CHECKPOINT = "best"
TASKS: tuple[str, ...] = ("ner", "textcat", "textcat_multilabel")
SPLITS: tuple[str, ...] = ("train", "eval")
#: How pipelines are mapped over many texts (harness.engines): this process, every local
#: core, or a Ray cluster (the optional extra distill-harness[ray]).
ENGINES: tuple[str, ...] = ("local", "processes", "ray")
DEFAULT_ENGINE = "local"
DEFAULT_ENGINE_BATCH = 1000  # texts per batch a worker answers (nlp.pipe batches inside it: the pipeline's batch_size)
#: How `harness queue fill` ranks pool texts: by the size of the distilled/LLM disagreement,
#: by the expected number of LLM errors (cross-fitted students, harness.loop.error_rank),
#: or at random (every pool text alike: the baseline any ranking must beat).
RANKS: tuple[str, ...] = ("disagreement", "expected-error", "random")
DEFAULT_RANK = "disagreement"
DEFAULT_FOLDS = 2  # cross-fitted students of `queue fill --rank expected-error` (each text scored by one that never saw it)
DEFAULT_AUDIT_FOLDS = 5  # out-of-fold students of `harness gold audit`
DIVERSITY_SHARE = 0.1  # share of an expected-error queue one confusion (surface form, label) may take
DEFAULT_AUDIT_CONFIDENT = 0.8  # `harness gold audit`: how sure a student must be to doubt the gold
#: How imported predictions are matched with gold examples.
PREDICTION_KEYS: tuple[str, ...] = ("input_hash", "text")

# -- defaults ----------------------------------------------------------------------

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
#: Confidence level of every interval the harness reports (percentile bootstrap).
CONFIDENCE = 0.95
DEFAULT_THRESHOLD = 0.5  # textcat decision threshold
#: A gold category is "on" at this score (gold scores are 0 or 1: Prodigy's accept/reject).
GOLD_POSITIVE = 0.5
DEFAULT_BATCH_SIZE = 128
DEFAULT_LATENCY_DOCS = 32  # texts run one by one (warm-up + per-doc latency) before batching
DEFAULT_EVAL_FRACTION = 0.3
DEFAULT_GOLD_DIR = "gold"
DEFAULT_REPORTS_DIR = "reports"
DEFAULT_SUITE_GLOBS: tuple[str, ...] = ("suites/*.toml", "**/suites/*.toml")
DEFAULT_TRAIN_SEED = 0
#: Models retrained with other seeds when a pipeline with a [train] table is blessed
#: (`harness bless --replicates N`, or `replicates` in the train table): training noise.
DEFAULT_REPLICATES = 5
DEFAULT_BASELINES_DIRNAME = "baselines"
DEFAULT_BASELINES_DIR = f"../{DEFAULT_BASELINES_DIRNAME}"  # relative to the suite file, like gold_dir
DEFAULT_MIN_BASELINE_COVERAGE = 0.8  # share of the eval split a baseline must be comparable on
HISTORY_DIRNAME = "history"  # under the reports directory
DEFAULT_HISTORY_LAST = 20  # runs shown by `harness history` (and the HTML report's trends)
DEFAULT_QUEUE_SHOWN = 20  # records `harness queue show` lists
DEFAULT_QUEUE_FILL = 100  # pool texts `harness queue fill` queues at most
DEFAULT_DISTILL_FRACTION = 0.5  # the demo loop: share of the pool distilled from the LLM (the queue fills from the rest)
DEFAULT_SHOWN_FLIPS = 5  # newly broken examples shown per pipeline in the terminal / Markdown
MARKDOWN_MAX_BYTES = 1 << 20  # GitHub's step summary limit
REPORT_EXAMPLES_CAP = 5000  # eval examples carried per suite in the JSON / HTML report (failing ones first)
HTML_REPORT_NAME = "report.html"
#: Built-in behavioural checks ([behaviour.<pipeline>] keys); substitution is NER only.
BEHAVIOUR_CHECKS = ("lowercase", "titlecase", "trailing_punctuation", "double_whitespace", "neutral_clause", "substitution", "typo")
#: The demo loop (`harness loop`, `make loop`): one set of defaults for both, the settings the
#: README's loop table was measured with.
DEFAULT_LOOP_ROUNDS = 4
DEFAULT_LOOP_PER_ROUND = 250
DEFAULT_LOOP_STEPS = 3000
DEFAULT_BEHAVIOUR_EXAMPLES = 200  # generated cases per check (Hypothesis max_examples)
#: A check judged on fewer cases than this fails (saying how many it had): a pass rate of 1 case means nothing.
DEFAULT_BEHAVIOUR_MIN_CASES = 20
#: Time budget of one check's generation (user code included); past it, generation stops and says so.
DEFAULT_BEHAVIOUR_SECONDS = 120.0


def first_given(*values: Any) -> Any:
    """The first value that is not None: CLI value, else the suite's, else a default."""
    for value in values:
        if value is not None:
            return value
    return None


@dataclass(frozen=True)
class EngineChoice:
    """Which engine maps pipelines over many texts, and how (``--engine``, ``--workers``,
    ``--ray-address``; a suite's ``engine``): see :mod:`harness.engines`."""

    name: str | None = None  # None: not given here (the suite's, else local)
    batch_size: int = DEFAULT_ENGINE_BATCH
    workers: int | None = None  # worker processes / Ray actors (None: every core)
    ray_address: str | None = None  # "auto", "ray://host:port"; None: start a local cluster
    num_cpus: float = 1.0  # per Ray actor
    num_gpus: float = 0.0  # per Ray actor

    def resolved(self, suite_value: str | None = None) -> EngineChoice:
        """This choice with its engine named: the one given, else the suite's, else local."""
        return replace(self, name=first_given(self.name, suite_value, DEFAULT_ENGINE))

    @property
    def is_local(self) -> bool:
        return self.name in (None, DEFAULT_ENGINE)


@dataclass(frozen=True)
class EvalSettings:
    """How pipelines are scored in one run. ``None`` means "the suite's own setting"."""

    resamples: int | None = None
    seed: int | None = None
    llm_mode: str | None = None  # None: each cassette's configured mode (replay by default)
    engine: EngineChoice = field(default_factory=lambda: EngineChoice())  # name None: the suite's, else local

    def resamples_for(self, suite_value: int | None) -> int:
        return int(first_given(self.resamples, suite_value, DEFAULT_RESAMPLES))

    def seed_for(self, suite_value: int | None) -> int:
        return int(first_given(self.seed, suite_value, DEFAULT_SEED))


# -- argument types ------------------------------------------------------------------


def _int_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (e.g. resamples, steps, limits)."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (e.g. replicates, where 0 means none)."""
    return _int_at_least(text, 0)


# -- options shared by the CLI and the pytest plugin ---------------------------------


class _AddsOptions(Protocol):
    def __call__(self, *flags: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class SharedOption:
    """One option, described once: ``add_to`` puts it on an argparse parser
    (``parser.add_argument``) or a pytest option group (``group.addoption``) under
    that face's flag (``--resamples`` in the CLI, ``--harness-resamples`` in pytest,
    where a prefix keeps it apart from other plugins' options)."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def add_to(self, add: _AddsOptions | Callable[..., Any], flag: str) -> None:
        add(flag, **self.kwargs)


LLM_MODE = SharedOption(
    "llm_mode",
    {
        "choices": LLM_MODES,
        "default": None,
        "help": "LLM cassettes: replay (default: offline, answers from the cassette), record (call the model for "
        "missing prompts and save them), live (no cassette)",
    },
)
RESAMPLES = SharedOption(
    "resamples",
    {
        "type": positive_int,
        "default": None,
        "metavar": "N",
        # argparse (and so pytest) %-formats help strings: a literal percent sign is written %%.
        "help": f"bootstrap resamples for the {CONFIDENCE * 100:.0f}%% confidence intervals (default: the suite's, {DEFAULT_RESAMPLES})",
    },
)
SEED = SharedOption(
    "seed",
    {
        "type": int,
        "default": None,
        "metavar": "N",
        "help": f"bootstrap seed (default: the suite's, {DEFAULT_SEED})",
    },
)
ENGINE = SharedOption(
    "engine",
    {
        "choices": ENGINES,
        "default": None,
        "help": "how pipelines map over many texts: local (this process, the default), processes (every local core), "
        "ray (a Ray cluster: pip install 'distill-harness[ray]'); default: the suite's engine, else local",
    },
)
WORKERS = SharedOption(
    "workers",
    {"type": positive_int, "default": None, "metavar": "N", "help": "worker processes or Ray actors (default: every core)"},
)
RAY_ADDRESS = SharedOption(
    "ray_address",
    {
        "default": None,
        "metavar": "ADDR",
        "help": "the Ray cluster to join (auto, ray://host:10001); default: start a local one",
    },
)


def engine_choice(engine: str | None, workers: int | None, ray_address: str | None) -> EngineChoice:
    """The engine options of a command line, as one :class:`EngineChoice`."""
    return EngineChoice(name=engine, workers=workers, ray_address=ray_address)
