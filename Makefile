# faceledger — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATA_DIR ?= $(CURDIR)/.faceledger-data

.PHONY: run test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/faceledger --data-dir "$(DATA_DIR)" quickstart

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest tests

test: lint typecheck unit

BASELINE := .venv-baseline/bin/python
$(BASELINE):
	$(PYTHON) -m venv .venv-baseline
	.venv-baseline/bin/pip install --quiet dlib-bin face_recognition_models numpy pillow "setuptools<81"
	.venv-baseline/bin/pip install --quiet --no-deps face_recognition

bench: $(STAMP) $(BASELINE)
	$(BIN)/python benchmarks/bench_enroll.py
	$(BIN)/python benchmarks/bench_search.py
	$(BIN)/python benchmarks/bench_ledger.py

clean:
	rm -rf $(VENV) "$(DATA_DIR)"
