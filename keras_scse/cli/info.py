"""``keras-scse info``: versions, devices, registered models and attention layers."""

from keras_scse.cli.backend import backend_devices


def cmd_info(args):
    import keras

    import keras_scse
    from keras_scse import applications, layers

    backend, devices = backend_devices()
    print(f"keras_scse {keras_scse.__version__}  (keras {keras.__version__}, backend {backend})")
    print(f"devices: {devices}")
    print(f"models ({len(applications.list_models())}): {', '.join(applications.list_models())}")
    print(f"attention layers: {', '.join(layers.names())}")


def add_info(sub):
    sub.add_parser("info", help="versions, devices, registered models and attention layers").set_defaults(func=cmd_info)
