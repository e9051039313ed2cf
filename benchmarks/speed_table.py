"""Whole-network speed on this machine: the step-time overhead of attention, and SCSENet44's scaling.

    python benchmarks/speed_table.py                        # both sweeps + the input pipeline (~1 h on 2 cores)
    python benchmarks/speed_table.py --sweeps overhead      # one sweep;  --smoke: a toy run to try the code
    python benchmarks/speed_table.py --report-only          # tables and plots again from the CSVs

Sweeps (keras_scse.bench: all rows traced, then timed round-robin; TensorFlow, XLA off, synthetic data):
  * overhead: SqueezeNext44 (32 px, batch 128) without attention and with each attention of the attention
    study; ResNet-50 (224 px, batch 16, 1000 classes) without attention and with SCA's two poolings;
  * scaling: SCSENet44 vs batch size (32 px) and vs input size (batch 32), with each row's peak memory.
Writes benchmarks/results/speed/{overhead,scaling}.{csv,md,png} and pipeline.json (the Fashion-MNIST tf.data
pipeline alone: decode, resize to 32, augment, batch 128).
"""

import json
import os
import statistics
import time

from keras_scse.bench import Sweep, entry, grid, table

# SCA's two pooling options, named as the attention study's spec names them (its "sca" is pool="avgmax", the
# layer's default until the study made "avg" the default)
SCA_POOLS = [("sca", {"pool": "avgmax"}), ("sca", {"pool": "avg"})]
# The attention study's variants (benchmarks/results/attention_study/spec.json), so its table can cite their cost.
STUDY_ATTENTIONS = ["se", "eca", "cbam", "concurrent_se", "separable_se", *SCA_POOLS]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "speed")
SWEEPS = {
    "overhead": Sweep("overhead", grid(["SqueezeNext44"], [None, *STUDY_ATTENTIONS], batch_size=128)
                      + grid(["SCAResNet50"], [None, *SCA_POOLS], input_size=224, batch_size=16,
                             classes=1000)),
    "scaling": Sweep("scaling", grid(["SCSENet44"], batch_size=16) + grid(["SCSENet44"], batch_size=256)
                     + [row for size in (32, 64, 224) for row in grid(["SCSENet44"], input_size=size)],
                     memory=True),
}
SCALING_COLUMNS = [("input", "input_size", ""), ("batch", "batch_size", ""),
                   ("MMACs / image", lambda r: table.number(r["macs"]) / 1e6, ",.2f"),
                   ("train img/s", "train_img_s", ",.0f"), ("infer img/s", "infer_img_s", ",.0f"),
                   ("train ms/step (min-max)", lambda r: table.spread_cell(r, "train"), ""),
                   ("peak memory MB", "peak_rss_mb", ",.0f")]


def pipeline_rate(batches=100):
    """Images/s of the training input pipeline alone (as training uses it: augment on, batch 128)."""
    from keras_scse import data

    ds, _ = data.load("fashion_mnist", "train", image_size=32, batch_size=128, augment=True, drop_remainder=True)
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        images = sum(int(x.shape[0]) for x, _ in ds.take(batches))
        rates.append(images / (time.perf_counter() - start))
    return round(statistics.median(rates[1:]), 1)  # the first pass fills the cache


def panel(rows, x, where, kind="line"):
    rows = [r for r in rows if all(str(r[k]) == str(v) for k, v in where.items())]
    xs = [r[x] if kind == "bar" else int(r[x]) for r in rows]
    fields = {"line": ("train_img_s", "infer_img_s"), "bar": ("train_overhead_pct", "infer_overhead_pct")}[kind]
    return dict(x=xs, series={f: [table.number(r[f]) or 0 for r in rows] for f in fields}, kind=kind, xlabel=x,
                log=kind == "line", ylabel="images / s" if kind == "line" else "% over no attention",
                ref=10 if kind == "bar" else None)


def report(name, rows, out):
    stem = os.path.join(out, name)
    if name == "scaling":
        text = table.write_table(rows, stem, SCALING_COLUMNS, notes=entry.notes(rows))
        panels = [panel(rows, "batch_size", {"input_size": 32}), panel(rows, "input_size", {"batch_size": 32})]
    else:
        text = table.write_table(rows, stem, table.TIMING_COLUMNS, notes=entry.notes(rows))
        panels = [panel(rows, "attention", {"model": "SqueezeNext44"}, kind="bar")]
    table.write_plot(f"{stem}.png", panels, title=f"{name} (red: +10%)" if name == "overhead" else name)
    print(text, flush=True)


def main():
    args = entry.parse_args(SWEEPS, OUT, None)
    entry.main(SWEEPS, OUT, report)
    if not (args.report_only or args.smoke) and args.sweeps == list(SWEEPS):
        with open(os.path.join(args.out, "pipeline.json"), "w") as f:
            json.dump({"images_per_s": pipeline_rate()}, f)


if __name__ == "__main__":
    main()
