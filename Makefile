# kuaike — every routine has one entry point here; `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help system assets venv test test-containers image lint format bench demo clean
# podman reads the repository's settings (containers/containers.conf), never /etc's.
export CONTAINERS_CONF := $(CURDIR)/containers/containers.conf
IMAGE ?= localhost/kuaike:latest

help:  ## list the routines
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

system:  ## install the system packages kuaike's tests need (PostgreSQL, MariaDB), via apt-get as root
	@bash scripts/system-packages.sh

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "kuaike needs Python >= 3.11 (found $$($(PYTHON) --version))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The pages' front-end libraries: installed from the npm registry (web/package-lock.json) and
# copied into the package (gitignored, shipped in the wheel); never a CDN, never committed.
VENDOR := src/kuaike/serve/pages/static/vendor
$(VENDOR)/.copied: web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "the pages need npm (apt-get install npm)"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp web/node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts.min.js
	cp web/node_modules/echarts-map/map/json/china.json $(VENDOR)/china.json
	cp web/node_modules/echarts/LICENSE $(VENDOR)/LICENSE-echarts.txt
	@touch $@

assets: $(VENDOR)/.copied  ## install the pages' front-end libraries (ECharts, the China map) from npm

venv: $(STAMP) assets  ## create or update .venv with kuaike and its development tools

test: system venv assets  ## run the test suite against real servers (the container tests: test-containers)
	PYTEST_DEBUG_TEMPROOT=$$(mktemp -d) $(BIN)/pytest -q -m 'not containers'  # a private temp root: concurrent runs never clean up each other

test-containers: system venv  ## build the image and run it and the compose stack with podman (root)
	PYTEST_DEBUG_TEMPROOT=$$(mktemp -d) $(BIN)/pytest -q -m containers tests/containers

image: system  ## build the kuaike image with podman (IMAGE=localhost/kuaike:latest; docs/deploy.md)
	@bash containers/build-image.sh $(IMAGE)

lint: venv  ## ruff (lint + format check) and mypy (strict on src/, relaxed on tests/)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/mypy --config-file tests/mypy.ini tests

format: venv  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests bench scripts
	$(BIN)/ruff format src tests bench scripts

demo: system venv assets  ## a carrier in a box, live in the browser: open the URL it prints (Ctrl-C stops)
	$(BIN)/kuaike demo

bench: system venv  ## run every benchmark in bench/ (prints figures)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
