# nnbook: the two commands a fresh machine needs are `make start` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# nbgrader shells out to `alembic`, so the environment's bin/ must be on PATH.
export PATH := $(abspath $(BIN)):$(PATH)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: start test setup sysdeps build check lab-only grade

## start: set up everything, then open JupyterLab on chapters/
start: setup
	$(BIN)/jupyter lab --ServerApp.root_dir=chapters $(ROOT_FLAG)

## test: set up everything (system packages too), then run every test
test: sysdeps setup
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## sysdeps: Debian packages the tests need (Chromium for the browser suite, bubblewrap for the grading sandbox)
sysdeps:
	bash .ci/system-deps

## build: regenerate learner notebooks (chapters/) and helper modules (nnbook/) from solutions/
build: setup
	$(BIN)/nnbook-build

## check: fail when anything generated is out of date
check: setup
	$(BIN)/nnbook-build --check
