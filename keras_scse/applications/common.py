"""What every constructor shares: argument validation in keras.applications' order, input and head.

Mirrors keras/src/applications (not imported: keras.src is private) so errors read the same.
"""

import keras

from keras_scse.applications import weights as weights_lib

POOLINGS = (None, "avg", "max")


def validate_arguments(model_name, weights, include_top, classes, pooling, input_shape):
    """Check arguments before building anything; return the weights entry (or None)."""
    if keras.config.image_data_format() != "channels_last":
        raise ValueError(
            f"{model_name} supports only the channels_last data format; the Keras config says "
            f"{keras.config.image_data_format()!r}. Call keras.config.set_image_data_format('channels_last')."
        )
    entry = weights_lib.resolve(model_name, weights)
    if entry is not None and entry.classes is not None and include_top and classes != entry.classes:
        raise ValueError(
            f"If using `weights={weights!r}` with `include_top=True`, `classes` should be {entry.classes} "
            f"(the checkpoint's head). Received: classes={classes}. Use include_top=False for a new head, "
            "or keras_scse.training.finetune."
        )
    if include_top and (not isinstance(classes, int) or classes < 1):
        raise ValueError(f"`classes` must be a positive integer when include_top=True. Received: classes={classes!r}")
    if pooling not in POOLINGS:
        raise ValueError(f"`pooling` must be one of {list(POOLINGS)}. Received: pooling={pooling!r}")
    if input_shape is not None and len(input_shape) != 3:
        raise ValueError(
            f"`input_shape` must be a tuple of three integers (height, width, channels). Received: input_shape={input_shape}"
        )
    return entry


def obtain_input_shape(input_shape, default_size, min_size, entry):
    """Fill in the default shape and check the minimum size (keras.applications' rules, channels_last).

    A registered checkpoint's input shape is the default; any channel count is accepted otherwise.
    """
    if input_shape is None:
        if entry is not None and entry.classes is not None:
            return tuple(entry.input_shape)
        return (default_size, default_size, 3)
    for dim in input_shape[:2]:
        if dim is not None and dim < min_size:
            raise ValueError(
                f"Input size must be at least {min_size}x{min_size}; Received: input_shape={tuple(input_shape)}"
            )
    if input_shape[-1] is None:
        raise ValueError(f"The channel axis must be static. Received: input_shape={tuple(input_shape)}")
    return tuple(input_shape)


def make_input(input_tensor, input_shape):
    if input_tensor is None:
        return keras.layers.Input(shape=input_shape, name="input")
    if not keras.backend.is_keras_tensor(input_tensor):
        return keras.layers.Input(tensor=input_tensor, shape=input_shape, name="input")
    return input_tensor


def finish(img_input, input_tensor, x, include_top, pooling, classes, classifier_activation, name, entry,
           twin=None):
    """Head (or pooling), model, pretrained weights: the tail of every constructor.

    ``twin(include_top, classes, input_shape)`` rebuilds the same architecture for a registered checkpoint.
    """
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    inputs = keras.utils.get_source_inputs(input_tensor) if input_tensor is not None else img_input
    model = keras.Model(inputs, x, name=name)
    if entry is not None:
        weights_lib.load_into(model, entry, twin)
    return model


def variant_constructor(builder, registry_name, row, doc, **fixed):
    """A keras.applications-signature constructor for one variant row of ``builder``.

    Keyword options override the row; ``fixed`` is passed as is (e.g. the registry name).
    """

    def constructor(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
                    classes=1000, classifier_activation="softmax", name=None, **options):
        return builder(**{**row, **options}, include_top=include_top, weights=weights, input_tensor=input_tensor,
                       input_shape=input_shape, pooling=pooling, classes=classes,
                       classifier_activation=classifier_activation, name=name or registry_name.lower(), **fixed)

    constructor.__name__ = constructor.__qualname__ = registry_name
    constructor.__doc__ = f"Instantiate {registry_name}: {builder.__name__} with {row}.\n\n{doc}"
    return constructor
