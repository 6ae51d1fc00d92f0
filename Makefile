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
IDP_PORT ?= 9400
# `make run-postgres`: the store when DATABASE_URL is unset, the second web node's port, the main server's store.
PG_RUN_URL ?= postgresql://postgres@127.0.0.1:5432/forskrivningsportalen
WEB2_PORT ?= 5002
PG_MAIN_SERVER_DB ?= instance/reference_main_server_postgres.sqlite3
# The demo mail catcher (app/demo/mailcatcher.py): every mail of `make run` lands in instance/mail/ as .eml.
MAIL_CATCHER_PORT ?= 1025
# Whom the demo's escalation mails go to (all land in the catcher); a region sets its own, docs/operations.md.
DEMO_ESCALATION_FILE ?= app/demo/escalation_recipients.json
# Real time until `make clock-advance BY=4h` (or `flask clock advance 4h`) writes it; see app/clock.py.
CLOCK_FILE ?= $(CURDIR)/instance/clock.json
export FLASK_APP := app

CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install migrate run run-postgres test test-sqlite test-postgres bench-seed clean demo-outage clock-advance main-down main-up

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

# The Procfile's processes under honcho: the web app (bin/web: granian), the status monitor (which also runs the
# sync sender and the mail outbox), the reference main server, the demo SITHS provider and the mail
# catcher; Ctrl-C stops all five.
# What every process of `make run` and `make run-postgres` is told: ports, addresses, the demo provider, the catcher.
RUN_ENV = PATH=$(CURDIR)/$(BIN):$$PATH HOST=$(HOST) WEB_PORT=$(PORT) \
	REFERENCE_TARGET_URL=http://$(HOST):$(PORT)/health STATUS_PUBLIC_BASE_URL=http://$(HOST):$(PORT) \
	APP_BASE_URL=http://$(HOST):$(PORT) APP_CLOCK_FILE=$(CLOCK_FILE) \
	MAIN_SERVER_URL=http://127.0.0.1:$(MAIN_SERVER_PORT) MAIN_SERVER_PORT=$(MAIN_SERVER_PORT) \
	IDP_PORT=$(IDP_PORT) OIDC_ISSUER=http://127.0.0.1:$(IDP_PORT) \
	MAIL_SERVER=127.0.0.1 MAIL_PORT=$(MAIL_CATCHER_PORT) MAIL_CATCHER_PORT=$(MAIL_CATCHER_PORT) \
	OIDC_CLIENT_ID=forskrivningsportalen-demo OIDC_CLIENT_SECRET=demo-secret \
	STATUS_ESCALATION_RECIPIENTS='$(shell cat $(DEMO_ESCALATION_FILE))'

run: migrate
	$(BIN)/flask seed-demo --if-empty --patients $(DEMO_PATIENTS)
	$(BIN)/flask seed-demo-stock
	mkdir -p instance
	$(RUN_ENV) MAIN_SERVER_DB=$(MAIN_SERVER_DB) $(BIN)/honcho start -f Procfile

run-postgres: RUN_PG = $(or $(DATABASE_URL),$(PG_RUN_URL))
run-postgres: install
	$(BIN)/python -m app.demo.postgres '$(RUN_PG)'
	DATABASE_URL='$(RUN_PG)' $(BIN)/flask db upgrade
	DATABASE_URL='$(RUN_PG)' $(BIN)/flask seed-demo --if-empty --patients $(DEMO_PATIENTS)
	DATABASE_URL='$(RUN_PG)' $(BIN)/flask seed-demo-stock
	mkdir -p instance
	$(RUN_ENV) DATABASE_URL='$(RUN_PG)' WEB2_PORT=$(WEB2_PORT) MAIN_SERVER_DB=$(PG_MAIN_SERVER_DB) \
	$(BIN)/honcho start -f Procfile.postgres

# The outage day on SQLite in instance/demo-outage/ with an accelerated clock; exit 0 when nothing is missing.
demo-outage: migrate
	$(BIN)/python -m app.demo.outage_day

# An outage in a running `make run`: the reference main server answers 503 to every call, then again 200.
main-down:
	curl -s -X POST -H 'Content-Type: application/json' -d '{"down": true}' http://127.0.0.1:$(MAIN_SERVER_PORT)/admin/faults
main-up:
	curl -s -X POST -H 'Content-Type: application/json' -d '{"down": false}' http://127.0.0.1:$(MAIN_SERVER_PORT)/admin/faults

# Jump the clock of a running `make run` ahead, e.g. `make clock-advance BY=4h1m`; `flask clock reset` undoes it.
clock-advance: install
	APP_CLOCK_FILE=$(CLOCK_FILE) $(BIN)/flask clock advance $(BY)

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
