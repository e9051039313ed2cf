"""keras.applications-style constructors, and a timm-style registry over them."""

import fnmatch

from keras_scse.applications import mobilenet_v2, resnet, squeezenext
from keras_scse.applications.features import feature_extractor, pyramid_layers
from keras_scse.applications.mobilenet_v2 import SCAMobileNetV2
from keras_scse.applications.presets import decode_predictions, from_preset, list_presets, model_card
from keras_scse.applications.resnet import SCAResNet18, SCAResNet34, SCAResNet50, SCAResNet101, SCAResNet152
from keras_scse.applications.squeezenext import (
    SCSENet23,
    SCSENet44,
    SqueezeNext,
    SqueezeNext23,
    SqueezeNext23v5,
    SqueezeNext44,
)

MODELS = {name: getattr(squeezenext, name) for name in squeezenext.VARIANTS}
MODELS.update({name: getattr(resnet, name) for name in resnet.VARIANTS})
MODELS.update({name: getattr(mobilenet_v2, name) for name in mobilenet_v2.VARIANTS})


def list_models(pattern="*"):
    """Registered model names matching a shell-style wildcard (case-insensitive), sorted."""
    return sorted(name for name in MODELS if fnmatch.fnmatch(name.lower(), pattern.lower()))


def get_model(model_name, /, **kwargs):
    """Build a registered model by name (case-insensitive); kwargs, ``name`` included, go to its constructor."""
    by_lower = {n.lower(): n for n in MODELS}
    if not isinstance(model_name, str) or model_name.lower() not in by_lower:
        raise ValueError(f"Unknown model {model_name!r}. Registered models: {list_models()}")
    return MODELS[by_lower[model_name.lower()]](**kwargs)
