"""PyTorch twin of keras_scse's SqueezeNext / SC-SENet, for a Keras-vs-PyTorch speed comparison.

Same architecture as ``keras_scse.applications.squeezenext.SqueezeNext`` (widths, unit rules, layer order,
SC-SE placement), laid out NCHW. Differences on purpose:
  * the twin returns logits; the Keras model ends with softmax unless built with classifier_activation=None;
  * SC-SE with squeeze "conv" only (every spatial variant and fusion), no residual gate.
Every Keras 'same' padding is reproduced exactly (TF pads the extra pixel at the bottom/right when the total
is odd, and max-pooling ignores the padding), so that ``copy_keras_weights`` gives numerically equal outputs.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from keras_scse.applications.squeezenext import (
    FINAL_CHANNELS,
    STAGE_CHANNELS,
    STEM_CHANNELS,
    STEMS,
    VARIANTS,
    unit_plan,
)
from keras_scse.layers.base import eca_kernel_size


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def same_pad(x, kernel, stride, value=0.0):
    """Pad an NCHW map as TF's 'same': total = max((ceil(n/s)-1)*s + k - n, 0), the odd pixel at the end."""
    pads = []
    for n, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride)):  # F.pad wants W first
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value) if any(pads) else x


def same_size(n, stride):
    return None if n is None else math.ceil(n / stride)


