# pagemail — the two commands: `make run` (app + sandbox Confluence + mail catcher) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The local PostgreSQL the PostgreSQL tests use; override or set empty to skip them.
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install run test bench lint clean

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

install: $(BIN)/activate

run: install
	@if [ "$$APP_ENV" = "production" ]; then echo "make run is for local work only; refusing APP_ENV=production" >&2; exit 1; fi
	$(BIN)/python -m sandbox.devstack

test: install
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/python -m pytest

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
