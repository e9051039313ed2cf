"""Turn a finished training run into packaged weights: keras_scse/weights_data/<file> + its registry values.

Usage: python benchmarks/package_weights.py runs/scsenet44-fashion_mnist scsenet44_fashion_mnist.weights.h5
Prints the sha256, input shape, classes and test accuracy to copy into keras_scse/applications/weights.py.
"""

import json
import os
import sys

import keras

from keras_scse.applications import weights


def main(run_dir, file_name):
    model = keras.saving.load_model(os.path.join(run_dir, "best.keras"), compile=False)  # no optimizer state
    os.makedirs(weights.PACKAGE_DIR, exist_ok=True)
    path = os.path.join(weights.PACKAGE_DIR, file_name)
    model.save_weights(path)
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    print(json.dumps({"file_name": file_name, "sha256": weights.sha256_of(path), "bytes": os.path.getsize(path),
                      "input_shape": list(model.input_shape[1:]), "classes": int(model.output_shape[-1]),
                      "test_accuracy": metrics["accuracy"]}, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:3])
