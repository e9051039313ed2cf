"""The attention registry: what a backbone's ``attention=`` argument accepts.

``get(name_or_factory)`` resolves a registered name, a layer class, or any callable that returns a Keras
layer; ``make(...)`` builds one instance. ``register(name)`` is the decorator that adds a layer class.

One name per design: "separable_se" is SC-SE (Shahadat et al.), "concurrent_se" is scSE (Roy et al.). Their
earlier names, "scse" and "scse_concurrent", differed by one letter's case from each other's papers (and
"scse" from the package's name); they still resolve, with a DeprecationWarning.
"""

import warnings

import keras

REGISTRY = {}
DEPRECATED_NAMES = {}  # old name -> registered name


def register(name, deprecated_names=()):
    """Class decorator: make the layer available as ``attention=name`` (case-insensitive); ``deprecated_names``
    still resolve to it, with a warning."""

    def add(cls):
        key = name.lower()
        if key in REGISTRY and REGISTRY[key] is not cls:
            raise ValueError(f"Attention name {name!r} is already registered to {REGISTRY[key].__name__}.")
        REGISTRY[key] = cls
        DEPRECATED_NAMES.update({old.lower(): key for old in deprecated_names})
        return cls

    return add


def canonical(name):
    """The registered name for ``name`` (case-insensitive); a deprecated name is translated, with a warning."""
    key = name.lower()
    if key in DEPRECATED_NAMES:
        warnings.warn(f"attention={name!r} is deprecated: it is {DEPRECATED_NAMES[key]!r} (the same layer).",
                      DeprecationWarning, stacklevel=4)
        return DEPRECATED_NAMES[key]
    return key


def names():
    """The registered attention names."""
    return sorted(REGISTRY)


def get(attention):
    """Resolve a registered name (case-insensitive) or pass a callable through."""
    if callable(attention):
        return attention
    key = canonical(attention) if isinstance(attention, str) else None
    if key in REGISTRY:
        return REGISTRY[key]
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
