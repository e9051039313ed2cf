"""Which attention design wins: SqueezeNext44 with each attention layer on Fashion-MNIST, several seeds.

One fixed recipe for every variant: the package's "sgd" recipe (Nesterov SGD, lr 0.1 at batch 128, 1 warm-up
epoch, cosine decay, label smoothing 0.1, weight decay 5e-4), no augmentation, the first ``--limit`` training
images, ``--epochs`` epochs, test accuracy on the full 10,000-image Fashion-MNIST test set, 32x32 input
(SqueezeNext44's default size: the ImageNet stem leaves maps of 8, 4, 2 and 1 px in the four stages).

    PYTHONPATH=. nohup .venv/bin/python benchmarks/ablation.py > benchmarks/results/ablation/log.txt 2>&1 &
    PYTHONPATH=. .venv/bin/python benchmarks/ablation.py --report-only      # tables + plot from runs so far

Each (variant, seed) runs in its own process (one CPU thread each, ``--jobs`` at a time) and writes one JSON
file to benchmarks/results/ablation/runs/; re-running skips the finished ones, so an interrupted ablation
continues where it stopped. ``step_ms`` is the median training step time of the last epoch in that process:
comparable between variants of one ablation (same load), not a speed benchmark (see benchmarks/speed.py).
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "benchmarks", "results", "ablation")

# name -> (attention, attention_kwargs). SC-SE: every spatial variant x fusion; SCA: both fusions.
VARIANTS = {
    "none": (None, {}),
    "se": ("se", {}),
    "scse (Roy)": ("scse_concurrent", {}),
    "eca": ("eca", {}),
    "cbam": ("cbam", {}),
    "sc-se conv/add": ("scse", {"spatial": "conv", "fusion": "add"}),
    "sc-se conv/max": ("scse", {"spatial": "conv", "fusion": "max"}),
    "sc-se conv/mul": ("scse", {"spatial": "conv", "fusion": "mul"}),
    "sc-se axial/add": ("scse", {"spatial": "axial", "fusion": "add"}),
    "sc-se axial/max": ("scse", {"spatial": "axial", "fusion": "max"}),
    "sc-se axial/mul": ("scse", {"spatial": "axial", "fusion": "mul"}),
    "sca mul": ("sca", {"fusion": "mul"}),
    "sca mean": ("sca", {"fusion": "mean"}),
}
FIELDS = ["variant", "seed", "test_accuracy", "train_accuracy", "params", "macs", "step_ms", "wall_s"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", nargs="*", default=list(VARIANTS), help="names from VARIANTS (default: all)")
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    p.add_argument("--limit", type=int, default=10000, help="training images (the first N of the train split)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--jobs", type=int, default=2, help="runs at a time (each uses one CPU thread)")
    p.add_argument("--out", default=OUT)
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--run", nargs=2, metavar=("VARIANT", "SEED"), help=argparse.SUPPRESS)  # one run, in-process
    return p.parse_args(argv)


def run_path(out, variant, seed):
    slug = variant.replace(" ", "_").replace("/", "-").replace("(", "").replace(")", "")
    return os.path.join(out, "runs", f"{slug}_seed{seed}.json")


def run_one(variant, seed, args):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    import numpy as np

    from keras_scse import applications, data
    from keras_scse.bench import count_flops, count_params
    from keras_scse.training import compile_model, one_hot, scaled_recipe

    started = time.time()
    keras.utils.set_random_seed(seed)
    train_ds, info = data.load("fashion_mnist", "train", image_size=32, batch_size=args.batch_size, seed=seed,
                               limit=args.limit, drop_remainder=True)
    test_ds, _ = data.load("fashion_mnist", "test", image_size=32, batch_size=256)
    attention, kwargs = VARIANTS[variant]
    model = applications.SqueezeNext44(input_shape=info.image_shape, classes=10, attention=attention,
                                       attention_kwargs=kwargs)
    steps = info.num_examples // args.batch_size
    compile_model(model, scaled_recipe("sgd", args.batch_size), steps, args.epochs, jit_compile=False)
    class StepTimer(keras.callbacks.Callback):
        """Training step times of the current epoch (the last one when fit ends: no tracing in it)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.times = []

        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    timer = StepTimer()
    history = model.fit(one_hot(train_ds, 10), epochs=args.epochs, callbacks=[timer], verbose=2)
    y_true = np.concatenate([y.numpy() for _, y in test_ds])
    y_pred = np.argmax(model.predict(test_ds.map(lambda x, y: x), verbose=0), axis=-1)
    row = {
        "variant": variant, "seed": seed,
        "test_accuracy": float(np.mean(y_true == y_pred)),
        "train_accuracy": float(history.history["accuracy"][-1]),
        "params": count_params(model)["total"], "macs": count_flops(model)["macs"],
        "step_ms": round(1000 * statistics.median(timer.times), 1),
        "wall_s": round(time.time() - started, 1),
        "budget": {"limit": args.limit, "epochs": args.epochs, "batch_size": args.batch_size},
    }
    path = run_path(args.out, variant, seed)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(row, f, indent=1)
    os.replace(path + ".tmp", path)  # a run killed mid-write leaves no half-finished result behind
    print(json.dumps(row))


