# olist-elt: the README's first two commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# dbt and the loader read the same profiles file; keep it inside the project so
# nothing in the user's home is touched. Point DBT_PROFILES_DIR elsewhere to use your own.
export DBT_PROFILES_DIR ?= $(CURDIR)/.dbt
# Where `make run` takes the nine CSVs from: empty = generate them, or a folder, or s3://bucket/prefix/.
OLIST_SOURCE ?=
SCALE ?= 1
SEED ?= 42
TARGET ?= duckdb
SELECT ?=

.PHONY: help install run test lint fix dev docs clean

help:
	@echo "make run    generate (or take OLIST_SOURCE), load and dbt build on DuckDB"
	@echo "make test   the whole test suite (what CI runs)"
	@echo "make dev SELECT=model   build and test one model and its children"
	@echo "make lint | make fix | make docs | make clean"

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

$(DBT_PROFILES_DIR)/profiles.yml: profiles.yml.example
	@mkdir -p $(DBT_PROFILES_DIR)
	cp profiles.yml.example $@

install: $(BIN)/.installed $(DBT_PROFILES_DIR)/profiles.yml

run: install
	$(BIN)/olist-run --target $(TARGET) --scale $(SCALE) --seed $(SEED) $(if $(OLIST_SOURCE),--source $(OLIST_SOURCE))

test: install
	$(BIN)/python -m pytest

dev: install
	@test -n "$(SELECT)" || { echo "usage: make dev SELECT=model_name"; exit 2; }
	$(BIN)/dbt build --target $(TARGET) --select $(SELECT)+

lint: install
	$(BIN)/ruff check loaders tests/python
	$(BIN)/ruff format --check loaders tests/python
	$(BIN)/sqlfluff lint models tests snapshots macros analyses

fix: install
	$(BIN)/ruff check --fix loaders tests/python
	$(BIN)/ruff format loaders tests/python
	$(BIN)/sqlfluff fix models tests snapshots macros analyses

docs: install
	$(BIN)/dbt docs generate --target $(TARGET)
	$(BIN)/dbt docs serve --port 8080 --host 127.0.0.1

clean:
	rm -rf target logs warehouse data .pytest_cache
