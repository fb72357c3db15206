# faceledger — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATA_DIR ?= $(CURDIR)/.faceledger-data

.PHONY: run demo test lint typecheck unit browser pdf-deps bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP) pdf-deps
	$(BIN)/faceledger --data-dir "$(DATA_DIR)" serve

DEMO_DIR ?= $(CURDIR)/.faceledger-demo
demo: $(STAMP) pdf-deps
	test -d "$(DEMO_DIR)" || $(BIN)/faceledger --data-dir "$(DEMO_DIR)" demo
	$(BIN)/faceledger --data-dir "$(DEMO_DIR)" serve

# Debian's Chromium for the browser tests (Playwright drives it; nothing is downloaded).
browser:
	command -v chromium >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

# Pango (WeasyPrint's text layout) and Debian's DejaVu fonts for the PDF disclosure packets.
pdf-deps:
	{ ldconfig -p | grep -q libpangoft2-1.0 && fc-list 2>/dev/null | grep -qi dejavu; } || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fontconfig; }

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest tests

test: browser pdf-deps lint typecheck unit

BASELINE := .venv-baseline/bin/python
$(BASELINE):
	$(PYTHON) -m venv .venv-baseline
	.venv-baseline/bin/pip install --quiet dlib-bin face_recognition_models numpy pillow "setuptools<81"
	.venv-baseline/bin/pip install --quiet --no-deps face_recognition

bench: $(STAMP) $(BASELINE)
	$(BIN)/python benchmarks/bench_enroll.py
	$(BIN)/python benchmarks/bench_search.py
	$(BIN)/python benchmarks/bench_ledger.py
	$(BIN)/python benchmarks/bench_accuracy.py
	$(BIN)/python benchmarks/bench_models.py

clean:
	rm -rf $(VENV) .venv-baseline "$(DATA_DIR)" "$(DEMO_DIR)"
