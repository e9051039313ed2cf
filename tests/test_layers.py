"""Attention layers: shapes, hand-computed values, gates, identity start, errors, serialisation."""

import keras
import numpy as np
import pytest
from helpers import roundtrip

from keras_scse import layers as L

rng = np.random.default_rng(0)
X = rng.normal(size=(2, 9, 11, 16)).astype("float32")


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def set_all(layer, value):
    for w in layer.weights:
        w.assign(np.full(w.shape, value, "float32"))


def delta_kernel(shape, index):
    k = np.zeros(shape, "float32")
    k[index] = 1.0
    return k


ALL = [(name, {}) for name in L.names()] + [
    ("separable_se", dict(spatial="axial")),
    ("separable_se", dict(fusion="max")),
    ("separable_se", dict(fusion="mul", squeeze="avgmax")),
    ("separable_se", dict(spatial="axial", squeeze="avgmax", channel_kernel=5, spatial_kernel=3)),
    ("sca", dict(kernel_size=3, pool="avgmax", fusion="mean", spatial_branch=True, use_bn=True)),
]


@pytest.mark.parametrize("name,kwargs", ALL)
def test_shape_preserved_on_odd_and_dynamic_sizes(name, kwargs):
    inp = keras.Input((None, None, 16))
    model = keras.Model(inp, L.make(name, "attn", kwargs)(inp))
    for h, w in ((9, 11), (4, 3), (37, 53)):
        x = rng.normal(size=(2, h, w, 16)).astype("float32")
        y = np.asarray(model(x))
        assert y.shape == x.shape
        assert np.isfinite(y).all()


@pytest.mark.parametrize("name,kwargs", ALL)
def test_roundtrip_keras_file(name, kwargs, tmp_path):
    inp = keras.Input((9, 11, 16))
    model = keras.Model(inp, L.make(name, "attn", kwargs)(inp))
    before, after = roundtrip(model, tmp_path, X)
    np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("name,kwargs,low,high", [
    ("se", {}, 0, 1), ("eca", {}, 0, 1), ("cbam", {}, 0, 1), ("sca", {}, 0, 1),
    ("separable_se", dict(fusion="mul"), 0, 1), ("separable_se", dict(fusion="max"), 0, 1),
    ("separable_se", {}, 0, 2), ("concurrent_se", {}, 0, 2),
])
def test_gate_ranges(name, kwargs, low, high):
    """y / x is the total gate: in (0, 1) for a single sigmoid gate, (0, 2) for the added pair."""
    x = np.abs(X) + 0.1
    ratio = np.asarray(L.make(name, "attn", kwargs)(x)) / x
    assert ratio.min() > low and ratio.max() < high


@pytest.mark.parametrize("spatial,fusion,factor", [
    ("conv", "add", 1.0), ("conv", "max", 0.5), ("conv", "mul", 0.25),
    ("axial", "add", 0.75), ("axial", "mul", 0.125),  # axial: g_s = sigmoid(0) * sigmoid(0)
])
def test_scse_zero_weights_gives_half_gates(spatial, fusion, factor):
    layer = L.SeparableSqueezeExcite(spatial=spatial, fusion=fusion)
    layer.build(X.shape)
    set_all(layer, 0.0)
    np.testing.assert_allclose(np.asarray(layer(X)), factor * X, rtol=1e-6)


