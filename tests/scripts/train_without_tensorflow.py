"""`keras-scse train` with TensorFlow unimportable, as on a GPU machine with Keras on JAX only: the numpy
pipeline, no TensorBoard logs. Prints one JSON line. Usage: KERAS_BACKEND=jax python THIS RUN_DIR EPOCHS"""

import json
import sys

import no_tensorflow

from keras_scse import cli

run_dir, epochs = sys.argv[1:3]
code = cli.main(["train", "--model", "SqueezeNext44", "--model-kwargs", '{"blocks": [1, 1, 1, 1], "width": 0.5}',
                 "--dataset", "fashion_mnist", "--image-size", "32", "--limit", "1024", "--batch-size", "64",
                 "--epochs", epochs, "--run-dir", run_dir, "--verbose", "0"])
print(json.dumps({"code": code, "tensorflow_loaded": no_tensorflow.tensorflow_loaded()}))
