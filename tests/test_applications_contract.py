"""keras.applications' own application test (keras/src/applications/applications_test.py in the installed Keras),
adapted and run over every registered model, so that the next model added meets it too: no head with any input
size and channel count, a custom input shape and input tensor, each pooling, the classifier's activation, in
both image data formats; plus what users of those variable-size and channels_first models count on.

Adaptations: weights=None (keras' test_application_base needs ImageNet weights and the elephant picture, which
we have not: keras_scse's ImageNet weights are keras' own, tested in test_resnet_mobilenet.py); small inputs
(keras: 123 px and 200 px) because the deep models build slowly on this CPU. Keras' test asserts shapes only on
the symbolic models, in both formats; predictions in channels_first run on JAX (test_channels_first_on_jax):
TensorFlow's CPU kernels refuse channels_first convolutions and pooling, and Keras' own test skips channels_first
predictions on TensorFlow without a GPU for the same reason.
"""

import contextlib
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_scse import applications
from keras_scse import layers as attention_layers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The default tier builds the quickest model (SqueezeNext's SCSENet44 below too); the others (seconds to build
# each, a few builds per test on this 2-core CPU) are in the slow tier.
FAST = {"SCAResNet18"}
MODELS = [name if name in FAST else pytest.param(name, marks=pytest.mark.slow) for name in applications.list_models()]
FORMATS = ["channels_last", "channels_first"]
# The backbone's last width: keras' test asserts it per model (its MODEL_LIST); a new model adds its row.
LAST_DIM = {"SCAMobileNetV2": 1280, "SCAResNet18": 512, "SCAResNet34": 512, "SCAResNet50": 2048,
            "SCAResNet101": 2048, "SCAResNet152": 2048, "SCSENet23": 128, "SCSENet44": 96, "SqueezeNext23": 128,
            "SqueezeNext23v5": 128, "SqueezeNext44": 96}


@contextlib.contextmanager
def image_data_format(data_format):
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format(data_format)
    try:
        yield
    finally:
        keras.config.set_image_data_format(previous)


def in_format(data_format, height, width, channels):
    """A (height, width, channels) shape in ``data_format``."""
    return (channels, height, width) if data_format == "channels_first" else (height, width, channels)


def last_dim(name):
    assert name in LAST_DIM, f"add {name}'s last feature width to LAST_DIM"
    return LAST_DIM[name]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("name", MODELS)
def test_notop_variable_input_channels(name, data_format):
    """keras: include_top=False takes (None, None, C) for any C; the output keeps None for the spatial axes."""
    correct = list(in_format(data_format, None, None, last_dim(name)))
    with image_data_format(data_format):
        for channels in (1, 4):
            model = applications.get_model(name, include_top=False, input_shape=in_format(data_format, None, None,
                                                                                         channels))
            assert list(model.outputs[0].shape) == [None, *correct]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("name", MODELS)
def test_default_input_and_pooling(name, data_format):
    """keras' obtain_input_shape(require_flatten=include_top): no head and input_shape=None is any size with 3
    channels, for every pooling; with a head, the default square size; the classifier's activation as asked."""
    with image_data_format(data_format):
        for pooling, output in ((None, in_format(data_format, None, None, last_dim(name))),
                                ("avg", (last_dim(name),)), ("max", (last_dim(name),))):
            model = applications.get_model(name, include_top=False, pooling=pooling)
            assert model.input_shape == (None, *in_format(data_format, None, None, 3)), pooling
            assert model.output_shape == (None, *output), pooling
        model = applications.get_model(name, classes=7, classifier_activation="softmax")
    size = model.input_shape[2] if data_format == "channels_first" else model.input_shape[1]
    assert model.input_shape == (None, *in_format(data_format, size, size, 3)) and size is not None
    assert model.output_shape == (None, 7) and model.layers[-1].activation.__name__ == "softmax"


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("name", MODELS)
def test_notop_custom_input_shape_and_tensor(name, data_format):
    """keras: a custom input_shape (123 px there, 37 x 45 here), and an input_tensor behind a layer of the
    caller's (a 2x2/2 conv of a 4-channel input), keep the backbone's last width on the channel axis."""
    axis = 1 if data_format == "channels_first" else -1
    with image_data_format(data_format):
        model = applications.get_model(name, include_top=False, input_shape=in_format(data_format, 37, 45, 3))
        assert model.output_shape[axis] == last_dim(name)
        inputs = keras.Input(in_format(data_format, 80, 72, 4), name="custom_input")
        tensor = keras.layers.Conv2D(3, (2, 2), padding="valid", strides=(2, 2))(inputs)
        model = applications.get_model(name, include_top=False, input_tensor=tensor, pooling="avg")
    assert model.inputs[0] is inputs and model.output_shape == (None, last_dim(name))


@pytest.mark.parametrize("name", MODELS)
def test_variable_size_model_predicts_and_extracts_features(name):
    """A model built for any size computes on different sizes, and feature_extractor finds its levels."""
    model = applications.get_model(name, include_top=False, input_shape=(None, None, 3))
    features = applications.feature_extractor(model, ["P3", "P5"])
    for height, width in ((32, 32), (64, 96)):
        out = features(np.random.default_rng(0).uniform(size=(1, height, width, 3)).astype("float32"))
        assert tuple(out["P5"].shape[:3]) == (1, height // 32, width // 32)
        assert tuple(out["P3"].shape[:3]) == (1, height // 8, width // 8)


def test_scsenet44_fashion_mnist_backbone_takes_any_size():
    """The packaged checkpoint without its head takes any size: the same function as the 32 px model at 32 px
    (its SC-SE kernels are pinned, weights.checkpoint_attention_kwargs), and it predicts at 57 x 83."""
    model = applications.SCSENet44(include_top=False, weights="fashion_mnist", input_shape=(None, None, 1))
    assert model.input_shape == (None, None, None, 1)
    fixed = applications.SCSENet44(include_top=False, weights="fashion_mnist", input_shape=(32, 32, 1))
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x, training=False)), np.asarray(fixed(x, training=False)),
                               rtol=1e-5, atol=1e-6)
    y = np.asarray(model(np.random.default_rng(1).uniform(size=(2, 57, 83, 1)).astype("float32"), training=False))
    assert y.shape == (2, 2, 3, 96) and np.isfinite(y).all()


