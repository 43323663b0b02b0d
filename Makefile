# Development commands for flaskgen itself. Each installs what it needs first (.venv with
# uv when available, else python -m venv + pip; both from the package registry).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install test test-full test-variant lint bench clean

$(VENV)/.installed: pyproject.toml
	@if command -v uv >/dev/null 2>&1; then \
		uv venv --quiet --allow-existing --python "$(PYTHON)" $(VENV) && VIRTUAL_ENV=$(VENV) uv pip install --quiet -e '.[dev]'; \
	else \
		$(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet --upgrade pip && $(BIN)/python -m pip install --quiet -e '.[dev]'; \
	fi
	@touch $@

install: $(VENV)/.installed

test: install  ## the fast tier: unit, CLI, hooks, audit, the default variant baked and tested
	$(BIN)/pytest -n auto -m "not slow" --variants=default $(PYTEST_ARGS)

test-full: install  ## everything: the full variant matrix with upgrades, live stacks, releases, fleet (what CI runs)
	$(BIN)/pytest -n auto --variants=full $(PYTEST_ARGS)

SET ?=
test-variant: install  ## one variant as the matrix checks it: make test-variant SET="database=postgresql task_queue=celery"
	$(BIN)/pytest -n auto tests/test_variants.py --variant="$(SET)" $(PYTEST_ARGS)

bench: install  ## every benchmark at full size (a few minutes); tables go to bench/last-run.md
	$(BIN)/python bench/run.py --output bench/last-run.md

lint: install
	$(BIN)/ruff check flaskgen tests bench hooks
	$(BIN)/ruff format --check flaskgen tests bench hooks

clean:
	rm -rf $(VENV) dist build .pytest_cache
