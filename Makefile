# trunkguard: `make demo` to see it work, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/trunkguard demo --path demo

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: install
	$(BIN)/python -m tests.bench.bench_scan
	$(BIN)/python -m tests.bench.bench_startup
	$(BIN)/python -m tests.bench.bench_forecast
	$(BIN)/python -m tests.bench.bench_store
	$(BIN)/python -m tests.bench.bench_mirror
	$(BIN)/python -m tests.bench.bench_webhook
	$(BIN)/python -m tests.bench.bench_review
	$(BIN)/python -m tests.bench.bench_workers
	$(BIN)/python -m tests.bench.bench_resolve
	$(BIN)/python -m tests.bench.bench_replay_resolve

clean:
	rm -rf $(VENV) demo .bench build *.egg-info
