# popcase: the two commands of the README's quick start, and a few helpers.
#   make run   set up, migrate, load demo data and serve on http://127.0.0.1:8000 (SQLite)
#   make test  set up and run the whole test suite (SQLite unless POPCASE_TEST_DATABASE_URL is set)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_ENV := POPCASE_ENVIRONMENT=demo POPCASE_NOTIFY_EVERY_MINUTES=10

.PHONY: install run test lint test-pg bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(DEMO_ENV) $(BIN)/popcase db upgrade
	$(DEMO_ENV) $(BIN)/popcase demo
	$(DEMO_ENV) $(BIN)/popcase serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check app tests bench migrations
	$(BIN)/python tools/htmx-upgrade-check.py app/web/templates > /dev/null
	$(BIN)/mypy

# Tests run on every core (pytest-xdist); TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= auto
test: lint
	$(BIN)/pytest -q -n $(TEST_WORKERS)

# The suite on a fresh PostgreSQL database (local server, trust authentication).
PG_SERVER ?= postgresql+psycopg://postgres@127.0.0.1:5432
test-pg: $(STAMP)
	@name=popcase_test_$$(date +%s); \
	psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $$name" && \
	POPCASE_TEST_DATABASE_URL=$(PG_SERVER)/$$name $(MAKE) --no-print-directory test; \
	status=$$?; psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $$name WITH (FORCE)"; \
	exit $$status

bench: $(STAMP)
	$(BIN)/python -m bench.cases
	$(BIN)/python -m bench.imports
	$(BIN)/python -m bench.exports
	$(BIN)/python -m bench.assessment

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build popcase.db popcase.db-wal popcase.db-shm
