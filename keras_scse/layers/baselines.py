"""Published attention blocks used as baselines, with the same interface as SC-SE and SCA."""

import keras
from keras import ops

from keras_scse.layers.base import (
    AttentionLayer,
    apply_channel_conv1d,
    apply_conv,
    channel_gate_conv1d,
    eca_kernel_size,
    gate_conv,
    mean_max,
)
from keras_scse.layers.registry import register


def _reduced(channels, ratio):
    if ratio < 1:
        raise ValueError(f"`ratio` must be >= 1; received ratio={ratio!r}.")
    return max(1, int(channels // ratio))


class ChannelMLPAttention(AttentionLayer):
    """What the SE family shares: a bottleneck MLP C -> C/ratio (ReLU) -> C on pooled channel descriptors."""

    def __init__(self, ratio=16, **kwargs):
        super().__init__(**kwargs)
        _reduced(1, ratio)
        self.ratio = ratio

    def build_branches(self, channels, input_shape):
        self.dense_reduce = keras.layers.Dense(_reduced(channels, self.ratio), activation="relu", name="reduce")
        self.dense_expand = keras.layers.Dense(channels, name="expand")
        self.dense_reduce.build((None, channels))
        self.dense_expand.build((None, _reduced(channels, self.ratio)))

    def channel_logits(self, pooled):
        """(B, C) -> (B, 1, 1, C) pre-sigmoid logits through the bottleneck MLP."""
        logits = self.dense_expand(self.dense_reduce(pooled))
        return ops.reshape(logits, (-1, 1, 1, logits.shape[-1]))

    def get_config(self):
        return {**super().get_config(), "ratio": self.ratio}


@register("se")
@keras.saving.register_keras_serializable(package="keras_scse")
class SqueezeExcite(ChannelMLPAttention):
    """Squeeze-and-excitation (Hu et al. 2018): y = x * sigmoid(W2 relu(W1 GAP(x))), W1: C -> C/ratio."""

    def gates(self, x, training=None):
        """{"channel": (B, 1, 1, C)} in (0, 1)."""
        return {"channel": ops.sigmoid(self.channel_logits(ops.mean(x, axis=(1, 2))))}

    def attend(self, x, training=None):
        return x * self.gates(x, training=training)["channel"]


@register("concurrent_se", deprecated_names=["scse_concurrent"])
@keras.saving.register_keras_serializable(package="keras_scse")
class ConcurrentSE(ChannelMLPAttention):
    """Concurrent spatial and channel SE, scSE (Roy et al. 2018): y = x*cSE(x) + x*sSE(x).

    cSE is SE with ``ratio`` (the scSE paper used 2; 16 here by default so all SE-family baselines share
    one reduction); sSE is sigmoid(conv1x1_{C->1}(x)).
    """

    def build_branches(self, channels, input_shape):
        super().build_branches(channels, input_shape)
        self.spatial_conv = gate_conv(1, channels, "spatial_conv")

    def gates(self, x, training=None):
        """{"channel": cSE's gate (B, 1, 1, C), "spatial": sSE's gate (B, H, W, 1)}, both in (0, 1)."""
        return {"channel": ops.sigmoid(self.channel_logits(ops.mean(x, axis=(1, 2)))),
                "spatial": ops.sigmoid(apply_conv(self.spatial_conv, x))}

    def attend(self, x, training=None):
        gates = self.gates(x, training=training)
        return x * (gates["channel"] + gates["spatial"])  # = x*g_c + x*g_s, one full-size product less


@register("eca")
@keras.saving.register_keras_serializable(package="keras_scse")
class EfficientChannelAttention(AttentionLayer):
    """ECA (Wang et al. 2020): y = x * sigmoid(conv1d_k(GAP(x))), k from ECA's rule when None."""

    def __init__(self, kernel_size=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size

    def build_branches(self, channels, input_shape):
        self.conv = channel_gate_conv1d(self.kernel_size or eca_kernel_size(channels), channels, "conv")

    def gates(self, x, training=None):
        """{"channel": (B, 1, 1, C)} in (0, 1)."""
        return {"channel": apply_channel_conv1d(self.conv, ops.mean(x, axis=(1, 2)))}

    def attend(self, x, training=None):
        return x * self.gates(x, training=training)["channel"]

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}


@register("cbam")
@keras.saving.register_keras_serializable(package="keras_scse")
class CBAM(ChannelMLPAttention):
    """CBAM (Woo et al. 2018), channel then spatial, in sequence::

        x' = x * sigmoid(MLP(GAP x) + MLP(GMP x))           (shared MLP, C -> C/ratio -> C)
        y  = x' * sigmoid(conv_kxk([mean_c x', max_c x']))
    """

    def __init__(self, ratio=16, kernel_size=7, **kwargs):
        super().__init__(ratio=ratio, **kwargs)
        self.kernel_size = kernel_size

    def build_branches(self, channels, input_shape):
        super().build_branches(channels, input_shape)
        self.spatial_conv = gate_conv(self.kernel_size, 2, "spatial_conv")

    def _channel_then_spatial(self, x):
        """(x * g_c, {"channel": g_c (B, 1, 1, C), "spatial": g_s (B, H, W, 1)}); g_s is computed on x * g_c."""
        logits = self.channel_logits(ops.mean(x, axis=(1, 2))) + self.channel_logits(ops.max(x, axis=(1, 2)))
        g_c = ops.sigmoid(logits)
        x = x * g_c
        return x, {"channel": g_c, "spatial": ops.sigmoid(apply_conv(self.spatial_conv, mean_max(x, axis=-1)))}

    def gates(self, x, training=None):
        """{"channel": (B, 1, 1, C), "spatial": (B, H, W, 1)}, in (0, 1); y = x * channel * spatial."""
        return self._channel_then_spatial(x)[1]

    def attend(self, x, training=None):
        x, gates = self._channel_then_spatial(x)
        return x * gates["spatial"]

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}
