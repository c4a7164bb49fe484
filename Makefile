# careapp: the two commands a newcomer needs are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PG_ADMIN_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
PG_TEST_DB ?= careapp_test
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/$(PG_TEST_DB)

.PHONY: run test install system-deps check lint test-sqlite test-postgres translations vendor clean

## run: install, create secrets, migrate, load demo data and serve on http://$(HOST):$(PORT)
run: install
	$(BIN)/python -m careapp.secrets instance/careapp.env
	set -a && . ./instance/careapp.env && set +a && \
		$(BIN)/careapp init-db && \
		$(BIN)/careapp seed-demo --if-empty && \
		$(BIN)/careapp run --host $(HOST) --port $(PORT)

## test: install everything, lint, then the whole suite on SQLite and on PostgreSQL
test: install system-deps check test-sqlite test-postgres

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/pybabel compile --use-fuzzy -d translations -f >/dev/null

## system-deps: Debian packages the tests need (chromium for browser tests, poppler for PDFs)
system-deps:
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq chromium poppler-utils >/dev/null; }

check:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy careapp assessments scheduling
	$(BIN)/lint-imports

test-sqlite:
	env -u CAREAPP_DATABASE_URL $(BIN)/pytest --cov --cov-branch --cov-report=term

test-postgres:
	psql "$(PG_ADMIN_URL)" -q -c 'DROP DATABASE IF EXISTS $(PG_TEST_DB) WITH (FORCE)' \
		-c 'CREATE DATABASE $(PG_TEST_DB)'
	CAREAPP_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

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
