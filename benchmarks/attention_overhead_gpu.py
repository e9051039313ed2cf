"""Every attention layer's step-time overhead on an accelerator: Keras on JAX, jit_compile=True, float32.

    bash benchmarks/device/attention_overhead.sh      # on the device machine (writes to $OUT)
    KERAS_BACKEND=jax PYTHONPATH=. python benchmarks/attention_overhead_gpu.py --out DIR [--smoke]

Rows: SqueezeNext44 at 32x32x3, batch 256 (none, SE, scSE, ECA, SC-SE axial/mul in three formulations and
conv/mul, CBAM and SCA k=7 in four) and SCAResNet50 at 224x224x3, batch 64 (none, SCA k=7 in four); 10
classes, synthetic data. Compiling dominates (about a minute per SqueezeNext44 training step), so every row is
first compiled in parallel processes into JAX's persistent compilation cache; the one timing process then
reads the executables from it while it warms every row up, and times them round-robin (keras_scse.bench).
"""

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor

CACHE = {"JAX_COMPILATION_CACHE_DIR": os.environ.get("JAX_COMPILATION_CACHE_DIR", "/tmp/jax_cache"),
         "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
os.environ.update(CACHE, KERAS_BACKEND="jax")  # before Keras is imported, here and in the children

from keras_scse.bench import Sweep, entry, grid  # noqa: E402
from keras_scse.bench.runner import run_in_child  # noqa: E402

K_BY_K = ("plain", "banded", "shifted", "batch_as_channels")  # SCA's and CBAM's k x k convs
STRIPS = ("shifted", "plain", "banded")  # SC-SE's strip and channel convs
SCA7 = ("sca", {"kernel_size": 7})
SMALL = dict(models=["SqueezeNext44"], xla=True, batch_size=256)
LARGE = dict(models=["SCAResNet50"], xla=True, batch_size=64, input_size=224)
ROWS = (grid(attentions=[None, "se", "concurrent_se", "eca", ("separable_se", {"spatial": "conv"})], **SMALL)
        + grid(attentions=["separable_se"], formulations=STRIPS, **SMALL)
        + grid(attentions=["cbam", SCA7], formulations=K_BY_K, **SMALL)
        + grid(attentions=[None, SCA7], formulations=K_BY_K, **LARGE))
SWEEPS = {"attention_overhead_gpu": Sweep("attention_overhead_gpu", ROWS, passes=5, steps=10, warmup=2)}


def precompile(sweep):
    """Each row compiled once in its own process, two at a time per 4 CPU cores (into the cache above)."""
    def compile_row(row):
        try:
            run_in_child(dataclasses.replace(sweep, rows=[row], passes=1, steps=1, settle=0), None, log=print)
        except RuntimeError as error:  # the timing run reports it again; the other rows are still worth having
            print("COMPILE FAILED", row.label, row.formulation, error, flush=True)

    with ThreadPoolExecutor(max(1, (os.cpu_count() or 2) // 2)) as pool:
        list(pool.map(compile_row, sweep.rows))


if __name__ == "__main__":
    entry.main(SWEEPS, os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "speed"),
               before=precompile)
