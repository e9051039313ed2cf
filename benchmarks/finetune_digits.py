"""Transfer check: Fashion-MNIST-pretrained SCSENet44 fine-tuned on scikit-learn's real `digits` (8x8,
upsampled to 32x32) against the same model from scratch with the same epoch budget and peak rate.
Augmentation is the padded crop alone: a mirrored digit is another digit (or none).

Usage: python benchmarks/finetune_digits.py [pretrained] [scratch]   (writes benchmarks/results/finetune_digits/)
Naming one start re-runs only that one and keeps the other's committed result (e.g. after new weights ship).
"""

import json
import os
import shutil
import sys
import time

import numpy as np
from sklearn.datasets import load_digits

from keras_scse.applications.weights import PRETRAINED
from keras_scse.training.finetune import finetune

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "finetune_digits")
BUDGET = dict(head_epochs=2, full_epochs=10, image_size=32, batch_size=64, augment="crop", seed=0, verbose=2)


STARTS = {"pretrained": "fashion_mnist", "scratch": None}


def main(tags):
    unknown = set(tags) - set(STARTS)
    if unknown:
        raise SystemExit(f"unknown start(s) {sorted(unknown)}: choose from {list(STARTS)}")
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")  # 0..16 -> [0, 1]
    source = (images, digits.target)
    committed = os.path.join(OUT, "results.json")
    results = json.load(open(committed)) if os.path.exists(committed) else {}
    for tag in tags or STARTS:
        weights = STARTS[tag]
        started = time.time()
        run_dir = os.path.join("runs", "finetune_digits", tag)  # checkpoints and model stay out of the repo
        metrics = finetune("SCSENet44", source, run_dir, weights=weights, **BUDGET)
        os.makedirs(os.path.join(OUT, tag), exist_ok=True)
        for name in ("metrics.json", "history.csv", "curves.png"):
            shutil.copy(os.path.join(run_dir, name), os.path.join(OUT, tag, name))
        results[tag] = {"test_accuracy": metrics["accuracy"], "val_accuracy_per_epoch": metrics["val_accuracy"],
                        "wall_time_s": round(time.time() - started, 1),
                        "weights_sha256": weights and PRETRAINED[("SCSENet44", weights)].sha256}
        print(tag, results[tag], flush=True)
    plot(results)
    lines = ["| start | test accuracy | val accuracy after each epoch | wall time (s) | weights (sha256) |",
             "|---|---:|---|---:|---|"]
    for tag, r in results.items():
        curve = ", ".join(f"{a:.3f}" for a in r["val_accuracy_per_epoch"])
        sha = (r.get("weights_sha256") or "-")[:12]
        lines.append(f"| {tag} | {r['test_accuracy']:.4f} | {curve} | {r['wall_time_s']} | {sha} |")
    table = "\n".join(lines)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(f"Command: `python benchmarks/finetune_digits.py`; budget {BUDGET}; digits: 1,797 images, "
                "10% test / 10% validation carved with seed 0.\n\n" + table + "\n")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(table)


def plot(results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for tag, r in results.items():
        ax.plot(np.arange(1, len(r["val_accuracy_per_epoch"]) + 1), r["val_accuracy_per_epoch"], "o-", label=tag)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title("SCSENet44 on digits: Fashion-MNIST-pretrained vs scratch")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(OUT, "accuracy_vs_epochs.png"), dpi=100)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
