# distill-harness: the two quickstart commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUITES := suites/restaurant.toml suites/food.toml suites/cooking.toml

.PHONY: install demo models test bench loop clean

# (Re)install when pyproject.toml changes; a fresh clone gets a new virtualenv.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)

# Trains each suite's distilled pipeline from its gold train split; a model whose
# inputs (gold sha256, config, steps, seed, spaCy version) did not change is reused.
models: $(STAMP)
	@for suite in $(SUITES); do $(BIN)/harness train --suite $$suite || exit $$?; done

# Runs the example suites: per-suite tables in the terminal, JSON under reports/.
demo: models
	$(BIN)/pytest $(SUITES)

test: $(STAMP)
	$(BIN)/pytest -n 2 tests

# The human-in-the-loop demo on restaurant-reviews (scratch copy under build/loop):
# distil from the simulated LLM -> evaluate -> queue -> simulated reviewer -> retrain.
LOOP_ROUNDS ?= 4
LOOP_PER_ROUND ?= 250
loop: $(STAMP)
	$(BIN)/harness loop suites/restaurant.toml --rounds $(LOOP_ROUNDS) --per-round $(LOOP_PER_ROUND)

bench: models
	$(BIN)/python bench/eval_vs_spacy.py
	$(BIN)/python bench/metrics_scale.py
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/record_concurrency.py

clean:
	rm -rf models reports build
