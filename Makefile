# The README's commands. `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_VENDOR := src/stadswacht/web/static/vendor
MAPLIBRE_DIST := node_modules/maplibre-gl/dist

.DEFAULT_GOAL := all

.PHONY: all run test lint typecheck pytest system-deps bench clean web

all: $(STAMP) web

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	# The independent CAP parser the tests check alerts with; its pin on an old lxml is stale.
	$(BIN)/pip install -q --no-deps capparselib==0.6.6
	touch $(STAMP)

## The dashboard's map library, from npm (package-lock.json), copied next to the web files.
web: $(WEB_VENDOR)/.installed

$(WEB_VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	mkdir -p $(WEB_VENDOR)
	cp $(MAPLIBRE_DIST)/maplibre-gl.mjs $(MAPLIBRE_DIST)/maplibre-gl-worker.mjs $(MAPLIBRE_DIST)/maplibre-gl.css $(WEB_VENDOR)/
	touch $@

## Start the platform on embedded defaults (SQLite, in-process bus) with the demo district.
run: $(STAMP) web
	STADSWACHT_ENV=development $(BIN)/stadswacht demo

system-deps:
	./scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps web
	$(BIN)/python -m pytest -q --timeout=600

## Install what the tests need (Python and Debian packages), lint, type-check and test.
test: system-deps lint typecheck pytest

bench: $(STAMP) system-deps
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/gunshot.py
	$(BIN)/python bench/crowd_density.py
	$(BIN)/python bench/crowd_forecast.py
	$(BIN)/python bench/egress.py
	$(BIN)/python bench/zone_forecast_livinglab.py
	$(BIN)/python bench/acoustic_speed.py
	$(BIN)/python bench/warning_skill.py
	$(BIN)/python bench/warning_latency.py
	$(BIN)/python bench/policy.py --postgres
	$(BIN)/python bench/hotspots.py
	$(BIN)/python bench/resilience.py
	$(BIN)/python bench/ingest_degraded.py
	$(BIN)/python bench/websignal.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache var node_modules $(WEB_VENDOR)
