# Development commands for flaskgen itself. Each installs what it needs first (.venv with
# uv when available, else python -m venv + pip; both from the package registry).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install test test-full lint bench clean

$(VENV)/.installed: pyproject.toml
	@if command -v uv >/dev/null 2>&1; then \
		uv venv --quiet --allow-existing --python "$(PYTHON)" $(VENV) && VIRTUAL_ENV=$(VENV) uv pip install --quiet -e '.[dev]'; \
	else \
		$(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet --upgrade pip && $(BIN)/python -m pip install --quiet -e '.[dev]'; \
	fi
	@touch $@

install: $(VENV)/.installed

test: install  ## unit + CLI tests, pairwise variant matrix, live stack smoke tests
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

test-full: install  ## the same with the full behavioural variant product (what CI runs)
	$(BIN)/pytest -n auto --variants=full $(PYTEST_ARGS)

bench: install  ## every benchmark at full size (a few minutes); tables go to bench/last-run.md
	$(BIN)/python bench/run.py --output bench/last-run.md

lint: install
	$(BIN)/ruff check flaskgen tests bench hooks
	$(BIN)/ruff format --check flaskgen tests bench hooks

clean:
	rm -rf $(VENV) dist build .pytest_cache
