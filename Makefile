# faceledger — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATA_DIR ?= $(CURDIR)/.faceledger-data

.PHONY: run demo test test-fast lint typecheck unit unit-sqlite unit-postgresql postgres browser pdf-deps bench clean

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

# Debian's PostgreSQL server binaries for the tests on PostgreSQL. The tests start their own
# throwaway cluster (tests/postgres.py: initdb in a temporary directory, a free port) and stop it.
postgres:
	{ ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && id postgres >/dev/null 2>&1; } || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; }

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# The tiers (markers; tests/conftest.py prints the time of each at the end of a run):
#   fast         everything not below: no server, no process, no real model
#   integration  tests/integration and tests/e2e: real servers, processes, a browser
#   slow         the real face models: the biometric and accuracy tests
# The suite on each database backend (STYLE 8): SQLite files and a throwaway PostgreSQL
# cluster, the two runs side by side (one per core), each printed when it ends. The slow tier
# runs once, on SQLite: what it tests is the models, not the storage (which every other tier
# tests on both).
unit: $(STAMP) postgres
	$(MAKE) --no-print-directory -j2 --output-sync=target unit-sqlite unit-postgresql

# The tests' data directories and SQLite files go to memory when the machine has a writable
# /dev/shm (the SQLite run writes about 2 GB of short-lived files, and on a virtual disk its
# time went to waiting for them). The PostgreSQL cluster stays on disk: its cloned databases
# add up to over 10 GB in a run. Each run deletes its temporary files when it ends.
TEST_TMPDIR ?= $(shell test -d /dev/shm -a -w /dev/shm && echo /dev/shm || echo "$${TMPDIR:-/tmp}")
PYTEST := $(BIN)/python -m pytest tests

unit-sqlite: $(STAMP)
	TMPDIR="$(TEST_TMPDIR)" $(PYTEST) --db sqlite --basetemp="$(TEST_TMPDIR)/faceledger-pytest-sqlite"; \
		status=$$?; rm -rf "$(TEST_TMPDIR)/faceledger-pytest-sqlite"; exit $$status

unit-postgresql: $(STAMP) postgres
	$(PYTEST) --db postgresql -m "not slow" --basetemp="$(TEST_TMPDIR)/faceledger-pytest-postgresql"; \
		status=$$?; rm -rf "$(TEST_TMPDIR)/faceledger-pytest-postgresql"; exit $$status

# The fast tier alone, on SQLite, on both cores (pytest-xdist): the inner loop while writing
# code (under 2 minutes).
test-fast: $(STAMP)
	TMPDIR="$(TEST_TMPDIR)" $(PYTEST) --db sqlite -m "not slow and not integration" -q -n 2 --basetemp="$(TEST_TMPDIR)/faceledger-pytest-fast"; \
		status=$$?; rm -rf "$(TEST_TMPDIR)/faceledger-pytest-fast"; exit $$status

test: browser pdf-deps postgres lint typecheck unit

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
	$(BIN)/python benchmarks/bench_probe_size.py

clean:
	rm -rf $(VENV) .venv-baseline "$(DATA_DIR)" "$(DEMO_DIR)"
