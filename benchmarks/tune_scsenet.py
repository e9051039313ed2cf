"""A small real architecture search: HyperSCSENet, random search on a Fashion-MNIST subset, compared with the
default configuration (SCSENet44) trained with exactly the same budget (same data, epochs, recipe, code path).

    nice -n 15 .venv/bin/python benchmarks/tune_scsenet.py            # defaults: 8 trials, 3 epochs, 3,000 images

The committed results used a smaller budget (see their results.md for the exact command; ~20 min on a busy CPU).

Writes benchmarks/results/tune_scsenet/: trials.csv, best_hyperparameters.json, accuracy_vs_params.png,
default_trial.csv, results.md. KerasTuner's working folders (checkpoints) go to runs/tune_scsenet_bench/.
Re-running continues both searches where they stopped (KerasTuner resume); --overwrite starts over.
"""

import argparse
import json
import os
import shlex
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "benchmarks", "results", "tune_scsenet")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--limit", type=int, default=3000, help="training images")
    p.add_argument("--val-limit", type=int, default=1000, help="validation images (carved from train, disjoint)")
    p.add_argument("--test-limit", type=int, default=5000, help="test images for the final comparison")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=128,
                   help="smaller batches give more optimiser steps for the same images (CPU cost per image ~same)")
    p.add_argument("--max-params", type=float, default=1e6)
    p.add_argument("--max-macs", type=float, default=25e6,
                   help="~4.5x SCSENet44's MACs: keeps the full-resolution 'cifar' stem from dominating CPU time")
    p.add_argument("--fixed", default=None,
                   help='JSON name -> value pinned in the search, e.g. \'{"stem": "imagenet"}\'')
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--directory", default=os.path.join(ROOT, "runs", "tune_scsenet_bench"))
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--report-only", action="store_true",
                   help="run no more trials: write the results of the trials done so far (e.g. out of time)")
    return p.parse_args(argv)


def test_accuracy(model_path, args):
    import keras
    import numpy as np

    from keras_scse import data

    ds, info = data.load("fashion_mnist", "test", image_size=args.image_size, batch_size=256,
                         limit=args.test_limit, seed=args.seed)
    model = keras.saving.load_model(model_path)
    y_true = np.concatenate([y.numpy() for _, y in ds])
    y_pred = np.argmax(model.predict(ds.map(lambda x, y: x), verbose=0), axis=-1)
    return float(np.mean(y_true == y_pred)), info.num_examples


def main(argv=None):
    args = parse_args(argv)
    from keras_scse import tuning

    started = time.time()
    common = dict(hypermodel="scsenet", dataset="fashion_mnist", tuner="random", epochs=args.epochs,
                  directory=args.directory, image_size=args.image_size, limit=args.limit, val_limit=args.val_limit,
                  batch_size=args.batch_size, max_params=args.max_params, max_macs=args.max_macs, seed=args.seed,
                  overwrite=args.overwrite, verbose=2)

    # 1) the default configuration (SCSENet44) as a one-trial "search" with every hyperparameter fixed:
    #    identical data, epochs, recipe, early stopping and code path as the search's trials.
    t = time.time()
    default = tuning.search(max_trials=1, project_name="default", fixed=tuning.defaults(tuning.SCSENET_SPACE),
                            **common)
    default_time = time.time() - t
    # 2) the search.
    t = time.time()
    found = tuning.search(max_trials=args.trials, project_name="search", report_only=args.report_only,
                          fixed=json.loads(args.fixed) if args.fixed else None, **common)
    search_time = time.time() - t

    # 3) both on (part of) the held-out test split: the search picked its best on validation accuracy, so only
    #    the test accuracy compares the two without selection bias.
    default_test, n_test = test_accuracy(default.files["best_model.keras"], args)
    best_test, _ = test_accuracy(found.files["best_model.keras"], args)

    os.makedirs(OUT, exist_ok=True)
    for name in ("trials.csv", "best_hyperparameters.json"):
        shutil.copy(found.files[name], os.path.join(OUT, name))
    shutil.copy(default.files["trials.csv"], os.path.join(OUT, "default_trial.csv"))
    d = default.best
    tuning.plot_accuracy_vs_params(
        found.rows, os.path.join(OUT, "accuracy_vs_params.png"), max_params=args.max_params,
        reference={"label": "SCSENet44 default (same budget)", "params": d["params"],
                   "val_accuracy": d["val_accuracy"]},
        title=f"HyperSCSENet search: {args.limit:,} imgs, {args.epochs} epochs, batch {args.batch_size}")

    wall = time.time() - started
    arguments = " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    command = "nice -n 15 .venv/bin/python benchmarks/tune_scsenet.py " + arguments
    write_markdown(args, found, default, best_test, default_test, n_test, wall, search_time, default_time, command)
    print(open(os.path.join(OUT, "results.md")).read())


