"""Every model named on the command line in both image data formats, on the backend in KERAS_BACKEND: the
channels_last model's weights copied into the channels_first one, the same (transposed) input; print one JSON
object on the last line: {model: {"max_abs_diff": ..., "scale": ..., "shape": ...}}.

Usage: KERAS_BACKEND=jax python tests/scripts/channels_first.py SIZE MODEL [MODEL ...]

TensorFlow's CPU kernels refuse channels_first convolutions and pooling, so this runs on JAX (or PyTorch).
"""

import json
import sys

import keras
import numpy as np

from keras_scse import applications


def build(name, data_format, size):
    keras.config.set_image_data_format(data_format)
    try:
        shape = (3, size, size) if data_format == "channels_first" else (size, size, 3)
        return applications.get_model(name, include_top=False, input_shape=shape)
    finally:
        keras.config.set_image_data_format("channels_last")


def compare(name, size):
    last, first = build(name, "channels_last", size), build(name, "channels_first", size)
    rng = np.random.default_rng(0)
    # weights moved off their initial values (BN statistics included), small and centred as in test_contract
    weights = [w + rng.uniform(-0.01, 0.01, w.shape).astype(w.dtype) for w in last.get_weights()]
    last.set_weights(weights)
    first.set_weights(weights)
    x = rng.uniform(size=(2, size, size, 3)).astype("float32")
    expected = np.asarray(last.predict_on_batch(x))
    got = np.transpose(np.asarray(first.predict_on_batch(np.transpose(x, (0, 3, 1, 2)))), (0, 2, 3, 1))
    return {"max_abs_diff": float(np.abs(got - expected).max()), "scale": float(np.abs(expected).max()),
            "shape": list(expected.shape), "first_shape": list(first.output_shape)}


def main():
    size, names = int(sys.argv[1]), sys.argv[2:]
    print(json.dumps({name: compare(name, size) for name in names}))


if __name__ == "__main__":
    main()
