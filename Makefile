# Every target does its own set-up: a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# One worker per core: every test works in its own temp folders, servers and tmux sockets.
PYTEST := $(BIN)/python -m pytest -q -rs -n auto -p no:cacheprovider

.PHONY: run test test-fast check lint typecheck imports bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	mkdir -p workspace
	$(BIN)/autogpt-tui workspace

# The whole suite. Tests that need bubblewrap or tmux skip, saying why, on a machine
# without them; under CI=true their absence is a failure instead.
test: $(STAMP)
	$(PYTEST)

# Everything but the tests marked slow, for a quick loop while working.
test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check autogpt_tui tests benchmarks
	$(BIN)/ruff format --check autogpt_tui tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# The architecture's import contracts ([tool.importlinter] in pyproject.toml).
imports: $(STAMP)
	$(BIN)/lint-imports

check: lint typecheck imports test

# Every benchmark, one at a time, then one PASS/FAIL table (benchmarks/run_all.py).
# BENCH_ARGS passes options through, e.g. `make bench BENCH_ARGS="--quick"`.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
