"""Attention layers and their registry.

``get(name_or_factory)`` resolves what a backbone's ``attention=`` argument accepts: a registered name,
a layer class, or any callable that returns a Keras layer; ``make(...)`` builds one instance.
"""

import keras

from keras_scse.layers.base import AttentionLayer, eca_kernel_size
from keras_scse.layers.baselines import CBAM, ConcurrentSE, EfficientChannelAttention, SqueezeExcite
from keras_scse.layers.sca import SpatialChannelAttention
from keras_scse.layers.scse import SeparableSqueezeExcite

REGISTRY = {
    "scse": SeparableSqueezeExcite,
    "sca": SpatialChannelAttention,
    "se": SqueezeExcite,
    "scse_concurrent": ConcurrentSE,
    "eca": EfficientChannelAttention,
    "cbam": CBAM,
}


def names():
    """The registered attention names."""
    return sorted(REGISTRY)


def get(attention):
    """Resolve a registered name (case-insensitive) or pass a callable through."""
    if callable(attention):
        return attention
    if isinstance(attention, str) and attention.lower() in REGISTRY:
        return REGISTRY[attention.lower()]
    raise ValueError(
        f"Unknown attention {attention!r}. Use one of {names()}, None, or a callable that returns a Keras layer."
    )


def make(attention, name, attention_kwargs=None):
    """One attention layer named ``name``, or None when ``attention`` is None.

    Registered classes get ``name``; a user's callable is called with ``attention_kwargs`` only.
    """
    if attention is None:
        return None
    factory = get(attention)
    kwargs = dict(attention_kwargs or {})
    if isinstance(factory, type) and issubclass(factory, keras.layers.Layer):
        return factory(name=name, **kwargs)
    layer = factory(**kwargs)
    if not callable(layer):
        raise ValueError(f"The attention factory {factory!r} returned {layer!r}, not a Keras layer.")
    return layer


__all__ = [
    "AttentionLayer",
    "CBAM",
    "ConcurrentSE",
    "EfficientChannelAttention",
    "SeparableSqueezeExcite",
    "SpatialChannelAttention",
    "SqueezeExcite",
    "eca_kernel_size",
    "get",
    "make",
    "names",
]
