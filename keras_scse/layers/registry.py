"""The attention registry: what a backbone's ``attention=`` argument accepts.

``get(name_or_factory)`` resolves a registered name, a layer class, or any callable that returns a Keras
layer; ``make(...)`` builds one instance. ``register(name)`` is the decorator that adds a layer class.
"""

import keras

REGISTRY = {}


def register(name):
    """Class decorator: make the layer available as ``attention=name`` (case-insensitive)."""

    def add(cls):
        key = name.lower()
        if key in REGISTRY and REGISTRY[key] is not cls:
            raise ValueError(f"Attention name {name!r} is already registered to {REGISTRY[key].__name__}.")
        REGISTRY[key] = cls
        return cls

    return add


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
