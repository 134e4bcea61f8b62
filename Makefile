# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint check-compose services clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Runtime dependencies, reinstalled when pyproject.toml changes.
$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.run-deps

## make run: the whole product on http://127.0.0.1:8000 (SQLite, embedded Celery broker).
run: $(VENV)/.run-deps
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py bootstrap_demo --url http://127.0.0.1:$(PORT)/
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) $(BIN)/honcho -f Procfile.dev start

## make test: lint, compose validation, then the whole suite on PostgreSQL and Redis.
test: $(VENV)/.test-deps services
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory check-compose
	$(BIN)/pytest $(PYTEST_ARGS)

services:
	@scripts/ensure-test-services.sh

check-compose:
	SECRET_KEY=compose-check FIELD_ENCRYPTION_KEYS=compose-check POSTGRES_PASSWORD=compose-check \
		docker-compose config -q
	@echo "docker-compose.yml is valid"

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .

clean:
	rm -rf var/celery var/test staticfiles test-artifacts
