# Plaudit: `make run` runs the system, `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: help venv run test lint fmt typecheck unit integration e2e bench clean

help:
	@echo "make run          start the four services (and the Open Campus sandbox) locally"
	@echo "make test         ruff, mypy and the whole pytest suite"
	@echo "make unit|integration|e2e   one tier of the suite"
	@echo "make fmt          format the code"
	@echo "make bench        benchmark the running gateway (see docs/benchmarks.md)"

$(STAMP): pyproject.toml
	@test -x $(PY) || { echo "creating virtualenv $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing packages into $(VENV)"
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

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

test: lint typecheck
	$(PY) -m pytest

unit: venv
	$(PY) -m pytest tests/unit

integration: venv
	$(PY) -m pytest tests/integration

e2e: venv
	$(PY) -m pytest tests/e2e

bench: venv
	$(PY) -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
