# The two commands of the README, and a few more. Everything installs into .venv with pip.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PAIR ?= case_status__dynamics365
SCALE ?= 500
export DAGSTER_HOME ?= $(CURDIR)

.PHONY: demo test bench ui lint validate clean setup

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
	$(BIN)/python -m pytest -q -n 2 --dist worksteal

bench: setup  ## scale benchmarks (prints records/s, requests, 429s, rate-limit use) and slow tests
	$(BIN)/python -m migration_assets.bench
	$(BIN)/python -m migration_assets.bench.salesforce
	$(BIN)/python -m pytest -q -m slow

ui: setup  ## the Dagster UI on 127.0.0.1:3000 with every pair's assets
	$(BIN)/python -c "from migration_assets.cli import main; main(['pairs'])"
	$(BIN)/python -m migration_assets.defs.phases_init
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf var
