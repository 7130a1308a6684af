# nnbook: the two commands a fresh machine needs are `make start` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# nbgrader shells out to `alembic`, so the environment's bin/ must be on PATH.
export PATH := $(abspath $(BIN)):$(PATH)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: start test setup sysdeps fonts build check lab-config class class-env proxy

## start: set up everything, then open JupyterLab on chapters/ (the learner's view);
##        `make start EDITION=ko`: the Korean edition (chapters-ko/, Korean lab, messages and figures)
# One BLAS thread per kernel: multi-threaded OpenBLAS on a busy 2-core machine can be 40x slower.
BLAS_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# The edition is EDITION, not LANG: LANG is the locale every program reads (`make start LANG=ko` would hand
# the lab the locale "ko", which does not exist), so it is refused with a pointer to EDITION.
EDITION ?= en
ifeq ($(origin LANG),command line)
ifneq ($(filter en ko,$(LANG)),)
$(error LANG is the locale, not the book's edition: run `make start EDITION=$(LANG)`)
endif
endif
ifeq ($(filter en ko,$(EDITION)),)
$(error EDITION must be en or ko, not '$(EDITION)')
endif
EDITION_DIR  := $(if $(filter ko,$(EDITION)),chapters-ko,chapters)
# the Korean lab: JupyterLab's Korean language pack chosen in a settings folder of its own (an English
# lab keeps the learner's own settings)
EDITION_ARGS = $(if $(filter ko,$(EDITION)),--LabApp.user_settings_dir=$(LAB_CONFIG)/user-settings-ko,)
start: setup lab-config $(if $(filter ko,$(EDITION)),fonts,)
	$(BLAS_ENV) NNBOOK_LANG=$(EDITION) JUPYTER_CONFIG_PATH=$(LAB_CONFIG) $(BIN)/jupyter lab \
	    --ServerApp.root_dir=$(EDITION_DIR) $(EDITION_ARGS) $(ROOT_FLAG)

## fonts: a font with Hangul for the Korean edition's figures (Debian's fonts-nanum)
fonts:
	bash .ci/system-deps fonts || echo "fonts: no font with Hangul could be installed: Korean figures will show boxes"

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
	@mkdir -p $(LAB_CONFIG)/user-settings-ko/@jupyterlab/translation-extension
	@printf '{"locale": "ko_KR"}\n' > $(LAB_CONFIG)/user-settings-ko/@jupyterlab/translation-extension/plugin.jupyterlab-settings

## class: as root, a class on this machine: demo accounts (instructor; alice, bob), nbgrader's exchange,
## JupyterHub on http://127.0.0.1:8000/ and grading on submit (autograde/hub/, autograde/watch.py)
CLASS_DIR    ?= /srv/nnbook
CLASS_PYTHON ?= /usr/bin/python3
# The learners' servers run as the learners' own accounts: their Python must be one every account can run
# (this checkout's .venv may point at an interpreter under root's home), so the class has its own venv.
CLASS_VENV   ?= /srv/nnbook/venv
NODE_PREFIX  := $(abspath .nnbook-node)
PROXY        := $(NODE_PREFIX)/node_modules/.bin/configurable-http-proxy
class: sysdeps class-env proxy
	NNBOOK_PROXY=$(PROXY) $(CLASS_VENV)/bin/python -m autograde.hub.class_setup --class-dir $(CLASS_DIR) --edition $(EDITION) $(CLASS_ARGS)

# The class environment installs this checkout as a package (not editable): the learners' servers
# import nnbook and autograde from the venv and never read the checkout (its solutions/, hidden
# tests included), which may stay private. Reinstalled when a packaged file changes; one stamp per checkout.
CLASS_STAMP  := $(CLASS_VENV)/.installed$(subst /,-,$(abspath .))
PACKAGED     := $(shell find nnbook autograde -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null)
class-env: $(CLASS_STAMP)

$(CLASS_STAMP): pyproject.toml $(PACKAGED)
	test -x $(CLASS_VENV)/bin/python || $(CLASS_PYTHON) -m venv $(CLASS_VENV)
	$(CLASS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CLASS_VENV)/bin/python -m pip install --quiet .
	rm -rf build
	# no news or update checks in the learners' labs (no internet; nothing to ask them)
	mkdir -p $(CLASS_VENV)/share/jupyter/lab/settings
	printf '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}\n' \
	    > $(CLASS_VENV)/share/jupyter/lab/settings/overrides.json
	chmod -R a+rX $(CLASS_VENV)
	rm -f $(CLASS_VENV)/.installed*
	touch $@

## proxy: JupyterHub's configurable-http-proxy, from npm, into the git-ignored .nnbook-node/
proxy: $(PROXY)

$(PROXY):
	npm install --prefix $(NODE_PREFIX) --no-audit --no-fund --loglevel=error 'configurable-http-proxy@^5'

## test: set up everything (system packages too), then run every test
# Three test processes on two cores: a third of the suite's time is spent waiting (kernels starting, cell
# time limits of the faulty learners, a Dask scheduler, PostgreSQL, the hub, the browser), which a third
# process fills (measured here: 17:39 with three in a working tree; 20:02 with two on a fresh clone, before
# the variants were graded together).
test: sysdeps setup class-env proxy
	$(BIN)/python -m pytest -n 3 --dist loadfile --durations=15 $(PYTEST_ARGS)

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
