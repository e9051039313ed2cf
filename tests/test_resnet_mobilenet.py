"""SCA backbones (ResNet, MobileNetV2): parity with keras.applications, weight transfer, arguments, saving."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_scse import applications
from keras_scse.applications import (
    SCAMobileNetV2,
    SCAResNet18,
    SCAResNet34,
    SCAResNet50,
    SCAResNet101,
    SCAResNet152,
    transfer,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNV2_ATTENTION_BLOCKS = [2, 4, 5, 7, 8, 9, 11, 12, 14, 15]


def backbone_names(model):
    """Layer names without the input and the weightless, unnamed head pooling of keras.applications."""
    skip = (keras.layers.InputLayer, keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D)
    return [layer.name for layer in model.layers if not isinstance(layer, skip)]


def randomize_bn(model, seed=0):
    """Non-trivial BatchNorm statistics, so that a wrong copy cannot pass an output comparison."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])


def images(shape, n=2, seed=1):
    return np.random.default_rng(seed).normal(size=(n,) + tuple(shape)).astype("float32")


# --- parity with keras.applications ------------------------------------------------------------------------


@pytest.mark.parametrize("ours, theirs, params", [
    (SCAResNet50, keras.applications.ResNet50, 25_636_712),
    (SCAMobileNetV2, keras.applications.MobileNetV2, 3_538_984),
])
def test_plain_backbone_matches_keras_applications(ours, theirs, params):
    model, reference = ours(attention=None), theirs(weights=None)
    assert model.count_params() == reference.count_params() == params
    assert backbone_names(model) == backbone_names(reference)
    assert model.output_shape == reference.output_shape == (None, 1000)


@pytest.mark.parametrize("ours, theirs", [(SCAResNet101, "ResNet101"), (SCAResNet152, "ResNet152")])
def test_deep_resnets_match_keras_applications(ours, theirs):
    model = ours(attention=None, include_top=False, input_shape=(64, 64, 3))
    reference = getattr(keras.applications, theirs)(weights=None, include_top=False, input_shape=(64, 64, 3))
    assert model.count_params() == reference.count_params()
    assert backbone_names(model) == backbone_names(reference)


@pytest.mark.parametrize("constructor, trainable", [(SCAResNet18, 11_694_312), (SCAResNet34, 21_806_184)])
def test_basic_block_resnets_golden_counts(constructor, trainable):
    # torchvision's 11,689,512 / 21,797,672 plus one bias per conv output channel (keras.applications style).
    model = constructor(attention=None)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == trainable


def test_sca_overhead_is_negligible():
    plain, sca = SCAResNet50(attention=None).count_params(), SCAResNet50().count_params()
    assert 0 < sca - plain < 0.001 * plain  # 16 blocks x 198 = 3,168 (0.012%)
    plain, sca = SCAMobileNetV2(attention=None).count_params(), SCAMobileNetV2().count_params()
    assert 0 < sca - plain < 0.001 * plain  # 10 blocks x 38 = 380 (0.011%)


# --- attention placement and options -----------------------------------------------------------------------


def _neighbours(model, name):
    layer = model.get_layer(name)
    before = layer._inbound_nodes[0].parent_nodes[0].operation.name
    after = [node.operation.name for node in layer._outbound_nodes]
    return before, after


def test_attention_placement():
    model = SCAResNet50(include_top=False, input_shape=(64, 64, 3))
    assert _neighbours(model, "conv3_block2_attention") == ("conv3_block2_3_bn", ["conv3_block2_add"])
    assert len([layer for layer in model.layers if layer.name.endswith("_attention")]) == 16
    model = SCAResNet18(include_top=False, input_shape=(64, 64, 3))
    assert _neighbours(model, "conv4_block1_attention") == ("conv4_block1_2_bn", ["conv4_block1_add"])
    model = SCAMobileNetV2(include_top=False, input_shape=(64, 64, 3))
    names = [layer.name for layer in model.layers if layer.name.endswith("_attention")]
    assert names == [f"block_{k}_attention" for k in MNV2_ATTENTION_BLOCKS]
    assert _neighbours(model, "block_5_attention") == ("block_5_project_BN", ["block_5_add"])


