# `make test` is the project's test command: CI (.ci/run) calls it on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1

.PHONY: venv test unit soak demo bench bench-targets package clean

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

# The model-based randomized test for longer than `make test` runs it (tests/model/): random rounds against moto from
# SEED (or each of SEEDS, e.g. SEEDS="1-20 42"), ROUNDS rounds each; a failure prints the replay command and the
# shrunk regression test.
SEED ?= 1
ROUNDS ?= 100
SEEDS ?=
soak: venv
	$(BIN)/python -m tests.model.soak $(if $(SEEDS),--seeds "$(SEEDS)",--seed $(SEED)) --rounds $(ROUNDS) --shrink --stats

# The connector end to end on a local S3 (moto_server): see scripts/demo.py. Writes only to .demo/.
demo: venv
	$(BIN)/python -m scripts.demo

# The deployment package, built explicitly: exactly connector.py, s3_metadata/*.py and requirements.txt in
# build/package/ (scripts/package.py; standard library only, no virtual environment needed). With
# CONFIGURATION=configuration.json that file is copied in too, where `fivetran deploy build/package` reads it.
package:
	$(PYTHON) -m scripts.package $(if $(CONFIGURATION),--configuration "$(CONFIGURATION)")

# Benchmarks (not part of make test): see bench/README.md. Each measured process runs inside Fivetran's production
# envelope, 0.5 CPU and 1 GiB, where the machine allows a cgroup (root); the output says when it does not.
bench: venv
	$(BIN)/python bench/run_benchmark.py --objects 100000 --latency-ms 20 --production

# The targets of issue 10 side by side, 10,000,000 objects included (about an hour on two cores).
bench-targets: venv
	$(BIN)/python bench/targets.py --objects 100000 --big 10000000 --latency-ms 20

clean:
	rm -rf $(VENV) files build .pytest_cache
