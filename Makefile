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

# The demo speaks one venue per competition zone (Beijing, Yanqing, Zhangjiakou) and the
# overview of all venues, in Chinese and English, for the cold-wave day of the sample forecast.
DEMO_FORECAST ?= samples/forecast_ecmwf.grib2
DEMO_DATE ?= 2022-02-07
DEMO_VENUES ?= big-air-shougang national-alpine-skiing-centre genting-snow-park

demo: $(STAMP)
	mkdir -p $(OUT)
	$(BIN)/bulletin indices $(DEMO_FORECAST) -o $(OUT)/indices.csv
	@echo "demo: index table for every venue in $(OUT)/indices.csv"
	@set -e; for lang in zh en; do \
	  for venue in $(DEMO_VENUES); do \
	    $(BIN)/bulletin -q speak $(DEMO_FORECAST) --venue $$venue --lang $$lang \
	      --date $(DEMO_DATE) -o $(OUT)/$$venue-$$lang; \
	    echo "demo: $$venue ($$lang) bulletin in $(OUT)/$$venue-$$lang/"; \
	  done; \
	  $(BIN)/bulletin -q speak $(DEMO_FORECAST) --kind overview --lang $$lang \
	    --date $(DEMO_DATE) -o $(OUT)/overview-$$lang; \
	  echo "demo: overview ($$lang) of all venues in $(OUT)/overview-$$lang/"; \
	done
	@echo "demo: each bulletin folder holds script.txt (what captions show), script.tts.txt (what"
	@echo "      is said), script.json (sentences, indices, times), speech.wav, timings.json"
	@echo "      (phonemes and words for lip sync), subtitles.srt and subtitles.vtt"

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
