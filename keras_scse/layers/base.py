"""Shared machinery of the attention layers: shape checks, the identity-start gate, the ECA kernel rule."""

import math

import keras
import numpy as np
from keras import ops

from keras_scse.layers.formulation import formulation


def check_choice(name, value, allowed):
    """ValueError naming the option and its allowed values unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {list(allowed)}; received {name}={value!r}.")


def eca_kernel_size(channels, gamma=2, b=1):
    """ECA's adaptive kernel (Wang et al. 2020): t = int(|(log2(C) + b) / gamma|), forced odd.

    C=64 -> 3, C=128..1024 -> 5, C=2048 -> 7.
    """
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


DATA_FORMATS = ("channels_last", "channels_first")

# gate name -> the axes of (B, H, W, C) it broadcasts over (size 1), dropped to show it: "channel" -> (B, C)
GATE_AXES = {"channel": (1, 2), "spatial": (3,), "height": (2,), "width": (1,)}


@keras.saving.register_keras_serializable(package="keras_scse")
class AttentionLayer(keras.layers.Layer):
    """Base class: a shape-preserving attention block on (B, H, W, C) maps, or (B, C, H, W) ones with
    ``data_format="channels_first"``.

    Subclasses implement ``build_branches(channels, input_shape)`` (create sublayers, and build them; the shape
    is given channels_last),
    ``gates(x, training)`` (the gate maps, see below) and ``attend(x, training)`` (the attended map, computed
    from ``gates``: one implementation, which ``keras_scse.explain.attention_maps`` reads too).

    ``gates(x)`` returns ``{name: gate}``, each gate shaped to broadcast against x (B, H, W, C); the names
    are a shared vocabulary (``GATE_AXES``: the broadcast axes each name drops for display):
    ``"channel"`` (B, 1, 1, C), ``"spatial"`` (B, H, W, 1), ``"height"`` (B, H, 1, C), ``"width"``
    (B, 1, W, C). They are the gates before the residual mix below (with ``residual_gate`` the output moves
    from x towards ``attend(x)`` by ``gamma``).

    ``residual_gate=True`` turns the layer into ``y = x + gamma * (attend(x) - x)`` with a scalar
    ``gamma`` initialised to 0, so the layer starts as an exact identity. Use it when inserting attention
    into a pretrained network (the model then computes the pretrained function until fine-tuning moves
    gamma). It is off by default because training from scratch wants the attention active from step 0.

    ``data_format``: "channels_last" (B, H, W, C) or "channels_first" (B, C, H, W); None (default) reads
    ``keras.config.image_data_format()`` when the layer is made, as Keras' own layers do. The layer computes in
    channels_last either way: under channels_first, ``call`` transposes its input to (B, H, W, C)
    (``channels_last(x)``), attends, and transposes the result back. So ``gates`` and ``attend`` always take
    and return channels_last maps, and the gates above are shaped against ``channels_last(x)``, not against the
    layer's (B, C, H, W) input (``keras_scse.explain.attention_maps`` transposes before it calls ``gates``).
    Weights are the same in both formats (the branches see the same channels_last map).
    """

    def __init__(self, residual_gate=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.residual_gate = bool(residual_gate)
        self.data_format = keras.config.image_data_format() if data_format is None else data_format
        check_choice("data_format", self.data_format, DATA_FORMATS)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        channel_axis = 1 if self.data_format == "channels_first" else -1
        channels = input_shape[channel_axis]
        if not channels:
            raise ValueError(
                f"{type(self).__name__} needs a static channel count >= 1; received input_shape={input_shape}. "
                f"Give the channel axis a fixed size ({self.data_format}: (batch, "
                f"{'channels, height, width' if channel_axis == 1 else 'height, width, channels'}))."
            )
        self.channels = int(channels)
        height, width = input_shape[2:4] if channel_axis == 1 else input_shape[1:3]
        self.build_branches(self.channels, (input_shape[0], height, width, self.channels))  # channels_last
        if self.residual_gate:
            self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={channel_axis: self.channels})

    def channels_last(self, x):
        """The layer's input as the (B, H, W, C) map ``gates`` and ``attend`` take (transposed under
        channels_first, else ``x`` itself)."""
        return ops.transpose(x, (0, 2, 3, 1)) if self.data_format == "channels_first" else x

    def build_branches(self, channels, input_shape):
        raise NotImplementedError

    def gates(self, x, training=None):
        """{name: gate}: the maps ``attend`` multiplies x by (names and shapes: the class docstring)."""
        raise NotImplementedError(f"{type(self).__name__} does not expose its gates: implement "
                                  "gates(x, training) -> {name: gate} and compute attend from it.")

    def attend(self, x, training=None):
        raise NotImplementedError

    def call(self, x, training=None):
        if not keras.backend.is_float_dtype(x.dtype):
            raise ValueError(f"{type(self).__name__} needs a floating-point map; received dtype {x.dtype}. Cast it "
                             "first, e.g. keras.ops.cast(x, 'float32') (images scaled to [0, 1]).")
        if 0 in x.shape:
            raise ValueError(f"{type(self).__name__} got an empty map, shape {tuple(x.shape)}; every axis needs "
                             "size >= 1.")
        y = self.attend(self.channels_last(x), training=training)
        if self.data_format == "channels_first":
            y = ops.transpose(y, (0, 3, 1, 2))
        if self.residual_gate:
            y = x + ops.cast(self.gamma, x.dtype) * (y - x)
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "residual_gate": self.residual_gate, "data_format": self.data_format}

    @classmethod
    def from_config(cls, config):
        # a config saved before ``data_format`` existed is channels_last, the only format then
        return super().from_config({"data_format": "channels_last", **config})


def channel_gate_conv1d(kernel_size, channels, name):
    """ECA-style gate producer: a 1D conv sliding across the channel axis of the pooled descriptor, built."""
    conv = keras.layers.Conv1D(1, kernel_size, padding="same", use_bias=False, data_format="channels_last", name=name)
    conv.build((None, channels, 1))
    return conv


def gate_conv(kernel_size, in_channels, name, use_bias=True):
    """A one-output, stride-1, 'same' Conv2D (built) on the channels_last maps every AttentionLayer computes on,
    whatever keras.config.image_data_format() says (see ``AttentionLayer``)."""
    conv = keras.layers.Conv2D(1, kernel_size, padding="same", use_bias=use_bias, data_format="channels_last",
                               name=name)
    conv.build((None, None, None, in_channels))
    return conv


def shifted_sum_conv(x, kernel):
    """'same' k x k conv (stride 1) of x (B, H, W, c_in) with a one-output (kh, kw, c_in, 1) kernel: one matmul
    of the padded map with all kh * kw taps, then the sum of kh * kw shifted slices of its channels."""
    kh, kw, c_in, _ = kernel.shape
    h, w = ops.shape(x)[1], ops.shape(x)[2]
    top, left = (kh - 1) // 2, (kw - 1) // 2  # TensorFlow's 'same': the extra row / column goes below / right
    padded = ops.pad(x, [[0, 0], [top, kh - 1 - top], [left, kw - 1 - left], [0, 0]])
    taps = ops.tensordot(padded, ops.transpose(ops.reshape(kernel, (kh * kw, c_in))),
                         axes=[[3], [0]])  # (B, H + kh - 1, W + kw - 1, kh * kw)
    y = sum(taps[:, i:i + h, j:j + w, i * kw + j] for i in range(kh) for j in range(kw))
    return ops.expand_dims(y, -1)


def batch_as_channels_conv(x, kernel):
    """'same' k x k conv (stride 1) of x (B, H, W, c_in) with a one-output (kh, kw, c_in, 1) kernel.

    Run as one depthwise conv of a single image whose B * c_in channels are the batch's maps (the kernel tiled
    over the batch), then a sum over c_in. Same function as Conv2D, 3-5x less CPU time forward + backward:
    TensorFlow's CPU kernels for convolutions with 1-2 channels are slow, its depthwise kernels vectorise over
    channels (benchmarks/results/speed/attention_micro.md).
    """
    kh, kw, c_in, _ = kernel.shape
    batch, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
    image = ops.reshape(ops.transpose(x, (1, 2, 0, 3)), (1, h, w, -1))  # (1, H, W, B * c_in), batch-major
    tiled = ops.reshape(ops.tile(ops.reshape(kernel, (kh, kw, 1, c_in)), (1, 1, batch, 1)), (kh, kw, -1, 1))
    y = ops.depthwise_conv(image, tiled, padding="same")  # (1, H, W, B * c_in)
    y = ops.sum(ops.reshape(y, (h, w, batch, c_in)), axis=-1)  # (H, W, B)
    return ops.expand_dims(ops.transpose(y, (2, 0, 1)), -1)


def banded_conv(x, kernel):
    """'same' k x k conv (stride 1) of x (B, H, W, c_in) with a one-output (kh, kw, c_in, 1) kernel, as one matmul
    and kw shifted slices: along the height the conv is a banded (H x H) matrix per width tap j,
    ``band[j, o, g] = kernel[g - o + top, j]``, so ``u[..., j] = band[j] @ x`` (B, H, W, kw), and the width taps
    are summed as shifted slices of u. It does H / kh times the conv's multiply-adds (cheap on small maps, the
    attention layers' pooled planes). Needs a static height (the band is built at trace time); else "shifted"."""
    kh, kw, c_in, _ = kernel.shape
    height = x.shape[1]
    if height is None:
        return shifted_sum_conv(x, kernel)
    top, left = (kh - 1) // 2, (kw - 1) // 2  # TensorFlow's 'same', as in shifted_sum_conv
    offsets = np.arange(height)[None, :] - np.arange(height)[:, None] + top  # (out row, in row) -> kernel row
    taps = np.stack([offsets == i for i in range(kh)]).astype(np.float32)  # (kh, H, H): which tap links rows
    band = ops.einsum("ijm,iog->jogm", kernel[..., 0], ops.cast(taps, x.dtype))  # (kw, H, H, c_in)
    u = ops.einsum("bgwm,jogm->bowj", x, band)  # (B, H, W, kw)
    w = ops.shape(x)[2]
    u = ops.pad(u, [[0, 0], [0, 0], [left, kw - 1 - left], [0, 0]])
    y = sum(u[:, :, j:j + w, j] for j in range(kw))
    return ops.expand_dims(y, -1)


