# Every target creates/uses .venv by itself. `make demo` and `make test` are the README's Quick start.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test test-slow bench models-table fashion-mnist clean

$(BIN)/activate:
	@$(PYTHON) -m venv $(VENV) || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }

$(VENV)/.installed: $(BIN)/activate setup.cfg pyproject.toml
	$(BIN)/pip install -q -e '.[test,tune,export]'
	@touch $@

# Real data for the demo: Debian's package (needs root); otherwise say how to get it.
fashion-mnist:
	@if [ ! -f $(FASHION_MNIST) ] && [ -z "$$KERAS_SCSE_FASHION_MNIST" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	  else echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist', or set KERAS_SCSE_FASHION_MNIST to a folder with its idx files." >&2; exit 1; fi; \
	fi

demo: $(VENV)/.installed fashion-mnist
	$(BIN)/keras-scse demo

test: $(VENV)/.installed fashion-mnist
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: $(VENV)/.installed fashion-mnist
	$(BIN)/python -m pytest -q -m slow

models-table: $(VENV)/.installed
	$(BIN)/python benchmarks/model_table.py

clean:
	rm -rf $(VENV) runs .pytest_cache
