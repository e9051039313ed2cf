"""ResNet v1 with attention in every residual block (SCA-ResNet by default).

The bottleneck models copy keras.applications' ResNet v1 (``keras/src/applications/resnet.py``): same layers,
same names (conv1_pad ... conv5_block3_out, avg_pool, predictions), same parameter count with
``attention=None`` (ResNet50: 25,636,712), so keras.applications' ImageNet weights transfer by name.
ResNet18/34 use the basic block in the same naming style; keras.applications has no weights for them.

Attention placement (RECONSTRUCTION, as ECA / Triplet Attention place their modules; the SCA paper does not
say): bottleneck block after ``{block}_3_bn``, basic block after ``{block}_2_bn``, always before the residual
add. Attention layers are named ``{block}_attention``, so every backbone layer keeps its keras.applications
name.
"""

import keras

from keras_scse.applications import builder, transfer
from keras_scse.applications import weights as weights_lib
from keras_scse.applications.registry import register_model

BN_EPSILON = 1.001e-5
STAGE_FILTERS = (64, 128, 256, 512)
BLOCKS = ("basic", "bottleneck")
SCA_KERNEL_SIZE = 7  # Triplet Attention's evidence on ResNet-50


def preprocess_input(x, data_format=None):
    """keras.applications.resnet's preprocessing (0..255 RGB -> BGR, ImageNet mean subtracted): for
    ``weights="imagenet"``. Models trained by keras_scse from scratch take [0, 1] inputs (keras_scse.data)."""
    return keras.applications.resnet.preprocess_input(x, data_format=data_format)


def bottleneck_block(x, filters, stride, conv_shortcut, attention, attention_kwargs, name):
    """keras.applications' ``residual_block_v1`` (stride on the first 1x1), attention after ``_3_bn``."""
    if conv_shortcut:
        shortcut = keras.layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = builder.batch_norm(f"{name}_0_bn", epsilon=BN_EPSILON)(shortcut)
    else:
        shortcut = x
    x = keras.layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = builder.batch_norm(f"{name}_1_bn", epsilon=BN_EPSILON)(x)
    x = keras.layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = builder.batch_norm(f"{name}_2_bn", epsilon=BN_EPSILON)(x)
    x = keras.layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = keras.layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = builder.batch_norm(f"{name}_3_bn", epsilon=BN_EPSILON)(x)
    x = builder.attend(x, attention, attention_kwargs, name)
    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return keras.layers.Activation("relu", name=f"{name}_out")(x)