def same_conv(x, kernel):
    """'same' conv (stride 1) as one conv op: "fused"'s channel gate (a conv along the descriptor's 1 x C view)."""
    return ops.conv(x, kernel, padding="same")


ONE_OUTPUT_CONVS = {"batch_as_channels": batch_as_channels_conv, "shifted": shifted_sum_conv, "banded": banded_conv,
                    "fused": same_conv}


def apply_conv(conv, x):
    """``conv(x)`` for a one-output-channel, stride-1, 'same' Conv2D layer, computed as ``formulation()`` says."""
    how = formulation(conv.kernel.shape[:2])
    if how in ("plain", "fused"):
        return conv(x)
    kernel = ops.cast(conv.kernel, x.dtype)
    if max(kernel.shape[:2]) > 1:
        y = ONE_OUTPUT_CONVS[how](x, kernel)
    else:  # 1x1: a matmul over the channel axis
        y = ops.tensordot(x, ops.reshape(kernel, (-1, 1)), axes=[[3], [0]])
    return y + ops.cast(conv.bias, y.dtype) if conv.use_bias else y


def apply_channel_conv1d(conv, pooled):
    """(B, C) descriptor -> (B, 1, 1, C) sigmoid gate: ``conv`` (Conv1D, 'same', no bias) across the channels."""
    k, channels = conv.kernel.shape[0], pooled.shape[-1]
    how = formulation((1, k))
    if how == "plain":
        return ops.sigmoid(ops.reshape(conv(ops.expand_dims(pooled, -1)), (-1, 1, 1, channels)))
    image = ops.reshape(pooled, (-1, 1, channels, 1))  # the descriptor as a 1 x C map: a (1, k) conv along C
    kernel = ops.reshape(ops.cast(conv.kernel, pooled.dtype), (1, k, 1, 1))
    gate = ONE_OUTPUT_CONVS[how](image, kernel)
    return ops.sigmoid(ops.reshape(gate, (-1, 1, 1, channels)))


