# The two set-up commands of the README: `make demo` (the daily sync on the bundled sandbox) and
# `make test`. Both build the virtual environment first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench dev clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/moselle-cin7 demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m moselle_cin7.benchmark --profile large

# The demo's Dagster instance, so the UI shows the runs `make demo` made.
DEMO_HOME := $(CURDIR)/.moselle/dagster_home

dev: $(STAMP)
	mkdir -p $(DEMO_HOME)
	test -f $(DEMO_HOME)/dagster.yaml || cp dagster.yaml $(DEMO_HOME)/dagster.yaml
	DAGSTER_HOME=$(DEMO_HOME) $(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf $(VENV) .tmp_dagster_home_* .moselle
