"""Every model named on the command line in both image data formats, on the backend in KERAS_BACKEND: the
channels_last model's weights copied into the channels_first one, the same (transposed) input; print one JSON
object on the last line: {model: {"max_abs_diff": ..., "scale": ..., "shape": ...}}.

Usage: KERAS_BACKEND=jax python tests/scripts/channels_first.py SIZE MODEL [MODEL ...]
       KERAS_BACKEND=jax python tests/scripts/channels_first.py weights OUT_DIR   (the weights checks below)

TensorFlow's CPU kernels refuse channels_first convolutions and pooling, so this runs on JAX (or PyTorch).
"""

import json
import sys

import keras
import numpy as np

from keras_scse import applications


def in_format(data_format, build):
    keras.config.set_image_data_format(data_format)
    try:
        return build()
    finally:
        keras.config.set_image_data_format("channels_last")


def build(name, data_format, size):
    shape = (3, size, size) if data_format == "channels_first" else (size, size, 3)
    return in_format(data_format, lambda: applications.get_model(name, include_top=False, input_shape=shape))


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


def weights_load_in_channels_first(out_dir):
    """{check: max |channels_first - channels_last|}: the packaged SCSENet44 checkpoint, and a keras.applications
    MobileNetV2 weights file transferred into SCAMobileNetV2 (applications/transfer.py) built channels_first."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(2, 32, 32, 1)).astype("float32")
    last = applications.SCSENet44(weights="fashion_mnist", classes=10)
    first = in_format("channels_first", lambda: applications.SCSENet44(weights="fashion_mnist", classes=10))
    diffs = {"fashion_mnist": np.abs(np.asarray(first(np.transpose(x, (0, 3, 1, 2)))) - np.asarray(last(x))).max()}
    plain = keras.applications.MobileNetV2(alpha=0.35, weights=None, input_shape=(64, 64, 3), classes=5)
    plain.set_weights([w + rng.uniform(-0.01, 0.01, w.shape).astype(w.dtype) for w in plain.get_weights()])
    path = f"{out_dir}/mobilenet_v2_0.35.weights.h5"
    plain.save_weights(path)
    sca = in_format("channels_first", lambda: applications.SCAMobileNetV2((3, 64, 64), 0.35, weights=path, classes=5))
    x = rng.uniform(size=(2, 64, 64, 3)).astype("float32")
    diffs["transfer"] = np.abs(np.asarray(sca(np.transpose(x, (0, 3, 1, 2)))) - np.asarray(plain(x))).max()
    return {key: float(value) for key, value in diffs.items()}


def main():
    if sys.argv[1] == "weights":
        print(json.dumps(weights_load_in_channels_first(sys.argv[2])))
        return
    size, names = int(sys.argv[1]), sys.argv[2:]
    print(json.dumps({name: compare(name, size) for name in names}))


if __name__ == "__main__":
    main()
