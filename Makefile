# Porteiro developer commands. Only Python >= 3.11 and make are needed:
# every target creates the virtual environment on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help install test lint typecheck unit demo decode-demo bench fuzz clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Porteiro needs Python >= 3.11 (set PYTHON=python3.x)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $@

install: $(STAMP)  ## create .venv and install Porteiro with its test extras

lint: $(STAMP)  ## ruff on src, tests, bench, scripts, fuzz and faults
	$(BIN)/ruff check src tests bench scripts fuzz faults

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
	$(BIN)/python bench/online.py
	$(BIN)/python bench/scale.py

.PHONY: faults
faults: $(STAMP)  ## fault-injection matrix: real hub, emulated readers, faults; lost/duplicate events fail it
	$(BIN)/python faults/matrix.py $(FAULTS_ARGS)

FUZZ_TIME ?= 60
FUZZ_TARGETS := $(wildcard fuzz/fuzz_*.py)

fuzz: $(STAMP)  ## fuzz every parser: atheris targets (FUZZ_TIME s each), then hypothesis at 20,000 examples
	@$(BIN)/python -c 'import atheris' 2>/dev/null || $(BIN)/pip install -q atheris || true
	@if $(BIN)/python -c 'import atheris' 2>/dev/null; then \
	  mkdir -p fuzz/artifacts; \
	  for target in $(FUZZ_TARGETS); do \
	    name=$$(basename $$target .py); mkdir -p fuzz/corpus/$$name; \
	    echo "== atheris $$name ($(FUZZ_TIME) s)"; \
	    $(BIN)/python $$target -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
	      -artifact_prefix=fuzz/artifacts/$$name- -print_final_stats=1 \
	      fuzz/corpus/$$name examples tests/fixtures/wire > fuzz/artifacts/$$name.log 2>&1; \
	    rc=$$?; grep -E '^(Done|stat::number_of_executed_units)' fuzz/artifacts/$$name.log; \
	    if [ $$rc -ne 0 ]; then tail -40 fuzz/artifacts/$$name.log; \
	      echo "atheris $$name failed: see fuzz/artifacts/"; exit 1; fi; \
	  done; \
	else \
	  echo "atheris is not importable in $(VENV) (install it with $(BIN)/pip install atheris;"; \
	  echo "it ships wheels for CPython 3.11-3.13 on Linux x86-64): running the hypothesis budget only"; \
	fi
	PORTEIRO_FUZZ=1 $(BIN)/pytest -q -p no:cacheprovider tests/test_fuzz.py tests/test_openapi_fuzz.py

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
