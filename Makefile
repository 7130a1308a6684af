# nnbook: the two commands a fresh machine needs are `make start` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# nbgrader shells out to `alembic`, so the environment's bin/ must be on PATH.
export PATH := $(abspath $(BIN)):$(PATH)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: start test setup sysdeps build check lab-config

## start: set up everything, then open JupyterLab on chapters/ (the learner's view)
# One BLAS thread per kernel: multi-threaded OpenBLAS on a busy 2-core machine can be 40x slower.
BLAS_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
start: setup lab-config
	$(BLAS_ENV) JUPYTER_CONFIG_PATH=$(LAB_CONFIG) $(BIN)/jupyter lab --ServerApp.root_dir=chapters $(ROOT_FLAG)

# lab-config: the learner's Jupyter configuration, in $(LAB_CONFIG) (git-ignored; the browser tests make
# their own with `make lab-config LAB_CONFIG=/some/absolute/dir`).
#  * nbgrader's Assignment List fails without an exchange directory: give it a private, empty one.
#  * The instructor tools (Formgrader, Course List, Create Assignment) are off: pointed at this checkout
#    they would write gradebook.db into it and could regenerate chapters/ behind nnbook-build's back.
LAB_CONFIG ?= $(abspath .nnbook-lab)
lab-config:
	@mkdir -p $(LAB_CONFIG)/exchange $(LAB_CONFIG)/labconfig
	@printf '{"Exchange": {"root": "%s"}}\n' '$(LAB_CONFIG)/exchange' > $(LAB_CONFIG)/nbgrader_config.json
	@printf '{"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": false, "nbgrader.server_extensions.course_list": false}}}\n' > $(LAB_CONFIG)/jupyter_server_config.json
	@printf '{"disabledExtensions": {"@jupyter/nbgrader:formgrader": true, "@jupyter/nbgrader:course-list": true, "@jupyter/nbgrader:create-assignment": true}}\n' > $(LAB_CONFIG)/labconfig/page_config.json

## test: set up everything (system packages too), then run every test
test: sysdeps setup
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
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
