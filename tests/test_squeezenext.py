"""SqueezeNext / SC-SENet constructors: golden counts, the keras.applications argument matrix, features."""

import keras
import numpy as np
import pytest
from helpers import roundtrip

from keras_scse import applications, bench
from keras_scse.applications import SqueezeNext

# (trainable, total) at each constructor's defaults (1000 classes, default input). SqueezeNext23* and the
# width variants match osmr/imgclsmob's trainable counts exactly (convs carry a bias there and here).
GOLDEN = {
    "SCAMobileNetV2": (3505072, 3539184),
    "SCAResNet101": (44605132, 44710476),
    "SCAResNet152": (60273520, 60424944),
    "SCAResNet18": (11695112, 11704712),
    "SCAResNet34": (21807784, 21824808),
    "SCAResNet50": (25585192, 25638312),
    "SCSENet23": (726342, 737894),
    "SCSENet44": (667016, 682016),
    "SqueezeNext23": (724056, 735608),
    "SqueezeNext23v5": (921816, 936184),
    "SqueezeNext44": (663964, 678964),
}

TINY = dict(blocks=(1, 1, 1, 1), width=0.5)


def test_every_registered_model_has_a_golden_count():
    assert sorted(GOLDEN) == applications.list_models()


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_parameter_counts(name):
    counts = bench.count_params(applications.get_model(name))
    assert (counts["trainable"], counts["total"]) == GOLDEN[name]


@pytest.mark.parametrize("width,expected", [(1.5, 1511824), (2.0, 2583752)])
def test_osmr_width_variants(width, expected):
    assert bench.count_params(applications.SqueezeNext23(width=width))["trainable"] == expected


def test_scsenet44_mission_numbers():
    """0.58M parameters (within 5%) with classes=2 at its 32x32 default; 44 layers; MACs reported."""
    model = applications.SCSENet44(classes=2, input_shape=(32, 32, 3))
    counts = bench.count_params(model)
    assert abs(counts["trainable"] - 580_000) / 580_000 < 0.05
    assert abs(counts["total"] - 580_000) / 580_000 < 0.05
    assert (counts["trainable"], counts["total"]) == (570210, 585210)
    assert bench.count_flops(model)["macs"] == 5475228  # axial SC-SE: 1D convs on strips, not on the map
    assert applications.squeezenext.depth(applications.squeezenext.VARIANTS["SCSENet44"]["blocks"]) == 44
    n_attention = sum("attention" in layer.name for layer in model.layers)
    assert n_attention == 42


@pytest.mark.parametrize("pooling,shape", [(None, (2, 2, 2, 64)), ("avg", (2, 64)), ("max", (2, 64))])
def test_pooling_without_top(pooling, shape):
    model = SqueezeNext(**TINY, include_top=False, pooling=pooling, input_shape=(64, 64, 3))
    assert model(np.zeros((2, 64, 64, 3), "float32")).shape == shape


@pytest.mark.parametrize("stem", ["imagenet", "cifar"])
@pytest.mark.parametrize("shape", [(37, 53, 1), (28, 28, 3), (None, None, 3)])
def test_odd_sizes_one_channel_dynamic(stem, shape):
    model = SqueezeNext(**TINY, stem=stem, attention="separable_se", input_shape=shape, classes=7)
    h, w = (shape[0] or 45, shape[1] or 31)
    y = np.asarray(model(np.random.rand(2, h, w, shape[2]).astype("float32")))
    assert y.shape == (2, 7)
    np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-5)


def test_input_tensor_and_default_shape():
    tensor = keras.Input((40, 40, 1))
    model = SqueezeNext(**TINY, input_tensor=tensor, classes=3)
    assert model.input_shape == (None, 40, 40, 1)
    assert applications.SCSENet44().input_shape == (None, 32, 32, 3)
    assert SqueezeNext(**TINY, classifier_activation=None, classes=4).layers[-1].activation.__name__ == "linear"


