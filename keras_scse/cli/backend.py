"""The Keras backend under the commands: which one and its devices, and starting it quietly."""

# the commands that train or export start TensorFlow with the backend (tf.data, tf.distribute, tf2onnx)
WITH_TENSORFLOW = ("train", "finetune", "tune", "export", "demo", "study")


def backend_devices():
    """(backend name and version, device names) of the Keras backend in use, importing only that backend."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return f"tensorflow {tf.__version__}", [d.name for d in tf.config.list_logical_devices()]
    if backend == "jax":
        import jax

        return f"jax {jax.__version__}", [str(d) for d in jax.devices()]
    import torch

    return f"torch {torch.__version__}", ["cuda"] if torch.cuda.is_available() else ["cpu"]


def start(args):
    """Start the backend with its native start-up log silenced; first split the CPU for --cpu-devices N."""
    from keras_scse import quiet

    if (getattr(args, "cpu_devices", None) or 0) > 1:  # before the backend starts: a started CPU cannot split
        import keras

        if keras.backend.backend() == "tensorflow":
            from keras_scse.training.strategy import split_cpu

            with quiet.native_stderr_silenced():
                split_cpu(args.cpu_devices)
    quiet.start_backend(with_tensorflow=args.command in WITH_TENSORFLOW)
