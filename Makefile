# One command runs the tests (make test), one runs the whole system locally (make demo); `make help`
# lists every target. Each sets up what it needs: a .venv with requirements-dev.txt (`setup`), and
# Debian's pebble package for the targets that run Pebble (`pebble`: test, test-stress, integration,
# demo, devstack, bench).

# Both can be overridden, e.g. make test PYTHON=python3.13 VENV=/tmp/venv313
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQS := requirements.txt requirements-dev.txt constraints.txt acme_client/requirements.txt cert_mgmt/requirements.txt

.DEFAULT_GOAL := help
.PHONY: help test test-stress lint format unit integration packaging demo devstack package bench clean setup pebble

help: ## list the targets
	@echo "make <target> [PYTHON=python3.13] [VENV=/tmp/venv313]"
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z-]*:[^#]*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) ## create the virtual environment (VENV, default .venv) from requirements-dev.txt
	@echo "setup: $(VENV) is ready ($$($(PY) --version))"

$(STAMP): $(REQS)
	@if [ -x $(PY) ]; then echo "setup: using $(VENV) ($$($(PY) --version))"; \
	else echo "setup: creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version))" && $(PYTHON) -m venv $(VENV); fi
	@echo "setup: upgrading pip"
	@$(PY) -m pip install --quiet --upgrade pip
	@echo "setup: installing requirements-dev.txt with constraints.txt (about a minute on a fresh machine)"
	@$(PY) -m pip install --quiet -c constraints.txt -r requirements-dev.txt
	@touch $(STAMP)

# Pebble (Let's Encrypt's test CA) from Debian, for the ACME integration tests, the demo and the stack.
pebble: ## install Debian's pebble package when it is missing (test, test-stress, integration, demo, ...)
	@if command -v pebble >/dev/null 2>&1 || [ -x /usr/bin/pebble ]; then \
	  echo "pebble: found $$(command -v pebble || echo /usr/bin/pebble)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  echo "pebble: installing Debian's pebble package with apt-get"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq pebble; \
	else echo "pebble is missing and apt-get is not available: install Debian's pebble package" >&2; exit 1; fi

lint: $(STAMP) ## ruff (lint and format check), mypy and actionlint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/actionlint -shellcheck $(VENV)/bin/shellcheck

format: $(STAMP) ## rewrite the code in the house format (ruff format) and apply ruff's safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: setup pebble lint ## what CI runs (.ci/run): setup, lint, then every test
	$(VENV)/bin/pytest

# The suite of `make test` (without lint) while one busy loop per CPU (two at least) keeps every core at
# 100 %: a test that passes only on an idle machine fails here. The loops are this shell's children and
# are killed when it exits, whatever the suite's outcome; the suite's exit status is the target's.
test-stress: setup pebble ## every test while a CPU hog keeps all cores busy (the suite must not need an idle machine)
	@n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -ge 2 ] || n=2; hogs=""; \
	trap 'kill $$hogs 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	for i in $$(seq "$$n"); do $(PYTHON) -c 'while True: pass' & hogs="$$hogs $$!"; done; \
	echo "test-stress: $$n busy loops running (pids$$hogs); the suite starts"; \
	started=$$(date +%s); status=0; $(VENV)/bin/pytest || status=$$?; \
	echo "test-stress: suite exited $$status after $$(( $$(date +%s) - started )) s under load"; \
	exit $$status

unit: $(STAMP) ## the unit tests only (no sockets)
	$(VENV)/bin/pytest tests/unit

integration: setup pebble ## the integration tests only (moto server, XC emulator, Pebble)
	$(VENV)/bin/pytest -m integration

packaging: $(STAMP) ## the packaging tests only (builds the zips)
	$(VENV)/bin/pytest -m packaging

package: $(STAMP) ## build dist/<name>.zip for every deployable
	$(PY) -m scripts.package --all

demo: setup pebble ## run the whole system once on a fresh local stack and print a summary
	$(PY) -m devstack demo

devstack: setup pebble ## start the local stack and keep it running (docs/local-stack.md)
	$(PY) -m devstack up

bench: setup pebble ## print the benchmarks beside their targets (never fails the build)
	$(PY) -m bench

clean: ## remove build/, dist/ and the lint caches
	rm -rf build dist .mypy_cache .ruff_cache
