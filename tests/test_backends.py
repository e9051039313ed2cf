"""Keras 3's other backends: keras_scse imports without TensorFlow on JAX / PyTorch, the zoo builds, trains a
step, round-trips and counts the same MACs there, and the attention layers compute what they compute on
TensorFlow. Each backend runs in a subprocess (a process holds one backend). PyTorch tests run when torch is
installed (`pip install torch==2.13.0`, the CPU build on this machine); CI installs JAX only."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_scse import bench

pytestmark = pytest.mark.backend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "tests", "scripts", "backend_zoo.py")
FAST_MODELS = ["SCSENet23", "SCAResNet18", "SCAMobileNetV2"]  # one per family; the whole zoo under -m slow
BACKENDS = [pytest.param(name, marks=pytest.mark.skipif(importlib.util.find_spec(module) is None,
                                                        reason=f"{module} is not installed"))
            for name, module in (("jax", "jax"), ("torch", "torch"))]


def run_backend(backend, *args, timeout=1200):
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": os.pathsep.join([ROOT, os.path.dirname(ZOO)])}
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def zoo(backend, tmp_path, models):
    return json.loads(run_backend(backend, ZOO, str(tmp_path), *models).stdout.strip().splitlines()[-1])


def tensorflow_reference(models):
    """The same script's layer outputs and MACs in this (TensorFlow) process."""
    sys.path.insert(0, os.path.dirname(ZOO))
    import backend_zoo

    from keras_scse import applications

    macs = {name: bench.count_flops(applications.get_model(name, input_shape=backend_zoo.SHAPE, classes=3))["macs"]
            for name in models}
    return backend_zoo.layer_outputs(), macs


@pytest.mark.slow  # two minutes: every model and every layer in every formulation, in a subprocess
@pytest.mark.parametrize("backend", BACKENDS)
def test_zoo_runs_without_tensorflow(backend, tmp_path):
    result = zoo(backend, tmp_path, FAST_MODELS)
    assert result["backend"] == backend
    assert result["tensorflow_after_import"] is False and result["tensorflow_at_end"] is False
    layers, macs = tensorflow_reference(FAST_MODELS)
    assert sorted(result["layers"]) == sorted(layers)
    for where, computed in ((backend, result["layers"]), ("tensorflow", layers)):
        for key, outputs in computed.items():  # every formulation = the plain Keras convs on TensorFlow
            plain = layers[key.split("|")[0] + "|plain"]
            np.testing.assert_allclose(np.array(outputs), np.array(plain), atol=2e-6, err_msg=f"{where}: {key}")
    for name, row in result["models"].items():
        assert row["finite"] and row["shape"] == [8, 3] and np.isfinite(row["loss"]), name
        assert row["reload_equal"], name
        assert row["macs"] == macs[name], name


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_registered_model_on_backend(backend, tmp_path):
    from keras_scse import applications

    result = zoo(backend, tmp_path, [])
    assert sorted(result["models"]) == applications.list_models()
    assert result["tensorflow_at_end"] is False
    assert all(row["finite"] and np.isfinite(row["loss"]) and row["reload_equal"] for row in result["models"].values())


@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_models_costs_without_tensorflow(backend):
    script = ("import sys, no_tensorflow; from keras_scse import cli; "
              "code = cli.main(['models', 'SqueezeNext44', '--costs']); "
              "assert not no_tensorflow.tensorflow_loaded(), 'tensorflow imported'; sys.exit(code)")
    out = run_backend(backend, "-c", script).stdout
    assert "SqueezeNext44" in out and "5,524,224" in out  # MACs at 32x32x3, as on TensorFlow (README model table)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_onnx_export_from_backend_matches_the_model_there(backend, tmp_path):
    pytest.importorskip("tf2onnx")
    script = ("import json, sys; from keras_scse import applications, export; "
              "model = applications.SqueezeNext(blocks=(1, 1, 1, 1), width=0.25, attention='separable_se', classes=3, "
              "input_shape=(32, 32, 3)); "
              "print(json.dumps(export.to_onnx(model, sys.argv[1])))")
    report = json.loads(run_backend(backend, "-c", script, str(tmp_path / "m.onnx")).stdout.strip().splitlines()[-1])
    assert os.path.exists(report["path"]) and report["input_shape"] == [None, 32, 32, 3]
    assert report["max_abs_diff"]["source_backend"] < 1e-4 and report["max_abs_diff"]["random"] < 1e-4
