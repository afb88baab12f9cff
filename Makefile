# Two commands a new user needs on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(PY) -m shipyard.cli demo --dir shipyard-demo

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

BENCH ?= tracking
# make bench BENCH=pipelines BENCH_ARGS="--repeat 5" runs bench/pipelines.py; the default is bench/tracking.py.
bench: setup
	$(PY) bench/$(BENCH).py $(BENCH_ARGS)

lint: setup
	$(PY) -m ruff check src tests bench examples
	$(PY) -m ruff format --check src tests bench examples
	$(PY) -m mypy

clean:
	rm -rf $(VENV) examples/.shipyard shipyard-demo .pytest_cache