def basic_block(x, filters, stride, conv_shortcut, attention, attention_kwargs, name):
    """Two 3x3 convs (stride on the first) in keras.applications' naming, attention after ``_2_bn``."""
    if conv_shortcut:
        shortcut = keras.layers.Conv2D(filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = builder.batch_norm(f"{name}_0_bn", epsilon=BN_EPSILON)(shortcut)
    else:
        shortcut = x
    x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", name=f"{name}_1_conv")(x)
    x = builder.batch_norm(f"{name}_1_bn", epsilon=BN_EPSILON)(x)
    x = keras.layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = builder.batch_norm(f"{name}_2_bn", epsilon=BN_EPSILON)(x)
    x = builder.attend(x, attention, attention_kwargs, name)
    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return keras.layers.Activation("relu", name=f"{name}_out")(x)


def ResNet(blocks, block="bottleneck", attention=None, attention_kwargs=None, identity_start=None, name=None,
           keras_name=None, variant=None, **kwargs):
    """Generic ResNet v1 builder; the named variants in ``VARIANTS`` are rows of arguments to this.

    Args:
        blocks: residual blocks per stage, 4 ints (stages conv2..conv5, 64/128/256/512 filters).
        block: "bottleneck" (keras.applications' ResNet v1 block, 4x expansion) or "basic" (two 3x3 convs).
        attention: None (plain ResNet), a name from ``keras_scse.layers.names()``, or a callable returning a
            layer; placed in every block before the residual add (reconstruction, see the module docstring).
        attention_kwargs: keyword arguments for the attention layer (SCA defaults to kernel_size=7).
        identity_start: build every attention layer with ``residual_gate=True`` so the model starts as the
            plain ResNet's exact function; None means True when weights are loaded from keras.applications
            (ResNet50/101/152 with ``weights`` set), False otherwise (ResNet18/34 load only their own checkpoints).
        name: the model's name; None: ``builder.default_name`` for the depth, e.g. "resnet50" (keras.applications'
            name) without attention, "scaresnet50" with SCA, "seresnet50" with SE.
        variant: the registry name whose weights ``weights`` names, e.g. "SCAResNet50" (default: the SCA variant
            of ``keras_name``, whose ImageNet weights fit any attention; else ``name``).
        keras_name: the keras.applications constructor whose weights ``weights="imagenet"`` (or a local
            keras.applications weights file) provides, e.g. "ResNet50"; None if there is none.
        **kwargs: keras.applications.ResNet50's arguments (``builder.ApplicationArgs``); either image data
            format, inputs down to 32 px (any size without a head and input_shape), any channel count without
            ImageNet weights.
    """
    if len(blocks) != len(STAGE_FILTERS) or any(int(b) != b or b < 1 for b in blocks):
        raise ValueError(f"`blocks` must be {len(STAGE_FILTERS)} positive integers. Received: blocks={blocks!r}")
    if block not in BLOCKS:
        raise ValueError(f"`block` must be one of {list(BLOCKS)}. Received: block={block!r}")
    name = name or builder.default_name(attention, "resnet", str(depth(blocks, block)))
    args = builder.ApplicationArgs.of("ResNet", kwargs)
    entry = builder.validate_arguments(variant or (f"SCA{keras_name}" if keras_name else name), args)
    pretrained = entry is not None and keras_name is not None  # weights come from a plain keras model
    attention_kwargs = transfer.attention_options(attention, attention_kwargs, identity_start,
                                                  pretrained, SCA_KERNEL_SIZE)
    img_input = builder.make_input(args, 224, 32)
    x = resnet_stem(img_input)
    block_fn = bottleneck_block if block == "bottleneck" else basic_block
    attention_names = []
    for stage, (units, filters) in enumerate(zip(blocks, STAGE_FILTERS), start=2):
        for unit in range(1, units + 1):
            stride = 2 if unit == 1 and stage > 2 else 1
            # keras.applications: a projection shortcut on every stage's first bottleneck block; basic
            # blocks need one only where the shape changes.
            project = unit == 1 and (block == "bottleneck" or stage > 2)
            block_name = f"conv{stage}_block{unit}"
            x = block_fn(x, filters, stride, project, attention, attention_kwargs, block_name)
            attention_names.append(f"{block_name}_attention")
    model = builder.finish(img_input, x, args, name)
    top = "" if args.include_top else "_notop"
    file_name = f"{keras_name.lower()}_weights_tf_dim_ordering_tf_kernels{top}.h5" if keras_name else None
    transfer.load_weights(model, args, keras_name, file_name, attention_names)
    return model


def depth(blocks, block="bottleneck"):
    """Weighted layers, as ResNet's names count them: stem conv + 2 or 3 convs per block + the classifier."""
    return (2 if block == "basic" else 3) * sum(blocks) + 2


def resnet_stem(img_input):
    """keras.applications' ResNet stem: 7x7/2 conv, BN, ReLU, 3x3/2 max-pool."""
    x = keras.layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = keras.layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = builder.batch_norm("conv1_bn", epsilon=BN_EPSILON)(x)
    x = keras.layers.Activation("relu", name="conv1_relu")(x)
    x = keras.layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    return keras.layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)


# Variants are rows: the arguments each named constructor passes to ``ResNet``.
VARIANTS = {
    "SCAResNet18": dict(blocks=(2, 2, 2, 2), block="basic", attention="sca"),
    "SCAResNet34": dict(blocks=(3, 4, 6, 3), block="basic", attention="sca"),
    "SCAResNet50": dict(blocks=(3, 4, 6, 3), attention="sca", keras_name="ResNet50"),
    "SCAResNet101": dict(blocks=(3, 4, 23, 3), attention="sca", keras_name="ResNet101"),
    "SCAResNet152": dict(blocks=(3, 8, 36, 3), attention="sca", keras_name="ResNet152"),
}
IMAGENET_LICENSE = "MIT (Kaiming He's ResNet release, as keras.applications ships it)"
weights_lib.register_weights(*(weights_lib.keras_applications_entry(variant, row["keras_name"], IMAGENET_LICENSE)
                               for variant, row in VARIANTS.items() if "keras_name" in row))


# The named constructors: keras.applications.ResNet50's signature, the variant's row, the family's options on
# top. ``weights`` defaults to None, not keras.applications' "imagenet" (see each docstring).


