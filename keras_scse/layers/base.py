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


def shifted_conv(x, kernel, axes):
    """'same' convolution (cross-correlation, stride 1) of ``x`` (..., c_in) with a one-output-channel kernel.

    ``kernel`` is a Keras conv kernel with one output channel whose leading dimensions are the taps along
    ``axes`` of ``x``: (k, c_in, 1) for a Conv1D along one axis, (kh, kw, c_in, 1) for a Conv2D over two; odd
    tap counts. Returns x's shape with one channel. Computed as one matmul over shifted copies of ``x`` (for
    each tap j: out[i] += w[j] . x[i + j - (k-1)//2]): the conv layer's function and weights, but TensorFlow's
    gradient kernels for one-output-channel convolutions are very slow on CPU (benchmarks/attention_micro.py).
    """
    taps = tuple(kernel.shape[:len(axes)])
    rank = len(x.shape)
    stacked = x
    for axis, k in reversed(list(zip(axes, taps))):  # last axis first: the stack ends up in the kernel's order
        if k == 1:
            continue
        axis %= rank
        pads = [[0, 0]] * rank
        pads[axis] = [(k - 1) // 2, k // 2]
        padded = ops.pad(stacked, pads)
        n = stacked.shape[axis]
        index = [slice(None)] * rank
        shifted = []
        for j in range(k):
            index[axis] = slice(j, j + n)
            shifted.append(padded[tuple(index)])
        stacked = ops.concatenate(shifted, axis=-1)  # (..., k * previous channels), tap-major
    weights = ops.reshape(ops.cast(kernel, x.dtype), (-1, 1))
    return ops.tensordot(stacked, weights, axes=[[rank - 1], [0]])  # one 2D matmul, not a batch of tiny ones


def apply_conv(conv, x):
    """Apply a one-output-channel, stride-1, 'same' Conv2D layer ``conv`` to ``x``.

    1x1, k x 1 and 1 x k kernels go through ``shifted_conv`` (faster on CPU, same function); k x k kernels
    through the layer itself: shifted copies along both axes and im2col patches were both slower there
    (benchmarks/attention_micro.py).
    """
    if min(conv.kernel.shape[:2]) > 1:
        return conv(x)
    y = shifted_conv(x, conv.kernel, axes=(1, 2))
    return y + ops.cast(conv.bias, y.dtype) if conv.use_bias else y


def apply_channel_conv1d(conv, pooled):
    """(B, C) descriptor -> (B, 1, 1, C) sigmoid gate: ``conv`` (Conv1D, 'same', no bias) across the channels."""
    gate = shifted_conv(ops.expand_dims(pooled, -1), conv.kernel, axes=(1,))  # (B, C, 1)
    return ops.sigmoid(ops.reshape(gate, (-1, 1, 1, pooled.shape[-1])))


def mean_max(x, axis):
    """Concatenate mean and max over ``axis`` (kept) along the last axis: CBAM's pooled descriptor."""
    return ops.concatenate(
        [ops.mean(x, axis=axis, keepdims=True), ops.max(x, axis=axis, keepdims=True)], axis=-1
    )
