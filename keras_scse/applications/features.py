"""Multi-scale feature outputs of a backbone, keyed like keras-hub's pyramid outputs: "P{level}" is the
last feature map with stride 2**level (e.g. P2..P5 = strides 4..32)."""

import re

import keras

PROBE_SIZE = 224  # the input size for reading strides of a model that takes any size


def _squeezenext_levels(model):
    """Last unit of each SqueezeNext stage; stage strides 1, 2, 2, 2 after the stem (4 or 1)."""
    last = {}
    for layer in model.layers:
        match = re.fullmatch(r"stage(\d+)_unit(\d+)_out", layer.name)
        if match:
            stage, unit = int(match[1]), int(match[2])
            if unit >= last.get(stage, (0, None))[0]:
                last[stage] = (unit, layer.name)
    stem_level = 2 if any(layer.name == "stem_pool" for layer in model.layers) else 0
    return {f"P{stem_level + stage - 1}": name for stage, (_, name) in sorted(last.items())}


def _data_format(model):
    """The image data format the model was built in: its first layer that has one says."""
    return next((layer.data_format for layer in model.layers if getattr(layer, "data_format", None)),
                "channels_last")


def _spatial(shape, channels_first):
    """(height, width) of a shape with a batch axis."""
    return tuple(shape[2:4]) if channels_first else tuple(shape[1:3])


def _sized_input(model, channels_first, input_shape=None):
    """``input_shape`` (no batch axis), by default the model's own, with a 224 px square where it is not static."""
    shape = tuple(input_shape) if input_shape is not None else tuple(model.input_shape[1:])
    if None not in _spatial((1, *shape), channels_first):
        return shape
    channels = shape[0 if channels_first else -1]
    return (channels, PROBE_SIZE, PROBE_SIZE) if channels_first else (PROBE_SIZE, PROBE_SIZE, channels)


def map_sizes(model, input_shape=None, layers=None):
    """{layer name: (height, width)} of ``layers``' outputs (default: every layer with a 4-D output) for inputs
    of ``input_shape`` (no batch axis, in the model's data format; default as ``_sized_input``)."""
    if layers is None:
        layers = [layer for layer in model.layers
                  if getattr(layer, "output", None) is not None and len(layer.output.shape) == 4]
    channels_first = _data_format(model) == "channels_first"
    shape = _sized_input(model, channels_first, input_shape)
    if shape == tuple(model.input_shape[1:]):
        return {layer.name: _spatial(layer.output.shape, channels_first) for layer in layers}
    specs = keras.Model(model.input, [layer.output for layer in layers]).compute_output_spec(
        keras.KerasTensor((1, *shape)))
    specs = specs if isinstance(specs, (list, tuple)) else [specs]
    return {layer.name: _spatial(spec.shape, channels_first) for layer, spec in zip(layers, specs)}


def _stride_levels(model):
    """Any backbone: the last layer of each output stride 2**level (ResNet: conv{2..5}_block*_out; MobileNetV2:
    the expand_relu before each stride-2 block, then out_relu). Strides are read from the layers' output sizes,
    on a 224 px probe input when the model takes any size."""
    channels_first = _data_format(model) == "channels_first"
    height = _spatial((1, *_sized_input(model, channels_first)), channels_first)[0]
    shapes = map_sizes(model)
    last = {}
    for name, (rows, _) in shapes.items():
        if not rows or height % rows:
            continue  # a padded map (MobileNetV2's ZeroPadding2D before a stride)
        stride = height // rows
        if stride > 1 and stride & (stride - 1) == 0:
            last[stride.bit_length() - 1] = name
    return {f"P{level}": name for level, name in sorted(last.items())}


LEVEL_FINDERS = [_squeezenext_levels, _stride_levels]


def pyramid_layers(model):
    """{"P{level}": layer name} for a keras_scse backbone."""
    for finder in LEVEL_FINDERS:
        levels = finder(model)
        if levels:
            return levels
    raise ValueError(f"Model {model.name!r} is not a keras_scse backbone with known stages.")


def feature_extractor(model, levels=None):
    """A keras.Model from the backbone's input to a dict of stage outputs {"P2": ..., "P3": ..., ...}.

    ``levels``: keep only these keys (e.g. ["P3", "P4", "P5"]). Works on models built with
    include_top=True or False; the head is not used.
    """
    available = pyramid_layers(model)
    levels = list(available) if levels is None else list(levels)
    unknown = [level for level in levels if level not in available]
    if unknown:
        raise ValueError(f"Levels {unknown} are not in {model.name!r}; available: {list(available)}")
    outputs = {level: model.get_layer(available[level]).output for level in levels}
    return keras.Model(model.input, outputs, name=f"{model.name}_features")


