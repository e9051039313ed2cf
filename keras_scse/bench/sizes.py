"""How a preset's weights do at other input sizes: test accuracy with the input resized inside the model to the
checkpoint's size (the default, ``builder.resize_to_checkpoint``) and at native resolution, per size."""

import keras
import numpy as np

from keras_scse.applications import presets
from keras_scse.bench.table import write_table
from keras_scse.data.numpy_pipeline import to_float
from keras_scse.data.sources import fashion_mnist_arrays

COLUMNS = (("input size", "size", ""), ("accuracy % (resized to the checkpoint's size)", "resized_pct", ".2f"),
           ("accuracy % (native resolution)", "native_pct", ".2f"))


def accuracy(model, images, labels, batch_size=250):
    predictions = model.predict(images, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(predictions, axis=-1) == labels))


def accuracy_by_size(preset, images, labels, sizes):
    """One row per size S: the test images (uint8, the source's size) resized to S x S as the data pipeline
    does (bilinear), then the preset's classifier built at S resized and native. Percentages."""
    channels = presets.preset_entry(preset).input_shape[-1]
    rows = []
    for size in sizes:
        x = to_float(images, (size, size), channels)
        row = {"preset": preset, "size": size, "images": len(x), "keras": keras.__version__}
        for key, native in (("resized_pct", False), ("native_pct", True)):
            model = presets.from_preset(preset, input_shape=(size, size, channels), native_resolution=native)
            row[key] = round(100 * accuracy(model, x, labels), 2)
        rows.append(row)
    return rows


def write_size_table(preset, sizes, stem, command):
    """The table of ``accuracy_by_size`` on all Fashion-MNIST test images (the shipped preset's test set)."""
    images, labels = fashion_mnist_arrays("test")
    rows = accuracy_by_size(preset, images, labels, sizes)
    notes = [f"{len(labels):,} Fashion-MNIST test images (28 px) resized to S x S (bilinear); the classifier built "
             "at S, its input resized to the checkpoint's size inside the model (the default) or not "
             f"(native_resolution=True). `{command}`"]
    return write_table(rows, stem, COLUMNS, title=f"{preset} at other input sizes", notes=notes)
