# Every target creates/uses .venv by itself. `make demo` and `make test` are the README's Quick start.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test lint test-slow bench peer study models-table fashion-mnist device-bundle clean

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
	$(BIN)/python -m pytest -q -m "not slow" -n auto --dist loadfile --durations=10

lint: $(VENV)/.installed
	$(BIN)/ruff check .

test-slow: $(VENV)/.installed fashion-mnist
	$(BIN)/python -m pytest -q -m slow

# Speed: one SCSENet44 benchmark; docs/speed.md's tables and plots (~1 h on 2 cores), then the counts.
# The formulation tables take hours: see benchmarks/results/speed/README.md. BENCH_ARGS=--smoke tries the code.
bench: $(VENV)/.installed
	$(BIN)/keras-scse bench --model SCSENet44 --input-size 32 --batch-size 128 --xla off on --onnx
	PYTHONPATH=. $(BIN)/python benchmarks/speed_table.py $(BENCH_ARGS)
	PYTHONPATH=. $(BIN)/python benchmarks/overhead_table.py

# Keras vs the PyTorch twin (installs the `peer` extra: torch 2.13.0, CPU build).
peer: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[peer]'
	PYTHONPATH=. $(BIN)/python benchmarks/peer_compare.py

# The attention study on Fashion-MNIST (keras_scse.study; resumes where it stopped). It supersedes the old
# ablation (benchmarks/results/ablation/README.md).
study: $(VENV)/.installed fashion-mnist
	$(BIN)/keras-scse study run benchmarks/results/attention_study/spec.json

models-table: $(VENV)/.installed
	PYTHONPATH=. $(BIN)/python benchmarks/model_table.py

# What benchmarks/device/*.sh need on the GPU machine (no network, no TensorFlow): keras wheels, the idx files.
device-bundle: fashion-mnist
	$(BIN)/pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl keras==$$($(BIN)/python -c 'import keras; print(keras.__version__)') namex optree
	mkdir -p .data/fashion-mnist && cp $${KERAS_SCSE_FASHION_MNIST:-$(dir $(FASHION_MNIST))}/*-ubyte.gz .data/fashion-mnist/

clean:
	rm -rf $(VENV) runs .pytest_cache
