# gan_lab: `make demo` trains a DCGAN in quick mode and writes a GIF; `make test` runs all tests.
# Everything runs in a project-local virtual environment, .venv/, created on first use.

# Any Python 3.11, 3.12 or 3.13 (TensorFlow 2.21 has wheels for 3.10-3.13; numpy 2.4 needs 3.11+).
# Another interpreter: make PYTHON=python3.12 install
PYTHON ?= python3
# Hide TensorFlow's C++ start-up chatter (set TF_CPP_MIN_LOG_LEVEL=0 to see it).
export TF_CPP_MIN_LOG_LEVEL ?= 2
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install install-gpu demo test unit notebooks lint format strip lab test-lab test-fast data bench quality clean reference

install: $(STAMP)  ## .venv, and the lessons' Jupyter kernel "gan_lab" for your user (any JupyterLab)
	@$(PY) tools/kernel.py --user

# The venv and its own copy of the "gan_lab" kernel (what make lab, nbval and papermill use).
$(STAMP): requirements.txt pyproject.toml tools/kernel.py tools/gan_lab_kernel.py
	@test -x $(PY) || command -v $(PYTHON) >/dev/null || { echo "$(NO_PYTHON)" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -c '$(CHECK_PYTHON)'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) tools/kernel.py --sys-prefix
	touch $(STAMP)

NO_PYTHON = gan_lab: $(PYTHON) not found. Install Python 3.11, 3.12 or 3.13 and name it: make PYTHON=python3.12 ...
CHECK_PYTHON = import sys; v = sys.version_info[:2]; sys.exit(None if (3, 11) <= v <= (3, 13) else "gan_lab: needs Python 3.11, 3.12 or 3.13 (TensorFlow 2.21), but $(PYTHON) is %d.%d: make PYTHON=python3.12 ... (or another of these)" % v)

# Needs an NVIDIA driver for CUDA 12: 525.60.13 or newer (TF 2.21 is built with CUDA 12.5, cuDNN 9).
install-gpu: $(STAMP)  ## swap in TensorFlow with its CUDA 12 libraries (GPU instances)
	$(PY) -m pip install "tensorflow[and-cuda]==$$($(PY) -c 'import tensorflow as tf; print(tf.__version__)')"
	@$(PY) -c '$(CHECK_GPU)'

CHECK_GPU = import tensorflow as tf; n = len(tf.config.list_physical_devices("GPU")); print(f"TensorFlow sees {n} GPU(s)" + ("" if n else "; it needs an NVIDIA driver 525.60.13 or newer (nvidia-smi shows it)"))

demo: $(STAMP)  ## train the DCGAN in quick mode on synthetic digits; prints the GIF's path
	$(VENV)/bin/gan-lab train dcgan --quick

test: lint unit notebooks  ## what CI runs: everything

unit: $(STAMP)  ## every unit test, the slow ones included
	$(PY) -m pytest tests --durations=10

test-fast: $(STAMP)  ## the edit-test loop: unit tests not marked slow (no training runs)
	$(PY) -m pytest tests -m "not slow"

# nbval executes each lesson as committed (stripped) with the "gan_lab" kernel it names; a cell
# that raises fails. Quick mode must follow from the parameters cell alone: GAN_LAB_QUICK unset,
# an empty data folder and no network (downloads meet a closed port), so QUICK = None has to
# choose quick mode on this GPU-less machine and nothing may need real data. With an NVIDIA GPU,
# QUICK = None means full mode: there GAN_LAB_QUICK=1 keeps the lessons quick (and says so).
# (make test-lab runs them again in JupyterLab, as `make lab` users do.) The gan_lab kernel loads
# TensorFlow before it answers, hence the generous start-up timeout.
NBVAL_CELL_TIMEOUT ?= 1800
notebooks: $(STAMP)  ## nbval: execute every lesson in quick mode from its parameters cell, offline
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; quick="-u GAN_LAB_QUICK"; \
	if [ -f /proc/driver/nvidia/version ]; then quick=GAN_LAB_QUICK=1; \
	  echo "NVIDIA GPU here: GAN_LAB_QUICK=1 keeps the lessons in quick mode"; fi; \
	offline=http://127.0.0.1:9; env $$quick GAN_LAB_DATA_DIR="$$tmp/data" \
	  GAN_LAB_OUTPUT_DIR="$$tmp/outputs" http_proxy=$$offline https_proxy=$$offline \
	  HTTP_PROXY=$$offline HTTPS_PROXY=$$offline no_proxy= NO_PROXY= \
	  $(PY) -m pytest --nbval-lax --nbval-cell-timeout=$(NBVAL_CELL_TIMEOUT) notebooks/ \
	  --nbval-kernel-startup-timeout=300 --durations=0 -v

# The lessons' reference runs on the real datasets (gan_lab/reference.py says what and why):
# hours on a CPU, resumable (run it again to continue), not part of make test. It writes
# notebooks/reference/<name>/, which the lessons show. REFERENCES="pix2pix cyclegan": some.
REFERENCES ?=
reference: $(STAMP)  ## make reference DATA_DIR=<folder with mnist/, facades/, apple2orange/>
	@test -n "$(DATA_DIR)" || { echo "make reference needs DATA_DIR=<folder holding mnist/, facades/ and apple2orange/>" >&2; exit 2; }
	$(PY) -m gan_lab.reference --data-dir "$(DATA_DIR)" $(REFERENCES)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/nbstripout --verify --keep-id notebooks/*.ipynb
	$(PY) tools/kernel.py --check notebooks/*.ipynb

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
