#!/usr/bin/env bash
# The attention study on this machine, in the background, resumable across working days:
#   nohup bash benchmarks/run_attention_study.sh >> ~/.cache/keras_scse/runs/attention_study.log 2>&1 &
# The code runs from a clone of HEAD (so every run records the commit it really ran), the results CSV is written
# in this checkout: commit it as rows arrive. `keras-scse study status <spec>` shows progress and time left.
# STUDY_JOBS=2 trains two runs at once (each run folder is locked; the second job logs beside the run folders): on
# the 2-core CPU one training leaves about half a core idle; a second one beside it was seen to add ~60% more
# epochs per hour (its own epochs slower, the first's hardly).
set -euo pipefail
cd "$(dirname "$0")/.."
spec=benchmarks/results/attention_study/spec.json
runs=${KERAS_SCSE_RUNS:-$HOME/.cache/keras_scse/runs}
code=$runs/code/$(git rev-parse --short HEAD)
[ -d "$code" ] || git clone -q . "$code"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1 PYTHONPATH=$code
for job in $(seq 2 "${STUDY_JOBS:-1}"); do
  nice -n 10 .venv/bin/python -P -m keras_scse.cli study run "$spec" >> "$runs/attention_study_job$job.log" 2>&1 &
done
nice -n 10 .venv/bin/python -P -m keras_scse.cli study run "$spec"
wait
