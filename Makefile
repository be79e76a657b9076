# The README's two commands: `make demo` (set up + main job) and `make test` (set up + whole suite).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test check lint bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/saylau demo

test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered ; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc

lint: $(BIN)/python
	$(BIN)/ruff check src tests benchmarks && $(BIN)/ruff format --check src tests benchmarks && $(BIN)/mypy

bench: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done
