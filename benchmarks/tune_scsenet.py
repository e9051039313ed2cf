"""A small real architecture search: HyperSCSENet, random search on a Fashion-MNIST subset, compared with the
default configuration (SCSENet44) trained with exactly the same budget (same data, epochs, recipe, code path).

    nice -n 15 .venv/bin/python benchmarks/tune_scsenet.py   # 8 trials, 3 epochs, 3,000 images (see results.md)
Writes benchmarks/results/tune_scsenet/ (trials.csv, best_hyperparameters.json, accuracy_vs_params.png,
default_trial.csv, results.md); KerasTuner's folders go to runs/tune_scsenet_bench/, and re-running resumes.
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
    p.add_argument("--batch-size", type=int, default=128, help="smaller: more optimiser steps for the same images")
    p.add_argument("--max-params", type=float, default=1e6)
    p.add_argument("--max-macs", type=float, default=25e6, help="~4.5x SCSENet44's: bounds the 'cifar' stem's cost")
    p.add_argument("--fixed", default=None, help='JSON name -> value pinned, e.g. \'{"stem": "imagenet"}\'')
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--directory", default=os.path.join(ROOT, "runs", "tune_scsenet_bench"))
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--report-only", action="store_true", help="no more trials: report the trials done so far")
    return p.parse_args(argv)


def test_accuracy(model_path, args):
    import keras

    from keras_scse import data
    from keras_scse.training.report import predict_labels

    ds, info = data.load("fashion_mnist", "test", image_size=args.image_size, batch_size=256,
                         limit=args.test_limit, seed=args.seed)
    y_true, y_pred = predict_labels(keras.saving.load_model(model_path), ds)
    return float((y_true == y_pred).mean()), info.num_examples


def main(argv=None):
    args = parse_args(argv)
    from keras_scse import tuning
    from keras_scse.tuning import summary

    started = time.time()
    common = dict(hypermodel="scsenet", dataset="fashion_mnist", tuner="random", epochs=args.epochs,
                  directory=args.directory, image_size=args.image_size, limit=args.limit, val_limit=args.val_limit,
                  batch_size=args.batch_size, max_params=args.max_params, max_macs=args.max_macs, seed=args.seed,
                  overwrite=args.overwrite, verbose=2)

    # 1) the default configuration (SCSENet44): a one-trial "search", every hyperparameter fixed, same code path.
    t = time.time()
    default = tuning.search(max_trials=1, project_name="default", fixed=tuning.defaults(tuning.SCSENET_SPACE),
                            **common)
    default_time = time.time() - t
    # 2) the search.
    t = time.time()
    found = tuning.search(max_trials=args.trials, project_name="search", report_only=args.report_only,
                          fixed=json.loads(args.fixed) if args.fixed else None, **common)
    search_time = time.time() - t

    # 3) both on held-out test images: the search picked its best on validation accuracy (selection bias).
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
    summary.write_markdown(args, found, default, best_test, default_test, n_test, wall, search_time, default_time,
                           command, OUT)
    print(open(os.path.join(OUT, "results.md")).read())


if __name__ == "__main__":
    main()
