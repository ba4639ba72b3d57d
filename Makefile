# Two commands do all set-up on a fresh clone: `make chat` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chat test lint bench clean postgres

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	mkdir -p data
	touch $(STAMP)

chat: $(STAMP)
	$(BIN)/tripcheck chat

# The browser test drives Debian's Chromium (never a downloaded browser build).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser test"; \
		apt-get update -qq && apt-get install -y -qq chromium > /dev/null; \
	else \
		echo "chromium is not installed: the browser test will be skipped (apt-get install chromium)"; \
	fi

# The storage tests start a throwaway PostgreSQL server from Debian's package (tests/pg_server.py).
POSTGRES_BIN := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))

postgres:
	@if [ -n "$(POSTGRES_BIN)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's postgresql for the storage tests"; \
		apt-get update -qq && apt-get install -y -qq postgresql postgresql-contrib > /dev/null; \
	else \
		echo "postgresql is not installed: the PostgreSQL tests will be skipped (apt-get install postgresql)"; \
	fi

test: $(STAMP) $(CHROMIUM) postgres
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV)
