#!/usr/bin/env bash
# The attention study on this machine, in the background, resumable across working days:
#   nohup bash benchmarks/run_attention_study.sh >> ~/.cache/keras_scse/runs/attention_study.log 2>&1 &
# The code runs from a clone of HEAD (so every run records the commit it really ran), the results CSV is written
# in this checkout: commit it as rows arrive. `keras-scse study status <spec>` shows progress and time left.
set -euo pipefail
cd "$(dirname "$0")/.."
spec=benchmarks/results/attention_study/spec.json
code=${KERAS_SCSE_RUNS:-$HOME/.cache/keras_scse/runs}/code/$(git rev-parse --short HEAD)
[ -d "$code" ] || git clone -q . "$code"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1 PYTHONPATH=$code
exec .venv/bin/python -P -m keras_scse.cli study run "$spec"
