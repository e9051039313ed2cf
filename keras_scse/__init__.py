"""keras_scse: small attention CNNs (SC-SENet, SCA) for Keras 3."""

__version__ = "0.1.0"

from keras_scse import applications, layers  # noqa: E402

__all__ = ["applications", "layers", "__version__"]
