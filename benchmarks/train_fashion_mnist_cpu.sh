#!/usr/bin/env bash
# The shipped-weights run of issue 13 on a CPU (TensorFlow; the device script does the same on a GPU):
# SCSENet44 on Fashion-MNIST, 32 px, 40 epochs, batch 256, the 'sgd' recipe, seeds one after another.
# Resumable: run it again after an interruption and each seed goes on from its last finished epoch; a seed with a
# metrics.json is done and skipped. About 165 s an epoch on the 2-core machine (~2 h a seed).
#   nohup bash benchmarks/train_fashion_mnist_cpu.sh > runs/cpu/nohup.log 2>&1 &
# Then: python benchmarks/package_weights.py runs/cpu/SCSENet44-seed<N> <file name>.
set -uo pipefail
cd "$(dirname "$0")/.."
export KERAS_BACKEND=${KERAS_BACKEND:-tensorflow} PYTHONUNBUFFERED=1
EPOCHS=${EPOCHS:-40} SEEDS=${SEEDS:-"0 1"}
mkdir -p runs/cpu
for seed in $SEEDS; do
  run=runs/cpu/SCSENet44-seed$seed
  [ -f "$run/metrics.json" ] && continue
  .venv/bin/keras-scse train --model SCSENet44 --dataset fashion_mnist --image-size 32 --epochs "$EPOCHS" \
    --batch-size 256 --seed "$seed" --run-dir "$run" --verbose 2 >> "$run.log" 2>&1 || exit $?
done
