# pagemail — the two commands: `make run` (app + sandbox Confluence + mail catcher) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The PostgreSQL tests use TEST_DATABASE_URL when set (and fail if it is unreachable); otherwise they try the
# local server below and are skipped, with a reason, when there is none.
DEFAULT_TEST_DATABASE_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install run test forge-test forge-ui bench lint clean

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

install: $(BIN)/activate

run: install forge-ui
	@if [ "$$APP_ENV" = "production" ]; then echo "make run is for local work only; refusing APP_ENV=production" >&2; exit 1; fi
	$(BIN)/python -m sandbox.devstack

test: install forge-test
	PAGEMAIL_DEFAULT_TEST_DATABASE_URL="$(DEFAULT_TEST_DATABASE_URL)" $(BIN)/python -m pytest

# The Forge app (forge/): its Custom UI build, then forge/manifest.yml through Atlassian's validator (@forge/manifest),
# from the committed lockfile. Skipped, with the reason, where there is no npm (like the browser tests without Chromium).
forge-test:
	@if command -v npm >/dev/null 2>&1; then \
		cd forge && npm ci --no-audit --no-fund --loglevel=error && npm test; \
	else \
		echo "SKIPPED forge manifest validation: npm is not installed (apt-get install nodejs npm)"; \
	fi

# The Forge app's Custom UI (forge/ui/dist), which the sandbox's Forge pages render: `make run` builds it from the
# working tree (npm ci first when forge/node_modules is missing or older than the lockfile). Without npm the sandbox
# still starts, and its Forge pages say how to build it.
forge-ui:
	@if command -v npm >/dev/null 2>&1; then \
		if [ ! -f forge/node_modules/.package-lock.json ] || [ forge/package-lock.json -nt forge/node_modules/.package-lock.json ]; then \
			(cd forge && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
		fi; \
		cd forge && npm run --silent build; \
	else \
		echo "NOT BUILT: the Forge app's Custom UI needs npm (apt-get install nodejs npm); the Connect app works without it"; \
	fi

# The load benchmark's generator is wrk: installed here when missing and this user can (root with apt-get);
# otherwise the benchmark falls back to its Python generator and says so.
bench: install
	@if ! command -v wrk >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1 \
			|| (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null) \
			|| echo "NOTE: could not install wrk; the load benchmark uses its Python load generator"; \
		else \
			echo "NOTE: wrk is not installed (apt-get install wrk, as root); the load benchmark uses its Python load generator"; \
		fi; \
	fi
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache forge/node_modules forge/ui/dist
