# One command to set up and run the demo, one to run the tests (see README).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_START := 2025-03-01
DEMO_DAYS := 7
DEMO_LAST := 2025-03-07

export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: setup home browser demo test lint format validate dev bench clean \
	stack-install stack-up stack-down stack-status stack-test stack-bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Dagster refuses a DAGSTER_HOME that does not exist; an empty dagster.yaml keeps it quiet.
$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	touch $@

home: $(DAGSTER_HOME)/dagster.yaml

# kaleido (PNG export) and the browser tests need a Chromium; install Debian's when we can.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "No Chromium and no way to install it: reports skip the PNG and say why;" \
		     "browser tests will fail. Install it with: apt-get install chromium"; \
	fi

demo: setup home browser
	mkdir -p data/landing
	$(BIN)/python -m telemetry_assets.demo --landing data/landing --start $(DEMO_START) --days $(DEMO_DAYS)
	$(BIN)/dagster asset materialize -m telemetry_assets.definitions --select '*' \
		--partition-range $(DEMO_START)...$(DEMO_LAST)
	@$(BIN)/python -m telemetry_assets.summary

validate: setup home
	$(BIN)/dagster definitions validate -m telemetry_assets.definitions

test: setup browser validate
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

dev: setup home
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1

# Generates (once, cached under data/bench) a 2.5 M and a 10 M event day and times this
# pipeline against a plain DuckDB SQL job and a read-the-bytes floor; see README.
bench: setup home
	$(BIN)/python -m telemetry_assets.benchmark.run --out data/bench $(BENCH_ARGS)

# The scaled-out stack on loopback (deploy/, DESIGN.md §9): PostgreSQL, Redis, an S3 server,
# dagster-daemon, the webserver and two Celery workers; state, pids and logs in data/stack/.
STACK_PYTHON ?= $(BIN)/python

stack-install: setup
	$(STACK_PYTHON) deploy/stack.py install

stack-up:
	$(STACK_PYTHON) deploy/stack.py up

stack-down:
	$(STACK_PYTHON) deploy/stack.py down

stack-status:
	$(STACK_PYTHON) deploy/stack.py status

stack-test:
	$(STACK_PYTHON) deploy/stack_test.py $(STACK_TEST_ARGS)

# 30 demo days backfilled on the stack: wall time and each worker's share of the steps.
stack-bench:
	$(STACK_PYTHON) deploy/stack_test.py --days 30 --no-reference

clean:
	rm -rf data/warehouse data/reports data/dagster_home
