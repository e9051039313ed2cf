"""The PyTorch twin (keras_scse.peer) is the same network as the Keras builder: counts and outputs match."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # the `peer` extra

from keras_scse import applications  # noqa: E402
from keras_scse.applications import SqueezeNext  # noqa: E402
from keras_scse.peer import torch_squeezenext as twin  # noqa: E402

TINY = dict(blocks=(1, 1, 1, 1), width=0.25)


def keras_trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name,classes,size,channels,golden", [
    ("SqueezeNext44", 10, 32, 1, None),
    ("SqueezeNext44", 2, 32, 3, None),
    ("SCSENet44", 10, 32, 1, None),
    ("SCSENet44", 2, 32, 3, 570210),  # docs/fidelity.md
    ("SqueezeNext23", 1000, 224, 3, 724056),  # osmr/imgclsmob 1.0-SqNxt-23
])
def test_trainable_counts_match_keras(name, classes, size, channels, golden):
    keras_model = applications.get_model(name, classes=classes, input_shape=(size, size, channels))
    torch_model = twin.build_twin(name, classes=classes, in_channels=channels, input_size=size)
    assert twin.count_params(torch_model) == keras_trainable(keras_model)
    if golden is not None:
        assert twin.count_params(torch_model) == golden


def randomize(model, rng):
    """Non-trivial biases and BN statistics, so a mis-copied (or mis-transposed) weight changes the output."""
    for w in model.weights:
        if "moving_variance" in w.path:
            w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
        elif any(k in w.path for k in ("moving_mean", "gamma", "beta", "bias")):
            w.assign((rng.normal(0, 0.3, w.shape) + ("gamma" in w.path)).astype("float32"))


@pytest.mark.parametrize("attention,size,stem", [
    (None, 32, "imagenet"),  # even size: TF 'same' pads the 7x7/2 stem and 3x3/2 pool asymmetrically
    (None, 33, "imagenet"),
    ("separable_se", 32, "imagenet"),  # every SC-SE map <= 8 px: k_s = 3
    ("separable_se", 33, "imagenet"),  # stage 1 map 9 px: k_s = 7 there
    ("separable_se", 32, "cifar"),
])
def test_logits_match_keras(attention, size, stem):
    rng = np.random.default_rng(0)
    keras_model = SqueezeNext(**TINY, stem=stem, attention=attention, input_shape=(size, size, 3), classes=5,
                              classifier_activation=None)
    randomize(keras_model, rng)
    torch_model = twin.TorchSqueezeNext(**TINY, stem=stem, attention=attention, classes=5, input_size=size).eval()
    twin.copy_keras_weights(keras_model, torch_model)

    def kernels(layers):
        return [a.resolved_kernels for a in layers if hasattr(a, "resolved_kernels")]

    assert kernels(torch_model.modules()) == kernels(keras_model.layers)
    x = rng.normal(size=(2, size, size, 3)).astype("float32")
    expected = np.asarray(keras_model(x, training=False))
    with torch.no_grad():
        got = torch_model(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("keras_kwargs,torch_kwargs", [
    (dict(width=0.25), dict(width=0.5)),  # shapes differ
    (dict(attention="separable_se"), dict(attention=None)),  # Keras weights left over
    (dict(attention=None), dict(attention="separable_se")),  # torch module without a Keras layer
])
def test_copy_raises_on_mismatch(keras_kwargs, torch_kwargs):
    keras_model = SqueezeNext(**{**TINY, **keras_kwargs}, input_shape=(32, 32, 3), classes=5)
    torch_model = twin.TorchSqueezeNext(**{**TINY, **torch_kwargs}, classes=5, input_size=32)
    with pytest.raises(ValueError):
        twin.copy_keras_weights(keras_model, torch_model)
