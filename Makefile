# One command to run the product, one to test it. Both install what they need first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= data/resilience.duckdb
PORT ?= 8501

.PHONY: install system-deps run demo test test-postgres lint bench screenshots clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

## the product's modules compiled once here: with PYTHONDONTWRITEBYTECODE set, each command would
## otherwise compile them again at every start
install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q -j 0 app core engine exposures scoring_rules >/dev/null

## make run: install, load the demo book into an embedded DuckDB, serve the app on :8501
run: install
	$(BIN)/resilience --db $(DB) demo
	$(BIN)/streamlit run app/streamlit_app.py --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false -- --db $(DB)

## make demo: install and print the demo ratings in the terminal (no server)
demo: install
	$(BIN)/resilience --db $(DB) demo

## Debian packages the browser tests, report previews, the reverse-proxy test and the PostgreSQL
## store tests use (chromium, poppler-utils, nginx, postgresql; installed when running as root)
system-deps:
	@if command -v chromium >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 \
		&& { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } \
		&& ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium poppler-utils nginx postgresql >/dev/null; \
	else echo "chromium, poppler-utils, nginx or postgresql missing and not root: browser and PostgreSQL tests will be skipped"; fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## make test: install, lint, type-check and run every test (slow and browser tests included), then
## the engine, CLI, upload and report tests that open a store again on a throwaway PostgreSQL
## cluster (what fits CI's 30 minutes on two cores: docs/store.md); a module's tests run on one
## worker (--dist loadscope), so a served app or demo store a module shares is built once
test: install system-deps lint
	$(BIN)/python -m pytest -n 2 --dist loadscope --timeout 900
	RESILIENCE_TEST_STORE=postgres $(BIN)/python -m pytest -n 2 --dist loadscope --timeout 900 -m "not browser" tests/engine

## make test-postgres: every test that opens a store through a fixture, the AppTest pages too, on
## a throwaway PostgreSQL cluster (about 9 minutes more than make test's PostgreSQL pass)
test-postgres: install system-deps
	RESILIENCE_TEST_STORE=postgres $(BIN)/python -m pytest -n 2 --dist loadscope --timeout 900 -m "not browser" tests

## make screenshots: every page for each role, into docs/screenshots/ (needs Debian's chromium)
screenshots: install system-deps
	$(BIN)/python -m tests.app.screenshots

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache .hypothesis
