"""The attention layers' one-output convs computed three ways (``keras_scse.layers.base.conv_formulation``),
timed inside whole training / inference steps of SqueezeNext44 on this CPU, per Keras backend.

Usage: python benchmarks/formulations.py   (writes benchmarks/results/speed/formulations.{csv,md})
Each backend runs in its own process (TensorFlow without XLA, its CPU policy; JAX with XLA, as always). Rows:
SqueezeNext44 without attention (the floor), then SC-SE (SCSENet44 defaults), SCA (k=7) and CBAM in every block,
each formulation. Overhead = step time over the floor's. Batch 128, 32x32x3, 10 classes.
"""

import csv
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "benchmarks", "results", "speed")
BACKENDS = {"tensorflow": False, "jax": True}
ROWS = [(None, None)] + [(attention, how) for attention in ("scse", "sca", "cbam")
                           for how in ("batch_as_channels", "shifted", "banded", "plain")]


def measure_rows(xla):
    """In this process: one row per (attention, formulation)."""
    from keras_scse.bench import BenchConfig, measure
    from keras_scse.layers.base import conv_formulation

    rows = []
    for attention, how in ROWS:
        config = BenchConfig(model="SqueezeNext44", batch_size=128, xla=xla, steps=3, repeats=3, warmup=2,
                             model_kwargs={"attention": attention} if attention else {})
        with conv_formulation(how or "auto"):
            row = measure(config)
        rows.append({**row, "attention": attention or "none", "formulation": how or "-"})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main():
    if len(sys.argv) > 1:  # the child: measure on the backend in KERAS_BACKEND
        print("ROWS " + json.dumps(measure_rows(sys.argv[1] == "xla")))
        return
    rows = []
    for backend, xla in BACKENDS.items():
        done = subprocess.run([sys.executable, __file__, "xla" if xla else "no-xla"], capture_output=True,
                              text=True, env={**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": ROOT})
        lines = [line for line in done.stdout.splitlines() if line.startswith("ROWS ")]
        if not lines:
            raise SystemExit(f"{backend} failed: {done.stderr[-2000:]}")
        rows += json.loads(lines[-1][5:])
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "formulations.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| backend | attention | formulation | train ms/step | overhead | infer ms/step | overhead |",
             "|---|---|---|---:|---:|---:|---:|"]
    floor = {r["keras_backend"]: r for r in rows if r["attention"] == "none"}
    for r in rows:
        base = floor[r["keras_backend"]]
        over = {mode: f"{100 * (r[f'{mode}_step_ms'] / base[f'{mode}_step_ms'] - 1):+.0f}%" for mode in ("train", "infer")}
        lines.append(f"| {r['keras_backend']} | {r['attention']} | {r['formulation']} | {r['train_step_ms']} | "
                     f"{over['train']} | {r['infer_step_ms']} | {over['infer']} |")
    with open(os.path.join(OUT, "formulations.md"), "w") as f:
        f.write("Command: `python benchmarks/formulations.py` (2-core CPU; SqueezeNext44 with attention in all 42 "
                "blocks, batch 128, 32x32x3; TensorFlow without XLA, JAX with XLA).\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
