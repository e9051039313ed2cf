#!/usr/bin/env bash
# Train SCSENet44 on Fashion-MNIST on the device machine (GPU, Keras on JAX, no TensorFlow: the numpy pipeline),
# one process per seed at once on the one GPU; logs, metrics, histories and best.keras files go to $OUT.
#
# Here, once:  make device-bundle   (keras wheels in .whl/, the idx files in .data/fashion-mnist/; both ignored)
# Device tool: run(command="bash benchmarks/device/train_fashion_mnist.sh", carry=[".whl", ".data"], timeout_s=590)
# Settings (environment): EPOCHS (40), SEEDS ("0 1"), BATCH (256), MODEL (SCSENet44), EXTRA (more train flags),
# LIMIT (first N training images; for trying the script on a CPU).
# Then, here: python benchmarks/package_weights.py <run folder with best.keras + metrics.json> <file name>.
set -euo pipefail
cd "$(dirname "$0")/../.."
source benchmarks/device/env.sh
export KERAS_SCSE_FASHION_MNIST=${KERAS_SCSE_FASHION_MNIST:-$PWD/.data/fashion-mnist}
EPOCHS=${EPOCHS:-40} SEEDS=${SEEDS:-"0 1"} BATCH=${BATCH:-256} MODEL=${MODEL:-SCSENet44}
python3 -c "import jax; print('devices:', jax.devices())" | tee "$OUT/devices.txt"
for seed in $SEEDS; do
  python3 -m keras_scse.cli train --model "$MODEL" --dataset fashion_mnist --image-size 32 --epochs "$EPOCHS" \
    --batch-size "$BATCH" --seed "$seed" --run-dir "runs/device/$MODEL-seed$seed" --verbose 2 \
    ${LIMIT:+--limit "$LIMIT"} ${EXTRA:-} > "$OUT/$MODEL-seed$seed.log" 2>&1 &
done
status=0
wait || status=$?
for seed in $SEEDS; do  # 4 files a seed ($OUT takes 8)
  run="runs/device/$MODEL-seed$seed"
  for name in metrics.json history.csv best.keras; do
    [ -f "$run/$name" ] && cp "$run/$name" "$OUT/$MODEL-seed$seed-$name"
  done
done
rm -f "$OUT/devices.txt"
grep -h "test accuracy" "$OUT"/*.log || true
exit $status