def test_scse_hand_computed_conv_variant():
    """Identity channel conv, sum-of-channels squeeze, centre-tap separable convs."""
    layer = L.SeparableSqueezeExcite(spatial="conv", fusion="add", channel_kernel=3, spatial_kernel=3)
    layer.build(X.shape)
    set_all(layer, 0.0)
    layer.channel_conv.kernel.assign(delta_kernel((3, 1, 1), (1, 0, 0)))
    layer.squeeze_conv.kernel.assign(np.ones((1, 1, 16, 1), "float32"))
    layer.conv_h.kernel.assign(delta_kernel((3, 1, 1, 1), (1, 0, 0, 0)))
    layer.conv_w.kernel.assign(delta_kernel((1, 3, 1, 1), (0, 1, 0, 0)))
    g_c = sigmoid(X.mean(axis=(1, 2), keepdims=True))
    g_s = sigmoid(X.sum(axis=-1, keepdims=True))
    np.testing.assert_allclose(np.asarray(layer(X)), X * g_c + X * g_s, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("k", [1, 3, 5, 7])
@pytest.mark.parametrize("c_in", [1, 2])
@pytest.mark.parametrize("how", ["batch_as_channels", "shifted", "banded", "plain", "fused"])
def test_fast_convs_are_the_conv_layers_they_replace(k, c_in, how):
    """apply_conv = Keras' 'same' Conv2D with one output ((k,1), (1,k), (k,k), (k,3)); the channel gate = Conv1D;
    in every formulation (odd map sizes: 'same' pads one more row / column below / right)."""
    from keras_scse.layers.base import apply_channel_conv1d, apply_conv
    from keras_scse.layers.formulation import conv_formulation

    x = rng.normal(size=(3, 7, 6, c_in)).astype("float32")
    pooled = rng.normal(size=(3, 10)).astype("float32")
    conv1d = keras.layers.Conv1D(1, k, padding="same", use_bias=False)
    conv1d.build((None, 10, 1))
    conv1d.kernel.assign(rng.normal(size=conv1d.kernel.shape).astype("float32"))
    expected = sigmoid(np.asarray(conv1d(pooled[..., None]))).reshape(3, 1, 1, 10)
    with conv_formulation(how):
        for kernel_size in ((k, 1), (1, k), (k, k), (k, 3), (2, 4)):
            conv = keras.layers.Conv2D(1, kernel_size, padding="same")
            conv.build(x.shape)
            for w in conv.weights:
                w.assign(rng.normal(size=w.shape).astype("float32"))
            np.testing.assert_allclose(np.asarray(apply_conv(conv, x)), np.asarray(conv(x)), atol=1e-5)
        np.testing.assert_allclose(np.asarray(apply_channel_conv1d(conv1d, pooled)), expected, rtol=1e-5,
                                   atol=1e-6)
    with pytest.raises(ValueError, match="Unknown conv formulation 'fast'"):
        with conv_formulation("fast"):
            pass


@pytest.mark.parametrize("backend, strip, square", [("tensorflow", "batch_as_channels", "batch_as_channels"),
                                                    ("jax", "shifted", "banded"), ("torch", "shifted", "plain")])
def test_auto_formulation_per_backend(backend, strip, square, monkeypatch):
    """"auto" = the measured choice per backend and kernel shape (AUTO_FORMULATION); a set one wins."""
    from keras_scse.layers.formulation import conv_formulation, formulation

    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    assert formulation((1, 7)) == formulation((5, 1)) == strip
    assert formulation((7, 7)) == formulation((3, 3)) == square
    with conv_formulation("plain"):
        assert formulation((1, 7)) == formulation((7, 7)) == "plain"


@pytest.mark.parametrize("name, kwargs", [("sca", {}), ("sca", dict(pool="avgmax")),
                                          ("sca", dict(spatial_branch=True, fusion="mean")),
                                          ("cbam", {}), ("concurrent_se", {}), ("eca", {})])
def test_layers_equal_their_definition_with_keras_conv_layers(name, kwargs, monkeypatch):
    """Random weights: each layer gives what it gives when its conv sublayers are called as Keras layers."""
    from keras_scse.layers import base, baselines, sca, separable_se

    layer = L.get(name)(**kwargs)
    layer.build(X.shape)
    for w in layer.weights:
        w.assign(rng.normal(size=w.shape).astype("float32") * 0.3)
    fast = np.asarray(layer(X))
    for module in (base, baselines, sca, separable_se):  # the conv sublayers' own call
        monkeypatch.setattr(module, "apply_conv", lambda conv, x: conv(x), raising=False)
    monkeypatch.setattr(baselines, "apply_channel_conv1d", lambda conv, p: keras.ops.sigmoid(
        keras.ops.reshape(conv(keras.ops.expand_dims(p, -1)), (-1, 1, 1, p.shape[-1]))))
    np.testing.assert_allclose(fast, np.asarray(layer(X)), rtol=1e-4, atol=1e-5)


def test_scse_equals_its_definition_with_keras_conv_layers():
    """Random weights: the layer (shifted sums, matmul squeeze) = the docstring's formula with its conv sublayers."""
    layer = L.SeparableSqueezeExcite(spatial="conv", fusion="add", spatial_kernel=5)
    layer.build(X.shape)
    for w in layer.weights:
        w.assign(rng.normal(size=w.shape).astype("float32"))
    pooled = keras.ops.expand_dims(X.mean(axis=(1, 2)), -1)
    g_c = sigmoid(np.asarray(layer.channel_conv(pooled)).reshape(2, 1, 1, 16))
    g_s = sigmoid(np.asarray(layer.conv_w(layer.conv_h(layer.squeeze_conv(X)))))
    np.testing.assert_allclose(np.asarray(layer(X)), X * g_c + X * g_s, rtol=1e-4, atol=1e-5)


def test_scse_hand_computed_axial_variant():
    layer = L.SeparableSqueezeExcite(spatial="axial", fusion="mul", channel_kernel=3, spatial_kernel=3)
    layer.build(X.shape)
    set_all(layer, 0.0)  # channel gate = 0.5
    layer.squeeze_conv.kernel.assign(np.ones((1, 1, 16, 1), "float32"))
    layer.conv_h.kernel.assign(delta_kernel((3, 1, 1, 1), (1, 0, 0, 0)))
    layer.conv_w.kernel.assign(delta_kernel((1, 3, 1, 1), (0, 1, 0, 0)))
    s = X.sum(axis=-1, keepdims=True)
    g_s = sigmoid(s.mean(axis=2, keepdims=True)) * sigmoid(s.mean(axis=1, keepdims=True))
    np.testing.assert_allclose(np.asarray(layer(X)), X * 0.5 * g_s, rtol=1e-5, atol=1e-6)


def test_sca_hand_computed():
    """The default (pool="avg"), centre tap: g_h = sigmoid(mean over W), g_w = sigmoid(mean over H), multiplied."""
    layer = L.SpatialChannelAttention(kernel_size=3)
    layer.build(X.shape)
    set_all(layer, 0.0)
    for conv, _ in layer.branches:
        conv.kernel.assign(delta_kernel((3, 3, 1, 1), (1, 1, 0, 0)))
    g_h = sigmoid(X.mean(axis=2, keepdims=True))
    g_w = sigmoid(X.mean(axis=1, keepdims=True))
    np.testing.assert_allclose(np.asarray(layer(X)), X * g_h * g_w, rtol=1e-5, atol=1e-6)


def test_sca_triplet_mean_fusion_hand_computed():
    layer = L.SpatialChannelAttention(kernel_size=3, pool="avgmax", fusion="mean", spatial_branch=True)
    layer.build(X.shape)
    set_all(layer, 0.0)
    for conv, _ in layer.branches:
        conv.kernel.assign(delta_kernel((3, 3, 2, 1), (1, 1, 1, 0)))  # centre tap on the max map
    g_h = sigmoid(X.max(axis=2, keepdims=True))
    g_w = sigmoid(X.max(axis=1, keepdims=True))
    g_s = sigmoid(X.max(axis=3, keepdims=True))
    np.testing.assert_allclose(np.asarray(layer(X)), (X * g_h + X * g_w + X * g_s) / 3, rtol=1e-5, atol=1e-6)


def test_eca_and_se_hand_computed():
    eca = L.EfficientChannelAttention(kernel_size=3)
    eca.build(X.shape)
    eca.conv.kernel.assign(np.array([1, 1, 1], "float32").reshape(3, 1, 1))
    m = X.mean(axis=(1, 2))
    neighbours = m + np.pad(m, ((0, 0), (1, 0)))[:, :-1] + np.pad(m, ((0, 0), (0, 1)))[:, 1:]
    np.testing.assert_allclose(np.asarray(eca(X)), X * sigmoid(neighbours)[:, None, None, :], rtol=1e-5, atol=1e-6)

    se = L.SqueezeExcite(ratio=4)
    se.build(X.shape)
    assert se.dense_reduce.kernel.shape == (16, 4)
    set_all(se, 0.0)
    np.testing.assert_allclose(np.asarray(se(X)), 0.5 * X, rtol=1e-6)


def test_cbam_and_concurrent_se_hand_computed():
    cbam = L.CBAM(kernel_size=3)
    cbam.build(X.shape)
    set_all(cbam, 0.0)
    cbam.spatial_conv.kernel.assign(delta_kernel((3, 3, 2, 1), (1, 1, 0, 0)))
    x1 = 0.5 * X
    np.testing.assert_allclose(np.asarray(cbam(X)), x1 * sigmoid(x1.mean(-1, keepdims=True)), rtol=1e-5, atol=1e-6)

    sc = L.ConcurrentSE()
    sc.build(X.shape)
    set_all(sc, 0.0)
    sc.spatial_conv.kernel.assign(np.ones((1, 1, 16, 1), "float32"))
    np.testing.assert_allclose(np.asarray(sc(X)), 0.5 * X + X * sigmoid(X.sum(-1, keepdims=True)), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("name", L.names())
def test_residual_gate_starts_as_identity(name):
    layer = L.make(name, "attn", {"residual_gate": True})
    np.testing.assert_array_equal(np.asarray(layer(X)), X)
    plain = L.make(name, "plain")
    plain(X)
    plain.set_weights([np.asarray(w) for w in layer.weights if w is not layer.gamma])
    layer.gamma.assign(1.0)
    np.testing.assert_allclose(np.asarray(layer(X)), np.asarray(plain(X)), rtol=1e-5, atol=1e-6)


def test_costs_and_adaptive_kernels():
    assert [L.eca_kernel_size(c) for c in (64, 128, 1024, 2048)] == [3, 5, 5, 7]
    scse = L.SeparableSqueezeExcite()
    scse.build((None, 32, 32, 64))
    assert scse.resolved_kernels == (3, 7)
    # channel conv k_c + squeeze 1x1 (C + 1) + two 1D convs (k_s + 1 each)
    assert scse.count_params() == 3 + 65 + 8 + 8
    small = L.SeparableSqueezeExcite()
    small.build((None, 8, 8, 64))
    assert small.resolved_kernels == (3, 3)
    for pool, maps in (("avg", 1), ("avgmax", 2)):
        sca = L.SpatialChannelAttention(kernel_size=3, pool=pool)
        sca.build((None, 8, 8, 64))
        assert sca.count_params() == 2 * (maps * 9 + 1)  # two branches, one kernel per pooled map, bias


def test_registry_and_errors():
    assert L.names() == ["cbam", "concurrent_se", "eca", "sca", "se", "separable_se"]
    assert L.get("Separable_SE") is L.SeparableSqueezeExcite
    with pytest.raises(ValueError, match="Unknown attention 'nope'.*'separable_se'"):
        L.get("nope")
    assert L.make(None, "x") is None
    custom = L.make(lambda **kw: keras.layers.Identity(), "ignored")
    assert isinstance(custom, keras.layers.Identity)
    with pytest.raises(ValueError, match="not a Keras layer"):
        L.make(lambda: 3, "x")
    with pytest.raises(ValueError, match="`fusion` must be one of"):
        L.SeparableSqueezeExcite(fusion="sum")
    with pytest.raises(ValueError, match="`spatial_kernel` must be a positive odd integer"):
        L.SeparableSqueezeExcite(spatial_kernel=4)
    with pytest.raises(ValueError, match="`kernel_size` must be a positive odd"):
        L.SpatialChannelAttention(kernel_size=0)
    with pytest.raises(ValueError, match="static channel count"):
        L.SqueezeExcite().build((None, 8, 8, None))
