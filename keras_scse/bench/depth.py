"""A registered model's depth, derived (never a hand-kept table): the next registered model just works.

Where the model's family module declares its variants as rows (``VARIANTS``) and a ``depth`` rule (SqueezeNext
counts units, "SqNxt-23 = stem + 21 units + final conv"; ResNet counts weighted layers), the family's own rule
of the variant's row. Otherwise the number of weighted layers (convs, dense) on the longest path from input
to output, attention and normalisation left out: ResNet-50 50, MobileNetV2 53, as the papers count them.
"""

import inspect
import sys

import keras

WEIGHTED = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D, keras.layers.Dense)


def family_row(name):
    """(family module, the variant's row of arguments) of a registered model; the row is None if undeclared."""
    from keras_scse.applications.registry import MODELS

    family = sys.modules[MODELS[name].__module__]
    return family, getattr(family, "VARIANTS", {}).get(name)


def weighted_depth(model):
    """Weighted layers on the longest input-to-output path of a functional model (attention layers excluded:
    they are Layer subclasses, not convs, even where they hold convs)."""
    producer = {id(layer.output): layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)}
    longest = {}
    for layer in model.layers:  # topological order
        inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        before = max((longest[id(producer[id(t)])] for t in inputs if id(t) in producer), default=0)
        longest[id(layer)] = before + (type(layer) in WEIGHTED or isinstance(layer, WEIGHTED))
    return longest[id(model.layers[-1])]


def model_depth(name, model=None):
    """The depth of registered model ``name`` (``model``: an instance, to skip building one for the fallback)."""
    family, row = family_row(name)
    rule = getattr(family, "depth", None)
    if row is not None and callable(rule):
        wanted = inspect.signature(rule).parameters
        return int(rule(**{key: row[key] for key in wanted if key in row}))
    from keras_scse import applications

    return weighted_depth(model if model is not None else applications.get_model(name))
