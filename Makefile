# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint check-compose services clean bench bench-delivery bench-faults bench-db

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The product with its development extras (the sandbox's Flask, honcho), reinstalled when
# pyproject.toml changes. Production installs the product alone (`pip install .`).
$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.run-deps

## make run: the whole product on http://127.0.0.1:8000 (SQLite, embedded Celery broker);
## PORT=8300 make run serves it on 8300, links in PagerDuty and the sandbox's callback too.
## SANDBOX_PORT=8200 make run starts the PagerDuty sandbox on 8200 (not 8100), and the
## product's PagerDuty hosts point there.
run: $(VENV)/.run-deps
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py bootstrap_demo --url http://127.0.0.1:$(PORT)/
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) SITE_URL="$(RUN_SITE_URL)" \
		SANDBOX_REDIRECT_URIS="$(RUN_REDIRECT_URIS)" SANDBOX_PORT=$(RUN_SANDBOX_PORT) \
		PAGERDUTY_SANDBOX_URL="$(RUN_SANDBOX_URL)" $(BIN)/honcho -f Procfile.dev start

# What make run's web process answers on: PagerDuty's links lead there, and the sandbox takes
# its PagerDuty callback (on 127.0.0.1 or localhost, whichever the browser used).
RUN_SITE_URL = $(patsubst %/,%,$(or $(SITE_URL),http://127.0.0.1:$(PORT)))
RUN_CALLBACK = integrations/pagerduty/callback
comma := ,
space := $(eval) $(eval)
RUN_REDIRECT_URIS = $(or $(SANDBOX_REDIRECT_URIS),$(subst $(space),$(comma),$(sort \
	$(RUN_SITE_URL)/$(RUN_CALLBACK) http://127.0.0.1:$(PORT)/$(RUN_CALLBACK) \
	http://localhost:$(PORT)/$(RUN_CALLBACK))))
# Where make run's sandbox listens (Procfile.dev), and where its processes reach PagerDuty:
# a PAGERDUTY_SANDBOX_URL of one's own wins.
RUN_SANDBOX_PORT = $(or $(SANDBOX_PORT),8100)
RUN_SANDBOX_URL = $(or $(PAGERDUTY_SANDBOX_URL),http://127.0.0.1:$(RUN_SANDBOX_PORT))

## make test: lint, format and type checks, compose validation, then the whole suite on
## PostgreSQL and Redis (in two lanes at once: scripts/test-suite.sh).
test: $(VENV)/.test-deps services
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory check-compose
	scripts/test-suite.sh $(PYTEST_ARGS)

services:
	@scripts/ensure-test-services.sh

check-compose:
	SECRET_KEY=compose-check FIELD_ENCRYPTION_KEYS=compose-check POSTGRES_PASSWORD=compose-check \
		docker-compose config -q
	@echo "docker-compose.yml is valid"

## make bench-delivery: deliveries/s through a real worker vs Prometheus Alertmanager (apt-get
## installs it when missing) and a plain pooled HTTP loop, in alternating rounds, to a fast local
## sink standing in for PagerDuty; p50/p99 from commit to receipt at 20/s on an empty table and
## with 1,000,000 rows of history. Options in BENCH_ARGS (e.g. "--quick"). Redis 9 and 10.
BENCH_ENV = DJANGO_SETTINGS_MODULE=alerts_saas.settings \
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/tripwire_bench \
	REDIS_URL=redis://127.0.0.1:6379/9 CELERY_BROKER_URL=redis://127.0.0.1:6379/10 \
	VAR_DIR=$(CURDIR)/var LOG_LEVEL=WARNING
bench-delivery: bench-db
	$(BENCH_ENV) $(BIN)/python -m devtools.bench delivery $(BENCH_ARGS)

## make bench: ingest events/s (gunicorn, batches of 500) at 50, 500 and 2,000 alerts of a
## team's variety, and p50/p99 latency from the threshold-crossing POST to the sandbox's
## receipt of the trigger (Celery worker), quiet and under load.
## Its own Redis databases (3, 4): the suite uses 5-8 and 11-14 (its workers), bench-delivery 9 and 10.
BENCH_INGEST_ENV = $(BENCH_ENV) \
	REDIS_URL=redis://127.0.0.1:6379/3 CELERY_BROKER_URL=redis://127.0.0.1:6379/4
bench: bench-db
	$(BENCH_INGEST_ENV) $(BIN)/python -m devtools.bench ingest $(BENCH_ARGS)

## make bench-faults: deliveries through worker kills, a PagerDuty outage, a 429 storm and a
## Redis restart; its own Redis on port 6391 (started and restarted by the bench).
BENCH_FAULTS_ENV = $(BENCH_ENV) \
	REDIS_URL=redis://127.0.0.1:6391/0 CELERY_BROKER_URL=redis://127.0.0.1:6391/1
bench-faults: bench-db
	$(BENCH_FAULTS_ENV) $(BIN)/python -m devtools.bench faults $(BENCH_ARGS)

# The benches' scratch database, created if missing, and migrated.
bench-db: $(VENV)/.test-deps services
	@psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='tripwire_bench'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE tripwire_bench"
	$(BENCH_ENV) $(BIN)/python manage.py migrate --noinput -v0

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf var/celery var/test staticfiles test-artifacts
