# Loom: `make demo` shows the platform working, `make test` runs the whole suite.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
BIN := .venv/bin
DEMO_ARGS ?=

.PHONY: help setup demo test test-cluster unit integration lint format lock stack-up stack-down helm docker fresh-check

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(BIN)/.synced  ## install uv, the virtual environment and test packages

$(BIN)/.synced: pyproject.toml uv.lock scripts/bootstrap.sh
	scripts/bootstrap.sh
	touch $@

demo: setup  ## the whole platform on a sample day (Ctrl-C stops the API and Dagster)
	$(BIN)/loom demo $(DEMO_ARGS)

test: setup  ## lint, then unit and integration tests against the real local stack
	$(MAKE) --no-print-directory lint
	scripts/install-tools.sh >/dev/null
	@# LOOM_TEST_SERVERS=testcontainers: the servers run in Docker (tests/containers.py)
	if [ "$${LOOM_TEST_SERVERS:-stack}" = stack ]; then $(BIN)/loom stack up; fi
	$(BIN)/pytest --cov --cov-report=term

test-cluster: setup  ## failover tests on a private local cluster (3 brokers, Trino worker)
	$(BIN)/pytest -m cluster tests/cluster

unit: setup  ## unit tests only (no servers)
	$(BIN)/pytest tests/unit

integration: setup  ## integration tests only
	$(BIN)/loom stack up
	$(BIN)/pytest tests/integration

lint: setup  ## black, ruff and the project-rules checker
	$(BIN)/black --check --quiet .
	$(BIN)/ruff check --quiet .
	$(BIN)/loom lint

format: setup  ## apply black and ruff's fixes
	$(BIN)/black --quiet .
	$(BIN)/ruff check --fix --quiet .

# Each image installs the base dependencies plus the pyproject extras its service
# imports (tests/unit/deploy/test_images.py checks both against the imports).
EXPORT := uv export --frozen --no-dev --no-emit-project --format requirements-txt --quiet
lock:  ## re-lock dependencies and export each image's requirements-locked.txt
	uv lock
	$(EXPORT) -o deploy/docker/ingest-api/requirements-locked.txt
	$(EXPORT) --extra dagster --extra enrichment -o deploy/docker/loom-dagster/requirements-locked.txt

helm: setup  ## render and validate the charts, Flux overlays, alerts, workflows, Dockerfiles
	scripts/install-tools.sh >/dev/null
	$(BIN)/pytest -q -p no:cacheprovider tests/unit/deploy

fresh-check:  ## demo, test and helm in a clean clone with empty caches (slow)
	scripts/fresh-check.sh

docker:  ## build the service images with BuildKit (needs a Docker engine)
	for service in ingest-api loom-dagster; do \
	  docker buildx build -f deploy/docker/Dockerfile --build-arg SERVICE=$$service \
	    -t loom/$$service:dev --load .; \
	done

stack-up: setup  ## start Kafka, TimescaleDB, Redis and Trino
	$(BIN)/loom stack up

stack-down: setup  ## stop them
	$(BIN)/loom stack down
