"""Shared options: defined once, resolved the same way by the CLI, pytest and suites."""

from __future__ import annotations

import argparse

import pytest

from harness import options
from harness.options import EvalSettings, first_given, positive_int


def test_first_given_prefers_cli_then_suite_then_default() -> None:
    assert first_given(5, 7, 1000) == 5
    assert first_given(None, 7, 1000) == 7
    assert first_given(None, None, 1000) == 1000
    assert first_given(0, 7) == 0  # 0 is a value, not "not given"
    assert first_given(None, None) is None


def test_eval_settings_fall_back_to_the_suite_and_the_defaults() -> None:
    assert EvalSettings().resamples_for(None) == options.DEFAULT_RESAMPLES
    assert EvalSettings().resamples_for(200) == 200
    assert EvalSettings(resamples=50).resamples_for(200) == 50
    assert EvalSettings().seed_for(3) == 3 and EvalSettings(seed=9).seed_for(3) == 9
    assert EvalSettings().seed_for(None) == options.DEFAULT_SEED


@pytest.mark.parametrize("text", ["0", "-1", "x", "1.5"])
def test_positive_int_refuses_what_is_not_a_count(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int(text)
    assert positive_int("12") == 12


def test_a_shared_option_reads_the_same_in_any_parser() -> None:
    """The CLI and the plugin add the same definition under their own flag."""
    cli = argparse.ArgumentParser()
    options.LLM_MODE.add_to(cli.add_argument, "--llm-mode")
    options.RESAMPLES.add_to(cli.add_argument, "--resamples")
    plugin_like = argparse.ArgumentParser()
    options.LLM_MODE.add_to(plugin_like.add_argument, "--llm-mode")
    options.RESAMPLES.add_to(plugin_like.add_argument, "--harness-resamples")
    assert cli.parse_args(["--llm-mode", "record", "--resamples", "50"]) == argparse.Namespace(llm_mode="record", resamples=50)
    assert plugin_like.parse_args([]) == argparse.Namespace(llm_mode=None, harness_resamples=None)
    for parser, flag in ((cli, "--resamples"), (plugin_like, "--harness-resamples")):
        with pytest.raises(SystemExit):
            parser.parse_args([flag, "0"])
        with pytest.raises(SystemExit):
            parser.parse_args(["--llm-mode", "cached"])


def test_the_suite_models_accept_the_choices_of_options_and_the_registry() -> None:
    """The pydantic suite models read their choices from options.py and the runner registry
    (they used to spell them again as Literals)."""
    from pydantic import ValidationError

    from harness.runners import kinds
    from harness.suite_schema import PipelineTable, TrainTable

    for checkpoint in options.CHECKPOINTS:
        assert TrainTable(checkpoint=checkpoint).checkpoint == checkpoint
    for kind in kinds():
        assert PipelineTable(kind=kind).kind == kind
    for key in options.PREDICTION_KEYS:
        assert PipelineTable(key=key).key == key
    with pytest.raises(ValidationError, match="unknown pipeline kind; expected one of spacy, llm, predictions"):
        PipelineTable(kind="onnx")
    with pytest.raises(ValidationError, match="unknown checkpoint; expected one of best, last"):
        TrainTable(checkpoint="middle")


def test_no_pickle_anywhere_in_the_package() -> None:
    from pathlib import Path

    import harness

    root = Path(harness.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if "pickle" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_the_loop_has_one_set_of_defaults() -> None:
    """`harness loop`, the loop function and `make loop` use the defaults of options.py."""
    import inspect
    from pathlib import Path

    from harness import options
    from harness.cli import build_parser
    from harness.loop.demo import loop

    args = build_parser().parse_args(["loop", "suites/restaurant.toml"])
    expected = (options.DEFAULT_LOOP_ROUNDS, options.DEFAULT_LOOP_PER_ROUND, options.DEFAULT_LOOP_STEPS)
    assert (args.rounds, args.per_round, args.max_steps) == expected
    defaults = inspect.signature(loop).parameters
    assert (defaults["rounds"].default, defaults["per_round"].default, defaults["max_steps"].default) == expected
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "LOOP_ROUNDS ?=" not in makefile and "--rounds $(LOOP_ROUNDS)" in makefile  # no second set of numbers


def test_the_scaffold_suite_shows_every_suite_key() -> None:
    """`harness init`'s suites/example.toml says it shows every key: each [suite] key of the
    schema is there (set or commented), so a new key cannot be forgotten in it."""
    import re
    from importlib import resources

    from harness.suite_schema import SuiteTable

    text = (resources.files("harness.scaffold") / "templates" / "example.toml").read_text(encoding="utf-8")
    suite = text[text.index("[suite]") : text.index("[pipelines.")]
    shown = set(re.findall(r"^#? ?(\w+) =", suite, flags=re.M))
    assert set(SuiteTable.model_fields) - shown == set()
