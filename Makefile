# Every target builds .venv from pyproject.toml by itself, so a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCHMARKS := $(patsubst benchmarks/bench_%.py,%,$(wildcard benchmarks/bench_*.py))

.PHONY: run test lint robustness bench $(addprefix bench-,$(BENCHMARKS)) i18n-extract i18n-update i18n-compile clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bot run

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

robustness: $(STAMP)
	$(PY) -m pytest -q -m robustness -o addopts=''

# Benchmarks (minutes each; they print their results, which go into benchmarks/RESULTS.md by hand).
# `make bench` runs every benchmarks/bench_NAME.py in turn; `make bench-NAME` one of them, with BENCH_ARGS_NAME.
# bench-tagging compares with a git revision only when asked: make bench-tagging BENCH_ARGS_tagging="--baseline HEAD~1"
# They run as modules (-m), as the service runs its ingestion pass, so worker processes start as they do there.
BENCH_ARGS_tagging ?= --no-baseline

bench: $(addprefix bench-,$(BENCHMARKS))

$(addprefix bench-,$(BENCHMARKS)): bench-%: $(STAMP)
	$(PY) -m benchmarks.bench_$* $(BENCH_ARGS_$*)

# Translation catalogs (Babel): extract message ids from the code, merge them into ru/kk, compile .mo files.
i18n-extract: $(STAMP)
	$(VENV)/bin/pybabel extract --input-dirs=bot,handlers -k _ -k __ -k N_ -k t:2 -k tn:2,3 -k tr -k plural:1,2 -k ht:2 -k htn:2,3 -o bot/locales/habar.pot --no-location --sort-output

i18n-update: i18n-extract
	$(VENV)/bin/pybabel update -i bot/locales/habar.pot -d bot/locales -D habar --no-fuzzy-matching

i18n-compile: $(STAMP)
	$(VENV)/bin/pybabel compile -d bot/locales -D habar --statistics

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
