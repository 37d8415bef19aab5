# Plaudit: `make run` runs the system, `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# axe-core for the browser tests, from npm; its file doubles as the stamp of `npm ci`.
AXE := tests/browser/node_modules/axe-core/axe.min.js

.PHONY: help venv image-venv browser-deps run test lint fmt typecheck unit integration e2e browser chaos bench clean

help:
	@echo "make run          start the four services (and the Open Campus sandbox) locally"
	@echo "make test         ruff, mypy and the whole pytest suite"
	@echo "make unit|integration|e2e|browser   one tier of the suite"
	@echo "make fmt          format the code"
	@echo "make chaos        the long chaos test: 10,000 awards, replicas killed, the broker restarted"
	@echo "make bench        benchmark the running gateway (see docs/benchmarks.md)"
	@echo "make image-venv   .venv-image: the image's packages only, for memory as deployed (bench --services-python)"

$(STAMP): pyproject.toml
	@test -x $(PY) || { echo "creating virtualenv $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing packages into $(VENV)"
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

# The packages the image installs (no test extra), the code editable from here: for measuring
# the services' memory as deployed (`python -m bench ... --services-python .venv-image/bin/python`).
image-venv:
	@test -x .venv-image/bin/python || $(PYTHON) -m venv .venv-image
	@.venv-image/bin/python -m pip install --quiet --disable-pip-version-check -e .

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing (the browser tests take axe-core from npm)"; exit 1; }
	@echo "installing axe-core into tests/browser/node_modules"
	@cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Chromium itself is Debian's (/usr/bin/chromium; .ci/run installs it where missing).
browser-deps: venv $(AXE)

run: venv
	PLAUDIT_ENV=$${PLAUDIT_ENV:-development} $(PY) -m services.devrun

lint: venv
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

fmt: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: venv
	$(VENV)/bin/mypy

test: lint typecheck browser-deps
	$(PY) -m pytest

unit: venv
	$(PY) -m pytest tests/unit

integration: venv
	$(PY) -m pytest tests/integration

e2e: venv
	$(PY) -m pytest tests/e2e

browser: browser-deps
	$(PY) -m pytest tests/browser

# The suite runs a short version of it; this one restarts the machine's RabbitMQ (every vhost).
chaos: venv
	PLAUDIT_CHAOS=long $(PY) -m pytest tests/e2e/test_chaos.py

bench: venv
	$(PY) -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache tests/browser/node_modules
