"""Published attention blocks used as baselines, with the same interface as SC-SE and SCA."""

import keras
from keras import ops

from keras_scse.layers.base import AttentionLayer, apply_channel_conv1d, apply_conv, channel_gate_conv1d, eca_kernel_size, mean_max


def _reduced(channels, ratio):
    if ratio < 1:
        raise ValueError(f"`ratio` must be >= 1; received ratio={ratio!r}.")
    return max(1, int(channels // ratio))


def _mlp_gate(dense_reduce, dense_expand, pooled):
    """(B, C) -> (B, 1, 1, C) pre-sigmoid logits through the bottleneck MLP."""
    logits = dense_expand(dense_reduce(pooled))
    return ops.reshape(logits, (-1, 1, 1, logits.shape[-1]))


def _build_mlp(layer, channels, ratio):
    layer.dense_reduce = keras.layers.Dense(_reduced(channels, ratio), activation="relu", name="reduce")
    layer.dense_expand = keras.layers.Dense(channels, name="expand")
    layer.dense_reduce.build((None, channels))
    layer.dense_expand.build((None, _reduced(channels, ratio)))


@keras.saving.register_keras_serializable(package="keras_scse")
class SqueezeExcite(AttentionLayer):
    """Squeeze-and-excitation (Hu et al. 2018): y = x * sigmoid(W2 relu(W1 GAP(x))), W1: C -> C/ratio."""

    def __init__(self, ratio=16, **kwargs):
        super().__init__(**kwargs)
        _reduced(1, ratio)
        self.ratio = ratio

    def build_branches(self, channels, input_shape):
        _build_mlp(self, channels, self.ratio)

    def attend(self, x, training=None):
        return x * ops.sigmoid(_mlp_gate(self.dense_reduce, self.dense_expand, ops.mean(x, axis=(1, 2))))

    def get_config(self):
        return {**super().get_config(), "ratio": self.ratio}


@keras.saving.register_keras_serializable(package="keras_scse")
class ConcurrentSE(AttentionLayer):
    """Concurrent spatial and channel SE, scSE (Roy et al. 2018): y = x*cSE(x) + x*sSE(x).

    cSE is SE with ``ratio`` (the scSE paper used 2; 16 here by default so all SE-family baselines share
    one reduction); sSE is sigmoid(conv1x1_{C->1}(x)).
    """

    def __init__(self, ratio=16, **kwargs):
        super().__init__(**kwargs)
        _reduced(1, ratio)
        self.ratio = ratio

    def build_branches(self, channels, input_shape):
        _build_mlp(self, channels, self.ratio)
        self.spatial_conv = keras.layers.Conv2D(1, 1, name="spatial_conv")
        self.spatial_conv.build((None, None, None, channels))

    def attend(self, x, training=None):
        g_c = ops.sigmoid(_mlp_gate(self.dense_reduce, self.dense_expand, ops.mean(x, axis=(1, 2))))
        return x * (g_c + ops.sigmoid(apply_conv(self.spatial_conv, x)))  # = x*g_c + x*g_s, one full-size product less

    def get_config(self):
        return {**super().get_config(), "ratio": self.ratio}


@keras.saving.register_keras_serializable(package="keras_scse")
class EfficientChannelAttention(AttentionLayer):
    """ECA (Wang et al. 2020): y = x * sigmoid(conv1d_k(GAP(x))), k from ECA's rule when None."""

    def __init__(self, kernel_size=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size

    def build_branches(self, channels, input_shape):
        self.conv = channel_gate_conv1d(self.kernel_size or eca_kernel_size(channels), "conv")
        self.conv.build((None, channels, 1))

    def attend(self, x, training=None):
        return x * apply_channel_conv1d(self.conv, ops.mean(x, axis=(1, 2)))

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="keras_scse")
class CBAM(AttentionLayer):
    """CBAM (Woo et al. 2018), channel then spatial, in sequence::

        x' = x * sigmoid(MLP(GAP x) + MLP(GMP x))           (shared MLP, C -> C/ratio -> C)
        y  = x' * sigmoid(conv_kxk([mean_c x', max_c x']))
    """

    def __init__(self, ratio=16, kernel_size=7, **kwargs):
        super().__init__(**kwargs)
        _reduced(1, ratio)
        self.ratio = ratio
        self.kernel_size = kernel_size

    def build_branches(self, channels, input_shape):
        _build_mlp(self, channels, self.ratio)
        self.spatial_conv = keras.layers.Conv2D(1, self.kernel_size, padding="same", name="spatial_conv")
        self.spatial_conv.build((None, None, None, 2))

    def attend(self, x, training=None):
        logits = (_mlp_gate(self.dense_reduce, self.dense_expand, ops.mean(x, axis=(1, 2)))
                  + _mlp_gate(self.dense_reduce, self.dense_expand, ops.max(x, axis=(1, 2))))
        x = x * ops.sigmoid(logits)
        return x * ops.sigmoid(apply_conv(self.spatial_conv, mean_max(x, axis=-1)))

    def get_config(self):
        return {**super().get_config(), "ratio": self.ratio, "kernel_size": self.kernel_size}
