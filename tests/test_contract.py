"""The contract every registered layer and model keeps (keras-hub's TestCase style), run over the registries so
that the next layer or model added meets it too: config and .keras round trips, shapes, feature maps."""

import os

import keras
import numpy as np
import pytest

from keras_scse import applications, layers

# Building, rebuilding and saving the deep models takes 20 s to minutes each on a 2-core CPU: they keep the
# contract in the slow tier (SCSENet23 and SqueezeNext23v5 cover the SqueezeNext family in the default one).
SLOW_MODELS = {"SCAResNet101", "SCAResNet152", "SCSENet44", "SqueezeNext44"}
MODELS = [pytest.param(name, marks=pytest.mark.slow) if name in SLOW_MODELS else name
          for name in applications.list_models()]


def inputs(shape, seed=0):
    return np.random.default_rng(seed).uniform(size=(2, *shape)).astype("float32")


def moved(model_or_layer):
    """Every weight moved off its initial value, so that a round trip that drops one shows (small and centred:
    50 residual blocks of positive shifts overflow)."""
    for i, weight in enumerate(model_or_layer.weights):
        shift = np.random.default_rng(i).uniform(-0.01, 0.01, weight.shape)
        weight.assign(np.asarray(weight) + shift.astype(weight.dtype))
    return model_or_layer


@pytest.mark.parametrize("name", layers.names())
def test_layer_config_round_trip_and_shape(name):
    layer = layers.make(name, f"{name}_attention")
    x = inputs((9, 11, 16))
    y = layer(x)
    assert y.shape == x.shape
    moved(layer)
    config = layer.get_config()
    again = type(layer).from_config(config)
    again(x)
    again.set_weights(layer.get_weights())
    assert again.get_config() == config
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(layer(x)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_model_contract(name, tmp_path):
    """Head, backbone and pyramid shapes, and the function surviving get_config/from_config and a .keras file."""
    shape = (64, 64, 3)
    model = moved(applications.get_model(name, input_shape=shape, classes=5))
    x = inputs(shape)
    expected = np.asarray(model(x, training=False))
    assert expected.shape == (2, 5)
    np.testing.assert_allclose(expected.sum(-1), 1.0, rtol=1e-5)  # softmax head

    rebuilt = keras.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(rebuilt(x, training=False)), expected, rtol=1e-5, atol=1e-6)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), expected, rtol=1e-5, atol=1e-6)

    backbone = applications.get_model(name, input_shape=shape, include_top=False, pooling="avg", name="x")
    assert backbone.name == "x" and backbone.output_shape == (None, model.layers[-1].input.shape[-1])
    features = applications.feature_extractor(backbone, ["P2", "P3", "P4", "P5"])(x)
    assert [tuple(features[f"P{level}"].shape[1:3]) for level in (2, 3, 4, 5)] == [(16, 16), (8, 8), (4, 4), (2, 2)]