def _strip_taps(kernel, size):
    """(2 * size - 1, c_in) taps of a one-output (k, c_in) 'same' strip kernel over a map of ``size`` along it,
    centred (row size - 1 is the output's own row); taps that could only ever see padding are dropped."""
    k = kernel.shape[0]
    top = (k - 1) // 2  # TensorFlow's 'same': output row i reads input row i + t - top
    place = np.zeros((2 * size - 1, k), np.float32)  # place[r, t] = 1: tap t sits at row r of the wide kernel
    for t in range(k):
        if 0 <= size - 1 + t - top < 2 * size - 1:
            place[size - 1 + t - top, t] = 1
    return ops.matmul(ops.cast(place, kernel.dtype), kernel)


def full_span_strip_kernel(conv_h, conv_w, height, width):
    """(2H - 1, 2W - 1, c_in, 2) kernel of one 'same' conv that computes both axial strip convs of a (B, H, W, c_in)
    map s at once: channel 0 = conv_h(mean_W s), channel 1 = conv_w(mean_H s), each already broadcast over the axis
    it pooled. The pooling is folded into the kernel: a width of 2W - 1 with 'same' padding covers all W columns
    from every output column, so weights 1 / W along it are the mean."""
    kh = _strip_taps(conv_h.kernel[:, 0, :, 0], height) / width  # (2H - 1, c_in): every column
    kw = _strip_taps(conv_w.kernel[0, :, :, 0], width) / height  # (2W - 1, c_in): every row
    shape = (2 * height - 1, 2 * width - 1, kh.shape[-1])
    return ops.stack([ops.broadcast_to(kh[:, None, :], shape), ops.broadcast_to(kw[None, :, :], shape)], axis=-1)


