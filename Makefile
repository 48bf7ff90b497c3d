# The two commands of the README, and a few more. Everything installs into .venv with pip.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PAIR ?= case_status__dynamics365
SCALE ?= 500
export DAGSTER_HOME ?= $(CURDIR)

.PHONY: demo test bench bench-1m ui lint validate clean setup

$(BIN)/migrate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/migrate

setup: $(BIN)/migrate

demo: setup  ## seed, sample, approve, full, a simulated delta with reconciliation, print the summary
	$(BIN)/migrate sandbox seed --scale $(SCALE) --seed 42
	$(BIN)/migrate run $(PAIR) --phase sample
	$(BIN)/migrate approve $(PAIR) --by demo@example.com --note "make demo"
	$(BIN)/migrate run $(PAIR) --phase full
	$(BIN)/migrate sandbox simulate-delta
	$(BIN)/migrate run $(PAIR) --phase delta
	$(BIN)/migrate report $(PAIR) --phase full --json

test: setup  ## lint, validate the definitions, run the test suite
	$(BIN)/ruff check migration_assets migration_assets_tests
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs
	$(BIN)/python -m pytest -q

$(VENV)/.bench: $(BIN)/migrate
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(VENV)/.bench

bench: setup $(VENV)/.bench  ## every bench (table + var/bench/latest.json), then the slow tests; ~30 min on 2 cores
	$(BIN)/python -m migration_assets.bench.report
	$(BIN)/python -m pytest -q -m slow

bench-1m: setup  ## one pair's phases at ~100k and ~1M source records (scale 12,900 and 129,000; hours)
	$(BIN)/python -m migration_assets.bench.report --sections scaling --scales 12900,129000 --json var/bench/scale.json

ui: setup  ## the Dagster UI on 127.0.0.1:3000 with every pair's assets
	$(BIN)/python -c "from migration_assets.cli import main; main(['pairs'])"
	$(BIN)/python -m migration_assets.defs.phases_init
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf var
