# Two commands a new user needs on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The test environment's exact versions (pyproject.toml keeps open ranges for users); `make lock` refreshes it.
CONSTRAINTS := constraints.txt
LOCK_VENV := $(or $(TMPDIR),/tmp)/shipyard-lock-venv

.PHONY: setup demo test browser bench bench-all bench-quick lint lock lock-check clean

setup: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	touch $(STAMP)

# On purpose only: resolve '.[dev]' afresh in a throwaway venv (the newest versions pyproject.toml allows),
# pin what it installed in constraints.txt, then reinstall .venv from it. Run `make test` before committing.
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet -e '.[dev]'
	sed -n '/^# Resolved on/q;/^#/p' $(CONSTRAINTS) > $(CONSTRAINTS).new
	echo "# Resolved on $$($(LOCK_VENV)/bin/python --version) ($$(uname -s) $$(uname -m))." >> $(CONSTRAINTS).new
	$(LOCK_VENV)/bin/python -m pip freeze --exclude-editable | grep -v '^#' >> $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf $(LOCK_VENV)
	$(MAKE) setup

# CI: everything installed is pinned (a dependency added to pyproject.toml without `make lock` fails here).
lock-check: setup
	@unpinned="$$($(PY) -m pip freeze --exclude-editable | grep -v '^#' | grep -vxF -f $(CONSTRAINTS))"; \
	if [ -n "$$unpinned" ]; then \
		echo "Installed but not pinned in $(CONSTRAINTS); run make lock:"; echo "$$unpinned"; exit 1; \
	fi
	$(PY) -m pip check

demo: setup
	$(PY) -m shipyard.cli demo --dir shipyard-demo

# Two pytest-xdist workers (the 2-core machine the suite is timed on), each taking whole test modules in turn;
# `make test TEST_WORKERS=0` runs the suite in one process.
TEST_WORKERS ?= 2
test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

# The browser tests/e2e/test_notebook_html.py renders the notebook displays in: Debian's chromium package,
# installed when missing (as root, or through sudo); without either, a message says what to run.
browser:
	@if command -v chromium >/dev/null 2>&1; then \
		echo "chromium is installed: $$(command -v chromium)"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "chromium is missing and there is no apt-get here: install Chromium with your package manager."; exit 1; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	elif command -v sudo >/dev/null 2>&1; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "chromium is missing, and installing it needs root or sudo: run 'apt-get install -y chromium' as root."; \
		exit 1; \
	fi

BENCH ?= tracking
# make bench BENCH=pipelines BENCH_ARGS="--repeat 5" runs bench/pipelines.py; the default is bench/tracking.py.
bench: setup
	$(PY) bench/$(BENCH).py $(BENCH_ARGS)

# Every benchmark, one after the other, then bench/results/summary.md (one table of the headline ratios).
# `make bench-quick` (or QUICK=1) passes --quick to each: under 10 minutes; the full run takes about an hour.
BENCH_ALL ?= tracking datasets models gate gate_bootstrap pipelines serving drift guard growth
bench-all: setup
	@failed=""; for b in $(BENCH_ALL); do \
		echo "== bench/$$b.py $(if $(QUICK),--quick)"; \
		$(PY) bench/$$b.py $(if $(QUICK),--quick) || failed="$$failed $$b"; \
	done; \
	$(PY) bench/summary.py; \
	if [ -n "$$failed" ]; then echo "benchmarks that failed:$$failed"; exit 1; fi

bench-quick:
	$(MAKE) bench-all QUICK=1

lint: setup
	$(PY) -m ruff check src tests bench examples
	$(PY) -m ruff format --check src tests bench examples
	$(PY) -m mypy

clean:
	rm -rf $(VENV) examples/.shipyard shipyard-demo .pytest_cache
