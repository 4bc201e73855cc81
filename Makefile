# The two commands of the quick start: `make run` and `make test`. Both create .venv and
# install newswatch into it on first use (Python >= 3.11 on PATH as python3, or PY=...).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench,semantic,fit]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/newswatch run

# Two workers, each given whole test files (module fixtures start once): most tests wait on
# subprocesses and servers, so two at once on two cores took 11.6 min where one took 16.1.
test: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy flows tasks storage deploy
	$(BIN)/lint-imports
