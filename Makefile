# Two commands do all set-up: `make serve` (start the server) and `make test` (run the tests).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
AZURITE := tests/support/azurite/node_modules/.bin/azurite-blob

.PHONY: serve test lint bench install-server install-test

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install-server: $(BIN)/python
	$(BIN)/pip install -q -e ".[server]"

install-test: $(BIN)/python $(AZURITE)
	$(BIN)/pip install -q -e ".[test]"
	# nginx (Debian) is the load balancer of the replica tests; installed only when missing.
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || (apt-get update && apt-get install -y nginx)
	# Debian's chromium runs the web UI tests (driven by Playwright; never `playwright install`).
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

# Azurite (npm), the Azure Blob server of the artifact backend tests; reinstalled when its lock changes.
$(AZURITE): tests/support/azurite/package.json tests/support/azurite/package-lock.json
	npm ci --prefix tests/support/azurite --no-audit --no-fund --loglevel=error
	touch $(AZURITE)

## Start Runyard on 127.0.0.1:5000 with SQLite + a local artifact folder under ~/.runyard
serve: install-server
	$(BIN)/runyard server $(ARGS)

## Lint, then run every test (SQLite and PostgreSQL; PostgreSQL is required when CI=true)
test: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	# The compatibility suite again, against an auth-on server, the stock client using MLFLOW_TRACKING_TOKEN.
	RUNYARD_TEST_AUTH=on $(BIN)/python -m pytest tests/compat -k "not access and not plugin and not fuzz and not durability" $(PYTEST_ARGS)
	# ...and once more with the runyard plugin (MLFLOW_TRACKING_AUTH=runyard) and a service principal.
	RUNYARD_TEST_AUTH=sp $(BIN)/python -m pytest tests/compat -k "not access and not plugin and not fuzz and not durability" $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests

## Benchmarks against mlflow server and FastTrackML (not part of the tests)
bench: install-test
	$(BIN)/python benchmarks/run.py $(ARGS)
