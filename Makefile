# Porteiro developer commands. Only Python >= 3.11 and make are needed:
# every target creates the virtual environment on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help install test lint typecheck unit demo decode-demo bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Porteiro needs Python >= 3.11 (set PYTHON=python3.x)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $@

install: $(STAMP)  ## create .venv and install Porteiro with its test extras

lint: $(STAMP)  ## ruff on src, tests and bench
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)  ## mypy --strict on src
	$(BIN)/mypy --strict src

unit: $(STAMP)  ## pytest only
	$(BIN)/pytest

test: lint typecheck unit  ## everything CI runs: ruff, mypy --strict, the whole pytest suite

demo: $(STAMP)  ## the hub with emulated readers and live traffic (Ctrl-C stops; DEMO_ARGS="--lang pt")
	$(BIN)/porteiro demo $(DEMO_ARGS)

decode-demo: $(STAMP)  ## decode the bundled sample captures
	$(BIN)/porteiro decode examples/attach-stream.txt
	$(BIN)/porteiro decode examples/push-body.txt --format jsonl
	$(BIN)/porteiro decode examples/records.txt --lang pt

bench: $(STAMP)  ## performance benchmarks (ratios against a baseline measured in the same run)
	$(BIN)/python bench/decode.py
	$(BIN)/python bench/emulator.py
	$(BIN)/python bench/client.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/forward.py

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
