# gan_lab: `make demo` trains a DCGAN in quick mode and writes a GIF; `make test` runs all tests.
# Everything runs in a project-local virtual environment, .venv/, created on first use.

PYTHON ?= python3.11
# Hide TensorFlow's C++ start-up chatter (set TF_CPP_MIN_LOG_LEVEL=0 to see it).
export TF_CPP_MIN_LOG_LEVEL ?= 2
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install install-gpu demo test unit notebooks lint format strip lab test-lab test-fast data bench quality clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install-gpu: $(STAMP)  ## swap in TensorFlow with its CUDA libraries (GPU instances)
	$(PY) -m pip install "tensorflow[and-cuda]==$$($(PY) -c 'import tensorflow as tf; print(tf.__version__)')"

demo: $(STAMP)  ## train the DCGAN in quick mode on synthetic digits; prints the GIF's path
	$(VENV)/bin/gan-lab train dcgan --quick

test: lint unit notebooks  ## what CI runs: everything

unit: $(STAMP)  ## every unit test, the slow ones included
	$(PY) -m pytest tests --durations=10

test-fast: $(STAMP)  ## the edit-test loop: unit tests not marked slow (no training runs)
	$(PY) -m pytest tests -m "not slow"

# Each lesson runs through its parameters cell alone (papermill -p QUICK True) with GAN_LAB_QUICK
# unset and an empty data folder: quick mode must follow from the cell, offline. (make test-lab
# runs them again in JupyterLab with GAN_LAB_QUICK=1, as `make lab` users do.)
notebooks: $(STAMP)  ## execute every lesson in quick mode from its parameters cell, offline
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; for nb in notebooks/*.ipynb; do \
	  echo "papermill $$nb -p QUICK True (GAN_LAB_QUICK unset, no data)"; start=$$(date +%s); \
	  env -u GAN_LAB_QUICK GAN_LAB_DATA_DIR="$$tmp/data" $(VENV)/bin/papermill --log-level ERROR \
	    "$$nb" "$$tmp/$$(basename $$nb)" -p QUICK True || exit 1; \
	  echo "  ok in $$(( $$(date +%s) - start )) s"; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/nbstripout --verify --keep-id notebooks/*.ipynb

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

strip: $(STAMP)  ## remove outputs from the notebooks before committing
	$(VENV)/bin/nbstripout --keep-id notebooks/*.ipynb

PORT ?= 8888
lab: $(STAMP)  ## JupyterLab on the lessons at localhost:$(PORT); prints its URL and an SSH tunnel command
	$(PY) tools/lab.py --port $(PORT) notebooks

LAB_STAMP := $(VENV)/.installed-lab
CHROMIUM := /usr/bin/chromium

$(LAB_STAMP): requirements-lab.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-lab.txt
	touch $(LAB_STAMP)

test-lab: $(LAB_STAMP)  ## run every lesson in JupyterLab in headless Chromium (quick mode); screenshots in outputs/test-lab/
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium (for the browser test)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends chromium fonts-dejavu-core fonts-liberation; \
	  else \
	    echo "make test-lab needs $(CHROMIUM): sudo apt-get install chromium"; exit 1; \
	  fi; }
	$(PY) -m pytest tests_lab -v -s

data: $(STAMP)  ## find or download the real datasets into data/ (or $$GAN_LAB_DATA_DIR); reports each
	$(PY) -m gan_lab.data

bench: $(STAMP)  ## time gan_lab's train steps against tutorial-style baselines (minutes; not a test)
	$(PY) benchmarks/bench.py

quality: $(STAMP)  ## final numbers under float32 vs mixed_bfloat16 over 3 seeds (about 30 min; not a test)
	$(PY) benchmarks/quality.py

clean:
	rm -rf $(VENV) outputs
