# The two commands a user needs: `make run` (the main job on the embedded default) and
# `make test`. Both create .venv and install pinned dependencies first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SEED ?= 42

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export SEMANTIC_HOME ?= $(CURDIR)
export SEMANTIC_DB ?= $(CURDIR)/data/semantic_assets.duckdb
export SEMANTIC_LANCE_DIR ?= $(CURDIR)/data/lance
# Python reads each module's bytecode from __pycache__, and writes it there on the first import, unless
# PYTHONDONTWRITEBYTECODE is set (as some container images do): then every process compiles every module it imports
# from source again, torch, transformers and dbt included (11 of a 46 s training on 150 assets; `import torch,
# sentence_transformers` 27.7 s each time instead of 8.5 s; `import dbt.cli.main` 4.6 s instead of 2.8 s). The
# install does not compile (--no-compile below), so the first import of each module writes it, inside .venv.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test install demo-data build summary lint docs clean faults fuzz browser

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# --no-compile: Python compiles a module's bytecode when it is first imported, not every module of the
	# ~1 GB of packages at install (85 s -> 37 s of a fresh clone's install here)
	$(BIN)/python -m pip install --quiet --no-compile -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The demo is example/, a dbt project that installs this repository as a package (packages.yml)
# and maps its seeds to the package's inputs. Its seeds are generated once; edit them and `make run`
# embeds only what changed. `make demo-data` regenerates them (deterministic for a given SEED).
EXAMPLE := $(CURDIR)/example
DEMO_SEEDS := $(EXAMPLE)/seeds/demo_assets.csv

$(DEMO_SEEDS): | $(STAMP)
	$(BIN)/semantic demo-data --seed $(SEED) --out $(EXAMPLE)/seeds

demo-data: $(STAMP)
	$(BIN)/semantic demo-data --seed $(SEED) --out $(EXAMPLE)/seeds

# `semantic build` checks the seeds are UTF-8, installs the package (`dbt deps`) when needed, runs
# `dbt build` into data/.building/ and swaps the file in atomically, so a BI tool holding
# data/semantic_assets.duckdb read-only neither blocks the build nor sees it half built.
run: $(STAMP) $(DEMO_SEEDS)
	@start=$$(date +%s); \
	$(BIN)/semantic build --project-dir $(EXAMPLE) && \
	$(BIN)/semantic summary && \
	echo "make run: dbt build and summary took $$(( $$(date +%s) - start )) s"

# The documentation site (mkdocs.yml, docs/): first the generated reference pages (docs/gen_reference.py:
# CLI, SQL functions, models, vars), then a strict build, so a broken link or anchor, a page missing from the
# navigation or any warning fails it, and `make test` with it. Output: site/. No --quiet (nor -v): in mkdocs
# 1.6.1 either one stops warnings from reaching strict mode's count, and the build passes (mkdocs#4126, #3991).
docs: $(STAMP)
	$(BIN)/python docs/gen_reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# make test checks that the generated reference pages are current (make docs rewrites them) and builds the site.
# The browser tests (tests/test_web.py) drive Debian's chromium through Playwright; CI runs on a fresh machine as
# root, so it is installed here when missing (nothing is cached outside the machine's package manager).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# The suite runs on TEST_WORKERS xdist workers (default 2, CI's cores), each pinned to its share of the cores and
# given a whole module at a time, longest first (tests/conftest.py); TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: $(STAMP) browser
	$(BIN)/ruff check semantic tests python_models benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python docs/gen_reference.py --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder --durations=25

# The fault-injection drill (tests/test_faults.py, semantic/faults.py): a build SIGKILLed inside each of the eight
# stages, then out of disk on a small tmpfs (needs root); after each, the published answers are unchanged and the
# next build completes. make test runs three of the kill points.
faults: $(STAMP)
	SEMANTIC_FAULTS=all $(BIN)/python -m pytest -q tests/test_faults.py

# The deep fuzz tier (tests/test_fuzz.py): FUZZ_EXAMPLES random inputs per SQL function and macro (a tenth of it, at
# least 10, per CLI command), new seeds each run; it prints the inputs per function and command and the crash and
# raw-error counts. make test runs the quick tier (40 derandomized inputs per function, 5 per command).
FUZZ_EXAMPLES ?= 500
fuzz: $(STAMP)
	SEMANTIC_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/test_fuzz.py

clean:
	rm -rf data site target logs example/target example/logs example/dbt_packages example/seeds/demo_*.csv
