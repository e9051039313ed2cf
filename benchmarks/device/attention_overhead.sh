#!/usr/bin/env bash
# Every attention layer's overhead on the device machine's GPU (Keras on JAX, jit, float32): issue 11's GPU table.
#
# Here, once:  make device-bundle   (keras wheels in .whl/; ignored)
# Device tool: run(command="bash benchmarks/device/attention_overhead.sh", carry=[".whl"], timeout_s=590)
# Then, here: copy attention_overhead_gpu.{csv,md} from the returned files to benchmarks/results/speed/.
# `KERAS_BACKEND=jax PYTHONPATH=. python benchmarks/attention_overhead_gpu.py --smoke --out DIR` tries it on a CPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
source benchmarks/device/env.sh
python3 -c "import jax; print('devices:', jax.devices())"
python3 benchmarks/attention_overhead_gpu.py --out "$OUT"
