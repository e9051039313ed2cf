"""Speed, memory and cost scaling of SCSENet44, and the step-time overhead of each attention layer.

    PYTHONPATH=. .venv/bin/python benchmarks/speed_table.py                 # all sweeps (~35 min on 2 cores)
    PYTHONPATH=. .venv/bin/python benchmarks/speed_table.py --report-only   # tables + plots from the CSVs

Every row is one ``keras_scse.bench`` measurement in a fresh process (synthetic data; median of timed blocks
after untimed warm-up; peak memory of that process). Sweeps:
  * scaling: SCSENet44 training/inference images/s and peak memory vs batch size (32 px) and vs input size;
  * overhead: SqueezeNext44 (32 px, batch 128) without attention, with SE, SC-SE and SCA; ResNet-50 without/with SCA;
  * pipeline: the Fashion-MNIST tf.data pipeline alone (decode, resize to 32, augment, batch), images/s.
Rows go to benchmarks/results/speed/<sweep>.csv as they finish; re-running skips rows already there.
XLA on/off and ONNX Runtime for SCSENet44 are in benchmarks/peer_compare.py (next to PyTorch).
"""

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from keras_scse.bench import FIELDS, BenchConfig, run  # noqa: E402
from keras_scse.bench.speed import attention_label  # noqa: E402

OUT = os.path.join(ROOT, "benchmarks", "results", "speed")
TIMING = dict(steps=5, repeats=5, warmup=3)
# Every layer's own cost is in benchmarks/attention_micro.py (cheap); here the whole-network step for the
# package's two layers and SE as the reference point (each row traces a 44-block model: ~3 min).
ATTENTIONS = [None, "se", "scse", "sca"]


def sweeps():
    scaling = [BenchConfig(model="SCSENet44", input_size=32, batch_size=b, **TIMING) for b in (16, 256)]
    scaling += [BenchConfig(model="SCSENet44", input_size=s, batch_size=32, **TIMING) for s in (32, 64, 224)]
    overhead = [BenchConfig(model="SqueezeNext44", input_size=32, batch_size=128, model_kwargs={"attention": a},
                            **TIMING) for a in ATTENTIONS]
    overhead += [BenchConfig(model="SCAResNet50", input_size=224, batch_size=16, classes=1000, steps=3, repeats=3,
                             warmup=2, model_kwargs={"attention": a}) for a in (None, "sca")]
    return {"scaling": scaling, "overhead": overhead}


def key(row_or_config):
    """What identifies a row: model, options, backend, xla, input and batch size."""
    if isinstance(row_or_config, BenchConfig):
        c = row_or_config
        return (c.model, attention_label(c.model_kwargs), c.backend, bool(c.xla), c.input_size, c.batch_size)
    r = row_or_config
    return (r["model"], r["attention"], r["backend"], r["xla"] in (True, "True"), int(r["input_size"]),
            int(r["batch_size"]))


def read_rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def run_sweep(name, configs, out):
    path = os.path.join(out, f"{name}.csv")
    done = {key(r) for r in read_rows(path)}
    todo = [c for c in configs if key(c) not in done]
    new_file = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        if new_file:
            writer.writeheader()

        def write(row):
            writer.writerow(row)
            f.flush()
            print(f"{time.strftime('%H:%M:%S')} {name}: {json.dumps(row)}", flush=True)

        run(todo, on_row=write)


def pipeline_rate(batches=100):
    """Images/s of the training input pipeline alone (as training uses it: augment on, batch 128)."""
    from keras_scse import data

    ds, _ = data.load("fashion_mnist", "train", image_size=32, batch_size=128, augment=True, drop_remainder=True)
    rates = []
    for _ in range(3):
        start, n = time.perf_counter(), 0
        for x, _ in ds.take(batches):
            n += int(x.shape[0])
        rates.append(n / (time.perf_counter() - start))
    return round(statistics.median(rates[1:]), 1)  # the first pass fills the cache


def number(value):
    return float(value) if value not in (None, "", "None") else None


