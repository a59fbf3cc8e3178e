# churnguard: `make demo` sets up and runs the demo; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   ?= demo

.PHONY: demo test install install-dev lint bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml scripts/setup-test.sh | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	bash scripts/setup-test.sh
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/churnguard simulate $(DEMO) --customers 20000 --months 36 --seed 7 --replace
	$(BIN)/churnguard status $(DEMO)

# PostgreSQL and Chromium are system services: (re)installed if missing and started on every
# run, since a fresh machine (and CI) has neither running.
test: install-dev
	bash scripts/setup-browser.sh
	eval "$$(bash scripts/setup-postgres.sh)" && $(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

docs: install
	$(BIN)/python -m churnguard.contract.docs > docs/data-contract.md

bench: install-dev
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache test-artifacts
