# The first supported Python found (3.11 to 3.13); override with make PYTHON=python3.13.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || echo python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench lint clean

$(BIN)/cibot: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint constraints.txt -e '.[dev]'
	touch $(BIN)/cibot

## make demo: install, load the example initiative into SQLite, open the console as a backbone member
demo: $(BIN)/cibot
	$(BIN)/cibot load examples/initiative.yaml
	$(BIN)/cibot shell --as maria

## make test: install with the dev extras and run the whole test suite
test: $(BIN)/cibot
	$(BIN)/pytest -q

## make bench: print the speed figures the issues ask for
bench: $(BIN)/cibot
	@for b in glossary slack_command discord_interaction scheduler fanout progress votes; do \
		echo "== bench/$$b.py"; $(BIN)/python -m bench.$$b || exit 1; done

## make lint: style (ruff), types (mypy) and the architecture contracts (import-linter)
lint: $(BIN)/cibot
	$(BIN)/ruff check bot storage tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

clean:
	rm -rf $(VENV) data