def plots(out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in read_rows(os.path.join(out, "scaling.csv")) if r["backend"] == "keras"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (axis, fixed, fixed_value) in zip(axes, (("batch_size", "input_size", 32), ("input_size", "batch_size", 32))):
        sel = sorted((r for r in rows if int(r[fixed]) == fixed_value), key=lambda r: int(r[axis]))
        xs = [int(r[axis]) for r in sel]
        ax.plot(xs, [number(r["train_img_s"]) for r in sel], "o-", label="train img/s")
        ax.plot(xs, [number(r["infer_img_s"]) for r in sel], "s-", label="inference img/s")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(axis.replace("_", " ") + f" ({fixed.replace('_', ' ')} {fixed_value})")
        ax.set_ylabel("images / s")
        mem = ax.twinx()
        mem.plot(xs, [number(r["peak_rss_mb"]) for r in sel], "^--", color="grey", label="peak memory")
        mem.set_ylabel("peak memory MB (grey)")
        ax.legend(loc="lower left", fontsize=8)
        ax.set_title(f"SCSENet44, throughput and memory vs {axis.replace('_', ' ')}")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "scaling.png"), dpi=110)

    rows = read_rows(os.path.join(out, "overhead.csv"))
    rows = [r for r in rows if r["model"] == "SqueezeNext44"]
    if rows:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        base = next((number(r["train_step_ms"]) for r in rows if r["attention"] == "none"), None)
        names = [r["attention"] for r in rows]
        steps = [number(r["train_step_ms"]) for r in rows]
        ax.bar(names, steps, color=["grey" if n == "none" else "tab:blue" for n in names])
        if base:
            ax.axhline(base * 1.1, ls="--", color="red", lw=1, label="+10% over none")
            ax.legend(fontsize=8)
        ax.set_ylabel("training step ms (batch 128)")
        ax.set_title("SqueezeNext44 (32 px): training step time per attention layer")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "overhead.png"), dpi=110)


def markdown(out):
    lines = [f"Measured on {platform.machine()}, {os.cpu_count()} CPU threads; synthetic data; images/s = batch / "
             "median step time.", ""]
    lines += ["**Scaling (SCSENet44, Keras, XLA off)**", "",
              "| input | batch | MMACs / image | train img/s | infer img/s | peak memory MB |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in read_rows(os.path.join(out, "scaling.csv")):
        lines.append(f"| {r['input_size']} | {r['batch_size']} | {int(r['macs']) / 1e6:.2f} | {r['train_img_s']} | "
                     f"{r['infer_img_s']} | {float(r['peak_rss_mb']):,.0f} |")
    rows = read_rows(os.path.join(out, "overhead.csv"))
    lines += ["", "**Attention overhead (training step time vs the same network without attention)**", "",
              "| network | attention | params | train step ms | overhead | infer step ms | overhead |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        base = next(b for b in rows if b["model"] == r["model"] and b["attention"] == "none")
        over = {m: 100 * (float(r[m]) / float(base[m]) - 1) for m in ("train_step_ms", "infer_step_ms")}
        net = {"SqueezeNext44": "SqueezeNext44 32 px, batch 128", "SCAResNet50": "ResNet-50 224 px, batch 16"}[r["model"]]
        lines.append(f"| {net} | {r['attention']} | {int(r['params']):,} | {r['train_step_ms']} | "
                     f"{over['train_step_ms']:+.0f}% | {r['infer_step_ms']} | {over['infer_step_ms']:+.0f}% |")
    pipeline = os.path.join(out, "pipeline.json")
    if os.path.exists(pipeline):
        with open(pipeline) as f:
            lines += ["", f"Input pipeline alone (Fashion-MNIST, resize to 32, augment, batch 128): "
                          f"{json.load(f)['images_per_s']:,.0f} images/s."]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "speed.md"), "w") as f:
        f.write(text)
    return text


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweeps", nargs="*", default=["pipeline", "overhead", "scaling"])
    p.add_argument("--out", default=OUT)
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if not args.report_only:
        all_sweeps = sweeps()
        for name in args.sweeps:
            if name == "pipeline":
                with open(os.path.join(args.out, "pipeline.json"), "w") as f:
                    json.dump({"images_per_s": pipeline_rate()}, f)
            else:
                run_sweep(name, all_sweeps[name], args.out)
    plots(args.out)
    print(markdown(args.out))


if __name__ == "__main__":
    main()
