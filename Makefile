# cdpcrm developer commands. `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format demo serve-prod bench-ingest bench-connectors bench-board bench-timeline bench-segments bench-journeys clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: install, migrate, load demo data and serve on http://$(HOST):$(PORT) (default 127.0.0.1:8000;
## SQLite + eager Celery, the periodic jobs in a side process: `manage.py periodic --loop`)
run: $(STAMP)
	env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) manage.py migrate --no-input
	env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) manage.py demo
	@echo ""
	@echo "  cdpcrm is running at http://$(HOST):$(PORT)/  (log in as sales / cdpcrm-demo; all logins above)"
	@echo ""
	@# The embedded mode has no celery beat: the periodic jobs run in a side process that stops with the server.
	env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) manage.py periodic --loop & periodic=$$!; \
	trap 'kill $$periodic 2>/dev/null' EXIT INT TERM; \
	env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) manage.py runserver $(HOST):$(PORT)

## test: the whole suite (PostgreSQL + real broker when DATABASE_URL / CELERY_BROKER_URL are set)
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## lint: ruff (lint + format check), the import contracts (lint-imports), module sizes and missing migrations
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) scripts/module_size.py
	env -u DATABASE_URL $(PY) manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

demo: $(STAMP)
	$(PY) manage.py demo

## serve-prod: the production stack (gunicorn + celery worker + beat) on local PostgreSQL and Redis
serve-prod: $(STAMP)
	bash scripts/serve-prod.sh

bench-ingest: $(STAMP)
	$(PY) bench/ingest.py

bench-connectors: $(STAMP)
	$(PY) bench/connectors.py

bench-board: $(STAMP)
	$(PY) bench/board.py

bench-timeline: $(STAMP)
	$(PY) bench/timeline.py

bench-segments: $(STAMP)
	$(PY) bench/segments.py

bench-journeys: $(STAMP)
	$(PY) bench/journeys.py

clean:
	rm -rf $(VENV) staticfiles db.sqlite3* .pytest_cache .ruff_cache
