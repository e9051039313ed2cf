"""The registries: models (applications.register_model) and attention layers (layers.register)."""

import ast
import inspect
import pathlib

import keras
import numpy as np
import pytest

from keras_scse import applications, layers
from keras_scse.applications import builder, registry


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
    assert list(inspect.signature(applications.SCAMobileNetV2).parameters)[:9] == [
        "input_shape", "alpha", *[key for key in head if key != "input_shape"]]


def registered_defs():
    """{name: ast.FunctionDef} of every module-level ``@register_model def`` in keras_scse/applications/."""
    defs = {}
    for path in sorted(pathlib.Path(applications.__file__).parent.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and any(
                    getattr(d, "id", getattr(d, "attr", None)) == "register_model" for d in node.decorator_list):
                defs[node.name] = (path, node)
    return defs


def test_every_registered_model_is_a_written_out_def():
    """``grep "def SCSENet44"`` finds the constructor: one ``@register_model def`` per name, with a docstring
    that says why ``weights`` defaults to None."""
    defs = registered_defs()
    assert sorted(defs) == applications.list_models()
    for name, (path, node) in defs.items():
        constructor = applications.MODELS[name]
        assert pathlib.Path(inspect.getsourcefile(constructor)) == path
        assert constructor.__code__.co_firstlineno in (node.lineno, node.decorator_list[0].lineno)
        doc = ast.get_docstring(node)
        assert "unlike keras.applications' \"imagenet\"" in doc and "Args:" in doc, name
    assert not hasattr(builder, "variant_constructor")


def test_variant_constructors_bind_like_plain_functions():
    model = applications.SCAMobileNetV2((32, 32, 3), 0.35, False)  # input_shape, alpha, include_top positionally
    assert model.name == "scamobilenetv2_0.35_32" and len(model.output_shape) == 4
    assert applications.SqueezeNext44(name=None, input_shape=(32, 32, 3), classes=2).name == "squeezenext44"
    with pytest.raises(TypeError, match="multiple values for argument 'include_top'"):
        applications.SCSENet44(True, include_top=False)
    with pytest.raises(TypeError, match=r"SqueezeNext\(\) got unexpected keyword argument\(s\) \['includ_top'\]"):
        applications.SCSENet44(includ_top=False)


KERAS_TWINS = [("ResNet50", "SCAResNet50"), ("ResNet101", "SCAResNet101"), ("ResNet152", "SCAResNet152"),
               ("MobileNetV2", "SCAMobileNetV2")]


@pytest.mark.parametrize("theirs,ours", KERAS_TWINS)
def test_constructors_take_their_keras_twins_arguments(theirs, ours):
    """Same parameter names, order and kinds as the keras.applications twin; only the defaults of ``weights``
    (None: see the docstrings) and of ``name`` (None: ``builder.default_name``, keras' name without attention)
    may differ; family options come after them, keyword-only."""
    their_params = list(inspect.signature(getattr(keras.applications, theirs)).parameters.values())
    our_params = list(inspect.signature(applications.MODELS[ours]).parameters.values())
    n = len(their_params)
    assert [(p.name, p.kind) for p in our_params[:n]] == [(p.name, p.kind) for p in their_params]
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in our_params[n:])
    differ = {p.name: (p.default, q.default) for p, q in zip(our_params, their_params) if p.default != q.default}
    assert differ.pop("weights") == (None, "imagenet")
    assert differ in ({}, {"name": (None, theirs.lower())})
    if differ:
        assert builder.default_name(None, "resnet", theirs.removeprefix("ResNet")) == theirs.lower()


def test_default_names_follow_the_attention_with_one_rule():
    assert builder.default_name(None, "resnet", "50") == "resnet50"
    assert builder.default_name("SCA", "resnet", "50") == "scaresnet50"
    assert builder.default_name(layers.SqueezeExcite, "mobilenetv2", "_1.00_224") == "semobilenetv2_1.00_224"
    assert builder.default_name(lambda: layers.SqueezeExcite(), "resnet", "18") == "attentionresnet18"
    assert builder.default_name("separable_se", "squeezenext", "44", attended_family="net") == "scsenet44"
    assert builder.default_name(None, "squeezenext", "44", attended_family="net") == "squeezenext44"


@pytest.mark.parametrize("constructor,kwargs,expected", [
    ("SCAResNet18", {}, "scaresnet18"),
    ("SCAResNet18", {"attention": "se"}, "seresnet18"),
    ("SCAResNet18", {"attention": None}, "resnet18"),
    ("SCAResNet50", {"attention": None}, "resnet50"),  # keras.applications.ResNet50's name
    ("SCAResNet18", {"attention": layers.CBAM}, "cbamresnet18"),
    ("SCAMobileNetV2", {"alpha": 0.35}, "scamobilenetv2_0.35_32"),
    ("SCAMobileNetV2", {"alpha": 0.35, "attention": "eca"}, "ecamobilenetv2_0.35_32"),
    ("SCSENet23", {}, "scsenet23"),
    ("SCSENet23", {"attention": None}, "squeezenext23"),
    ("SqueezeNext23v5", {"attention": "se"}, "senet23v5"),
    ("SqueezeNext44", {}, "squeezenext44"),
    ("SCSENet44", {"attention": "se", "name": "mine"}, "mine"),  # a given name always wins
])
def test_default_names_per_family(constructor, kwargs, expected):
    model = applications.get_model(constructor, input_shape=(32, 32, 3), include_top=False, **kwargs)
    assert model.name == expected


def test_mobilenetv2_without_attention_is_named_as_keras_names_it():
    kwargs = dict(input_shape=(48, 48, 3), alpha=0.5, include_top=False, weights=None)
    assert applications.SCAMobileNetV2(attention=None, **kwargs).name == keras.applications.MobileNetV2(**kwargs).name


def test_renaming_keeps_layer_names_so_weights_still_load(tmp_path):
    """Only the Model's name follows the attention: a weights file saved under another model name loads."""
    tiny = dict(blocks=(1, 1, 1, 1), width=0.25, attention="separable_se", input_shape=(32, 32, 1), classes=3)
    old = applications.SqueezeNext(**tiny, name="squeezenext")  # the builder's default name before
    path = str(tmp_path / "old.weights.h5")
    old.save_weights(path)
    new = applications.SqueezeNext(**tiny, weights=path)
    assert new.name == "scsenet6" and [layer.name for layer in new.layers] == [layer.name for layer in old.layers]
    x = np.random.default_rng(0).random((2, 32, 32, 1), "float32")
    np.testing.assert_array_equal(new.predict(x, verbose=0), old.predict(x, verbose=0))
