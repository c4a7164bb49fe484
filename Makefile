# careapp: the two commands a newcomer needs are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PG_ADMIN_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
PG_TEST_DB ?= careapp_test
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/$(PG_TEST_DB)
# The moved-clock run: a leap day just after the nightly dispatch hour in the city.
FAKETIME_AT ?= 2028-02-29 01:30:00
# CI's Hypothesis profile: derandomized, so a failure replays on any machine.
export HYPOTHESIS_PROFILE ?= ci

.PHONY: run test install system-deps check hooks audit lint test-sqlite test-postgres test-moved-clock screenshots translations vendor clean

## run: install, create secrets, migrate, load demo data (laid out around today, carrying the
## scheduler's results; see README.md) and serve on http://$(HOST):$(PORT) (make run PORT=8080)
## with production's web server (`careapp serve`: gunicorn, careapp/gunicorn.conf.py).
## The demo runs no scheduler process yet, so /readyz leaves out the scheduler's heartbeat
## (CAREAPP_READINESS_SCHEDULER=false; production keeps it on).
run: install
	$(BIN)/python -m careapp.cli.secrets instance/careapp.env
	set -a && . ./instance/careapp.env && set +a && \
		$(BIN)/careapp init-db && \
		$(BIN)/careapp seed-demo --if-empty --host '$(HOST)' --port '$(PORT)' && \
		CAREAPP_PLAIN_HTTP=true CAREAPP_READINESS_SCHEDULER=false $(BIN)/careapp serve --host '$(HOST)' --port '$(PORT)'

## test: install everything, lint, then the whole suite on SQLite and on PostgreSQL, then again
## (without the browser) with the process clock moved to another date
test: install system-deps check test-sqlite test-postgres test-moved-clock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/pybabel compile --use-fuzzy -d translations -f >/dev/null

## system-deps: Debian packages the tests need (chromium for browser tests, poppler for PDFs,
## faketime for the moved-clock run)
system-deps:
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null \
		&& command -v faketime >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium poppler-utils faketime >/dev/null; }

## check: lint, format, types, import contracts and bandit: the hooks of .pre-commit-config.yaml,
## on every file
check:
	$(BIN)/pre-commit run --all-files --show-diff-on-failure

## audit: every pinned dependency (constraints.txt) against the known-vulnerability database
## (PyPI's advisories); needs that database reachable, so run it where it is (docs/operations.md)
audit: install
	$(BIN)/pip-audit --strict --no-deps --disable-pip -r constraints.txt --progress-spinner off

## hooks: run those checks before every commit in this clone
hooks: install
	$(BIN)/pre-commit install

test-sqlite:
	env -u CAREAPP_DATABASE_URL $(BIN)/pytest --cov --cov-branch --cov-report=term

test-postgres:
	psql "$(PG_ADMIN_URL)" -q -c 'DROP DATABASE IF EXISTS $(PG_TEST_DB) WITH (FORCE)' \
		-c 'CREATE DATABASE $(PG_TEST_DB)'
	CAREAPP_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

## test-moved-clock: the suite on SQLite, browser tests aside, with the process clock (libfaketime)
## at FAKETIME_AT in the city; replay any date with `make test-moved-clock FAKETIME_AT='...'`
test-moved-clock:
	@echo "moved clock: $(FAKETIME_AT) Asia/Shanghai"
	env -u CAREAPP_DATABASE_URL TZ=Asia/Shanghai \
		faketime '$(FAKETIME_AT)' $(BIN)/pytest -m 'not browser' -p no:cacheprovider

## screenshots: rewrite docs/screenshots/*.png with the browser tests that take them (a plain test
## run writes its screenshots to a temporary folder and leaves the tree clean)
screenshots: install system-deps
	env -u CAREAPP_DATABASE_URL $(BIN)/pytest -m screenshots --screenshots -p no:cacheprovider

## translations: re-extract messages and update the catalogues (then edit the .po files)
translations:
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d translations -f

## vendor: refresh the front-end files served from static/vendor, and the tests' axe-core (needs npm)
vendor:
	npm install --no-audit --no-fund
	mkdir -p static/vendor/pico
	cp node_modules/@picocss/pico/css/pico.min.css node_modules/@picocss/pico/LICENSE.md static/vendor/pico/
	# Noto Sans SC, regular, in unicode-range slices: a browser fetches only the slices a page
	# uses, and only when the device has no Chinese font of its own (app.css lists those first).
	rm -rf static/vendor/noto-sans-sc && mkdir -p static/vendor/noto-sans-sc/files
	cp node_modules/@fontsource/noto-sans-sc/files/*-400-normal.woff2 static/vendor/noto-sans-sc/files/
	cp node_modules/@fontsource/noto-sans-sc/LICENSE static/vendor/noto-sans-sc/
	sed -E "s#, url\(([^)]*)\.woff\) format\('woff'\)##" node_modules/@fontsource/noto-sans-sc/400.css \
		> static/vendor/noto-sans-sc/400.css
	# axe-core, for the browser tests only (never served by the app): injected into each page.
	mkdir -p tests/browser/vendor/axe-core
	cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE tests/browser/vendor/axe-core/

clean:
	rm -rf $(VENV) instance .pytest_cache .coverage htmlcov
