"""What every constructor shares: argument validation in keras.applications' order, input, head, default name.

Mirrors keras/src/applications (not imported: keras.src is private) so errors read the same.
"""

import dataclasses
import sys

import keras

from keras_scse import layers as attention_layers
from keras_scse.applications import weights as weights_lib

POOLINGS = (None, "avg", "max")
DEFAULT_CLASSES = 1000  # keras.applications' default


@dataclasses.dataclass
class ApplicationArgs:
    """keras.applications' arguments, which every builder takes (``**kwargs``): one place for their defaults."""

    include_top: bool = True
    weights: object = None
    input_tensor: object = None
    input_shape: object = None
    pooling: object = None
    classes: int = DEFAULT_CLASSES
    classifier_activation: object = "softmax"

    @classmethod
    def of(cls, builder_name, kwargs):
        unknown = sorted(set(kwargs) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TypeError(f"{builder_name}() got unexpected keyword argument(s) {unknown}.")
        return cls(**kwargs)


def attention_prefix(attention):
    """The name an attention gives a model: the layer's ``model_prefix`` (SC-SE's "scse", from the paper's
    SC-SENet), else its registered name (a name or a registered class), a layer class's own name, else
    "attention" (e.g. a lambda)."""
    factory = attention_layers.get(attention)
    if getattr(factory, "model_prefix", None):
        return factory.model_prefix
    registered = sorted(key for key, candidate in attention_layers.REGISTRY.items() if candidate is factory)
    if registered:
        return registered[0]
    return factory.__name__.lower() if isinstance(factory, type) else "attention"


def default_name(attention, family, size="", attended_family=None):
    """A model's name when the caller gives none (``name=None``): the one rule of every family.

    Without attention, the plain model's name ``{family}{size}``, which is keras.applications' name where there
    is a twin ("resnet50", "mobilenetv2_1.00_224"). With attention, its prefix (``attention_prefix``) in front:
    ``{prefix}{attended_family or family}{size}`` ("scaresnet50", "seresnet50", "scamobilenetv2_1.00_224");
    ``attended_family`` is for a family whose attention models its paper named otherwise (SqueezeNext with SC-SE
    is "scsenet44": ``attended_family="net"``). A name the caller gives always wins; so do layer names, which
    this never touches (weights load by layer, never by the model's name).
    """
    if attention is None:
        return f"{family}{size}"
    return f"{attention_prefix(attention)}{attended_family or family}{size}"


def validate_arguments(model_name, args):
    """Check arguments before building anything; return the weights entry (``weights.resolve``) or None.
    With pretrained weights and keras' default ``classes``, sets ``args.classes`` to the checkpoint's."""
    weights, include_top, classes = args.weights, args.include_top, args.classes
    entry = weights_lib.resolve(model_name, weights)
    if entry is not None and entry.classes is not None and include_top and classes != entry.classes:
        if classes != DEFAULT_CLASSES:  # keras' default means "the checkpoint's head" here; any other value fails
            raise ValueError(
                f"If using `weights={weights!r}` with `include_top=True`, `classes` should be {entry.classes} "
                f"(the checkpoint's head). Received: classes={classes}. Use include_top=False for a new head, "
                "or keras_scse.training.finetune."
            )
        classes = args.classes = entry.classes
    if include_top and (not isinstance(classes, int) or classes < 1):
        raise ValueError(f"`classes` must be a positive integer when include_top=True. Received: classes={classes!r}")
    if args.pooling not in POOLINGS:
        raise ValueError(f"`pooling` must be one of {list(POOLINGS)}. Received: pooling={args.pooling!r}")
    if args.input_shape is not None and len(args.input_shape) != 3:
        raise ValueError(
            "`input_shape` must be a tuple of three integers: (height, width, channels), or (channels, height, "
            f"width) under the channels_first image data format. Received: input_shape={args.input_shape}"
        )
    return entry


def channel_axis():
    """The channel axis of the maps of a model built now: 1 under keras.config.image_data_format()
    "channels_first", else -1 (every Keras layer of the model reads the same setting when it is made)."""
    return 1 if keras.config.image_data_format() == "channels_first" else -1


def spatial_size(x):
    """(height, width) of a map in the image data format (None where dynamic)."""
    return tuple(x.shape[2:4]) if channel_axis() == 1 else tuple(x.shape[1:3])


def channels(x):
    """The channel count of a map in the image data format."""
    return x.shape[channel_axis()]


def batch_norm(name, **options):
    """BatchNormalization over the channel axis of the image data format (Keras' default axis is -1)."""
    return keras.layers.BatchNormalization(axis=channel_axis(), name=name, **options)


def obtain_input_shape(input_shape, default_size, min_size, entry, require_flatten=True):
    """The input shape in the image data format, by keras.applications' rules (its ``obtain_input_shape`` with
    ``require_flatten=include_top``): None gives the default square size with a head, a variable size
    (None, None) without one; a given shape is checked against the minimum size and needs a static channel axis.

    A registered checkpoint's input shape is the default (its channel count also without a head); any channel
    count is accepted otherwise. One deviation: keras.applications refuses None in the spatial dims with
    include_top=True ("you should specify a static `input_shape`"); every keras_scse head pools globally, so a
    variable size is accepted with a head too.
    """
    first = channel_axis() == 1
    if input_shape is None:
        known = entry is not None and entry.classes is not None
        rows, cols, channels = tuple(entry.input_shape) if known else (default_size, default_size, 3)
        rows, cols = (rows, cols) if require_flatten else (None, None)
        return (channels, rows, cols) if first else (rows, cols, channels)
    input_shape = tuple(input_shape)
    spatial, channels = (input_shape[1:], input_shape[0]) if first else (input_shape[:2], input_shape[-1])
    for dim in spatial:
        if dim is not None and dim < min_size:
            raise ValueError(
                f"Input size must be at least {min_size}x{min_size}; Received: input_shape={input_shape}"
            )
    if channels is None:
        raise ValueError(f"The channel axis must be static. Received: input_shape={input_shape}")
    return input_shape


def make_input(args, default_size, min_size, entry=None):
    """The model's input: ``args.input_tensor`` (wrapped if it is not a Keras tensor) or a new Input layer."""
    input_shape = obtain_input_shape(args.input_shape, default_size, min_size, entry, args.include_top)
    if args.input_tensor is None:
        return keras.layers.Input(shape=input_shape, name="input")
    if not keras.backend.is_keras_tensor(args.input_tensor):
        return keras.layers.Input(tensor=args.input_tensor, shape=input_shape, name="input")
    return args.input_tensor


def resize_to_checkpoint(img_input, args, entry, native_resolution=False):
    """A classifier built at another size than a ``fixed_size`` checkpoint was trained at sees its input resized
    to that size inside the model (keras-hub's ImageConverter does this outside): such weights only work at
    their size. ``native_resolution=True``, ``include_top=False`` (a backbone's feature maps follow the input)
    and checkpoints trained to work at any size leave the input as it is."""
    if entry is None or not entry.fixed_size or native_resolution or not args.include_top:
        return img_input
    trained = tuple(entry.input_shape[:2])  # registry shapes are (H, W, C)
    if spatial_size(img_input) == trained:
        return img_input
    # bilinear without antialias: from 64 px it averages 2 x 2 pixels, which measured best (docs/models.md)
    return keras.layers.Resizing(*trained, interpolation="bilinear", name="resize_to_checkpoint")(img_input)


def attend(x, attention, attention_kwargs, name):
    """``x`` through a new attention layer named ``{name}_attention`` (unchanged when ``attention`` is None)."""
    layer = attention_layers.make(attention, f"{name}_attention", attention_kwargs)
    return x if layer is None else layer(x)


def finish(img_input, x, args, name, entry=None):
    """Head (or pooling), model, a keras_scse checkpoint's weights: the tail of every constructor."""
    if args.include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dense(args.classes, activation=args.classifier_activation, name="predictions")(x)
    elif args.pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif args.pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    inputs = keras.utils.get_source_inputs(args.input_tensor) if args.input_tensor is not None else img_input
    # Keras maps a functional graph recursively, a few frames per layer: the deepest SqueezeNexts (KerasTuner's
    # largest, ~500 layers) need more than Python's default 1,000 frames, less than 10,000.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        model = keras.Model(inputs, x, name=name)
    finally:
        sys.setrecursionlimit(limit)
    if entry is not None and entry.source == "keras_scse":
        weights_lib.load_into(model, entry)
    return model


def named_model(family, variants, variant, arguments):
    """``family`` built for a named constructor: the ``variant``'s row of ``variants``, then the constructor's
    ``arguments`` (its ``locals()``: keras.applications' arguments, and the **kwargs that override the row)."""
    arguments = dict(arguments)
    return family(**{**variants[variant], **arguments.pop("kwargs")}, **arguments, variant=variant)
