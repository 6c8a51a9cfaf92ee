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
	$(BIN)/cibot shell --as maria --web 3000

## make test: install with the dev extras and run the whole test suite (browser tests need /usr/bin/chromium)
test: $(BIN)/cibot
	$(BIN)/pytest -q

## make bench: run every benchmark (about 15 minutes), then print a PASS/FAIL table of the goals
bench: $(BIN)/cibot
	$(BIN)/python -m bench.report glossary slack_command discord_interaction scheduler fanout progress votes

## make lint: style (ruff), types (mypy) and the architecture contracts (import-linter)
lint: $(BIN)/cibot
	$(BIN)/ruff check bot storage tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

clean:
	rm -rf $(VENV) data
