# `make test` is the project's test command: CI (.ci/run) calls it on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1

.PHONY: venv test unit demo bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

test: venv
	$(BIN)/python -m pytest tests -q -p no:cacheprovider

unit: venv
	$(BIN)/python -m pytest tests -q -p no:cacheprovider -m "not e2e"

# The connector end to end on a local S3 (moto_server): see scripts/demo.py. Writes only to .demo/.
demo: venv
	$(BIN)/python -m scripts.demo

bench: venv
	$(BIN)/python bench/run_benchmark.py --objects 100000 --latency-ms 20

clean:
	rm -rf $(VENV) files .pytest_cache
