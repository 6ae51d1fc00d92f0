# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
DEMO_PATIENTS ?= 2000
MAIN_SERVER_PORT ?= 5001
MAIN_SERVER_DB ?= instance/reference_main_server.sqlite3
export FLASK_APP := app

CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install migrate run test test-sqlite test-postgres bench-seed clean demo-outage

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The browser tests drive Debian's chromium (Playwright's own browser download is never used).
$(CHROMIUM):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
	  || ($(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

migrate: install
	$(BIN)/flask db upgrade

# The web app under gunicorn, the status monitor (which also runs the sync sender) and the reference
# main server, each its own process; Ctrl-C stops all three.
run: migrate
	$(BIN)/flask seed-demo --if-empty --patients $(DEMO_PATIENTS)
	$(BIN)/flask seed-demo-stock
	mkdir -p instance
	export REFERENCE_TARGET_URL=http://$(HOST):$(PORT)/health STATUS_PUBLIC_BASE_URL=http://$(HOST):$(PORT) \
	       MAIN_SERVER_URL=http://127.0.0.1:$(MAIN_SERVER_PORT); \
	$(BIN)/python -m sync.reference_server --host 127.0.0.1 --port $(MAIN_SERVER_PORT) --db $(MAIN_SERVER_DB) & main=$$!; \
	$(BIN)/flask monitor & monitor=$$!; \
	trap 'kill $$monitor $$main 2>/dev/null; wait $$monitor $$main' EXIT INT TERM; \
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn --config gunicorn.conf.py 'app.wsgi:app'

# The whole suite on the embedded SQLite store, then again on PostgreSQL.
# A pytest exit status of 5 (no tests collected) fails like any other.
test: test-sqlite test-postgres

test-sqlite: install $(CHROMIUM)
	$(BIN)/pytest

test-postgres: install $(CHROMIUM)
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

bench-seed: migrate
	$(BIN)/python bench/seed_bench.py

clean:
	rm -rf $(VENV) *.egg-info
