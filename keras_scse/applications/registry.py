"""The model registry (timm's ``register_model``): every constructor ``get_model`` and ``list_models`` know."""

import fnmatch

MODELS = {}


def register_model(constructor):
    """Decorator (or function) adding a keras.applications-style constructor under its ``__name__``."""
    name = constructor.__name__
    if name in MODELS and MODELS[name] is not constructor:
        raise ValueError(f"A model named {name!r} is already registered; give the constructor another name.")
    MODELS[name] = constructor
    return constructor


def list_models(pattern="*"):
    """Registered model names matching a shell-style wildcard (case-insensitive), sorted."""
    return sorted(name for name in MODELS if fnmatch.fnmatch(name.lower(), pattern.lower()))


def get_model(model_name, /, **kwargs):
    """Build a registered model by name (case-insensitive); kwargs, ``name`` included, go to its constructor."""
    by_lower = {n.lower(): n for n in MODELS}
    if not isinstance(model_name, str) or model_name.lower() not in by_lower:
        raise ValueError(f"Unknown model {model_name!r}. Registered models: {list_models()}")
    return MODELS[by_lower[model_name.lower()]](**kwargs)
