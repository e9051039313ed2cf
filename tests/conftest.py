import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402
from _pytest.mark.expression import Expression  # noqa: E402 - how pytest itself reads -m


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run the tests marked slow")


def selects_slow(markexpr):
    """Whether a -m expression asks for slow tests: it matches a test marked only slow and no unmarked test.
    So `-m slow` and `-m "slow and not gpu"` run them; `-m "not backend"` keeps the fast tier."""
    if not markexpr:
        return False
    expression = Expression.compile(markexpr)
    return expression.evaluate(lambda name, **_: name == "slow") and not expression.evaluate(lambda name, **_: False)


def pytest_collection_modifyitems(config, items):
    """Test tiers (markers in setup.cfg): the default run is the fast tier; `-m slow` (make test-slow) or
    --run-slow adds the slow one; gpu tests skip on a machine without a GPU."""
    include_slow = config.getoption("--run-slow") or selects_slow(config.getoption("markexpr"))
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
