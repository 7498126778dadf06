# One command runs the tests (make test), one runs the whole system locally (make demo).
# Each sets up what it needs: a .venv with requirements-dev.txt, and Debian's pebble package.

# Both can be overridden, e.g. make test PYTHON=python3.13 VENV=/tmp/venv313
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQS := requirements.txt requirements-dev.txt constraints.txt acme_client/requirements.txt cert_mgmt/requirements.txt

.PHONY: test lint typecheck unit integration packaging demo devstack package bench clean setup pebble

setup: $(STAMP) pebble

$(STAMP): $(REQS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -r requirements-dev.txt
	touch $(STAMP)

# Pebble (Let's Encrypt's test CA) from Debian, for the ACME integration tests and the demo.
pebble:
	@command -v pebble >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq pebble; \
	  else echo "pebble is missing and apt-get is not available: install Debian's pebble package" >&2; exit 1; fi; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/actionlint -shellcheck $(VENV)/bin/shellcheck

test: setup lint
	$(VENV)/bin/pytest

unit: $(STAMP)
	$(VENV)/bin/pytest tests/unit

integration: setup
	$(VENV)/bin/pytest -m integration

packaging: $(STAMP)
	$(VENV)/bin/pytest -m packaging

package: $(STAMP)
	$(PY) -m scripts.package --all

demo: setup
	$(PY) -m devstack demo

devstack: setup
	$(PY) -m devstack up

bench: setup
	$(PY) -m bench

clean:
	rm -rf build dist .mypy_cache .ruff_cache
