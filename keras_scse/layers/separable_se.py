"""SC-SE: separable squeeze-and-excitation (Shahadat et al., FLAIRS 2025).

RECONSTRUCTION. The paper's full text is not available. What it states: an SC-SE layer, a separable SE with
a 1D-CNN block, decouples spatial and channel attention and recalibrates features across space at low cost.
In the first author's earlier papers "separable" means a 2D operation replaced by two consecutive 1D ones
(along H, then W). Everything below beyond that is our reading (see docs/fidelity.md); each
choice is an option so that it can be measured.
"""

import keras
from keras import ops

from keras_scse.layers.base import (
    AttentionLayer,
    apply_channel_conv1d,
    apply_conv,
    axial_gate,
    channel_gate_conv1d,
    check_choice,
    eca_kernel_size,
    gate_conv,
    mean_max,
)
from keras_scse.layers.registry import register

SPATIAL_VARIANTS = ("conv", "axial")
FUSIONS = ("add", "max", "mul")
SQUEEZES = ("conv", "avgmax")


@register("separable_se", deprecated_names=["scse"])
@keras.saving.register_keras_serializable(package="keras_scse")
class SeparableSqueezeExcite(AttentionLayer):
    """Separable squeeze-and-excitation (SC-SE) on a (B, H, W, C) map. Reconstruction, see module docstring.

    Channel branch (no reduction, ECA style)::

        g_c = sigmoid(conv1d_k_c(GAP(x)))                     # (B, 1, 1, C); conv1d slides across channels

    Spatial branch, decoupled from the channel branch, on a squeezed map s::

        s = conv1x1_{C->1}(x)             if squeeze == "conv"      # (B, H, W, 1)
        s = [mean_c(x), max_c(x)]         if squeeze == "avgmax"    # (B, H, W, 2)
        "conv":  g_s = sigmoid(conv_{1 x k_s}(conv_{k_s x 1}(s)))   # separable k_s x k_s kernel, (B, H, W, 1)
        "axial": g_s = sigmoid(conv_{k_s}(mean_W s)) * sigmoid(conv_{k_s}(mean_H s))   # outer product H x W

    Fusion: ``mul``: y = x*g_c*g_s; ``add``: y = x*g_c + x*g_s (as scSE); ``max``: y = x*max(g_c, g_s).

    Defaults (axial, mul) are the best of the six spatial x fusion combinations in the Fashion-MNIST ablation
    (docs/fidelity.md; benchmarks/results/ablation): evidence, not the paper's statement.

    Args:
        spatial: "axial" (default) or "conv".
        fusion: "mul" (default), "add" or "max".
        channel_kernel: odd int, or None for ECA's adaptive rule (3 at C=64, 5 at C=128..1024).
        spatial_kernel: odd int, or None for 7 (3 when the map is known to be <= 8 px on its shorter side).
        squeeze: "conv" (default) or "avgmax".
        residual_gate: start as an exact identity (see ``AttentionLayer``).
    """

    model_prefix = "scse"  # models with this layer are named as the paper names them: SC-SENet ("scsenet44")
    # the allowed option values: one source for the checks below and for search spaces over this layer
    SPATIAL_VARIANTS, FUSIONS, SQUEEZES = SPATIAL_VARIANTS, FUSIONS, SQUEEZES

    def __init__(self, spatial="axial", fusion="mul", channel_kernel=None, spatial_kernel=None,
                 squeeze="conv", **kwargs):
        super().__init__(**kwargs)
        check_choice("spatial", spatial, SPATIAL_VARIANTS)
        check_choice("fusion", fusion, FUSIONS)
        check_choice("squeeze", squeeze, SQUEEZES)
        for arg, value in (("channel_kernel", channel_kernel), ("spatial_kernel", spatial_kernel)):
            if value is not None and (int(value) != value or value < 1 or value % 2 == 0):
                raise ValueError(f"`{arg}` must be a positive odd integer or None; received {arg}={value!r}.")
        self.spatial = spatial
        self.fusion = fusion
        self.channel_kernel = channel_kernel
        self.spatial_kernel = spatial_kernel
        self.squeeze = squeeze

    def build_branches(self, channels, input_shape):
        k_c = self.channel_kernel or eca_kernel_size(channels)
        known = [d for d in input_shape[1:3] if d is not None]
        k_s = self.spatial_kernel or (3 if known and min(known) <= 8 else 7)
        self.resolved_kernels = (k_c, k_s)
        self.channel_conv = channel_gate_conv1d(k_c, channels, "channel_conv")
        squeezed = 1
        if self.squeeze == "conv":
            self.squeeze_conv = gate_conv(1, channels, "squeeze_conv")
        else:
            squeezed = 2
        self.conv_h = gate_conv((k_s, 1), squeezed, "conv_h")
        # "conv": conv_w follows conv_h (one map); "axial": each sees the squeezed strip profile.
        self.conv_w = gate_conv((1, k_s), 1 if self.spatial == "conv" else squeezed, "conv_w")

    def _squeezed(self, x):
        return apply_conv(self.squeeze_conv, x) if self.squeeze == "conv" else mean_max(x, axis=-1)

    def gates(self, x, training=None):
        """{"channel": g_c (B, 1, 1, C), "spatial": g_s (B, H, W, 1)}, both sigmoid gates in (0, 1)."""
        g_c = apply_channel_conv1d(self.channel_conv, ops.mean(x, axis=(1, 2)))
        s = self._squeezed(x)
        if self.spatial == "conv":
            g_s = ops.sigmoid(apply_conv(self.conv_w, apply_conv(self.conv_h, s)))
        else:
            g_s = axial_gate(self.conv_h, self.conv_w, s)
        return {"channel": g_c, "spatial": g_s}

    def attend(self, x, training=None):
        gates = self.gates(x, training=training)
        g_c, g_s = gates["channel"], gates["spatial"]
        if self.fusion == "add":  # = x*g_c + x*g_s with one full-size product less (forward and backward)
            return x * (g_c + g_s)
        if self.fusion == "max":
            return x * ops.maximum(g_c, g_s)
        return x * g_c * g_s

    def get_config(self):
        # Once built, the resolved kernel sizes: a saved model then rebuilds the same weights at any input size.
        channel_kernel, spatial_kernel = getattr(self, "resolved_kernels", (self.channel_kernel, self.spatial_kernel))
        return {
            **super().get_config(),
            "spatial": self.spatial,
            "fusion": self.fusion,
            "channel_kernel": channel_kernel,
            "spatial_kernel": spatial_kernel,
            "squeeze": self.squeeze,
        }