@register_model
def SCAResNet18(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name=None, **kwargs):
    """SCA-ResNet-18: a ResNet-18 of basic blocks (2, 2, 2, 2), named as keras.applications names ResNet-50's
    layers, whose every block ends its residual branch with SCA (kernel_size 7, after ``_2_bn``). Where SCA
    goes is a RECONSTRUCTION: the SCA paper does not say (see the module docstring).

    Args:
        include_top, input_tensor, input_shape, pooling, classes, classifier_activation, name: as in
            keras.applications.ResNet50 (keras.config.image_data_format(), channels_last or channels_first;
            inputs down to 32 px, any channel count; default 224x224x3 with the head, any size without it).
            ``name`` None: "scaresnet18", "resnet18" with attention=None, "seresnet18" with SE.
        weights: None (random initialisation; the default, unlike keras.applications' "imagenet":
            keras.applications has no ResNet-18, so there are no ImageNet weights to transfer) or the path to
            a ``.weights.h5`` file of this model.
        **kwargs: keyword-only options of ``ResNet`` that override this row: attention (None: the plain
            ResNet-18), attention_kwargs, identity_start, blocks, block.
    """
    return builder.named_model(ResNet, VARIANTS, "SCAResNet18", locals())


@register_model
def SCAResNet34(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name=None, **kwargs):
    """SCA-ResNet-34: ``SCAResNet18`` with basic blocks (3, 4, 6, 3) and the names "scaresnet34", "resnet34"
    with attention=None, "seresnet34" with SE. RECONSTRUCTION, as there: the SCA paper does not say where SCA
    goes.

    Args: as ``SCAResNet18``'s; ``weights`` None by default, unlike keras.applications' "imagenet" (no ImageNet
        ResNet-34 exists to transfer).
    """
    return builder.named_model(ResNet, VARIANTS, "SCAResNet34", locals())


@register_model
def SCAResNet50(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name=None, **kwargs):
    """SCA-ResNet-50: keras.applications.ResNet50 (same layers and names; blocks (3, 4, 6, 3)) with SCA
    (``keras_scse.layers.SpatialChannelAttention``, kernel_size 7) after every block's ``_3_bn``, before the
    residual add. RECONSTRUCTION: the SCA paper does not say where (see the module docstring).

    Args:
        include_top, input_tensor, input_shape, pooling, classes, classifier_activation, name: as in
            keras.applications.ResNet50 (keras.config.image_data_format(), channels_last or channels_first;
            inputs down to 32 px, any channel count without ImageNet weights; default 224x224x3 with the head,
            any size without it). ``name`` None: "scaresnet50", keras' "resnet50" with
            attention=None, "seresnet50" with SE.
        weights: None (random initialisation; the default, unlike keras.applications' "imagenet": there is no
            ImageNet-trained SCA-ResNet-50; "imagenet" copies the plain keras.applications.ResNet50's weights
            by layer name (Keras downloads and caches them) and starts every attention layer as an identity until
            fine-tuned), "imagenet", or the path to a weights file: keras.applications.ResNet50's (transferred
            the same way) or one saved from this model.
        **kwargs: keyword-only options of ``ResNet`` that override this row: attention (None: the plain
            ResNet-50), attention_kwargs, identity_start (default: True when ``weights`` is set), blocks, block.
    """
    return builder.named_model(ResNet, VARIANTS, "SCAResNet50", locals())


@register_model
def SCAResNet101(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
                 classifier_activation="softmax", name=None, **kwargs):
    """SCA-ResNet-101: ``SCAResNet50`` with keras.applications.ResNet101's blocks (3, 4, 23, 3) and names:
    "scaresnet101", "resnet101" with attention=None, "seresnet101" with SE; "imagenet" weights transfer
    keras.applications.ResNet101's. RECONSTRUCTION, as there: the SCA paper does not say where SCA goes.

    Args: as ``SCAResNet50``'s; ``weights`` None by default, unlike keras.applications' "imagenet" (there is no
        ImageNet-trained SCA-ResNet-101).
    """
    return builder.named_model(ResNet, VARIANTS, "SCAResNet101", locals())


@register_model
def SCAResNet152(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
                 classifier_activation="softmax", name=None, **kwargs):
    """SCA-ResNet-152 (a RECONSTRUCTION, as ``SCAResNet50``): ``SCAResNet101`` with blocks (3, 8, 36, 3), the
    names "scaresnet152" / "resnet152" / "seresnet152" and keras.applications.ResNet152's "imagenet" weights.

    Args: as ``SCAResNet50``'s, ``weights`` defaulting to None, unlike keras.applications' "imagenet".
    """
    return builder.named_model(ResNet, VARIANTS, "SCAResNet152", locals())
