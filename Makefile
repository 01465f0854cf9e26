# Parcours — `make help` lists the targets.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

NATIVE  := streams/native/Cargo.toml streams/native/Cargo.lock $(wildcard streams/native/src/*.rs)

$(STAMP): pyproject.toml $(NATIVE)
	@bash deploy/install.sh python $(PY) $(VENV)
	@touch $(STAMP)

install: $(STAMP) ## create the virtualenv, install Parcours, resolve the Kafka jars (each step timed)
	@bash deploy/install.sh kafka

demo: install ## run the main job: Kafka + worker + simulated week, then a summary
	$(BIN)/parcours demo

# `cargo test` links the native module's tests against the virtualenv's libpython.
CARGO_TEST := PYO3_PYTHON=$(abspath $(BIN)/python) LD_LIBRARY_PATH=$$($(abspath $(BIN)/python) -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))') cargo test --release --quiet

test: install ## run the test suite (starts its own Kafka broker), the native module's own tests first
	cd streams/native && $(CARGO_TEST)
	$(BIN)/pytest

lint: install ## check only: ruff, mypy, the import contract (pyproject.toml), rustfmt and clippy on the native module
	$(BIN)/ruff check streams schemas bench tests
	$(BIN)/ruff format --check streams schemas bench tests
	$(BIN)/mypy
	$(BIN)/lint-imports
	cd streams/native && cargo fmt --check && cargo clippy --release --quiet -- -D warnings

schemas: install ## export the event JSON Schemas, the cluster DDL and the settings and channel reference pages
	$(BIN)/python -m schemas.export
	$(BIN)/python -m streams.reference
	$(BIN)/python -m streams.store.cluster

dashboards: install ## render the Grafana dashboards to dashboards/*.json
	$(BIN)/python -m streams.grafana.render

bench: install ## run the benchmarks, results under bench/results
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench

soak: install ## ten-minute steady-rate soak: lag and worker memory must stay flat
	$(BIN)/python -m bench.soak 10 2000

clean: ## remove local state (var/), keep the virtualenv
	rm -rf var

.PHONY: help install demo test lint schemas dashboards bench soak clean
