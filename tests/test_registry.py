"""The registries: models (applications.register_model) and attention layers (layers.register)."""

import inspect

import keras
import numpy as np
import pytest

from keras_scse import applications, layers
from keras_scse.applications import registry


@pytest.fixture
def clean_registries(monkeypatch):
    monkeypatch.setattr(registry, "MODELS", dict(registry.MODELS))
    monkeypatch.setattr(layers.registry, "REGISTRY", dict(layers.registry.REGISTRY))


def test_a_registered_layer_plugs_into_every_backbone(clean_registries):
    @layers.register("unit_gate")
    class UnitGate(layers.AttentionLayer):
        def build_branches(self, channels, input_shape):
            self.gate = self.add_weight(name="gate", shape=(channels,), initializer="zeros")

        def attend(self, x, training=None):
            return x * keras.ops.sigmoid(self.gate)

    assert "unit_gate" in layers.names() and layers.get("UNIT_GATE") is UnitGate
    model = applications.SqueezeNext(blocks=(1, 1, 1, 1), width=0.25, attention="unit_gate", input_shape=(32, 32, 3),
                                     classes=2)
    gates = [layer for layer in model.layers if isinstance(layer, UnitGate)]
    assert len(gates) == 4 and gates[0].name == "stage1_unit1_attention"
    x = np.ones((1, 8, 8, 4), "float32")
    np.testing.assert_allclose(UnitGate()(x), 0.5 * x)  # sigmoid(0) = 0.5
    with pytest.raises(ValueError, match="'unit_gate' is already registered to UnitGate"):
        layers.register("unit_gate")(layers.SqueezeExcite)


def test_register_model_adds_a_constructor_by_name(clean_registries):
    @applications.register_model
    def UnitNet(include_top=True, input_shape=(32, 32, 3), classes=3, **kwargs):
        return applications.SqueezeNext(blocks=(1, 1, 1, 1), width=0.25, name="unitnet", include_top=include_top,
                                        input_shape=input_shape, classes=classes, **kwargs)

    assert registry.list_models("unit*") == ["UnitNet"]
    assert registry.get_model("unitnet", classes=5).output_shape == (None, 5)
    assert registry.register_model(UnitNet) is UnitNet  # the same function again is fine

    def other():
        pass

    other.__name__ = "UnitNet"
    with pytest.raises(ValueError, match="'UnitNet' is already registered"):
        registry.register_model(other)


def test_every_family_is_registered_with_the_keras_applications_signature():
    assert set(applications.MODELS) == {*applications.squeezenext.VARIANTS, *applications.resnet.VARIANTS,
                                        *applications.mobilenet_v2.VARIANTS}
    head = ["include_top", "weights", "input_tensor", "input_shape", "pooling", "classes", "classifier_activation",
            "name"]
    assert list(inspect.signature(applications.SCSENet44).parameters)[:8] == head
    assert list(inspect.signature(applications.SCAMobileNetV2).parameters)[:9] == ["alpha", *head]


def test_variant_constructors_bind_like_plain_functions():
    model = applications.SCAMobileNetV2(0.35, False, input_shape=(32, 32, 3))  # alpha, include_top positionally
    assert model.name == "sca_mobilenetv2_0.35_32" and len(model.output_shape) == 4
    assert applications.SqueezeNext44(name=None, input_shape=(32, 32, 3), classes=2).name == "squeezenext44"
    with pytest.raises(TypeError, match="multiple values for argument 'include_top'"):
        applications.SCSENet44(True, include_top=False)
    with pytest.raises(TypeError, match=r"SqueezeNext\(\) got unexpected keyword argument\(s\) \['includ_top'\]"):
        applications.SCSENet44(includ_top=False)
