"""What a finished run leaves for a person: metrics JSON, curves and confusion-matrix PNGs, a summary."""

import csv
import json
import os

import numpy as np


def predict_labels(model, dataset):
    """(true labels, predicted labels) over an unshuffled dataset (tf.data or numpy) of (images, int labels)."""
    y_true = np.concatenate([np.asarray(labels) for _, labels in dataset])
    y_pred = np.argmax(model.predict(dataset, verbose=0), axis=-1)  # predict uses the images, not the labels
    return y_true, y_pred


def classification_metrics(y_true, y_pred, class_names):
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix, JSON-ready."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "num_examples": int(len(y_true)),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(class_names, precision, recall, f1, support)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def read_history(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def pyplot():
    """matplotlib.pyplot on the Agg backend: figures go to files, no display needed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, dpi=100):
    """Lay out, write and close ``fig`` (closed figures free their memory in long runs)."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)


def plot_curves(history, path):
    plt = pyplot()
    epochs = [int(row["epoch"]) + 1 for row in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            if history and prefix + metric in history[0]:
                ax.plot(epochs, [row[prefix + metric] for row in history], style, label=(prefix or "train_") + metric)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
        ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_confusion(matrix, class_names, path):
    plt = pyplot()
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1 + 0.6 * len(class_names), 1 + 0.6 * len(class_names)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=60, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                color="white" if value > matrix.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    save_figure(fig, path)


def write_json(obj, path, default=None):
    """Write atomically (a temporary file, then rename): readers never see half a file. ``default``: as
    ``json.dump``'s, for values JSON has no type for (e.g. ``str``)."""
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=2, default=default)
    os.replace(path + ".tmp", path)


def read_json(path):
    """The JSON object in ``path``, or None when the file is missing or unreadable."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
