"""Importing this makes `import tensorflow` fail in this process, as on a machine with only keras and one
backend installed: a None entry in sys.modules makes imports raise ModuleNotFoundError and find_spec return None
(Keras' lazy `tf.available` checks and torch's probes then treat TensorFlow as absent)."""

import sys

sys.modules["tensorflow"] = None


def tensorflow_loaded():
    return sys.modules.get("tensorflow") is not None
