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

# A fresh demo workspace every time: simulate -> measure -> train -> score -> daily run
# (rules, alerts, cases) -> reason classifier -> win-back list -> report, then the dashboard
# on http://127.0.0.1:8000 (log in as demo / demo-demo; Ctrl-C stops).
demo: install
	rm -rf $(DEMO)
	$(BIN)/churnguard simulate $(DEMO) --customers 20000 --months 36 --seed 7
	$(BIN)/churnguard status $(DEMO)
	$(BIN)/churnguard measure $(DEMO) --period quarter
	$(BIN)/churnguard train $(DEMO) --horizon 90d
	$(BIN)/churnguard score $(DEMO) --as-of 2026-06-30
	$(BIN)/churnguard run $(DEMO) --as-of 2026-06-30 --no-deliver
	$(BIN)/churnguard reasons $(DEMO) --train
	cp examples/offers.toml $(DEMO)/offers.toml
	$(BIN)/churnguard winback $(DEMO) --out $(DEMO)/winback.csv
	$(BIN)/churnguard report $(DEMO) --out $(DEMO)/churn-report.html
	$(BIN)/churnguard users add $(DEMO) demo --role admin --password demo-demo
	$(BIN)/churnguard serve $(DEMO) --port 8000

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
