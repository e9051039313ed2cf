"""keras_scse: small attention CNNs (SC-SENet, SCA) for Keras 3."""

from keras_scse import quiet  # noqa: E402
from keras_scse.version import __version__

with quiet.native_stderr_silenced(quiet.for_command()):  # Keras starts its backend here
    from keras_scse import applications, bench, layers  # noqa: E402

# data, training, export and tuning load on first use: `from keras_scse import training` (tuning and export
# need the optional extras).
__all__ = ["applications", "bench", "layers", "__version__"]
