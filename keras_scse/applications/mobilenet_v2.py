"""MobileNetV2 with attention in its residual inverted-bottleneck blocks (SCA-MobileNetV2 by default).

A copy of keras.applications.MobileNetV2 (``keras/src/applications/mobilenet_v2.py``): same layers, same
names (Conv1, bn_Conv1, expanded_conv_*, block_{k}_*, Conv_1, Conv_1_bn, out_relu, predictions), same
parameter count with ``attention=None`` (alpha 1.0: 3,538,984), so keras.applications' ImageNet weights
transfer by name. Differences outside the backbone: the head's pooling layer is named ``avg_pool`` /
``max_pool`` (keras.applications leaves it auto-named; it has no weights) and the input layer ``input``.

Attention placement (RECONSTRUCTION, as ECA / Triplet Attention place their modules; the SCA paper does not
say): after the linear 1x1 projection's BN (``block_{k}_project_BN``), before the skip add, and ONLY in the
blocks that have a skip add (stride 1, same input/output width: blocks 2, 4, 5, 7, 8, 9, 11, 12, 14, 15; ten
blocks). Attention layers are named ``block_{k}_attention``.
"""

import keras

from keras_scse.applications import builder, transfer
from keras_scse.applications import weights as weights_lib
from keras_scse.applications.registry import register_model

BN = dict(epsilon=1e-3, momentum=0.999)
SCA_KERNEL_SIZE = 3  # Triplet Attention's evidence on MobileNetV2
# keras.applications.MobileNetV2's inverted residual blocks 0..16: (filters, stride, expansion).
BLOCKS = (
    (16, 1, 1),
    (24, 2, 6), (24, 1, 6),
    (32, 2, 6), (32, 1, 6), (32, 1, 6),
    (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6),
    (96, 1, 6), (96, 1, 6), (96, 1, 6),
    (160, 2, 6), (160, 1, 6), (160, 1, 6),
    (320, 1, 6),
)
IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
IMAGENET_SIZES = (96, 128, 160, 192, 224)


def preprocess_input(x, data_format=None):
    """keras.applications.mobilenet_v2's preprocessing (0..255 -> [-1, 1]): for ``weights="imagenet"``.
    Models trained by keras_scse from scratch take [0, 1] inputs (keras_scse.data)."""
    return keras.applications.mobilenet_v2.preprocess_input(x, data_format=data_format)


