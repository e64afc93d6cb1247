# One command to set up and run the demo, one to run the tests (see README).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_START := 2025-03-01
DEMO_DAYS := 7
DEMO_LAST := 2025-03-07

export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: setup lock home browser demo test test-fast lint typecheck format validate dev bench \
	bench-history bench-logs bench-anomaly bench-freshness api bench-api clean \
	stack-install stack-up stack-down stack-status stack-test stack-bench

# requirements.lock pins every transitive dependency, so a fresh machine installs exactly the
# versions the tests ran with; `make lock` writes it again from pyproject.toml.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

lock: setup
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra stack --python-version 3.11 \
		-o requirements.lock -q

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
	$(BIN)/python -m telemetry_assets.devtools.demo --landing data/landing --start $(DEMO_START) --days $(DEMO_DAYS)
	$(BIN)/dagster asset materialize -m telemetry_assets.definitions --select '*' \
		--partition-range $(DEMO_START)...$(DEMO_LAST)
	@$(BIN)/python -m telemetry_assets.devtools.summary

validate: setup home
	$(BIN)/dagster definitions validate -m telemetry_assets.definitions

# Everything: unit, asset, sensor, CLI, webserver, browser and SIGKILL tests (what CI runs).
test: setup browser validate
	$(BIN)/pytest

# The developer loop: unit and asset tests; no CLI, webserver, service, browser or kill runs.
test-fast: setup
	$(BIN)/pytest -m "not slow and not browser and not service" -n 2

lint: setup typecheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy telemetry_assets

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The collector and the Dagster UI side by side on loopback; Ctrl-C stops both.
dev: setup home
	mkdir -p data/landing
	$(BIN)/python -m telemetry_assets.api --host 127.0.0.1 --port $(API_PORT) & api=$$!; \
	trap 'kill $$api' EXIT INT TERM; \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1

# Generates (once, cached under data/bench) a 2.5 M and a 10 M event day and times this
# pipeline against a plain DuckDB SQL job and a read-the-bytes floor; see README.
bench: setup home
	$(BIN)/python -m telemetry_assets.devtools.benchmark.run --out data/bench $(BENCH_ARGS)
	$(BIN)/python -m telemetry_assets.devtools.benchmark.run --out data/bench --shape history $(HISTORY_ARGS)

# Only the long-history shape (144 days of small hourly files); HISTORY_ARGS="--days 30" is quicker.
bench-history: setup home
	$(BIN)/python -m telemetry_assets.devtools.benchmark.run --out data/bench --shape history $(HISTORY_ARGS)

# Freshness through the real sensor and daemon: starts `dagster dev` on temporary folders, drops
# new hourly files and prints how long each takes to reach events, ingest_stats, dashboard.html.
bench-freshness: setup
	$(BIN)/python -m telemetry_assets.devtools.benchmark.freshness --rounds 3

# Log template miner on the Loghub-2k pack (one configuration, 16 systems): grouping accuracy per
# system and on average; predictions land in data/bench/loghub/<System>.csv. See README.
LOGHUB_DATA ?= ../shared/benchmarks/loghub2k
bench-logs: setup
	$(BIN)/python -m telemetry_assets.devtools.loghub_bench --data $(LOGHUB_DATA) --out data/bench/loghub

# Runs the anomaly detector over the NAB corpus (shared/ is the repository's sibling) and
# prints the NAB v1.1 scores of the three profiles; result CSVs go to data/bench/nab.
bench-anomaly: setup
	$(BIN)/python -m telemetry_assets.devtools.nab_bench --data ../shared/benchmarks/nab --out data/bench/nab

# The HTTP service (collector, queries, live stream, /metrics) on loopback; see README.
API_HOST ?= 127.0.0.1
API_PORT ?= 8000
api: setup
	$(BIN)/python -m telemetry_assets.api --host $(API_HOST) --port $(API_PORT)

# One run against a fresh service on loopback: acked events/s with 4 clients posting 500-event
# batches, request p50/p99, query p95, WebSocket delivery p99 to 100 subscribers.
bench-api: setup
	$(BIN)/python -m telemetry_assets.devtools.api_bench $(BENCH_API_ARGS)

# The scaled-out stack on loopback (deploy/, DESIGN.md §9): PostgreSQL, Redis, an S3 server,
# dagster-daemon, the webserver and two Celery workers; state, pids and logs in data/stack/.
STACK_PYTHON ?= $(BIN)/python

stack-install: setup
	$(STACK_PYTHON) deploy/stack.py install

stack-up: stack-install
	$(STACK_PYTHON) deploy/stack.py up

stack-down:
	$(STACK_PYTHON) deploy/stack.py down

stack-status:
	$(STACK_PYTHON) deploy/stack.py status

stack-test: stack-install
	$(STACK_PYTHON) deploy/stack_test.py $(STACK_TEST_ARGS)

# 30 demo days backfilled on the stack: wall time, each worker's share of the steps, and every
# table compared with the in-process run.
stack-bench: stack-install
	$(STACK_PYTHON) deploy/stack_test.py --days 30 --no-kill

clean:
	rm -rf data/warehouse data/reports data/dagster_home
