"""SCA: spatial channel attention with cross-dimensional interaction (Liu et al., Mathematics 2022).

RECONSTRUCTION. The paper's abstract states: no 2D global pooling, no channel reduction, cross-dimensional
interaction, negligible overhead. The layer below ("directional pool + cross-dimension conv", the Triplet
Attention family) is our reading of that; see docs/fidelity.md.
"""

import keras
from keras import ops

from keras_scse.layers.base import AttentionLayer, apply_conv, check_choice, gate_conv
from keras_scse.layers.registry import register

POOLS = ("avg", "avgmax")
FUSIONS = ("mul", "mean")


@register("sca")
@keras.saving.register_keras_serializable(package="keras_scse")
class SpatialChannelAttention(AttentionLayer):
    """Spatial channel attention (SCA) on a (B, H, W, C) map. Reconstruction, see module docstring.

    Each branch pools one spatial axis away and treats the remaining (spatial, channel) plane as an image,
    so a k x k conv mixes space and channels without any reduction::

        H-branch: z_h = mean_W x  (B, H, C, 1) -> conv_kxk -> (BN) -> sigmoid -> g_h (B, H, 1, C)
        W-branch: z_w = mean_H x  (B, W, C, 1) -> conv_kxk -> (BN) -> sigmoid -> g_w (B, 1, W, C)
        optional spatial branch: mean_C x (B, H, W, 1) -> conv_kxk -> sigmoid -> g_s (B, H, W, 1)

    Fusion ``mul`` (default): y = x * g_h * g_w (* g_s); ``mean``: y = mean of x*g over the branches
    (with the spatial branch this is Triplet Attention). ``pool="avgmax"`` stacks the max beside each mean, as
    Triplet Attention's Z-pool does (the layer's default until the attention study found it no more accurate on
    SqueezeNext44 and slower there and on ResNet-50: docs/results.md, docs/speed.md).
    Cost: branches * pooled_maps * k * k weights (18 at k=3, 98 at k=7 for two "avg" branches), + BN.

    Args:
        kernel_size: odd int, default 7 (Triplet Attention's evidence: 7 on ResNet-50, 3 on MobileNetV2).
        pool: "avg" (default) or "avgmax".
        fusion: "mul" (default) or "mean".
        spatial_branch: add the plain H-W branch (default False).
        use_bn: BatchNorm on each branch's conv output before the sigmoid (default False).
        residual_gate: start as an exact identity (see ``AttentionLayer``).
    """

    # the allowed option values: one source for the checks below and for search spaces over this layer
    POOLS, FUSIONS = POOLS, FUSIONS

    def __init__(self, kernel_size=7, pool="avg", fusion="mul", spatial_branch=False, use_bn=False,
                 **kwargs):
        super().__init__(**kwargs)
        check_choice("pool", pool, POOLS)
        check_choice("fusion", fusion, FUSIONS)
        if int(kernel_size) != kernel_size or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"`kernel_size` must be a positive odd integer; received kernel_size={kernel_size!r}.")
        self.kernel_size = int(kernel_size)
        self.pool = pool
        self.fusion = fusion
        self.spatial_branch = bool(spatial_branch)
        self.use_bn = bool(use_bn)

    def build_branches(self, channels, input_shape):
        pooled = 2 if self.pool == "avgmax" else 1
        names = ["h", "w"] + (["s"] if self.spatial_branch else [])
        self.branches = []
        for name in names:
            conv = gate_conv(self.kernel_size, pooled, f"conv_{name}", use_bias=not self.use_bn)
            bn = None
            if self.use_bn:
                bn = keras.layers.BatchNormalization(name=f"bn_{name}")
                bn.build((None, None, None, 1))
            self.branches.append((conv, bn))

    def _pool(self, x, axis):
        """Pool ``axis`` away and stack the pooled maps on a new last axis."""
        maps = [ops.mean(x, axis=axis)]
        if self.pool == "avgmax":
            maps.append(ops.max(x, axis=axis))
        return ops.stack(maps, axis=-1)

    def _gate(self, branch, z, training):
        conv, bn = branch
        g = apply_conv(conv, z)
        if bn is not None:
            g = bn(g, training=training)
        return ops.sigmoid(g)

    def gates(self, x, training=None):
        """{"height": g_h (B, H, 1, C), "width": g_w (B, 1, W, C)} (+ "spatial": g_s (B, H, W, 1) with
        ``spatial_branch``), sigmoid gates in (0, 1)."""
        g_h = ops.transpose(self._gate(self.branches[0], self._pool(x, 2), training), (0, 1, 3, 2))  # (B,H,1,C)
        g_w = ops.transpose(self._gate(self.branches[1], self._pool(x, 1), training), (0, 3, 1, 2))  # (B,1,W,C)
        gates = {"height": g_h, "width": g_w}
        if self.spatial_branch:
            gates["spatial"] = self._gate(self.branches[2], self._pool(x, 3), training)  # (B,H,W,1)
        return gates

    def attend(self, x, training=None):
        gates = list(self.gates(x, training=training).values())
        if self.fusion == "mul":
            y = x
            for g in gates:
                y = y * g
            return y
        return sum(x * g for g in gates) / len(gates)

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "pool": self.pool,
            "fusion": self.fusion,
            "spatial_branch": self.spatial_branch,
            "use_bn": self.use_bn,
        }