def axial_gate(conv_h, conv_w, s):
    """SC-SE's axial spatial gate sigmoid(conv_h(mean_W s)) * sigmoid(conv_w(mean_H s)), (B, H, W, 1), of a
    (B, H, W, c) map s. Under "fused" (and a static H, W) one conv (``full_span_strip_kernel``), one sigmoid and a
    product over its two channels: 3 ops for the 7 of two means, two convs, two sigmoids and a product."""
    height, width = s.shape[1], s.shape[2]
    if formulation(conv_h.kernel.shape[:2]) == "fused" and height and width:
        kernel = ops.cast(full_span_strip_kernel(conv_h, conv_w, height, width), s.dtype)
        bias = ops.cast(ops.concatenate([conv_h.bias, conv_w.bias]), s.dtype)
        return ops.prod(ops.sigmoid(ops.conv(s, kernel, padding="same") + bias), axis=-1, keepdims=True)
    g_h = ops.sigmoid(apply_conv(conv_h, ops.mean(s, axis=2, keepdims=True)))  # (B, H, 1, 1)
    g_w = ops.sigmoid(apply_conv(conv_w, ops.mean(s, axis=1, keepdims=True)))  # (B, 1, W, 1)
    return g_h * g_w


def mean_max(x, axis):
    """Concatenate mean and max over ``axis`` (kept) along the last axis: CBAM's pooled descriptor."""
    return ops.concatenate(
        [ops.mean(x, axis=axis, keepdims=True), ops.max(x, axis=axis, keepdims=True)], axis=-1
    )