def test_sca_kernel_defaults_and_overrides():
    small = dict(include_top=False, input_shape=(64, 64, 3))
    assert SCAResNet18(**small).get_layer("conv2_block1_attention").kernel_size == 7
    assert SCAMobileNetV2(**small).get_layer("block_2_attention").kernel_size == 3
    model = SCAResNet18(attention_kwargs={"kernel_size": 5}, **small)
    assert model.get_layer("conv2_block1_attention").kernel_size == 5
    model = SCAMobileNetV2(attention="eca", **small)  # no kernel_size injected into other layers
    assert type(model.get_layer("block_2_attention")).__name__ == "EfficientChannelAttention"


def test_identity_start_defaults():
    small = dict(include_top=False, input_shape=(64, 64, 3))
    assert not SCAResNet18(**small).get_layer("conv2_block1_attention").residual_gate
    assert SCAResNet18(identity_start=True, **small).get_layer("conv2_block1_attention").residual_gate
    with pytest.raises(ValueError, match="identity_start"):
        SCAResNet18(attention=lambda: keras.layers.Identity(), identity_start=True, **small)
    with pytest.raises(ValueError, match="Unknown attention"):
        SCAResNet18(attention="nope", **small)


# --- weight transfer -----------------------------------------------------------------------------------------


def _check_transfer(source, target, n_attention):
    randomize_bn(source)
    report = transfer.transfer_weights(source, target)
    assert sorted(report["copied"]) == sorted(layer.name for layer in source.layers if layer.weights)
    assert report["skipped"] == {} and report["unused_source"] == []
    assert len(report["not_in_source"]) == n_attention
    assert all(name.endswith("_attention") for name in report["not_in_source"])
    x = images(source.input_shape[1:])
    expected = source.predict(x, verbose=0)
    np.testing.assert_allclose(target.predict(x, verbose=0), expected, atol=1e-5)
    # each attention layer is wired in as an exact identity at start, and acts once its gate opens
    gate = target.get_layer(report["not_in_source"][-1])
    probe = keras.Model(target.inputs, [gate.input, gate.output])
    before, after = probe.predict(x, verbose=0)
    np.testing.assert_array_equal(before, after)
    gate.gamma.assign(1.0)
    before, after = probe.predict(x, verbose=0)
    assert np.abs(after - before).max() > 1e-3


def test_transfer_resnet50_identity_start():
    kwargs = dict(input_shape=(96, 96, 3), classifier_activation=None)
    source = keras.applications.ResNet50(weights=None, **kwargs)
    _check_transfer(source, SCAResNet50(identity_start=True, **kwargs), 16)


def test_transfer_mobilenetv2_identity_start():
    kwargs = dict(input_shape=(96, 96, 3), classifier_activation=None)
    source = keras.applications.MobileNetV2(weights=None, **kwargs)
    _check_transfer(source, SCAMobileNetV2(identity_start=True, **kwargs), len(MNV2_ATTENTION_BLOCKS))


def test_transfer_never_ignores_mismatches():
    source = keras.applications.MobileNetV2(weights=None, input_shape=(64, 64, 3), classes=10)
    target = SCAMobileNetV2(input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="predictions"):
        transfer.transfer_weights(source, target)
    with pytest.warns(UserWarning, match="predictions"):
        report = transfer.transfer_weights(source, target, strict=False)
    assert list(report["skipped"]) == ["predictions"] and report["unused_source"] == []


@pytest.mark.parametrize("file_name", ["plain.weights.h5", "plain.h5"])
def test_local_keras_applications_weights_file(tmp_path, file_name):
    kwargs = dict(input_shape=(96, 96, 3), include_top=False, pooling="avg")
    source = keras.applications.MobileNetV2(weights=None, **kwargs)
    randomize_bn(source)
    path = str(tmp_path / file_name)
    source.save_weights(path) if path.endswith(".weights.h5") else source.save(path)
    model = SCAMobileNetV2(weights=path, **kwargs)
    assert model.get_layer("block_2_attention").residual_gate  # identity start by default
    x = images(kwargs["input_shape"])
    np.testing.assert_allclose(model.predict(x, verbose=0), source.predict(x, verbose=0), atol=1e-5)


def test_local_checkpoint_of_the_model_itself(tmp_path):
    kwargs = dict(input_shape=(64, 64, 3), include_top=False, pooling="avg")
    model = SCAResNet18(**kwargs)
    path = str(tmp_path / "sca18.weights.h5")
    model.save_weights(path)
    loaded = SCAResNet18(weights=path, **kwargs)
    x = images(kwargs["input_shape"])
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="Could not load the weights file"):
        SCAResNet18(weights=path, attention="se", **kwargs)


