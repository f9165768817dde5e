# The two entry points of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo test lint pytest samples bench clean

$(STAMP): pyproject.toml constraints.txt scripts/setup.sh scripts/debian-packages.txt
	PYTHON=$(PYTHON) VENV=$(VENV) scripts/setup.sh
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p $(OUT)
	$(BIN)/bulletin indices samples/forecast_ecmwf.grib2 -o $(OUT)/indices.csv
	@echo "demo: index table for every venue in $(OUT)/indices.csv"

test: $(STAMP) lint pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

samples: $(STAMP)
	$(BIN)/python samples/make_samples.py

bench: $(STAMP)
	$(BIN)/python benchmarks/indices.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
