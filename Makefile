# Two commands do all set-up on a fresh clone: `make chat` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
UV_VERSION := 0.13.8

.PHONY: chat test lint bench clean postgres lock

# Every dependency (the dev extras and the build backend too) is pinned with its hashes in
# $(LOCK); the project itself goes in after them, without resolving anything more. `pip check`
# fails when pyproject.toml names a dependency the lock lacks: then run `make lock`.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	mkdir -p data
	touch $(STAMP)

# Rewrites $(LOCK) from pyproject.toml (dependencies, the dev extras, the build backend) for
# Python 3.11+ on every platform. Pins already in the lock are kept; LOCK_FLAGS=--upgrade moves
# every pin to the newest release.
LOCK_FLAGS ?=
lock:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' \
		| $(BIN)/uv pip compile pyproject.toml - --extra dev --generate-hashes --universal \
			--python-version 3.11 --custom-compile-command "make lock" --quiet $(LOCK_FLAGS) -o $(LOCK)

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
