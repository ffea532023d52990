# Herald — the two commands of the README are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install dev run test lint format bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# Installing says one line; what pip and apt said is kept in $(LOG), and shown if they fail.
LOG := $(VENV)/install.log
QUIET = > $(LOG) 2>&1 || { cat $(LOG); exit 1; }

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip > /dev/null

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@bash scripts/system-deps.sh $(QUIET)
	@$(BIN)/pip install --quiet -e . $(QUIET)
	@echo "Installed Herald $$($(BIN)/herald --version | cut -d' ' -f2) in $(VENV) (log: $(LOG))"
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	bash scripts/system-deps.sh dev
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(VENV)/.installed $@

install: $(VENV)/.installed ## Create .venv and install Herald (the CLI is .venv/bin/herald)

dev: $(VENV)/.installed-dev ## Install Herald with the development tools

run: install ## Migrate and serve on http://$(HOST):$(PORT) with SQLite (./herald.db); mail to the log
	@HERALD_SMTP_URL=$${HERALD_SMTP_URL:-log://} $(BIN)/herald serve --host $(HOST) --port $(PORT)

test: dev ## Run the whole test suite (SQLite and PostgreSQL)
	$(BIN)/pytest -q -p no:cacheprovider

lint: dev ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check herald tests
	$(BIN)/ruff format --check herald tests
	$(BIN)/mypy herald

format: dev ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff format herald tests
	$(BIN)/ruff check --fix herald tests

bench: dev ## Run the benchmarks into bench/results/ (PostgreSQL too if HERALD_BENCH_DATABASE_URL)
	bash scripts/system-deps.sh bench
	$(BIN)/python -m bench.run

clean: ## Remove the virtualenv, caches and the local database
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache herald.db herald.db-shm herald.db-wal
