"""Run the model zoo on the backend in KERAS_BACKEND; print one JSON object on the last line.

Usage: KERAS_BACKEND=jax python tests/scripts/backend_zoo.py OUT_DIR [MODEL ...]   (default: every model)

For each model (64x64x3 input, 3 classes): build, predict, one jit-compiled training step, save to .keras and
reload (safe_mode) with equal outputs, count MACs. Also each attention layer's output on a fixed input with
fixed weights (for comparison with TensorFlow). TensorFlow cannot be imported in this process (no_tensorflow):
everything must work with keras and the one backend.
"""

import json
import os
import sys

import numpy as np

if __name__ == "__main__":  # not when the TensorFlow tests import layer_outputs from here
    import no_tensorflow  # noqa: F401

import keras_scse  # noqa: F401  (first: the import must not bring TensorFlow)
from keras_scse import applications, bench
from keras_scse import layers as attention_layers

tensorflow_after_import = sys.modules.get("tensorflow") is not None

import keras  # noqa: E402

SHAPE = (64, 64, 3)
LAYER_CASES = [(name, {}) for name in attention_layers.names()] + [
    ("separable_se", dict(spatial="conv", fusion="add")),
    ("sca", dict(kernel_size=3, fusion="mean", spatial_branch=True, use_bn=True)),
]


def layer_outputs():
    """Each attention layer on a fixed (2, 9, 11, 16) input, weights set to a fixed pseudo-random pattern, with
    its one-output convs computed each way (key: "name{options}|formulation")."""
    from keras_scse.layers.formulation import FORMULATIONS, conv_formulation

    x = np.random.default_rng(0).normal(size=(2, 9, 11, 16)).astype("float32")
    out = {}
    for name, kwargs in LAYER_CASES:
        layer = attention_layers.make(name, "attn", kwargs)
        layer.build(x.shape)
        for i, w in enumerate(layer.weights):
            w.assign(np.sin(np.arange(np.prod(w.shape)) + i).reshape(w.shape).astype("float32") * 0.5 + 0.6)
        for how in FORMULATIONS:
            with conv_formulation(how):
                output = keras.ops.convert_to_numpy(layer(x)).tolist()
            out[f"{name}{json.dumps(kwargs, sort_keys=True)}|{how}"] = output
    return out


def model_check(name, out_dir):
    # (no keras.utils.set_random_seed: it imports TensorFlow when installed, to seed it too)
    # Predictions are checked before the step: right after one step, inference-mode BatchNorm uses statistics one
    # step old, and a deep plain SqueezeNext's outputs can overflow then (on every backend; see PreciseBatchNorm).
    model = applications.get_model(name, input_shape=SHAPE, classes=3)
    x = np.random.default_rng(1).uniform(size=(8, *SHAPE)).astype("float32")
    y = keras.utils.to_categorical(np.arange(8) % 3, 3)
    initial = np.asarray(model.predict_on_batch(x))
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="categorical_crossentropy",
                  jit_compile=keras.backend.backend() == "jax")
    loss = float(model.train_on_batch(x, y))
    before = np.asarray(model.predict_on_batch(x))
    path = os.path.join(out_dir, f"{name}.keras")
    model.save(path)
    after = np.asarray(keras.saving.load_model(path, safe_mode=True).predict_on_batch(x))
    return {"loss": loss, "finite": bool(np.isfinite(initial).all()), "shape": list(before.shape),
            "reload_equal": bool(np.array_equal(before, after, equal_nan=True)),
            "macs": bench.count_flops(model)["macs"]}


def main():
    out_dir, names = sys.argv[1], sys.argv[2:] or applications.list_models()
    result = {"backend": keras.backend.backend(), "tensorflow_after_import": tensorflow_after_import,
              "layers": layer_outputs(), "models": {name: model_check(name, out_dir) for name in names}}
    result["tensorflow_at_end"] = sys.modules.get("tensorflow") is not None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