def run_all(args):
    os.makedirs(os.path.join(args.out, "runs"), exist_ok=True)
    todo = [(v, s) for s in args.seeds for v in args.variants if not os.path.exists(run_path(args.out, v, s))]
    print(f"{len(todo)} runs to do", flush=True)
    running = []
    while todo or running:
        while todo and len(running) < args.jobs:
            variant, seed = todo.pop(0)
            cmd = [sys.executable, os.path.abspath(__file__), "--run", variant, str(seed), "--out", args.out,
                   "--limit", str(args.limit), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
            log = open(run_path(args.out, variant, seed).replace(".json", ".log"), "w")
            running.append((variant, seed, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log))
            print(f"{time.strftime('%H:%M:%S')} start {variant} seed {seed}", flush=True)
        time.sleep(5)
        for item in list(running):
            variant, seed, proc, log = item
            if proc.poll() is not None:
                log.close()
                running.remove(item)
                print(f"{time.strftime('%H:%M:%S')} done {variant} seed {seed} rc={proc.returncode}", flush=True)


def load_rows(out):
    rows = []
    folder = os.path.join(out, "runs")
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if name.endswith(".json"):
            with open(os.path.join(folder, name)) as f:
                rows.append(json.load(f))
    return rows


def summarise(rows):
    """Per variant: mean and spread (max - min) of test accuracy over seeds, params, MACs, median step time."""
    table = []
    for variant in VARIANTS:
        runs = [r for r in rows if r["variant"] == variant]
        if not runs:
            continue
        acc = [r["test_accuracy"] for r in runs]
        table.append({"variant": variant, "seeds": len(runs), "mean": statistics.mean(acc),
                      "spread": max(acc) - min(acc), "params": runs[0]["params"], "macs": runs[0]["macs"],
                      "step_ms": statistics.median(r["step_ms"] for r in runs)})
    return table


def report(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = load_rows(args.out)
    with open(os.path.join(args.out, "runs.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    table = summarise(rows)
    base = next((t for t in table if t["variant"] == "none"), None)
    budget = rows[0]["budget"] if rows else {}
    lines = [
        f"Fashion-MNIST, SqueezeNext44 (32x32), first {budget.get('limit')} training images, "
        f"{budget.get('epochs')} epochs, batch {budget.get('batch_size')}, recipe 'sgd', no augmentation; "
        "test accuracy on all 10,000 test images, mean and spread (max - min) over seeds. Step time: median "
        "training step of the last epoch, one thread per run, two runs at a time on 2 cores.",
        "",
        "| attention | seeds | test accuracy % | spread | params | MACs (M) | step time ms | step vs none |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in sorted(table, key=lambda t: -t["mean"]):
        rel = f"{100 * (t['step_ms'] / base['step_ms'] - 1):+.0f}%" if base else ""
        lines.append(f"| {t['variant']} | {t['seeds']} | {100 * t['mean']:.2f} | {100 * t['spread']:.2f} | "
                     f"{t['params']:,} | {t['macs'] / 1e6:.2f} | {t['step_ms']:.0f} | {rel} |")
    with open(os.path.join(args.out, "ablation.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))

    if table:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for i, t in enumerate(table):
            accs = [100 * r["test_accuracy"] for r in rows if r["variant"] == t["variant"]]
            color = f"C{i % 10}"
            ax.scatter([t["step_ms"]] * len(accs), accs, s=12, alpha=0.5, color=color)
            ax.plot(t["step_ms"], 100 * t["mean"], "o", ms=6, color=color)
            ax.annotate(t["variant"], (t["step_ms"], 100 * t["mean"]), fontsize=7, xytext=(4, 2),
                        textcoords="offset points")
        ax.set_xlabel("training step time, ms (batch %s, one thread)" % budget.get("batch_size"))
        ax.set_ylabel("test accuracy %")
        ax.set_title("SqueezeNext44 + attention on Fashion-MNIST (dots: seeds)")
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, "ablation.png"), dpi=120)


def main(argv=None):
    args = parse_args(argv)
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"Unknown variants {unknown}; choose from {list(VARIANTS)}")
    if args.run:
        run_one(args.run[0], int(args.run[1]), args)
        return
    if not args.report_only:
        run_all(args)
    report(args)


if __name__ == "__main__":
    main()
