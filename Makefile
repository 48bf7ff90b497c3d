# The two commands of the README, and a few more. Everything installs into .venv with pip.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PAIR ?= case_status__dynamics365
SCALE ?= 500
UI_PORT ?= 3000
export DAGSTER_HOME ?= $(CURDIR)

.PHONY: demo test bench bench-1m ui screenshots lint validate clean setup

$(BIN)/migrate: pyproject.toml
	@echo "installing the workbench and its test tools into $(VENV) (first run only) ..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -qq --upgrade pip
	@$(BIN)/python -m pip install -qq -e '.[test]'
	@touch $(BIN)/migrate

setup: $(BIN)/migrate

# One line per step of the story (quiet runs: a live progress bar in a terminal, one line per run), then
# the summary: what loaded, what is held back and why, the diff, the reports and the next commands.
demo: setup  ## seed, schema plan, plan + profiles, sample, approve, full, a simulated delta, the summary
	@$(BIN)/migrate sandbox seed --scale $(SCALE) --seed 42
	@$(BIN)/migrate sandbox apply-schema-plan $(PAIR)
	@$(BIN)/migrate plan $(PAIR) --quiet
	@$(BIN)/migrate run $(PAIR) --phase sample --quiet
	@$(BIN)/migrate approve $(PAIR) --by demo@example.com --note "make demo"
	@$(BIN)/migrate run $(PAIR) --phase full --quiet
	@$(BIN)/migrate sandbox simulate-delta
	@$(BIN)/migrate run $(PAIR) --phase delta --quiet
	@echo
	@$(BIN)/migrate summary $(PAIR)

test: setup  ## lint, validate the definitions, run the test suite
	$(BIN)/ruff check migration_assets migration_assets_tests
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs
	@# four workers on two cores: the end-to-end tests wait on sockets, polls and paced requests (a suite on
	@# three workers kept the two cores about two-thirds busy);
	@# by file, so that a module's heavy fixture runs once, in collection order (conftest puts the files
	@# that run whole jobs first; xdist's own order, by number of tests, ran them last)
	$(BIN)/python -m pytest -q -n 4 --dist loadfile --no-loadscope-reorder --durations=15

$(VENV)/.bench: $(BIN)/migrate
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(VENV)/.bench

bench: setup $(VENV)/.bench  ## every bench (table + var/bench/latest.json), then the slow tests; ~40 min on 2 cores
	$(BIN)/python -m migration_assets.bench.report
	$(BIN)/python -m pytest -q -m slow

bench-1m: setup  ## one pair from ~8k to ~1M source records (each scale estimated from the smaller ones); ~27 min
	$(BIN)/python -m migration_assets.bench.report --sections scaling --scales 1000,3000,12900,30000,129000 --json var/bench/scale.json

ui: setup  ## the Dagster UI on 127.0.0.1:$(UI_PORT) with every pair's assets
	@$(BIN)/python -m migration_assets.defs.phases_init
	@echo "the Dagster UI: http://127.0.0.1:$(UI_PORT) (Ctrl-C stops it)"
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT)

screenshots: setup  ## the browser tests: UI graph and a sample run, the reports; PNGs under var/screenshots/
	$(BIN)/python -m pytest -q migration_assets_tests/ui migration_assets_tests/reports

clean:
	rm -rf var
