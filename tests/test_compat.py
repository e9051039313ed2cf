"""What users already have keeps working: `.keras` files saved by the previous release."""

import os

import keras
import numpy as np
import pytest

import keras_scse  # noqa: F401 - registers the layers that the files name

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "previous_release")


@pytest.mark.parametrize("name", ["every_attention_layer", "small_scsenet"])
def test_keras_file_of_the_previous_release_loads_and_computes_the_same(name):
    model = keras.saving.load_model(os.path.join(FIXTURES, f"{name}.keras"), safe_mode=True)
    saved = np.load(os.path.join(FIXTURES, "outputs.npz"))
    np.testing.assert_allclose(np.asarray(model(saved[f"{name}_x"], training=False)), saved[f"{name}_y"],
                               rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("old, new", [("scse", "separable_se"), ("SCSE", "separable_se"),
                                      ("scse_concurrent", "concurrent_se")])
def test_old_attention_names_still_build_the_same_layer_with_a_deprecation_warning(old, new):
    from keras_scse import applications, layers

    with pytest.warns(DeprecationWarning, match=f"attention={old!r} is deprecated: it is {new!r}"):
        assert layers.get(old) is layers.get(new)
    assert old.lower() not in layers.names()
    with pytest.warns(DeprecationWarning):
        model = applications.SqueezeNext(blocks=(1, 1, 1, 1), width=0.25, attention=old, input_shape=(32, 32, 1))
    built = {type(layer) for layer in model.layers}
    assert layers.get(new) in built
    assert model.name == {"separable_se": "scsenet6", "concurrent_se": "concurrent_senet6"}[new]
