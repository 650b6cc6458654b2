# `make test` is the project's test command: CI (.ci/run) calls it on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1

# The SDK's `fivetran` runs `pipreqs` by name, so every `fivetran` command here runs with the virtual environment's
# bin first on PATH: nothing needs to be activated.
FIVETRAN = PATH="$(abspath $(BIN)):$$PATH" $(BIN)/fivetran
# The configuration `make debug` and `make deploy` use (`make package` copies it in only when it is given).
CONFIG_FILE = $(or $(CONFIGURATION),configuration.json)
# SOURCE or FIVETRAN: how a new warehouse (make debug) or connection (make deploy) names the tables (s3_objects or
# s_3_objects) and columns (checksum_crc32 or checksum_crc_32). SOURCE keeps the names the connector declares, which
# the README's SQL uses; NAMING= (empty) leaves it to the SDK, whose default is FIVETRAN. A warehouse or connection
# keeps the naming it was created with: a later NAMING is ignored (make reset starts a new local warehouse).
NAMING ?= SOURCE
NAMING_FLAG = $(if $(NAMING),--naming $(NAMING))

.PHONY: venv test unit differential soak demo demo-events debug configuration configuration-test reset deploy bench bench-targets package clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@echo "Installing the virtual environment $(VENV) from requirements-dev.txt (once; about a minute)..."
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

test: venv
	$(BIN)/python -m pytest tests -q -p no:cacheprovider

unit: venv
	$(BIN)/python -m pytest tests -q -p no:cacheprovider -m "not e2e"

# The differential tests of our listing reader, HEAD reader and HEAD signer against botocore (tests/differential/)
# with many more examples than `make test` runs: DIFFERENTIAL_EXAMPLES per test, random instead of derandomized
# (a failure prints the example and the seed to reproduce it). The default takes about a quarter of an hour of CPU.
DIFFERENTIAL_EXAMPLES ?= 50000
differential: venv
	DIFFERENTIAL_EXAMPLES=$(DIFFERENTIAL_EXAMPLES) $(BIN)/python -m pytest tests/differential -q -p no:cacheprovider

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

# Event mode beside listing mode on a local S3 with its SQS: deletes of every kind, and which connection marks them
# (scripts/demo_events.py). Writes only to .demo-events/.
demo-events: venv
	$(BIN)/python -m scripts.demo_events

# `fivetran debug` on configuration.json: writes files/warehouse.db and files/state.json (run again: incremental).
debug: venv
	$(FIVETRAN) debug --configuration "$(CONFIG_FILE)" $(NAMING_FLAG)

# `fivetran configuration`: asks for every key of the setup form and writes configuration.json, secrets encrypted
# (with a key kept in ~/.fivetran/connector_sdk; `fivetran debug`, `deploy` and the setup tests decrypt them).
configuration: venv
	$(FIVETRAN) configuration

# The setup tests Fivetran runs before the first sync, on configuration.json, without syncing.
configuration-test: venv
	$(FIVETRAN) configuration --test

# Forget the local sync (files/): the next `make debug` is a full sync into a new warehouse.
reset: venv
	$(FIVETRAN) reset

# Build build/package/ and deploy it with configuration.json (read from where it is, never copied). The API key
# comes from FIVETRAN_API_KEY (the SDK asks for what is missing): nothing secret on the command line.
deploy: venv
	$(PYTHON) -m scripts.package --no-hint
	$(FIVETRAN) deploy build/package --configuration "$(abspath $(CONFIG_FILE))" \
		$(if $(DESTINATION),--destination "$(DESTINATION)") $(if $(CONNECTION),--connection "$(CONNECTION)") \
		$(NAMING_FLAG)

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
