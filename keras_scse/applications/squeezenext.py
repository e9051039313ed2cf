"""SqueezeNext (Gholami et al. 2018) and SC-SENet (SqueezeNext with SC-SE in every block).

Block and layout follow the official Caffe definitions as ported by osmr/imgclsmob (convs carry a bias
before BN there, and so here, so that parameter counts match: 1.0-SqNxt-23 = 724,056 trainable).
"""


import keras

from keras_scse import layers as attention_layers
from keras_scse.applications import builder
from keras_scse.applications import weights as weights_lib
from keras_scse.applications.registry import register_model

STAGE_CHANNELS = (32, 64, 128, 256)
STEM_CHANNELS = 64
FINAL_CHANNELS = 128
STEMS = ("imagenet", "cifar")
STEM_STRIDE = {"imagenet": 4, "cifar": 1}


def conv_bn_relu(x, filters, kernel_size, strides, name, zero_gamma=False, relu=True):
    x = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", name=f"{name}_conv")(x)
    # PyTorch's BN defaults (the osmr port): eps 1e-5, momentum 0.1 == Keras momentum 0.9. Keras' 0.99 lets
    # the inference statistics lag far behind in short runs.
    gamma = "zeros" if zero_gamma else "ones"
    x = builder.batch_norm(f"{name}_bn", epsilon=1e-5, momentum=0.9, gamma_initializer=gamma)(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x


def unit_plan(in_channels, filters, strides):
    """(channel reduction of the unit's first 1x1 conv, whether the shortcut is a projection): a downsampling
    unit reduces by 1, a unit that narrows by 4, any other by 2; the shortcut projects unless the shape stays."""
    if strides == 2:
        return 1, True
    if in_channels > filters:
        return 4, True
    return 2, in_channels != filters


def squeezenext_unit(x, filters, strides, attention, attention_kwargs, name, zero_init_last=False):
    """1x1 reduce (stride) -> 1x1 reduce/2 -> 1x3 -> 3x1 -> 1x1 expand (-> attention) + shortcut -> ReLU.

    ``zero_init_last``: the expand conv's BN starts with gamma = 0 and has no ReLU of its own, so every unit
    starts as its shortcut (Goyal et al. 2017; timm's ``zero_init_last``). The ReLU goes because a ReLU right
    after a zero-gamma BN passes no gradient: the branch would stay zero for ever.
    """
    in_channels = builder.channels(x)
    reduction, project = unit_plan(in_channels, filters, strides)
    mid = in_channels // reduction
    shortcut = conv_bn_relu(x, filters, 1, strides, f"{name}_id") if project else x
    y = conv_bn_relu(x, mid, 1, strides, f"{name}_1")
    y = conv_bn_relu(y, in_channels // (2 * reduction), 1, 1, f"{name}_2")
    y = conv_bn_relu(y, mid, (1, 3), 1, f"{name}_3")
    y = conv_bn_relu(y, mid, (3, 1), 1, f"{name}_4")
    y = conv_bn_relu(y, filters, 1, 1, f"{name}_5", zero_gamma=zero_init_last, relu=not zero_init_last)
    y = builder.attend(y, attention, attention_kwargs, name)
    y = keras.layers.Add(name=f"{name}_add")([y, shortcut])
    return keras.layers.ReLU(name=f"{name}_out")(y)


def SqueezeNext(blocks, width=1.0, stem="imagenet", attention=None, attention_kwargs=None, name=None,
                default_size=224, min_size=28, variant=None, zero_init_last=False, native_resolution=False,
                **kwargs):
    """Generic SqueezeNext builder; the named variants in ``VARIANTS`` are rows of arguments to this.

    Args:
        blocks: units per stage, 4 ints (stage strides 1, 2, 2, 2).
        width: width multiplier applied to every width (stem, stages, final conv).
        stem: "imagenet" (7x7/2 conv + 3x3/2 max-pool, stride 4) or "cifar" (3x3/1 conv, stride 1).
        attention: None, a name from ``keras_scse.layers.names()``, or a callable returning a layer; inserted
            in every unit after the last 1x1 conv's BN+ReLU, before the residual add.
        attention_kwargs: keyword arguments for the attention layer.
        name: the model's name; None: ``builder.default_name`` for the layout, e.g. "squeezenext44" without
            attention, "scsenet44" with SC-SE, "senet44" with SE.
        variant: registry name used to look up named pretrained weights (default: ``name``).
        zero_init_last: start every unit as its shortcut (``squeezenext_unit``). Off by default: the original
            block ends in BN + ReLU, and the shipped weights were trained that way. Without it, a deep plain
            SqueezeNext's activations double from unit to unit at initialisation, and its inference-mode
            outputs overflow after one SGD step (the BN statistics lag far behind); see docs on the study.
        native_resolution: with a checkpoint that works only at its own size (``weights="fashion_mnist"``: 32 px),
            a classifier built at another ``input_shape`` resizes its input to that size inside the model unless
            this is True (``builder.resize_to_checkpoint``).
        **kwargs: keras.applications' arguments (``builder.ApplicationArgs``: include_top, weights, input_tensor,
            input_shape, pooling, classes, classifier_activation); either image data format, inputs down to
            ``min_size`` px (any size without a head and input_shape), any channel count.
    """
    if len(blocks) != len(STAGE_CHANNELS) or any(int(b) != b or b < 1 for b in blocks):
        raise ValueError(f"`blocks` must be {len(STAGE_CHANNELS)} positive integers. Received: blocks={blocks!r}")
    if not width > 0:
        raise ValueError(f"`width` must be > 0. Received: width={width!r}")
    if stem not in STEMS:
        raise ValueError(f"`stem` must be one of {list(STEMS)}. Received: stem={stem!r}")
    if attention is not None:
        attention_layers.get(attention)  # fail early on unknown names
    size = layout_name(blocks)
    name = name or builder.default_name(attention, "squeezenext", size, attended_family="net")
    args = builder.ApplicationArgs.of("SqueezeNext", kwargs)
    entry = builder.validate_arguments(variant or name, args)
    attention_kwargs = weights_lib.checkpoint_attention_kwargs(entry, attention_kwargs)
    img_input = builder.make_input(args, default_size, min_size, entry)
    x = builder.resize_to_checkpoint(img_input, args, entry, native_resolution)
    if stem == "imagenet":
        x = conv_bn_relu(x, int(STEM_CHANNELS * width), 7, 2, "stem")
        x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    else:
        x = conv_bn_relu(x, int(STEM_CHANNELS * width), 3, 1, "stem")
    for stage, (units, channels) in enumerate(zip(blocks, STAGE_CHANNELS), start=1):
        for unit in range(1, units + 1):
            strides = 2 if unit == 1 and stage > 1 else 1
            x = squeezenext_unit(x, int(channels * width), strides, attention, attention_kwargs,
                                 f"stage{stage}_unit{unit}", zero_init_last)
    x = conv_bn_relu(x, int(FINAL_CHANNELS * width), 1, 1, "final")
    return builder.finish(img_input, x, args, name, entry)


def preprocess_input(x):
    """Images in 0..255 (keras.applications' convention) -> the [0, 1] floats SqueezeNext / SC-SENet weights
    were trained on (keras_scse.data feeds [0, 1] already)."""
    import numpy as np

    return np.asarray(x, dtype="float32") / 255.0


def depth(blocks):
    """Depth in SqueezeNext's naming: stem conv + one per unit + final conv (SqNxt-23 = 1 + 21 + 1)."""
    return sum(blocks) + 2


def layout_name(blocks):
    """The layout's part of a model name: its depth, with the paper's "v5" for the 23-layer v5 layout."""
    return str(depth(blocks)) + ("v5" if tuple(blocks) == LAYOUT_23V5 else "")


# The 44-layer layout (RECONSTRUCTION: the paper gives only "44 layers, 0.58M parameters, 6.2M FLOPs"):
# 14+14+12+2 = 42 units + stem + final conv, width 0.75, ImageNet stem, 32x32 default input. With classes=2:
# 570,210 trainable / 585,210 total parameters and 5.48M multiply-adds at 32x32 (docs/fidelity.md).
LAYOUT_44 = dict(blocks=(14, 14, 12, 2), width=0.75, default_size=32)

LAYOUT_23V5 = (2, 4, 14, 1)  # SqueezeNext's v5: fewer units in the early, high-resolution stages

# Variants are rows: the arguments each named constructor passes to ``SqueezeNext``.
VARIANTS = {
    "SqueezeNext23": dict(blocks=(6, 6, 8, 1)),
    "SqueezeNext23v5": dict(blocks=LAYOUT_23V5),
    "SqueezeNext44": dict(LAYOUT_44),
    "SCSENet23": dict(blocks=(6, 6, 8, 1), attention="separable_se"),
    "SCSENet44": dict(LAYOUT_44, attention="separable_se"),
}

# The checkpoints, each from a committed training run: benchmarks/results/<run>/ holds its log and metrics, and
# benchmarks/package_weights.py printed the values below.
weights_lib.register_weights(weights_lib.WeightsEntry(
    model="SCSENet44", name="fashion_mnist", file_name="scsenet44_fashion_mnist.weights.h5",
    sha256="d1541270932f1d285fd8b7ec9402689058b51796c25a5a76d043fa5d47e808b4", classes=10,
    input_shape=(32, 32, 1), dataset="Fashion-MNIST (Debian dataset-fashion-mnist), resized to 32x32",
    accuracy=0.9238, license="Apache-2.0 (weights); Fashion-MNIST is MIT-licensed",
    metrics={"best_val_accuracy": 0.9257, "test_accuracy_per_seed": {"0": 0.9238, "1": 0.92},
             "mean_test_accuracy": 0.9219, "params": 581282,
             # benchmarks/preset_sizes.py: all test images resized to S x S, the model built at S
             "test_accuracy_by_input_size": {"resized to 32 inside the model (default)": {
                 "40": 0.9215, "48": 0.9227, "64": 0.9244, "96": 0.9238},
                 "native_resolution=True": {"40": 0.4501, "48": 0.378, "64": 0.2709, "96": 0.2109}}},
    # SC-SE's defaults, with the spatial kernel that "auto" chose for the <= 8 px maps of a 32 px input
    # pinned, so that the weights load at any input size
    attention_kwargs={"spatial": "axial", "fusion": "mul", "spatial_kernel": 3},
    fixed_size=True,  # at 32 px the last stage's maps are 1 x 1: other sizes are a regime it never saw
    class_names=("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                 "ankle boot"),
    recipe="sgd: SGD + Nesterov 0.9, lr 0.2 at batch 256 (1 warm-up epoch, cosine over 40 epochs), weight "
           "decay 5e-4, label smoothing 0.1, flip + padded crop; 54,000 train / 6,000 validation (seed 0), "
           "best validation epoch; seed 0 of the two seeds trained (named when it alone had finished)",
    command="keras-scse train --model SCSENet44 --dataset fashion_mnist --image-size 32 --epochs 40 "
            "--batch-size 256 --seed 0  (benchmarks/train_fashion_mnist_cpu.sh)",
    results="benchmarks/results/scsenet44_fashion_mnist_40ep",
))


# The named constructors: keras.applications' signature, the variant's row, the family's options on top.
# ``weights`` defaults to None, not keras.applications' "imagenet": there are no ImageNet weights for SqueezeNext
# or SC-SENet, and the one checkpoint (SCSENet44 "fashion_mnist") is for 32x32 grey Fashion-MNIST images.


@register_model
def SqueezeNext23(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
                  classifier_activation="softmax", name=None, **kwargs):
    """1.0-SqNxt-23 (Gholami et al. 2018): blocks (6, 6, 8, 1), width 1.0, ImageNet stem; 724,056 trainable
    parameters with 1000 classes, as osmr/imgclsmob's port of the official Caffe model.

    Args:
        include_top, input_tensor, input_shape, pooling, classes, classifier_activation, name: as in
            keras.applications (keras.config.image_data_format(), channels_last or channels_first; inputs down
            to 28 px, any channel count; default 224x224x3 with the head, any size without it).
            ``name`` None: "squeezenext23", or the attention's prefix with it ("scsenet23" for SC-SE).
        weights: None (random initialisation; the default, unlike keras.applications' "imagenet": no
            pretrained SqueezeNext-23 weights exist) or the path to a ``.weights.h5`` file of this model.
        **kwargs: keyword-only options of ``SqueezeNext`` that override this row: attention, attention_kwargs,
            width, stem ("imagenet" | "cifar"), blocks, default_size, zero_init_last.
    """
    return builder.named_model(SqueezeNext, VARIANTS, "SqueezeNext23", locals())


@register_model
def SqueezeNext23v5(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
                    classes=1000, classifier_activation="softmax", name=None, **kwargs):
    """1.0-SqNxt-23v5 (Gholami et al. 2018): blocks (2, 4, 14, 1), fewer units at high resolution, width 1.0,
    ImageNet stem.

    Args: as ``SqueezeNext23``'s (``weights`` None, unlike keras.applications' "imagenet"); ``name`` None:
        "squeezenext23v5" ("scsenet23v5" with SC-SE).
    """
    return builder.named_model(SqueezeNext, VARIANTS, "SqueezeNext23v5", locals())


@register_model
def SqueezeNext44(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
                  classifier_activation="softmax", name=None, **kwargs):
    """SqueezeNext-44: SCSENet44's layout without attention, its attention-free baseline.

    RECONSTRUCTION: the paper gives only "44 layers"; here blocks (14, 14, 12, 2), width 0.75, ImageNet stem,
    32x32 default input (``LAYOUT_44``).

    Args: as ``SqueezeNext23``'s, default input 32x32x3; ``weights`` None, unlike keras.applications' "imagenet"
        (no pretrained SqueezeNext-44 exists); ``name`` None: "squeezenext44" ("senet44" with SE).
    """
    return builder.named_model(SqueezeNext, VARIANTS, "SqueezeNext44", locals())


@register_model
def SCSENet23(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=None, **kwargs):
    """SC-SENet-23: 1.0-SqNxt-23 with SC-SE (``keras_scse.layers.SeparableSqueezeExcite``) in every unit, after
    the last 1x1 conv's BN + ReLU, before the residual add.

    Args: as ``SqueezeNext23``'s: attention defaults to "separable_se", ``weights`` to None,
        unlike keras.applications' "imagenet"; ``name`` None: "scsenet23", "squeezenext23" with attention=None.
    """
    return builder.named_model(SqueezeNext, VARIANTS, "SCSENet23", locals())


@register_model
def SCSENet44(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=None, **kwargs):
    """SC-SENet-44: SqueezeNext-44 with SC-SE (``keras_scse.layers.SeparableSqueezeExcite``) in every unit, after
    the last 1x1 conv's BN + ReLU, before the residual add.

    RECONSTRUCTION: the paper gives only "44 layers, 0.58M parameters, 6.2M FLOPs"; here blocks
    (14, 14, 12, 2), width 0.75, ImageNet stem, 32x32 default input (``LAYOUT_44``): 570,210 trainable
    parameters with classes=2.

    Args:
        include_top, input_tensor, input_shape, pooling, classes, classifier_activation, name: as in
            keras.applications (keras.config.image_data_format(), channels_last or channels_first; inputs down
            to 28 px, any channel count; with the head, default 32x32x3, or the checkpoint's 32x32x1 with
            ``weights="fashion_mnist"``; any size without it, 1 channel with the checkpoint). ``name`` None:
            "scsenet44"; "squeezenext44" with attention=None.
        weights: None (random initialisation; the default, unlike keras.applications' "imagenet": there are
            no ImageNet weights), "fashion_mnist" (the packaged checkpoint: 32x32 grey, 10 classes, which
            ``classes=1000``, the default, stands for; other channel counts and sizes load too: a classifier at
            another size resizes its input to 32 px inside the model, ``include_top=False`` for a new head), or
            the path to a ``.weights.h5`` file of this model.
        **kwargs: keyword-only options of ``SqueezeNext`` that override this row: attention ("separable_se"; None for
            SqueezeNext-44), attention_kwargs, width, stem ("imagenet" | "cifar"), blocks, default_size,
            zero_init_last, native_resolution.
    """
    return builder.named_model(SqueezeNext, VARIANTS, "SCSENet44", locals())
