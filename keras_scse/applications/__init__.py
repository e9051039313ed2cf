"""keras.applications-style constructors, and a timm-style registry over them (``registry``)."""

from keras_scse.applications import mobilenet_v2, resnet, squeezenext
from keras_scse.applications.features import feature_extractor, pyramid_layers
from keras_scse.applications.mobilenet_v2 import SCAMobileNetV2
from keras_scse.applications.presets import decode_predictions, from_preset, list_presets, model_card
from keras_scse.applications.registry import MODELS, get_model, list_models, register_model
from keras_scse.applications.resnet import SCAResNet18, SCAResNet34, SCAResNet50, SCAResNet101, SCAResNet152
from keras_scse.applications.squeezenext import (
    SCSENet23,
    SCSENet44,
    SqueezeNext,
    SqueezeNext23,
    SqueezeNext23v5,
    SqueezeNext44,
)

__all__ = [
    "MODELS", "SCAMobileNetV2", "SCAResNet18", "SCAResNet34", "SCAResNet50", "SCAResNet101", "SCAResNet152",
    "SCSENet23", "SCSENet44", "SqueezeNext", "SqueezeNext23", "SqueezeNext23v5", "SqueezeNext44",
    "decode_predictions", "feature_extractor", "from_preset", "get_model", "list_models", "list_presets",
    "mobilenet_v2", "model_card", "pyramid_layers", "register_model", "resnet", "squeezenext",
]
