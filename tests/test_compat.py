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
