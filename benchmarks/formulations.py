"""The attention layers' one-output convs computed four ways (``keras_scse.layers.base.conv_formulation``),
timed inside whole training / inference steps of SqueezeNext44 on this CPU, per Keras backend.

Usage: python benchmarks/formulations.py [--layers NAME ...] [--out STEM]
  (writes benchmarks/results/speed/STEM.{csv,md}; default: every layer, "formulations"; each row traces a
  44-block model, about 2 minutes, so the whole table takes hours)
Each backend runs in its own process (TensorFlow without XLA, its CPU policy; JAX with XLA, as always). Rows:
SqueezeNext44 without attention (the floor), then every registered layer in every block: SE (no one-output conv:
one row), ECA, SC-SE (SCSENet44 defaults, axial/mul) and its conv spatial branch, SCA (k=7) and CBAM in each of
the four formulations; scSE, whose only one-output conv is 1x1 (a matmul in every formulation but "plain"), as
"plain" and "matmul"; SC-SE's other fusions with each backend's "auto". Overhead = step time over the floor's.
All rows of a backend are traced first, then timed round-robin (see ``measure_rows``): measured one after
another, the same floor took 275 to 439 ms a training step in three runs of one afternoon on this machine.
Round-robin keeps every model of a backend in memory, about 1 GB each under TensorFlow (20 rows filled this
machine's 24 GB): measure the layers in groups (``--layers``) here. Batch 128, 32x32x3, 10 classes.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "benchmarks", "results", "speed")
BACKENDS = {"tensorflow": False, "jax": True}
BATCH, ROUNDS, STEPS = 128, 5, 3  # each row: the median of 5 passes of 3 steps (after one untimed step)
EVERY_WAY = ("batch_as_channels", "shifted", "banded", "plain")
# (row label, attention, attention_kwargs, formulations); "matmul" runs as "shifted" (any non-plain is the same
# 1x1 matmul), "-" means the layer has no one-output conv.
ROWS = [("none", None, {}, ("-",)), ("se", "se", {}, ("-",)), ("eca", "eca", {}, EVERY_WAY),
        ("scse axial/mul", "scse", {}, EVERY_WAY), ("scse conv/mul", "scse", {"spatial": "conv"}, EVERY_WAY),
        *[(f"scse {spatial}/{fusion}", "scse", {"spatial": spatial, "fusion": fusion}, ("auto",))
          for spatial in ("axial", "conv") for fusion in ("add", "max")],
        ("scse_concurrent", "scse_concurrent", {}, ("plain", "matmul")),
        ("sca", "sca", {}, EVERY_WAY), ("cbam", "cbam", {}, EVERY_WAY)]
LAYERS = list(dict.fromkeys(attention for _, attention, _, _ in ROWS if attention))


def measure_rows(xla, layers):
    """In this process: one row per (attention, formulation), for the floor and the attention names in
    ``layers``. Every model is built and traced first, then all are timed in ``ROUNDS`` round-robin passes and
    each row reports its median pass, so that slow drifts of this shared machine fall on every row alike."""
    import keras

    from keras_scse.bench.speed import BenchConfig, build_model, compile_for_timing, random_batch, timed_steps
    from keras_scse.layers.base import conv_formulation

    x, y = random_batch(BenchConfig(batch_size=BATCH))  # 32x32x3, 10 classes, seed 0
    runs = []
    for label, attention, attention_kwargs, ways in ROWS:
        if attention is not None and attention not in layers:
            continue
        for how in ways:
            model_kwargs = {"attention": attention, "attention_kwargs": attention_kwargs} if attention else {}
            model = build_model(BenchConfig(model="SqueezeNext44", batch_size=BATCH, model_kwargs=model_kwargs))
            compile_for_timing(model, xla)
            steps = {"train": lambda m=model: m.train_on_batch(x, y), "infer": lambda m=model: m.predict_on_batch(x)}
            with conv_formulation({"-": "auto", "matmul": "shifted"}.get(how, how)):
                for step in steps.values():  # traced here, so each keeps this formulation
                    step()
            runs.append(({"keras_backend": keras.backend.backend(), "attention": label, "formulation": how,
                          "params": model.count_params()}, steps))
            print(f"traced {label} {how}", file=sys.stderr, flush=True)
    times = [{"train": [], "infer": []} for _ in runs]
    for _ in range(ROUNDS):
        for (_, steps), measured in zip(runs, times):
            for mode, step in steps.items():
                measured[mode].append(1000 * timed_steps(step, steps=STEPS, repeats=1, warmup=1))
    rows = []
    for (row, _), measured in zip(runs, times):
        for mode, ms in measured.items():
            row[f"{mode}_step_ms"] = round(statistics.median(ms), 2)
            row[f"{mode}_ms_per_round"] = " ".join(f"{t:.1f}" for t in ms)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", nargs="+", default=LAYERS, choices=LAYERS,
                        help="attention names to measure (default: all); the floor is always measured")
    parser.add_argument("--out", default="formulations", help="file stem under benchmarks/results/speed/")
    parser.add_argument("--child", choices=("xla", "no-xla"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # the child: measure on the backend in KERAS_BACKEND
        print("ROWS " + json.dumps(measure_rows(args.child == "xla", args.layers)))
        return
    rows = []
    for backend, xla in BACKENDS.items():
        command = [sys.executable, __file__, "--child", "xla" if xla else "no-xla", "--layers", *args.layers]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": ROOT})
        result = None
        for line in child.stdout:  # each row as it is measured (the whole table takes hours)
            if line.startswith("ROWS "):
                result = json.loads(line[5:])
            else:
                print(line, end="", flush=True)
        if child.wait() or result is None:
            raise SystemExit(f"{backend} failed (exit {child.returncode}); its error output is above.")
        rows += result
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, f"{args.out}.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| backend | attention | formulation | train ms/step | overhead | infer ms/step | overhead |",
             "|---|---|---|---:|---:|---:|---:|"]

    floor = {(r["keras_backend"], mode): r[f"{mode}_step_ms"] for r in rows if r["attention"] == "none"
             for mode in ("train", "infer")}
    for r in rows:
        over = {mode: f"{100 * (r[f'{mode}_step_ms'] / floor[r['keras_backend'], mode] - 1):+.0f}%"
                for mode in ("train", "infer")}
        lines.append(f"| {r['keras_backend']} | {r['attention']} | {r['formulation']} | {r['train_step_ms']} | "
                     f"{over['train']} | {r['infer_step_ms']} | {over['infer']} |")
    with open(os.path.join(OUT, f"{args.out}.md"), "w") as f:
        command = " ".join(["python benchmarks/formulations.py", *sys.argv[1:]])
        f.write(f"Command: `{command}` (2-core CPU; SqueezeNext44 with attention in all 42 "
                "blocks, batch 128, 32x32x3; TensorFlow without XLA, JAX with XLA; 'matmul': scSE's 1x1 conv "
                "as a matmul, any formulation but plain; 'auto': the backend's rule, "
                "keras_scse.layers.base.formulation).\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
