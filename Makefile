# The README's commands. `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest system-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

## Start the platform on embedded defaults (SQLite, in-process bus) with the demo district.
run: $(STAMP)
	STADSWACHT_ENV=development $(BIN)/stadswacht demo

system-deps:
	./scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps
	$(BIN)/python -m pytest -q --timeout=600

## Install what the tests need (Python and Debian packages), lint, type-check and test.
test: system-deps lint typecheck pytest

bench: $(STAMP) system-deps
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache var
