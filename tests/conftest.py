import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


def roundtrip(model, tmp_path, x):
    """Save to .keras, reload with safe_mode=True; return (original outputs, reloaded outputs)."""
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    return np.asarray(model(x, training=False)), np.asarray(reloaded(x, training=False))