def make_divisible(v, divisor=8, min_value=None):
    """Round a width to a multiple of ``divisor`` without going below 90% of it (keras.applications)."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def correct_pad(inputs, kernel_size):
    """Zero padding that makes a stride-2 'valid' conv act like TF 'same' (keras.applications.imagenet_utils)."""
    size = builder.spatial_size(inputs)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    correct = (kernel_size // 2, kernel_size // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def inverted_res_block(inputs, expansion, stride, alpha, filters, block_id, attention, attention_kwargs):
    """keras.applications' ``_inverted_res_block``; attention after ``project_BN`` of blocks with a skip add.

    Returns (output, name of the attention layer or None).
    """
    in_channels = builder.channels(inputs)
    pointwise_filters = make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = keras.layers.Conv2D(expansion * in_channels, 1, padding="same", use_bias=False, name=f"{prefix}expand")(x)
        x = builder.batch_norm(f"{prefix}expand_BN", **BN)(x)
        x = keras.layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = keras.layers.ZeroPadding2D(padding=correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = keras.layers.DepthwiseConv2D(3, strides=stride, use_bias=False, padding="same" if stride == 1 else "valid",
                                     name=f"{prefix}depthwise")(x)
    x = builder.batch_norm(f"{prefix}depthwise_BN", **BN)(x)
    x = keras.layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = keras.layers.Conv2D(pointwise_filters, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = builder.batch_norm(f"{prefix}project_BN", **BN)(x)
    if in_channels == pointwise_filters and stride == 1:
        x = builder.attend(x, attention, attention_kwargs, f"block_{block_id}")
        attention_name = f"block_{block_id}_attention" if attention is not None else None
        return keras.layers.Add(name=f"{prefix}add")([inputs, x]), attention_name
    return x, None


def MobileNetV2(alpha=1.0, attention=None, attention_kwargs=None, identity_start=None, name=None,
                variant="SCAMobileNetV2", **kwargs):
    """MobileNetV2 (keras.applications' structure and names) with optional attention.

    Args:
        alpha: width multiplier; ImageNet weights exist for 0.35, 0.5, 0.75, 1.0, 1.3, 1.4.
        attention: None (plain MobileNetV2), a name from ``keras_scse.layers.names()``, or a callable
            returning a layer; placed only in the blocks with a skip add, after ``project_BN``, before the
            add (reconstruction, see the module docstring).
        attention_kwargs: keyword arguments for the attention layer (SCA defaults to kernel_size=3).
        identity_start: build every attention layer with ``residual_gate=True`` so the model starts as the
            plain MobileNetV2's exact function; None means True when ``weights`` is set. A checkpoint of this
            model itself must be loaded with the identity_start it was built with.
        variant: the registry name whose weights ``weights`` names (the family's one row, whatever the attention).
        name: the model's name; None: ``builder.default_name``, keras.applications' "mobilenetv2_{alpha}_{rows}"
            without attention, prefixed with the attention's name otherwise ("scamobilenetv2_1.00_224").
        **kwargs: keras.applications.MobileNetV2's arguments (``builder.ApplicationArgs``); either image data
            format, inputs down to 32 px (any size without a head and input_shape); ImageNet weights for square
            96/128/160/192/224 inputs, otherwise the 224 weights are loaded, as keras.applications does.
    """
    if not alpha > 0:
        raise ValueError(f"`alpha` must be > 0. Received: alpha={alpha!r}")
    args = builder.ApplicationArgs.of("MobileNetV2", kwargs)
    builder.validate_arguments(variant, args)
    if isinstance(args.weights, str) and args.weights == "imagenet" and alpha not in IMAGENET_ALPHAS:
        raise ValueError(
            f"If imagenet weights are being loaded, alpha must be one of {list(IMAGENET_ALPHAS)}. "
            f"Received: alpha={alpha}"
        )
    attention_kwargs = transfer.attention_options(attention, attention_kwargs, identity_start,
                                                  args.weights is not None, SCA_KERNEL_SIZE)
    img_input = builder.make_input(args, 224, 32)
    x, attention_names = mobilenet_v2_backbone(img_input, alpha, attention, attention_kwargs)
    rows, cols = builder.spatial_size(img_input)
    name = name or builder.default_name(attention, "mobilenetv2", f"_{alpha:0.2f}_{rows}")
    model = builder.finish(img_input, x, args, name)
    size = rows if rows == cols and rows in IMAGENET_SIZES else 224
    file_name = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{size}"
                 f"{'' if args.include_top else '_no_top'}.h5")
    transfer.load_weights(model, args, "MobileNetV2", file_name, attention_names, alpha=alpha)
    return model


def mobilenet_v2_backbone(img_input, alpha, attention, attention_kwargs):
    """Conv1 -> the 17 inverted residual blocks -> Conv_1 (out_relu); returns (map, attention layer names)."""
    x = keras.layers.Conv2D(make_divisible(32 * alpha, 8), 3, strides=2, padding="same", use_bias=False,
                            name="Conv1")(img_input)
    x = builder.batch_norm("bn_Conv1", **BN)(x)
    x = keras.layers.ReLU(6.0, name="Conv1_relu")(x)
    attention_names = []
    for block_id, (filters, stride, expansion) in enumerate(BLOCKS):
        x, attention_name = inverted_res_block(x, expansion, stride, alpha, filters, block_id, attention,
                                               attention_kwargs)
        attention_names += [attention_name] if attention_name else []
    last_filters = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = keras.layers.Conv2D(last_filters, 1, use_bias=False, name="Conv_1")(x)
    x = builder.batch_norm("Conv_1_bn", **BN)(x)
    return keras.layers.ReLU(6.0, name="out_relu")(x), attention_names


# Variants are rows: the arguments each named constructor passes to ``MobileNetV2``.
VARIANTS = {
    "SCAMobileNetV2": dict(attention="sca"),
}
IMAGENET_LICENSE = "Apache-2.0 (TensorFlow models, as keras.applications ships them)"
weights_lib.register_weights(*(weights_lib.keras_applications_entry(variant, "MobileNetV2", IMAGENET_LICENSE)
                               for variant in VARIANTS))


# The named constructor: keras.applications.MobileNetV2's signature (input_shape and alpha first), the variant's
# row, the family's options on top.


@register_model
def SCAMobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights=None, input_tensor=None, pooling=None,
                   classes=1000, classifier_activation="softmax", name=None, **kwargs):
    """SCA-MobileNetV2: keras.applications.MobileNetV2 (same layers and names) with SCA
    (``keras_scse.layers.SpatialChannelAttention``, kernel_size 3) after ``block_{k}_project_BN`` of the ten
    blocks with a skip add, before the add. RECONSTRUCTION: the SCA paper does not say where (see the module
    docstring).

    Args:
        input_shape, alpha, include_top, input_tensor, pooling, classes, classifier_activation, name: as in
            keras.applications.MobileNetV2 (keras.config.image_data_format(), channels_last or channels_first;
            inputs down to 32 px, any channel count without ImageNet weights; default 224x224x3 with the head,
            any size without it). ``name`` None: "scamobilenetv2_{alpha}_{rows}", keras'
            "mobilenetv2_{alpha}_{rows}" with attention=None ("..._None" for a variable size, as keras).
        weights: None (random initialisation; the default, unlike keras.applications' "imagenet": there is no
            ImageNet-trained SCA-MobileNetV2; "imagenet" copies the plain keras.applications.MobileNetV2's
            weights for ``alpha`` and the input size by layer name (Keras downloads and caches them) and starts
            every attention layer as an identity until fine-tuned), "imagenet", or the path to a weights file:
            keras.applications.MobileNetV2's (transferred the same way) or one saved from this model.
        **kwargs: keyword-only options of ``MobileNetV2`` that override this row: attention (None: the plain
            MobileNetV2), attention_kwargs, identity_start (default: True when ``weights`` is set).
    """
    return MobileNetV2(**{**VARIANTS["SCAMobileNetV2"], **kwargs}, alpha=alpha, include_top=include_top,
                       weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                       classes=classes, classifier_activation=classifier_activation, name=name)