@pytest.mark.slow
def test_scaresnet50_without_head_takes_any_size():
    model = applications.SCAResNet50(include_top=False, input_shape=None)
    assert model.input_shape == (None, None, None, 3)
    y = model.predict(np.random.default_rng(0).uniform(size=(1, 64, 96, 3)).astype("float32"), verbose=0)
    assert y.shape == (1, 2, 3, 2048) and np.isfinite(y).all()


@pytest.mark.parametrize("name", attention_layers.names())
def test_attention_layer_channels_first_is_channels_last_transposed(name):
    """Every attention layer in channels_first: the same weights, the same function on the transposed map (its
    sublayers compute in channels_last, so this runs on TensorFlow's CPU too); data_format in the config."""
    x = np.random.default_rng(0).normal(size=(2, 9, 11, 16)).astype("float32")
    last = attention_layers.make(name, "attention", {"data_format": "channels_last"})
    expected = np.asarray(last(x))
    with image_data_format("channels_first"):  # the default follows the Keras setting, as Keras' layers do
        first = attention_layers.make(name, "attention")
    assert first.data_format == "channels_first" and first.get_config()["data_format"] == "channels_first"
    first.build((None, 16, 9, 11))
    first.set_weights(last.get_weights())
    got = np.asarray(first(np.transpose(x, (0, 3, 1, 2))))
    np.testing.assert_allclose(np.transpose(got, (0, 2, 3, 1)), expected, rtol=1e-5, atol=1e-6)
    assert {key: np.shape(g) for key, g in first.gates(first.channels_last(np.transpose(x, (0, 3, 1, 2)))).items()} \
        == {key: np.shape(g) for key, g in last.gates(x).items()}  # gates() stay channels_last
    config = {key: value for key, value in first.get_config().items() if key != "data_format"}
    assert type(first).from_config(config).data_format == "channels_last"  # a config saved before data_format


def test_bad_data_format_says_what_is_allowed():
    with pytest.raises(ValueError, match=r"`data_format` must be one of \['channels_last', 'channels_first'\]"):
        attention_layers.SeparableSqueezeExcite(data_format="NCHW")


def run_on_jax(*args):
    script = os.path.join(ROOT, "tests", "scripts", "channels_first.py")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, script, *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


JAX = pytest.mark.skipif(__import__("importlib").util.find_spec("jax") is None, reason="jax is not installed")


def check_same(results):
    for name, row in results.items():
        assert row["first_shape"] == [None, row["shape"][-1], *row["shape"][1:3]], name
        assert row["max_abs_diff"] <= 1e-5 * max(1.0, row["scale"]), (name, row)


@JAX
@pytest.mark.backend
@pytest.mark.slow  # 25 s; the default tier keeps every attention layer's channels_first parity (above)
def test_channels_first_on_jax_quickest_model():
    """channels_first = channels_last on the same weights (transposed input), within 1e-5, on JAX
    (tests/scripts/channels_first.py; 64 px so that the last maps are 2 x 2): the quickest model (15 s)."""
    check_same(run_on_jax(64, "SCAResNet18"))


@JAX
@pytest.mark.backend
@pytest.mark.slow
def test_channels_first_on_jax_every_model():
    check_same(run_on_jax(64, *[name for name in applications.list_models() if name != "SCAResNet18"]))


@JAX
@pytest.mark.backend
@pytest.mark.slow
def test_weights_load_into_channels_first_models_on_jax(tmp_path):
    """The packaged SCSENet44 checkpoint, and a keras.applications weights file transferred by layer name
    (applications/transfer.py, ImageNet's path without the download), give the channels_last outputs."""
    diffs = run_on_jax("weights", tmp_path)
    assert diffs["fashion_mnist"] <= 1e-5 and diffs["transfer"] <= 1e-5, diffs


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="a graph with unknown H, W is TensorFlow's")
@pytest.mark.parametrize("how", ["batch_as_channels", "shifted", "banded"])  # "auto" picks one of them
def test_every_formulation_traces_with_unknown_height_and_width(how):
    """The attention layers in a TensorFlow graph whose H, W are unknown (what a variable-size model saves), in
    each conv formulation ("banded" falls back to "shifted" without a static height), equal to "plain". JAX
    traces with concrete shapes, so a map size is always known there."""
    import tensorflow as tf

    x = np.random.default_rng(0).normal(size=(2, 9, 11, 16)).astype("float32")
    for name in attention_layers.names():
        layer = attention_layers.make(name, "attention", {"spatial_kernel": 3} if name == "separable_se" else {})
        layer.build((None, None, None, 16))
        with attention_layers.conv_formulation("plain"):
            expected = np.asarray(layer(x))
        with attention_layers.conv_formulation(how):
            traced = tf.function(layer, input_signature=[tf.TensorSpec((None, None, None, 16), "float32")])
            np.testing.assert_allclose(np.asarray(traced(x)), expected, rtol=1e-5, atol=1e-6, err_msg=name)
