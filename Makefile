# Two entry points, both bootstrapping the virtualenv from nothing:
#   make up    install, then run the embedded stack (`agentdeck up`)
#   make test  install, then lint, type-check and run every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install up test lint bench bench-foundation bench-audit soak mutate

$(BIN)/agentdeck: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/agentdeck

up: install
	$(BIN)/agentdeck up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# One worker per CPU, the whole-stack tests (e2e, bench) one after another on one of them;
# then, alone on the machine, the tests that measure a latency the docs promise.
test: lint
	$(BIN)/pytest --numprocesses=auto --dist=loadgroup -m "not latency"
	$(BIN)/pytest -m latency

# The platform against its floor and its peers (LangGraph, DBOS: the `peers` extra).
bench: install
	$(BIN)/python -m pip install --quiet -e '.[dev,peers]'
	$(BIN)/agentdeck bench --json bench.json

# Codec throughput and the bare broker round trip.
bench-foundation: install
	$(BIN)/python benchmarks/foundation.py

# Replay and audit-verification throughput over a generated archive of 1,000,000 events.
bench-audit: install
	$(BIN)/python benchmarks/audit.py

# The chaos soak: 300 runs over 5 minutes while services, database connections, Redis and
# the whole stack are killed, with cancellations, kill switches and approvals thrown in.
soak: install
	$(BIN)/python -m agentdeck.bench.soak --json soak.json

# Each named mutation (tests/mutations/catalog.py) breaks one invariant of the consumer loop
# or the runtime's transaction on purpose; its tests must catch it. Prints the kill rate.
mutate: install
	$(BIN)/python tests/mutations/run.py
