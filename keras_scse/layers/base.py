"""Shared machinery of the attention layers: shape checks, the identity-start gate, the ECA kernel rule."""

import math

import keras
from keras import ops


def eca_kernel_size(channels, gamma=2, b=1):
    """ECA's adaptive kernel (Wang et al. 2020): t = int(|(log2(C) + b) / gamma|), forced odd.

    C=64 -> 3, C=128..1024 -> 5, C=2048 -> 7.
    """
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


@keras.saving.register_keras_serializable(package="keras_scse")
class AttentionLayer(keras.layers.Layer):
    """Base class: a shape-preserving attention block on channels_last maps (B, H, W, C).

    Subclasses implement ``build_branches(channels)`` (create sublayers, and build them) and
    ``attend(x, training)`` (return the attended map).

    ``residual_gate=True`` turns the layer into ``y = x + gamma * (attend(x) - x)`` with a scalar
    ``gamma`` initialised to 0, so the layer starts as an exact identity. Use it when inserting attention
    into a pretrained network (the model then computes the pretrained function until fine-tuning moves
    gamma). It is off by default because training from scratch wants the attention active from step 0.
    """

    def __init__(self, residual_gate=False, **kwargs):
        super().__init__(**kwargs)
        self.residual_gate = bool(residual_gate)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"{type(self).__name__} needs a static channel count; received input_shape={input_shape}. "
                "Give the channel axis a fixed size (channels_last: (batch, height, width, channels))."
            )
        self.channels = int(channels)
        self.build_branches(self.channels, input_shape)
        if self.residual_gate:
            self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: self.channels})

    def build_branches(self, channels, input_shape):
        raise NotImplementedError

    def attend(self, x, training=None):
        raise NotImplementedError

    def call(self, x, training=None):
        y = self.attend(x, training=training)
        if self.residual_gate:
            y = x + ops.cast(self.gamma, x.dtype) * (y - x)
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "residual_gate": self.residual_gate}


def channel_gate_conv1d(kernel_size, name):
    """ECA-style gate producer: a 1D conv sliding across the channel axis of the pooled descriptor."""
    return keras.layers.Conv1D(1, kernel_size, padding="same", use_bias=False, name=name)


def same_conv1d(x, kernel, axis):
    """'same' cross-correlation of ``x`` along ``axis`` with a kernel of k taps, summed over x's last axis.

    ``kernel`` has k * x.shape[-1] weights in (k, ..., c_in) order (a Conv1D kernel (k, c_in, 1), or a Conv2D
    kernel (k, 1, c_in, 1) / (1, k, c_in, 1)); the result keeps ``x``'s shape with one channel. Computed as a
    weighted sum of k shifted copies, out[i] = sum_j w[j] . x[i + j - (k-1)//2]: what those conv layers compute,
    with their weights, but TensorFlow's gradient kernels for convolutions with one output channel are slow on
    CPU (benchmarks/results/speed).
    """
    c_in = x.shape[-1]
    k = math.prod(kernel.shape) // c_in
    axis = axis % len(x.shape)
    pads = [[0, 0]] * len(x.shape)
    pads[axis] = [(k - 1) // 2, k // 2]
    padded = ops.pad(x, pads)
    n = x.shape[axis]
    index = [slice(None)] * len(x.shape)
    shifted = []
    for j in range(k):
        index[axis] = slice(j, j + n)
        shifted.append(padded[tuple(index)])
    stacked = ops.concatenate(shifted, axis=-1)  # (..., k * c_in), tap-major as the kernel
    weights = ops.reshape(ops.cast(kernel, x.dtype), (k * c_in, 1))
    return ops.matmul(stacked, weights)


def apply_channel_conv1d(conv, pooled):
    """(B, C) descriptor -> (B, 1, 1, C) sigmoid gate: ``conv`` (Conv1D, 'same', no bias) across the channels."""
    gate = same_conv1d(ops.expand_dims(pooled, -1), conv.kernel, axis=1)  # (B, C, 1)
    return ops.sigmoid(ops.reshape(gate, (-1, 1, 1, pooled.shape[-1])))


def mean_max(x, axis):
    """Concatenate mean and max over ``axis`` (kept) along the last axis: CBAM's pooled descriptor."""
    return ops.concatenate(
        [ops.mean(x, axis=axis, keepdims=True), ops.max(x, axis=axis, keepdims=True)], axis=-1
    )
