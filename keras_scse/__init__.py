"""keras_scse: small attention CNNs (SC-SENet, SCA) for Keras 3."""

import importlib

from keras_scse import quiet  # noqa: E402
from keras_scse.version import __version__

with quiet.native_stderr_silenced(quiet.for_command()):  # Keras starts its backend here
    from keras_scse import applications, bench, layers  # noqa: E402

# Loaded on first use (keras_scse.training, or `from keras_scse import training`): they pull in TensorFlow's
# tf.data, KerasTuner, tf2onnx or matplotlib, which a user of the models alone does not need.
LAZY = ("data", "explain", "export", "study", "training", "tuning")


def __getattr__(name):
    if name in LAZY:
        return importlib.import_module(f"keras_scse.{name}")
    raise AttributeError(f"module 'keras_scse' has no attribute {name!r}")


__all__ = ["applications", "bench", "layers", "__version__"]  # star-imports leave the optional extras out
