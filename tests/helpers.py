"""Helpers the tests share."""

import json
import os

import keras
import numpy as np


def roundtrip(model, tmp_path, x):
    """Save to .keras, reload with safe_mode=True; return (original outputs, reloaded outputs)."""
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    return np.asarray(model(x, training=False)), np.asarray(reloaded(x, training=False))


FORTY_EPOCH_RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "results",
                               "scsenet44_fashion_mnist_40ep")


def committed_seed_runs():
    """{seed: metrics.json} of the committed 40-epoch SCSENet44 runs (the shipped weights' evidence)."""
    return {int(name[4:]): json.load(open(os.path.join(FORTY_EPOCH_RUN, name, "metrics.json")))
            for name in sorted(os.listdir(FORTY_EPOCH_RUN))
            if name.startswith("seed") and os.path.exists(os.path.join(FORTY_EPOCH_RUN, name, "metrics.json"))}
