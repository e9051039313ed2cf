"""Attention layers (SC-SE, SCA and published baselines) and their registry (``keras_scse.layers.registry``)."""

from keras_scse.layers.base import GATE_AXES, AttentionLayer, check_choice, eca_kernel_size
from keras_scse.layers.baselines import (
    CBAM,
    ConcurrentSE,
    EfficientChannelAttention,
    SqueezeExcite,
)
from keras_scse.layers.formulation import AUTO_FORMULATION, FORMULATIONS, conv_formulation
from keras_scse.layers.registry import REGISTRY, get, make, names, register
from keras_scse.layers.sca import SpatialChannelAttention
from keras_scse.layers.separable_se import SeparableSqueezeExcite

__all__ = [
    "AUTO_FORMULATION",
    "AttentionLayer",
    "CBAM",
    "ConcurrentSE",
    "EfficientChannelAttention",
    "FORMULATIONS",
    "GATE_AXES",
    "REGISTRY",
    "SeparableSqueezeExcite",
    "SpatialChannelAttention",
    "SqueezeExcite",
    "check_choice",
    "conv_formulation",
    "eca_kernel_size",
    "get",
    "make",
    "names",
    "register",
]
