# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The venv's stamp: $(PY) is a symlink to the system's python, which touch would change
# (as root) or fail on (as anyone else), and whose time make would read.
INSTALLED := $(VENV)/.installed
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: bench-panel run test lint docs compat bench bench-watch load chaos up down status reset seed schema clean stack

$(INSTALLED): pyproject.toml
	mkdir -p var
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(INSTALLED)

## run: the API on http://$(HOST):$(PORT)/api/glance/ against the dev cloud, with sample images
## (uvicorn, an ASGI server: the waits and the event stream of glance_api.watch too)
run: export DJANGO_DEBUG ?= 1
run: $(INSTALLED) up seed
	$(PY) manage.py migrate --noinput
	@$(PY) -m devcloud credentials
	@echo "Serving http://$(HOST):$(PORT)/api/glance/ (docs: /api/docs/, sign in: /api-auth/login/)"
	GLANCE_API_KEYSTONE_URL="$${GLANCE_API_KEYSTONE_URL:-$$($(PY) -c 'from devcloud import config; print(config.KEYSTONE_URL)')}" \
		$(PY) -m uvicorn project.asgi:application --host $(HOST) --port $(PORT)

## test: lint, the docs and the dev cloud (started here if it is not running) at once;
## then every test against it, the browser tests in Debian's chromium (installed here if
## it is missing), and beside the in-process tests the oldest combination (noxfile.py:
## Django 4.2 against the 2024.1 dev cloud, the in-process tests and Horizon 24.0.0's
## browser tests); then the tests that measure time, alone (scripts/test-suite)
test: export DJANGO_SECRET_KEY ?= test-only-not-a-secret-$(shell date +%s%N)
test: $(INSTALLED)
	$(MAKE) --no-print-directory -j3 lint docs up
	scripts/ensure-chromium
	PY=$(PY) scripts/test-suite $(PYTEST_ARGS)

## docs: the documentation site (Sphinx, offline, warnings as errors) in docs/_build/html
docs: $(INSTALLED)
	rm -rf docs/_build docs/_generated
	DJANGO_SECRET_KEY=docs-only-not-a-secret $(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "docs: docs/_build/html/index.html"

## lint: ruff's checks (pycodestyle, pyflakes, import order, bugbear, pyupgrade, Django)
## and its formatting, as pyproject.toml sets them; make test runs it first
lint: $(INSTALLED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## compat: the support matrix (noxfile.py): the whole suite on Django 4.2 and on 5.2, and
## against the 2024.1 dev cloud; Horizon's browser tests on each Horizon release from 24.0.0
## (2024.1) to 27.0.0; writes the support table in docs/install.md
compat: export DJANGO_SECRET_KEY ?= compat-only-not-a-secret-$(shell date +%s%N)
compat: $(INSTALLED) up
	scripts/ensure-chromium
	$(PY) -m nox $(NOX_ARGS)

## bench: the API's cost next to direct glanceclient, then search by part of a name in a
## catalog of 10,000 it seeds and removes (tables in docs/benchmarks.md); BENCH_ARGS=--quick
bench: export DJANGO_SECRET_KEY ?= benchmark-only-not-a-secret
bench: $(INSTALLED) up
	$(PY) -m benchmarks.run $(BENCH_ARGS)
	$(PY) -m benchmarks.search $(BENCH_ARGS)

## bench-watch: waiting on images through the stack: Glance's requests per second against
## 1 to 1,000 waiters, memory per waiter, other requests' p99 while 1,000 wait, the time
## until every waiter sees a change (docs/benchmarks.md, "Watching"; BENCH_ARGS=--quick)
bench-watch: export DJANGO_SECRET_KEY ?= benchmark-only-not-a-secret
bench-watch: $(INSTALLED) up
	$(PY) -m benchmarks.watch $(BENCH_ARGS)

## bench-panel: Horizon's images panel with 1,000 images in Chromium, on the app and on
## Horizon's own API (docs/benchmarks.md, "The images panel"); BENCH_ARGS=--quick
bench-panel: export DJANGO_SECRET_KEY ?= benchmark-only-not-a-secret
bench-panel: $(INSTALLED) up
	scripts/ensure-chromium
	$(PY) -m benchmarks.panel $(BENCH_ARGS)

## load: 50 clients for 5 minutes through nginx and two instances (LOAD_ARGS=--quick;
## LOAD_ARGS="--tight" for issue 21's shape, "--one-address" for every client behind one)
load: export DJANGO_SECRET_KEY ?= load-only-not-a-secret
load: $(INSTALLED)
	$(PY) -m benchmarks.load $(LOAD_ARGS)

## chaos: make load's mix through the stack while each part is broken in turn (a worker
## killed, an instance stopped, Redis, Keystone, Glance and PostgreSQL restarted, uploads
## broken off): errors per fault, time to recover, nothing lost (CHAOS_ARGS=--quick)
chaos: export DJANGO_SECRET_KEY ?= chaos-only-not-a-secret
chaos: $(INSTALLED)
	$(PY) -m benchmarks.chaos $(CHAOS_ARGS)

up: $(INSTALLED)
	$(PY) -m devcloud up

## stack: the production set-up on loopback: nginx on :8090 in front of two instances, Redis
stack: $(INSTALLED)
	$(PY) -m deploy.stack up

down:
	@if [ -x $(PY) ]; then $(PY) -m deploy.stack down; $(PY) -m devcloud down; \
		DEVCLOUD_RELEASE=2024.1 $(PY) -m devcloud down; fi

status: $(INSTALLED)
	$(PY) -m devcloud status

reset: $(INSTALLED)
	$(PY) -m devcloud reset

seed: $(INSTALLED)
	$(PY) -m devcloud seed

clean: down
	@if [ -x $(PY) ]; then $(PY) -m devcloud purge; \
		DEVCLOUD_RELEASE=2024.1 $(PY) -m devcloud purge; fi
	rm -rf $(VENV) .devcloud var