class SameConv2d(nn.Conv2d):
    """Conv2d with TF 'same' padding (asymmetric when the total padding is odd)."""

    def __init__(self, cin, cout, kernel, stride=1, bias=True):
        kernel, stride = _pair(kernel), _pair(stride)
        # Stride 1 with odd kernels is symmetric: use the built-in padding (no extra F.pad copy in benchmarks).
        self.symmetric = stride == (1, 1) and all(k % 2 for k in kernel)
        padding = tuple(k // 2 for k in kernel) if self.symmetric else 0
        super().__init__(cin, cout, kernel, stride=stride, padding=padding, bias=bias)

    def forward(self, x):
        return super().forward(x if self.symmetric else same_pad(x, self.kernel_size, self.stride))


class SameMaxPool2d(nn.Module):
    """MaxPooling2D(padding='same'): padded cells never win, as in TF (pad with -inf)."""

    def __init__(self, kernel, stride):
        super().__init__()
        self.kernel, self.stride = _pair(kernel), _pair(stride)

    def forward(self, x):
        return F.max_pool2d(same_pad(x, self.kernel, self.stride, value=-math.inf), self.kernel, self.stride)


def _tag(module, *keras_path):
    """Record which Keras layer (path of attribute names from the model) holds this module's weights."""
    module.keras_path = keras_path
    return module


class ConvBNReLU(nn.Module):
    """Keras ``conv_bn_relu``: conv (with bias) -> BN (eps 1e-5, Keras momentum 0.9 == torch 0.1) -> ReLU."""

    def __init__(self, cin, cout, kernel, stride, name):
        super().__init__()
        self.conv = _tag(SameConv2d(cin, cout, kernel, stride), f"{name}_conv")
        self.bn = _tag(nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1), f"{name}_bn")

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class SCSE(nn.Module):
    """SeparableSqueezeExcite (squeeze "conv", no residual gate): spatial "conv" or "axial", fusion add/max/mul."""

    def __init__(self, channels, map_size, name, spatial="axial", fusion="mul", channel_kernel=None,
                 spatial_kernel=None, **unsupported):
        super().__init__()
        defaults = dict(squeeze="conv", residual_gate=False)
        if any(defaults.get(k, object()) != v for k, v in unsupported.items()):
            raise NotImplementedError(
                f"The torch twin implements squeeze='conv' without residual gate; got {unsupported}.")
        self.spatial, self.fusion = spatial, fusion
        k_c = channel_kernel or eca_kernel_size(channels)
        # As Keras' build: 3 when the (build-time, known) map is <= 8 px on its shorter side, else 7.
        known = [d for d in map_size if d is not None]
        k_s = spatial_kernel or (3 if known and min(known) <= 8 else 7)
        self.resolved_kernels = (k_c, k_s)
        self.channel_conv = _tag(nn.Conv1d(1, 1, k_c, padding=k_c // 2, bias=False), name, "channel_conv")
        self.squeeze_conv = _tag(nn.Conv2d(channels, 1, 1), name, "squeeze_conv")
        self.conv_h = _tag(SameConv2d(1, 1, (k_s, 1)), name, "conv_h")
        self.conv_w = _tag(SameConv2d(1, 1, (1, k_s)), name, "conv_w")

    def forward(self, x):
        b, c = x.shape[:2]
        g_c = torch.sigmoid(self.channel_conv(x.mean((2, 3)).view(b, 1, c))).view(b, c, 1, 1)
        s = self.squeeze_conv(x)
        if self.spatial == "conv":
            g_s = torch.sigmoid(self.conv_w(self.conv_h(s)))
        else:  # strip pooling along W and H, 1D convs, outer product (NCHW: H is dim 2, W dim 3)
            g_h = torch.sigmoid(self.conv_h(s.mean(3, keepdim=True)))
            g_s = g_h * torch.sigmoid(self.conv_w(s.mean(2, keepdim=True)))
        if self.fusion == "add":
            return x * (g_c + g_s)
        if self.fusion == "max":
            return x * torch.maximum(g_c, g_s)
        return x * g_c * g_s


class Unit(nn.Module):
    """Keras ``squeezenext_unit``: same reduction/projection rules and layer names."""

    def __init__(self, cin, filters, stride, attention, attention_kwargs, map_size, name):
        super().__init__()
        reduction, project = unit_plan(cin, filters, stride)
        mid = cin // reduction
        self.shortcut = ConvBNReLU(cin, filters, 1, stride, f"{name}_id") if project else nn.Identity()
        self.body = nn.Sequential(
            ConvBNReLU(cin, mid, 1, stride, f"{name}_1"),
            ConvBNReLU(mid, cin // (2 * reduction), 1, 1, f"{name}_2"),
            ConvBNReLU(cin // (2 * reduction), mid, (1, 3), 1, f"{name}_3"),
            ConvBNReLU(mid, mid, (3, 1), 1, f"{name}_4"),
            ConvBNReLU(mid, filters, 1, 1, f"{name}_5"),
        )
        if attention is None:
            self.attention = nn.Identity()
        elif attention in ("separable_se", "scse"):  # SC-SE, by its name and its deprecated one
            # The attention sees the unit's output map: stride applied.
            out_size = tuple(same_size(n, stride) for n in map_size)
            self.attention = SCSE(filters, out_size, f"{name}_attention", **(attention_kwargs or {}))
        else:
            raise NotImplementedError(f"The torch twin implements attention None or 'separable_se'; got {attention!r}.")

    def forward(self, x):
        return F.relu(self.attention(self.body(x)) + self.shortcut(x))


class TorchSqueezeNext(nn.Module):
    """SqueezeNext / SC-SENet in PyTorch (NCHW), the same network as the Keras ``SqueezeNext`` builder.

    ``input_size`` (int, (H, W) or None) is only used to resolve SC-SE's spatial kernel as Keras does at build
    time; pass the Keras model's input size. Returns logits (Keras applies softmax by default).
    """

    def __init__(self, blocks, width=1.0, stem="imagenet", attention=None, attention_kwargs=None, classes=1000,
                 in_channels=3, input_size=224):
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"`stem` must be one of {list(STEMS)}; got {stem!r}.")
        size = _pair(input_size)
        c = int(STEM_CHANNELS * width)
        if stem == "imagenet":
            self.stem = nn.Sequential(ConvBNReLU(in_channels, c, 7, 2, "stem"), SameMaxPool2d(3, 2))
            size = tuple(same_size(same_size(n, 2), 2) for n in size)
        else:
            self.stem = ConvBNReLU(in_channels, c, 3, 1, "stem")
        units = []
        for stage, (n_units, channels) in enumerate(zip(blocks, STAGE_CHANNELS), start=1):
            for unit in range(1, n_units + 1):
                stride = 2 if unit == 1 and stage > 1 else 1
                filters = int(channels * width)
                units.append(Unit(c, filters, stride, attention, attention_kwargs, size, f"stage{stage}_unit{unit}"))
                c, size = filters, tuple(same_size(n, stride) for n in size)
        self.units = nn.Sequential(*units)
        self.final = ConvBNReLU(c, int(FINAL_CHANNELS * width), 1, 1, "final")
        self.classifier = _tag(nn.Linear(int(FINAL_CHANNELS * width), classes), "predictions")

    def forward(self, x):
        x = self.final(self.units(self.stem(x)))
        return self.classifier(x.mean((2, 3)))  # GlobalAveragePooling2D -> Dense (logits)


def build_twin(variant, classes=1000, in_channels=3, input_size=None, **overrides):
    """The twin of a named Keras variant (a row of ``VARIANTS``); ``overrides`` replace row entries.

    ``input_size`` defaults to the row's ``default_size`` (the Keras default input), else 224.
    """
    row = {**VARIANTS[variant], **overrides}
    default_size = row.pop("default_size", 224)
    return TorchSqueezeNext(**row, classes=classes, in_channels=in_channels,
                            input_size=default_size if input_size is None else input_size)


def count_params(torch_model):
    """Trainable parameter count (BN running stats are buffers; compare with Keras' trainable count)."""
    return sum(p.numel() for p in torch_model.parameters() if p.requires_grad)


def _keras_layer(keras_model, path):
    layer = keras_model.get_layer(path[0])  # raises ValueError if absent
    for attr in path[1:]:
        layer = getattr(layer, attr)
    return layer


def _converted(layer, module):
    """(torch tensor, Keras variable) pairs for one layer, in the twin's layout."""
    if isinstance(module, nn.BatchNorm2d):
        return [(module.weight, layer.gamma), (module.bias, layer.beta),
                (module.running_mean, layer.moving_mean), (module.running_var, layer.moving_variance)]
    if isinstance(module, nn.Linear):
        order = (1, 0)  # Dense (in, out) -> Linear (out, in)
    elif isinstance(module, nn.Conv1d):
        order = (2, 1, 0)  # Conv1D (k, in, out) -> (out, in, k)
    else:
        order = (3, 2, 0, 1)  # Conv2D HWIO -> OIHW

    def kernel(v):
        return v.transpose(order)

    pairs = [(module.weight, layer.kernel, kernel)]
    if module.bias is not None:
        pairs.append((module.bias, layer.bias))
    return pairs


@torch.no_grad()
def copy_keras_weights(keras_model, torch_model):
    """Copy every Keras weight into the twin (matched by Keras layer name); raise on any mismatch or leftover."""
    used, filled = set(), set()
    for module in torch_model.modules():
        path = getattr(module, "keras_path", None)
        if path is None:
            continue
        layer = _keras_layer(keras_model, path)
        for target, variable, *convert in _converted(layer, module):
            value = variable.numpy()
            value = convert[0](value) if convert else value
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(f"{'/'.join(path)}: Keras {variable.path} has shape {value.shape}, "
                                 f"torch expects {tuple(target.shape)}.")
            target.copy_(torch.from_numpy(value.copy()))
            used.add(id(variable))
            filled.add(id(target))
    left_keras = [v.path for v in keras_model.weights if id(v) not in used]
    left_torch = [n for n, t in [*torch_model.named_parameters(), *torch_model.named_buffers()]
                  if id(t) not in filled and not n.endswith("num_batches_tracked")]
    if left_keras or left_torch:
        raise ValueError(f"Unmatched weights: Keras {left_keras[:5]} ({len(left_keras)}), "
                         f"torch {left_torch[:5]} ({len(left_torch)}).")
    return torch_model
