"""Every attention layer's step-time overhead on an accelerator, Keras on JAX with jit_compile=True, float32 (the
GPU rows of issue 11), each conv formulation of the layers that have one-output convs.

Usage (device machine, Keras on JAX): python benchmarks/attention_overhead_gpu.py OUT_FOLDER
  or  bash benchmarks/device/attention_overhead.sh   (what the device tool runs; see that file)
Writes OUT_FOLDER/attention_overhead_gpu.{csv,md}, a row at a time, so a run cut short still reports.
Rows: SqueezeNext44 at 32x32x3, batch 256 (none, SE, scSE, ECA, SC-SE axial/mul and conv/mul, CBAM, SCA k=7)
and SCAResNet50 at 224x224x3, batch 64 (none, SCA k=7); synthetic data, 10 classes; every formulation for
SC-SE's default, CBAM and SCA. Compiling dominates (about a minute for a SqueezeNext44 training step), so every
row is first compiled in parallel processes into JAX's persistent compilation cache, then all are timed one
after another in this process (the accelerator to itself), reading the executables from the cache.
QUICK=1: a tiny version of the same run, to try the script on a CPU.
"""

import csv
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = os.environ.get("QUICK") == "1"
K_BY_K = ("plain", "banded", "shifted", "batch_as_channels")  # SCA's and CBAM's k x k convs
STRIPS = ("shifted", "plain", "banded")  # SC-SE's k x 1 / 1 x k and channel convs, ECA's channel conv


def rows():
    """(model, input size, batch, model kwargs, formulation) of every row, each network's floor first. Every
    formulation where a layer has k x k or strip convs worth choosing between; "auto" for the others."""
    small = ("SqueezeNext44", 32, 8 if QUICK else 256)
    large = ("SqueezeNext44", 32, 4) if QUICK else ("SCAResNet50", 224, 64)
    sca = {"attention": "sca", "attention_kwargs": {"kernel_size": 7}}
    scse = {"attention": "scse"}  # SCSENet44's defaults: axial / mul
    plan = [(*small, {"attention": name}, "auto") for name in (None, "se", "scse_concurrent", "eca")]
    plan += [(*small, scse, how) for how in STRIPS]
    plan += [(*small, {"attention": "scse", "attention_kwargs": {"spatial": "conv"}}, "auto")]
    plan += [(*small, {"attention": "cbam"}, how) for how in K_BY_K]
    plan += [(*small, sca, how) for how in K_BY_K]
    plan += [(*large, {"attention": None}, "auto")] + [(*large, sca, how) for how in K_BY_K]
    return plan


def measure_one(spec, warm_only):
    """In this process: one row (dict); ``warm_only``: one step of each kind, to compile them."""
    import jax

    from keras_scse.bench import BenchConfig, measure
    from keras_scse.layers.base import conv_formulation

    model, size, batch, kwargs, how = spec
    config = BenchConfig(model=model, input_size=size, batch_size=batch, xla=True, classes=10,
                         steps=1 if warm_only else 10, repeats=1 if warm_only else 5, warmup=1 if warm_only else 3,
                         model_kwargs=kwargs)
    with conv_formulation(how):
        row = measure(config)
    device = jax.devices()[0]
    return {**row, "formulation": how, "options": json.dumps(kwargs.get("attention_kwargs", {})),
            "device": f"{device.platform}: {device.device_kind}"}


def compile_in_child(spec, env):
    """Compile one row's steps in a fresh process (into the persistent cache); None, or its error text."""
    done = subprocess.run([sys.executable, __file__, "--compile", json.dumps(spec)], capture_output=True, text=True,
                          env=env)
    return None if done.returncode == 0 else done.stderr[-1500:]


def network(row):
    return row["model"], row["input_size"], row["batch_size"]


def write_tables(out, table):
    """Both files anew from the rows so far; overhead = step time over the same network's row without attention."""
    floors = {network(row): row for row in table if row["attention"] == "none"}
    for row in table:
        floor = floors.get(network(row))
        for mode in ("train", "infer") if floor else ():
            row[f"{mode}_overhead_pct"] = round(100 * (floor[f"{mode}_img_s"] / row[f"{mode}_img_s"] - 1), 1)
    with open(os.path.join(out, "attention_overhead_gpu.csv"), "w", newline="") as f:
        fields = ["model", "attention", "options", "formulation", "input_size", "batch_size", "params", "macs",
                  "train_img_s", "infer_img_s", "train_overhead_pct", "infer_overhead_pct", "keras_backend", "xla"]
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(table)
    lines = [f"Command: `bash benchmarks/device/attention_overhead.sh` ({table[0]['device']}; Keras on JAX, "
             "jit_compile=True, float32, synthetic data; overhead = step time over the same network's without "
             "attention, same run).",
             "", "| network | attention | options | formulation | batch | train img/s | infer img/s | train "
             "overhead | infer overhead |", "|---|---|---|---|---:|---:|---:|---:|---:|"]
    for row in table:
        lines.append(f"| {row['model']} {row['input_size']} px | {row['attention']} | {row['options']} | "
                     f"{row['formulation']} | {row['batch_size']} | {row['train_img_s']:,.0f} | "
                     f"{row['infer_img_s']:,.0f} | {row.get('train_overhead_pct', '-')}% | "
                     f"{row.get('infer_overhead_pct', '-')}% |")
    with open(os.path.join(out, "attention_overhead_gpu.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    if sys.argv[1:2] == ["--compile"]:
        measure_one(tuple(json.loads(sys.argv[2])), warm_only=True)
        return 0
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "benchmarks", "results", "speed")
    os.makedirs(out, exist_ok=True)
    cache = {"JAX_COMPILATION_CACHE_DIR": os.environ.get("JAX_COMPILATION_CACHE_DIR", "/tmp/jax_cache"),
             "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
    # before this process imports Keras: JAX, and the cache the children fill
    os.environ.update(cache, KERAS_BACKEND="jax")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
    plan = rows()
    start = time.time()
    workers = max(1, min(len(plan), (os.cpu_count() or 2) // 2))
    with ThreadPoolExecutor(workers) as pool:
        errors = list(pool.map(lambda spec: compile_in_child(spec, env), plan))
    for spec, error in zip(plan, errors):
        if error:
            print("COMPILE FAILED", spec, error, flush=True)
    print(f"compiled {errors.count(None)}/{len(plan)} rows in {time.time() - start:.0f} s", flush=True)
    import keras

    table = []
    for spec in plan:  # timed one after another in this process, the accelerator to itself
        keras.backend.clear_session()  # the children's layer names, so the same programs
        try:
            row = measure_one(spec, warm_only=False)
        except Exception as error:  # report the row and go on: the others are still worth having
            print("FAILED", spec, repr(error), flush=True)
            continue
        table.append(row)
        write_tables(out, table)
        print(json.dumps({k: row[k] for k in ("model", "attention", "formulation", "options", "train_img_s",
                                              "infer_img_s")}), f"{time.time() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