@pytest.mark.parametrize("kwargs,message", [
    (dict(weights="no_such_file.h5"), "The `weights` argument should be either `None`"),
    (dict(pooling="mean", include_top=False), "`pooling` must be one of"),
    (dict(classes=0), "`classes` must be a positive integer"),
    (dict(input_shape=(27, 27, 3)), "Input size must be at least 28x28"),
    (dict(input_shape=(32, 32)), "`input_shape` must be a tuple of three integers"),
    (dict(blocks=(1, 1, 1)), "`blocks` must be 4 positive integers"),
    (dict(stem="tiny"), "`stem` must be one of"),
    (dict(width=0), "`width` must be > 0"),
    (dict(attention="nope"), "Unknown attention 'nope'"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SqueezeNext(**{**TINY, **kwargs})


def test_pretrained_weights_with_the_default_classes_still_check_the_other_arguments():
    # the checkpoint's class count is adopted, and the checks after it still run
    with pytest.raises(ValueError, match="`input_shape` must be a tuple of three integers"):
        applications.SCSENet44(weights="fashion_mnist", input_shape=(32, 32))


def test_registry():
    assert applications.list_models("scse*") == ["SCSENet23", "SCSENet44"]
    assert applications.list_models("*44") == ["SCSENet44", "SqueezeNext44"]
    assert applications.get_model("scsenet44", classes=2).name == "scsenet44"
    with pytest.raises(ValueError, match="Unknown model 'ResNet9'.*SCSENet44"):
        applications.get_model("ResNet9")


def test_variant_options_override_the_row():
    model = applications.SCSENet44(attention="sca", attention_kwargs={"kernel_size": 3}, classes=2)
    assert type(model.get_layer("stage1_unit1_attention")).__name__ == "SpatialChannelAttention"
    assert model.get_layer("stage1_unit1_attention").kernel_size == 3


@pytest.mark.parametrize("stem,levels", [("imagenet", {"P2": 16, "P3": 8, "P4": 4, "P5": 2}),
                                         ("cifar", {"P0": 64, "P1": 32, "P2": 16, "P3": 8})])
def test_feature_extractor_strides(stem, levels):
    model = SqueezeNext(blocks=(2, 1, 1, 1), width=0.5, stem=stem, include_top=False, input_shape=(64, 64, 3))
    features = applications.feature_extractor(model)
    out = features(np.zeros((1, 64, 64, 3), "float32"))
    assert {k: v.shape[1] for k, v in out.items()} == levels
    assert list(applications.feature_extractor(model, ["P3"])(np.zeros((1, 64, 64, 3), "float32"))) == ["P3"]
    with pytest.raises(ValueError, match="Levels \\['P9'\\] are not in"):
        applications.feature_extractor(model, ["P9"])


def test_weights_file_roundtrip(tmp_path):
    model = SqueezeNext(**TINY, attention="separable_se", classes=3, input_shape=(32, 32, 1))
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    again = SqueezeNext(**TINY, attention="separable_se", classes=3, input_shape=(32, 32, 1), weights=path)
    x = np.random.rand(2, 32, 32, 1).astype("float32")
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(again(x)))


@pytest.mark.parametrize("name", ["SqueezeNext23", "SqueezeNext23v5", "SqueezeNext44", "SCSENet23", "SCSENet44"])
def test_keras_roundtrip_every_squeezenext_variant(name, tmp_path):
    model = applications.get_model(name, input_shape=(32, 32, 1), classes=5)
    x = np.random.rand(2, 32, 32, 1).astype("float32")
    before, after = roundtrip(model, tmp_path, x)
    np.testing.assert_array_equal(before, after)


def test_training_steps_lower_the_loss():
    """Loss as computed in training mode (batch statistics): inference-mode BN statistics lag in a few steps."""
    model = SqueezeNext(**TINY, attention="separable_se", classes=2, input_shape=(32, 32, 1))
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    x = np.random.rand(16, 32, 32, 1).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("int32")
    losses = [float(model.train_on_batch(x, y)) for _ in range(10)]
    assert losses[-1] < losses[0]
