# distill-harness: the two quickstart commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUITES := suites/restaurant.toml suites/food.toml suites/cooking.toml

.PHONY: install demo models test test-unit lint bench loop clean lock wheel

# (Re)install when pyproject.toml or the pins change; a fresh clone gets a new virtualenv.
# constraints.txt pins every resolved version, so a fresh clone trains the same models
# (and prints the README's figures) whatever the package index serves that day.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,ray]'
	@touch $@

install: $(STAMP)

# Trains each suite's distilled pipeline from its gold train split, the suites side by
# side (each training uses one core); a model whose inputs (gold sha256, config, steps,
# seed, spaCy version) and files did not change is reused.
models: $(STAMP)
	@pids=""; for suite in $(SUITES); do $(BIN)/harness train --suite $$suite & pids="$$pids $$!"; done; \
	status=0; for pid in $$pids; do wait $$pid || status=$$?; done; exit $$status

# Runs the example suites: per-suite tables in the terminal, JSON under reports/.
demo: models
	$(BIN)/pytest $(SUITES)

# --dist loadgroup: the Ray tests share one local cluster on one worker (xdist_group "ray").
test: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup tests

# The pure, fast tier (under a minute): metrics, gates, loaders, reports, property tests.
test-unit: $(STAMP)
	$(BIN)/pytest -n 2 tests/unit

# Lint, format and types: .ci/run runs this before the tests.
lint: $(STAMP)
	$(BIN)/ruff check harness tests bench
	$(BIN)/ruff format --check harness tests bench
	$(BIN)/mypy harness

# The human-in-the-loop demo on restaurant-reviews (scratch copy under build/loop):
# distil from the simulated LLM -> evaluate -> queue -> simulated reviewer -> retrain.
# Defaults are harness loop's own (harness/options.py); set LOOP_ROUNDS, LOOP_PER_ROUND or LOOP_STEPS to change them,
# LOOP_LLM=suites/llm/restaurant-llm-v2.cfg for the SIMULATED teacher with systematic errors.
loop: $(STAMP)
	$(BIN)/harness loop suites/restaurant.toml $(if $(LOOP_ROUNDS),--rounds $(LOOP_ROUNDS)) \
		$(if $(LOOP_PER_ROUND),--per-round $(LOOP_PER_ROUND)) $(if $(LOOP_STEPS),--max-steps $(LOOP_STEPS)) \
		$(if $(LOOP_LLM),--llm-config $(LOOP_LLM))

bench: models
	$(BIN)/python bench/eval_vs_spacy.py
	$(BIN)/python bench/metrics_scale.py
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/record_concurrency.py
	$(BIN)/python bench/baseline_overhead.py
	$(BIN)/python bench/history_scale.py
	$(BIN)/python bench/html_scale.py
	$(BIN)/python bench/cassette_scale.py

# The package as a wheel, to install into another project's environment (README, "Your own project").
# Uses the interpreter's own pip (PYTHON=... to choose it); needs no virtualenv of ours.
wheel:
	$(PYTHON) -m pip wheel --quiet --no-deps --wheel-dir dist .

# Re-pin after a deliberate upgrade (then retrain, rerun the demo, update the README's figures).
lock: $(STAMP)
	@{ sed -n '1,2p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; \
	   $(BIN)/python -m pip list --format=freeze | grep -E '^pip=='; } > constraints.txt.new && mv constraints.txt.new constraints.txt

clean:
	rm -rf models reports build
