# Two commands: `make run` and `make test`. Each sets up .venv itself when missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
# The tests cover the exporters too, so they need the `export` extra (torch, torchvision).
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint bench bench-gpu clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install -q -e '.[dev,export]'
	touch $@

run: $(STAMP)
	$(PY) run_camera.py

test: $(TEST_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(STAMP)
	$(PY) -m benchmarks all --out bench-results

bench-gpu:
	bash benchmarks/gpu.sh bench-results/gpu

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