IMAGENET_SCRIPT = textwrap.dedent("""
    import os, sys, numpy as np, keras
    from keras_scse.applications import SCAMobileNetV2, SCAResNet18
    try:
        SCAResNet18(weights="imagenet")
        sys.exit("no error for ResNet18")
    except ValueError as err:
        assert "one of [] (pretrained SCAResNet18)" in str(err), err
    kwargs = dict(weights="imagenet", include_top=False, input_shape=(96, 96, 3))
    name = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"
    cached = os.path.join(os.environ["KERAS_HOME"], "models", name)
    try:
        SCAMobileNetV2(**kwargs)
        sys.exit("no error without network")
    except FileNotFoundError as err:
        assert cached in str(err) and "weights=<local path" in str(err), err
    # a file in Keras' cache is used through keras.applications' own loading (MobileNetV2 has no hash check)
    source = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3))
    source.save(cached)
    model = SCAMobileNetV2(**kwargs)
    x = np.random.default_rng(0).normal(size=(1, 96, 96, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), source.predict(x, verbose=0), atol=1e-5)
    print("OK")
""")


@pytest.mark.slow
def test_imagenet_weights_offline_error_and_cache(tmp_path):
    # KERAS_HOME is read when Keras is imported, so this runs in a fresh process; an unreachable proxy makes
    # the download fail fast whether or not the machine has network access.
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras_home"), "PYTHONPATH": ROOT,
           "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "no_proxy": "", "NO_PROXY": ""}
    result = subprocess.run([sys.executable, "-c", IMAGENET_SCRIPT], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("OK"), result.stdout + result.stderr


# --- arguments -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("constructor, channels", [(SCAResNet18, 512), (SCAMobileNetV2, 1280)])
@pytest.mark.parametrize("pooling", [None, "avg", "max"])
def test_pooling(constructor, channels, pooling):
    model = constructor(include_top=False, pooling=pooling, input_shape=(64, 64, 3))
    expected = (None, 2, 2, channels) if pooling is None else (None, channels)
    assert model.output_shape == expected


@pytest.mark.parametrize("constructor", [SCAResNet18, SCAMobileNetV2])
def test_input_tensor_one_channel_and_odd_size(constructor):
    tensor = keras.Input((40, 40, 1))
    model = constructor(input_tensor=tensor, classes=3)
    assert model.inputs[0] is tensor and model.output_shape == (None, 3)
    model = constructor(include_top=False, input_shape=(37, 53, 1))
    assert model.output_shape == (None, 2, 2, model.output_shape[-1])
    assert model.predict(images((37, 53, 1)), verbose=0).shape[1:3] == (2, 2)


@pytest.mark.parametrize("constructor", [SCAResNet18, SCAMobileNetV2])
@pytest.mark.parametrize("kwargs, match", [
    (dict(include_top=False, pooling="mean"), "pooling"),
    (dict(classes=0), "classes"),
    (dict(weights="no/such/file.h5"), "weights"),
    (dict(input_shape=(16, 16, 3)), "at least 32x32"),
    (dict(input_shape=(64, 64)), "input_shape"),
])
def test_bad_arguments(constructor, kwargs, match):
    with pytest.raises(ValueError, match=match):
        constructor(**kwargs)


def test_bad_imagenet_arguments():
    with pytest.raises(ValueError, match="classes"):
        SCAResNet50(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="alpha"):
        SCAMobileNetV2(alpha=0.6, weights="imagenet")


def test_registry():
    assert applications.list_models("sca*") == [
        "SCAMobileNetV2", "SCAResNet101", "SCAResNet152", "SCAResNet18", "SCAResNet34", "SCAResNet50"]
    model = applications.get_model("scaresnet18", include_top=False, input_shape=(32, 32, 3), attention="se")
    assert model.get_layer("conv2_block1_attention").__class__.__name__ == "SqueezeExcite"


def test_keras_file_round_trip(tmp_path):
    model = SCAResNet18(input_shape=(48, 48, 3), classes=5, identity_start=True)
    model.get_layer("conv3_block1_attention").gamma.assign(0.5)
    path = str(tmp_path / "sca18.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = images((48, 48, 3))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


