"""Keep the backend's native start-up log off the `keras-scse` command's terminal.

TensorFlow's C++ start-up log (absl's "WARNING: All log messages before absl::InitializeLog()", the oneDNN and
"Could not find cuda drivers" I0000 lines, the E0000 cuInit error on machines without a GPU) ignores
TF_CPP_MIN_LOG_LEVEL and Python's logging, so it is silenced at the file-descriptor level while Keras and the
backend's devices start. Only for the command (not for library users), and not with ``--debug``.
"""

import contextlib
import os
import sys


def for_command():
    """Whether this process is the `keras-scse` command, without --debug."""
    return os.path.basename(sys.argv[0]) == "keras-scse" and "--debug" not in sys.argv


@contextlib.contextmanager
def native_stderr_silenced(active=True):
    """File descriptor 2 to /dev/null within (Python exceptions still propagate and print afterwards)."""
    if not active:
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def start_backend(with_tensorflow=False):
    """Initialise the backend's devices (where TensorFlow calls cuInit) with the native log silenced; with
    ``with_tensorflow`` also TensorFlow under another backend (the tf.data pipelines of training need it)."""
    with native_stderr_silenced():
        import importlib.util

        import keras

        wanted = keras.backend.backend() == "tensorflow" or with_tensorflow
        if wanted and importlib.util.find_spec("tensorflow") is not None:  # tf.data runs without it on arrays
            import tensorflow as tf

            tf.config.list_logical_devices()
