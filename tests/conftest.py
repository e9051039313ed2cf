import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run the tests marked slow")


def pytest_collection_modifyitems(config, items):
    """Test tiers (markers in setup.cfg): the default run is the fast tier; `-m slow` (make test-slow) or
    --run-slow adds the slow one; gpu tests skip on a machine without a GPU."""
    include_slow = config.getoption("--run-slow") or bool(config.getoption("markexpr"))
    gpu = None
    for item in items:
        if "slow" in item.keywords and not include_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with -m slow or --run-slow"))
        if "gpu" in item.keywords:
            if gpu is None:
                from keras_scse.training.strategy import has_gpu

                gpu = has_gpu()
            if not gpu:
                item.add_marker(pytest.mark.skip(reason="needs a GPU"))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


def roundtrip(model, tmp_path, x):
    """Save to .keras, reload with safe_mode=True; return (original outputs, reloaded outputs)."""
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    return np.asarray(model(x, training=False)), np.asarray(reloaded(x, training=False))


FORTY_EPOCH_RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "results",
                               "scsenet44_fashion_mnist_40ep")


def committed_seed_runs():
    """{seed: metrics.json} of the committed 40-epoch SCSENet44 runs (the shipped weights' evidence)."""
    import json

    return {int(name[4:]): json.load(open(os.path.join(FORTY_EPOCH_RUN, name, "metrics.json")))
            for name in sorted(os.listdir(FORTY_EPOCH_RUN))
            if name.startswith("seed") and os.path.exists(os.path.join(FORTY_EPOCH_RUN, name, "metrics.json"))}