def _fmt(v, spec=",d"):
    return "" if v is None else format(v, spec)


def write_markdown(args, found, default, best_test, default_test, n_test, wall, search_time, default_time, command):
    b, d = found.best, default.best
    rows = found.rows
    counts = {s: sum(r["status"] == s for r in rows) for s in ("COMPLETED", "REJECTED", "FAILED", "INCOMPLETE")}
    lines = [
        "# HyperSCSENet random search on Fashion-MNIST (small budget)",
        "",
        f"Command: `{command.strip()}`  ",
        f"Wall time: {wall / 60:.1f} min in total (search {search_time / 60:.1f} min, default configuration "
        f"{default_time / 60:.1f} min, test evaluation the rest), 2-core CPU shared with other jobs, `nice -n 15`.",
        "",
        f"Setup: {args.limit} training and {args.val_limit} validation images (carved from Fashion-MNIST's training "
        f"split, disjoint), resized to {args.image_size}x{args.image_size}x1; {args.epochs} epochs per trial "
        f"(EarlyStopping patience 3), batch {args.batch_size}, recipe schedule (1 warm-up epoch, cosine decay), "
        f"{args.trials} random-search trials, seed {args.seed}"
        + (f", pinned in the search: `{args.fixed}`" if args.fixed else "")
        + f". Budget: max_params {args.max_params:,.0f}, "
        f"max_macs {args.max_macs:,.0f} (over-budget configurations are rejected before training and count as trials). "
        f"Test accuracy on the first {n_test} test images.",
        "",
        f"Trials: {counts['COMPLETED']} trained, {counts['REJECTED']} rejected over budget, {counts['FAILED']} failed"
        + (f", {counts['INCOMPLETE']} interrupted (the run was stopped for time; see below)" if counts["INCOMPLETE"]
           else "") + ".",
        "",
        "| | val accuracy | test accuracy | params | MACs |",
        "| --- | --- | --- | --- | --- |",
        f"| best of search (trial {b['trial_id']}) | {b['val_accuracy']:.4f} | {best_test:.4f} | {_fmt(b['params'])} "
        f"| {_fmt(b['macs'])} |",
        f"| SCSENet44 default, same budget | {d['val_accuracy']:.4f} | {default_test:.4f} | {_fmt(d['params'])} "
        f"| {_fmt(d['macs'])} |",
        "",
        f"Best configuration: `{json.dumps(b['values'])}`",
        "",
        f"Retrain it: `{b['retrain_command']}`",
        "",
        "## All trials",
        "",
        "| trial | status | val acc | params | MACs | time s | attention | blocks | width | stem | optimizer | lr |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lr = r.get(f"lr_{r.get('optimizer')}")
        blocks = "/".join(str(r.get(f"blocks_stage{i}")) for i in range(1, 5))
        acc = "" if r["val_accuracy"] is None else f"{r['val_accuracy']:.4f}"
        lines.append(f"| {r['trial_id']} | {r['status']} | {acc} | {_fmt(r['params'])} | {_fmt(r['macs'])} | "
                     f"{r['time_s'] if r['time_s'] is not None else ''} | {r['attention']} | {blocks} | {r['width']} | "
                     f"{r['stem']} | {r['optimizer']} | {'' if lr is None else f'{lr:.3g}'} |")
    lines += [
        "",
        "## Reading it",
        "",
        f"- One run per configuration, {args.epochs} epochs on {args.limit:,} images: differences of a few points "
        f"are within the noise of seeds and of the {args.val_limit:,}-image validation set (one standard error is "
        f"about {100 * (0.16 / args.val_limit) ** 0.5:.1f} points at 80% accuracy). The best trial was selected on "
        "validation accuracy, so its validation number is optimistic; the test accuracy is the fairer comparison.",
        f"- A {args.epochs}-epoch budget ranks configurations by how fast they learn, not by the accuracy they would "
        "reach with a full schedule. The run demonstrates the search machinery and the budget filter; it is not "
        "evidence about which attention layer or layout is better.",
        "",
        "Files: trials.csv (every trial: status, hyperparameters, params, MACs, time, error), "
        "best_hyperparameters.json, accuracy_vs_params.png (the default configuration as a green diamond), "
        "default_trial.csv (the default configuration's run).",
    ]
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
