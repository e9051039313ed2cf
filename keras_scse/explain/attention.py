"""Attention maps: the gates every attention layer of a model multiplies its input by, from the layer's own
``gates`` method (the one its ``attend`` uses), on the inputs the layer receives in the model."""

import warnings

import numpy as np
from keras import ops

from keras_scse.explain import hooks
from keras_scse.explain.inputs import model_images
from keras_scse.layers.base import GATE_AXES, AttentionLayer


def children(layer):
    """The layers directly inside ``layer`` (a model's layers, or a custom layer's tracked sublayers)."""
    return list(layer._flatten_layers(include_self=False, recursive=False))


def attention_layers(model):
    """[(key, layer)] of every AttentionLayer in ``model``, nested ones too, in the model's order. The key is
    the layer's name, prefixed "outer/" by the layers it sits in when it is nested."""
    found = []

    def visit(layer, prefix):
        for child in children(layer):
            if isinstance(child, AttentionLayer):
                found.append((prefix + child.name, child))
            else:
                visit(child, f"{prefix}{child.name}/")

    visit(model, "")
    return found


def as_maps(gates):
    """{gate name: numpy array} with the broadcast axes dropped: "channel" (B, C), "spatial" (B, H, W), "height"
    (B, H, C), "width" (B, W, C); a gate name outside ``GATE_AXES`` keeps its shape."""
    return {name: np.squeeze(ops.convert_to_numpy(gate), axis=GATE_AXES.get(name, ())) for name, gate in gates.items()}


def attention_maps(model, images):
    """{layer key: {gate name: array}} for every attention layer of ``model`` (nested ones: "outer/inner").

    The gates come from each layer's ``gates(x)`` (the computation its ``attend`` uses) on the map the layer
    receives when ``model`` runs on ``images`` (inference mode); the model and its outputs are unchanged.
    Shapes, B = batch: "channel" (B, C); "spatial" (B, H, W); SCA's directional "height" (B, H, C) and "width"
    (B, W, C). Sigmoid gates, in [0, 1]. SC-SE: channel + spatial; SCA: height + width (+ spatial); CBAM and
    scSE ("concurrent_se"): channel + spatial (CBAM's spatial gate is computed on x * channel); SE, ECA:
    channel. A layer built with ``residual_gate`` also gives "gamma" (a float): its output is
    x + gamma * (attend(x) - x), so the gates act with weight gamma (0: the layer is an identity).

    ``images``: (B, H, W, C), converted as ``keras_scse.explain.model_images`` says. A model without attention
    gives {}. A custom AttentionLayer without ``gates`` is left out with a warning.
    """
    x = model_images(model, images)
    found = attention_layers(model)
    if not found:
        return {}
    received = {}
    with hooks.wrapped_calls([(layer, hooks.record_inputs(received, key)) for key, layer in found]):
        model(x, training=False)
    maps = {}
    for key, layer in found:
        if key not in received:
            warnings.warn(f"Attention layer {key!r} is not used by {model.name!r}'s forward pass; left out.",
                          stacklevel=2)
            continue
        try:
            gates = layer.gates(layer.channels_last(received[key]), training=False)  # gates take channels_last
        except NotImplementedError as error:
            warnings.warn(f"Attention layer {key!r} left out: {error}", stacklevel=2)
            continue
        maps[key] = as_maps(gates)
        if layer.residual_gate:
            maps[key]["gamma"] = float(ops.convert_to_numpy(layer.gamma))
    return maps
