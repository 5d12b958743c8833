# The README's commands. Each installs what it needs first (a venv in .venv).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.asrlab-installed
ARGS ?=

.PHONY: setup train test test-slow bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e ".[dev,loggers]"
	touch $(STAMP)

setup: $(STAMP)

## Train the default model (synth_digits, BiGRU-CTC) and print its test WER and CER.
train: setup
	$(BIN)/asrlab-train $(ARGS)

## The test suite (fast tests; `make test-slow` runs the long end-to-end ones).
test: setup
	$(BIN)/python -m pytest $(ARGS)

test-slow: setup
	$(BIN)/python -m pytest -m slow $(ARGS)

lint: setup
	$(BIN)/ruff check src tests bench notebooks
	$(BIN)/ruff format --check src tests bench notebooks

clean:
	rm -rf outputs .pytest_cache
