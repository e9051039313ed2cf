"""LiteRT (TFLite) and int8 exports: float32 parity for every registered model, int8 that loads, runs and keeps
a trained model's accuracy on real Fashion-MNIST images (LiteRT and ONNX), calibration data resolution, errors,
the JAX path, the CLI."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_scse import applications, cli, export
from keras_scse.data import numpy_pipeline, sources
from keras_scse.export import calibration, litert, parity

pytest.importorskip("ai_edge_litert")
pytest.importorskip("onnxruntime")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATOL = 1e-4
SIZE = 32
# Writing the SavedModel the converter reads grows with the layer count, twice per test (float32 and int8):
# SCAResNet18 ~20 s, SCAMobileNetV2 ~23 s, the SqueezeNext nets minutes. The default tier keeps SCAResNet18
# (custom attention layers, few layers); the SC-SE ops convert in test_float16_and_dynamic_quantization.
FAST = {"SCAResNet18"}


def tiny_scse(classes=3, channels=3):
    """A one-block-per-stage SC-SENet: every SC-SE op, converted in seconds."""
    return applications.SqueezeNext(blocks=(1, 1, 1, 1), width=0.25, attention="separable_se", classes=classes,
                                    input_shape=(SIZE, SIZE, channels))


def noise(n, size=SIZE, channels=3, seed=0):
    return np.random.default_rng(seed).random((n, size, size, channels)).astype("float32")


def run_litert(path, x):
    return parity.litert_runner(path, ["predictions"])(x)["predictions"]


def litert_ops(path):
    """The op names of a .tflite file, in order."""
    from ai_edge_litert.interpreter import Interpreter

    return [op["op_name"] for op in Interpreter(model_path=str(path))._get_ops_details()]


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (8, 8), (7, 6), (3, 9)])
def test_the_fused_formulation_is_the_plain_function(size):
    """SC-SE traced "fused" (the LiteRT default: fewer ops) computes what "plain" does: maps smaller than the
    kernels, odd and non-square maps, both squeezes, both spatial branches, every fusion."""
    from keras_scse.layers import SeparableSqueezeExcite, conv_formulation

    rng = np.random.default_rng(0)
    for squeeze, spatial, fusion, kernel in (("conv", "axial", "mul", 3), ("avgmax", "axial", "add", 7),
                                             ("conv", "axial", "max", 5), ("conv", "conv", "mul", 3)):
        layer = SeparableSqueezeExcite(squeeze=squeeze, spatial=spatial, fusion=fusion, spatial_kernel=kernel)
        x = rng.normal(size=(3, *size, 12)).astype("float32")
        layer.build(x.shape)
        for w in layer.weights:
            w.assign(rng.normal(size=w.shape).astype("float32"))
        with conv_formulation("plain"):
            expected = np.asarray(layer(x))
        with conv_formulation("fused"):
            np.testing.assert_allclose(np.asarray(layer(x)), expected, atol=1e-5)


def test_fused_litert_files_have_fewer_ops_and_default_files_no_debug_names(tmp_path):
    """formulation="fused": 11 ops per SC-SE block, not 16, the same outputs. The default file ("plain"): tensor
    names cleared but the input's and output's, the signature runner intact; debug_names=True keeps them."""
    from ai_edge_litert.interpreter import Interpreter

    model, x = tiny_scse(), noise(2)
    plain = export.to_litert(model, tmp_path / "plain.tflite")
    fused = export.to_litert(model, tmp_path / "fused.tflite", formulation="fused", debug_names=True)
    assert (plain["formulation"], plain["debug_names"], fused["debug_names"]) == ("plain", False, True)
    assert max(fused["max_abs_diff"].values()) <= ATOL
    ops = {name: litert_ops(report["path"]) for name, report in (("fused", fused), ("plain", plain))}
    assert (len(ops["plain"]), len(ops["fused"])) == (96, 78)  # 4 SC-SE blocks (the 1 x 1 map's MEANs fold away)
    assert "EXPAND_DIMS" not in ops["fused"] and ops["fused"].count("REDUCE_PROD") == 4
    assert ops["fused"].count("LOGISTIC") == 2 * 4 and ops["plain"].count("LOGISTIC") == 3 * 4
    names = {name: [t["name"] for t in Interpreter(model_path=str(report["path"])).get_tensor_details()]
             for name, report in (("fused", fused), ("plain", plain))}
    kept = [n for n in names["plain"] if n]  # the input's and the output's (StatefulPartitionedCall...:0)
    assert len(kept) == 2 and "serving_default_input:0" in kept and len(names["plain"]) > 50
    assert all(names["fused"])
    runner = Interpreter(model_path=str(plain["path"])).get_signature_runner("serving_default")
    np.testing.assert_allclose(runner(input=x)["predictions"], run_litert(fused["path"], x), atol=ATOL)


def test_depthwise_convolutions_are_found_for_the_int8_weights_rule():
    inputs = keras.Input((8, 8, 3))
    plain = keras.Model(inputs, keras.layers.Conv2D(4, 3)(inputs))
    nested = keras.Model(inputs, keras.layers.Dense(2)(keras.Sequential([keras.layers.DepthwiseConv2D(3)])(inputs)))
    separable = keras.Model(inputs, keras.layers.SeparableConv2D(4, 3)(inputs))
    assert [litert.has_depthwise_convs(m) for m in (plain, nested, separable)] == [False, True, True]


@pytest.mark.slow  # three int8 conversions, ~45 s (the default tier is near its 10 minutes)
def test_per_tensor_int8_weights_are_smaller_and_only_for_int8_weights(tmp_path):
    """per_channel True / False / "auto" (per-tensor here: no depthwise convs), as the written file shows."""
    model, x = tiny_scse(), noise(16, seed=2)
    reports = {per_channel: export.to_litert(model, tmp_path / f"{per_channel}.tflite", quantize="int8",
                                             representative_data=x, per_channel=per_channel)
               for per_channel in (True, False, "auto")}
    assert [reports[key]["per_channel"] for key in (True, False, "auto")] == [True, False, False]
    assert reports[False]["bytes"] == reports["auto"]["bytes"] < reports[True]["bytes"]
    with pytest.raises(ValueError, match=r"`per_channel` must be 'auto', True or False; received per_channel='yes'"):
        export.to_litert(model, tmp_path / "bad.tflite", quantize="int8", representative_data=x, per_channel="yes")
    with pytest.raises(ValueError, match=r"per_channel=False applies to int8 weights .* received quantize='float16'"):
        export.to_litert(model, tmp_path / "f16.tflite", quantize="float16", per_channel=False)


@pytest.mark.parametrize(
    "name", [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in applications.list_models()]
)
def test_litert_float32_parity_and_int8_runs_every_registered_model(name, tmp_path):
    model = applications.get_model(name, input_shape=(SIZE, SIZE, 3), classes=10)
    report = export.to_litert(model, tmp_path / f"{name}.tflite", sample=noise(4, seed=1))
    assert report["format"] == "litert" and report["formulation"] == "plain" and report["quantize"] is None
    assert report["input_shape"] == [None, SIZE, SIZE, 3] and report["output_name"] == "predictions"
    assert set(report["max_abs_diff"]) == {"random", "sample"} and max(report["max_abs_diff"].values()) <= ATOL
    int8 = export.to_litert(model, tmp_path / f"{name}_int8.tflite", quantize="int8",
                            representative_data=noise(16, seed=2))
    assert int8["per_channel"] is litert.has_depthwise_convs(model)  # "auto", as the file holds it
    out = run_litert(int8["path"], noise(3, seed=3))
    assert out.shape == (3, 10) and np.isfinite(out).all()
    np.testing.assert_allclose(out.sum(-1), 1, atol=0.05)  # still a softmax
    assert int8["bytes"] < report["bytes"] / 2


@pytest.fixture(scope="module")
def trained():
    """A small CNN trained for one epoch on 3,000 Fashion-MNIST images (a few seconds) and 500 test images."""
    x, y = sources.fashion_mnist_arrays("train")
    xt, yt = sources.fashion_mnist_arrays("test")
    x, xt = numpy_pipeline.to_float(x[:3000], None, 1), numpy_pipeline.to_float(xt[:500], None, 1)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1), name="input")
    h = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    h = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.Flatten()(h)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="predictions")(h))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y[:3000], batch_size=64, epochs=2, verbose=0)
    accuracy = float(np.mean(np.argmax(model.predict(xt, verbose=0), -1) == yt[:500]))
    return model, xt, yt[:500], accuracy


@pytest.mark.parametrize("fmt", ["litert", "onnx"])
def test_int8_keeps_a_trained_models_accuracy_on_real_images(fmt, trained, tmp_path):
    model, xt, yt, keras_accuracy = trained
    assert keras_accuracy > 0.6
    path = tmp_path / f"m.{'tflite' if fmt == 'litert' else 'onnx'}"
    exporter = export.to_litert if fmt == "litert" else export.to_onnx
    report = exporter(model, path, quantize="int8", representative_data="fashion_mnist", calibration_size=100)
    assert report["calibration"] == "fashion_mnist [train], first 100 images" and report["atol"] is None
    assert report["agreement"] >= 0.95
    if fmt == "litert":
        probabilities = run_litert(path, xt)
    else:
        session = parity.onnx_session(str(path))
        probabilities = session.run(["predictions"], {"input": xt})[0]
    accuracy = float(np.mean(np.argmax(probabilities, -1) == yt))
    print(f"{fmt} int8: {accuracy:.3f} vs keras {keras_accuracy:.3f}")
    assert abs(accuracy - keras_accuracy) <= 0.02


def test_float16_and_dynamic_quantization(tmp_path):
    model = tiny_scse()
    sizes = {}
    for quantize in ("float16", "dynamic"):
        report = export.to_litert(model, tmp_path / f"{quantize}.tflite", quantize=quantize)
        sizes[quantize] = report["bytes"]
        assert report["quantize"] == quantize and run_litert(report["path"], noise(2)).shape == (2, 3)
        assert report["per_channel"] is {"float16": None, "dynamic": False}[quantize]  # per tensor by default
    assert report["atol"] is None and sizes["float16"] > sizes["dynamic"]  # 2 bytes a weight against 1


def test_int8_needs_calibration_data(tmp_path):
    for exporter, path in ((export.to_litert, "m.tflite"), (export.to_onnx, "m.onnx")):
        with pytest.raises(ValueError, match=r"int8 needs calibration data: pass representative_data="):
            exporter(tiny_scse(), tmp_path / path, quantize="int8")
        assert not (tmp_path / path).exists()
    with pytest.raises(ValueError, match=r"`quantize` must be one of \[None, 'int8'\] for ONNX"):
        export.to_onnx(tiny_scse(), tmp_path / "m.onnx", quantize="float16")
    with pytest.raises(ValueError, match=r"`quantize` must be one of"):
        export.to_litert(tiny_scse(), tmp_path / "m.tflite", quantize="int4")


def test_calibration_images_are_converted_or_refused_with_the_reason(tmp_path):
    grey = (np.random.default_rng(0).random((5, 28, 28)) * 255).astype("uint8")  # (N, H, W) uint8
    x, note = calibration.calibration_images(grey, (32, 32, 3))
    assert x.shape == (5, 32, 32, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert note == "arrays, 5 images (1 -> 3 channels; resized 28x28 -> 32x32)"
    with pytest.raises(ValueError, match=r"have 2 channels and the model takes 3: only 1 <-> 3"):
        calibration.calibration_images(np.zeros((4, 32, 32, 2)), (32, 32, 3))
    with pytest.raises(ValueError, match=r"non-empty batch of images \(N, H, W, C\); received shape \(32,\)"):
        calibration.calibration_images(np.zeros(32), (32, 32, 3))
    with pytest.raises(FileNotFoundError, match=r"Calibration folder .*does not exist"):
        calibration.calibration_images(str(tmp_path / "missing/"), (32, 32, 3))
    with pytest.warns(UserWarning, match=r"reach 255: keras_scse models take \[0, 1\]"):
        calibration.calibration_images(np.full((2, 32, 32, 3), 255.0), (32, 32, 3))
    x, note = calibration.calibration_images("fashion_mnist", (32, 32, 3), size=7)
    assert x.shape == (7, 32, 32, 3) and note == "fashion_mnist [train], first 7 images"


def test_calibration_from_an_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        os.makedirs(tmp_path / label)
        for i in range(6):
            Image.fromarray((rng.random((20, 24, 3)) * 255).astype("uint8")).save(tmp_path / label / f"{i}.png")
    x, note = calibration.calibration_images(str(tmp_path), (16, 16, 1), size=4)
    assert x.shape == (4, 16, 16, 1) and "first 4 images" in note


def test_an_op_litert_cannot_take_is_named_with_its_layer(tmp_path):
    import tensorflow as tf

    class IncompleteGamma(keras.layers.Layer):
        def call(self, x):
            return tf.math.igamma(x + 1.0, x + 2.0)

    inputs = keras.Input((8,), name="input")
    model = keras.Model(inputs, keras.layers.Dense(2)(IncompleteGamma(name="igamma")(inputs)), name="odd")
    with pytest.raises(export.ExportError, match=r"Igamma \(in layer 'igamma'\)"):
        export.to_litert(model, tmp_path / "odd.tflite")


def test_the_batch_as_channels_formulation_is_refused_naming_the_attention_layer(tmp_path):
    """Why LiteRT export traces "plain": TensorFlow's own "auto" choice needs Flex ops."""
    with pytest.raises(export.ExportError, match=r"DepthwiseConv2dNative \(in layer '[a-z0-9_]*(scse|attention)"):
        export.to_litert(tiny_scse(), tmp_path / "m.tflite", formulation="batch_as_channels")


@pytest.mark.backend
@pytest.mark.slow  # a minute: two exports in a TensorFlow subprocess of a JAX process
def test_litert_export_from_a_jax_model(tmp_path):
    pytest.importorskip("jax")
    script = ("import json, sys, numpy as np; from keras_scse import applications, export; "
              "model = applications.SqueezeNext(blocks=(1, 1, 1, 1), width=0.25, attention='separable_se', "
              "classes=3, input_shape=(32, 32, 3)); x = np.random.default_rng(0).random((8, 32, 32, 3)); "
              "f = export.to_litert(model, sys.argv[1]); "
              "q = export.to_litert(model, sys.argv[2], quantize='int8', representative_data=x); "
              "print(json.dumps([f, q]))")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "f.tflite"), str(tmp_path / "q.tflite")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    floats, int8 = json.loads(done.stdout.strip().splitlines()[-1])
    assert floats["max_abs_diff"]["source_backend"] <= ATOL and floats["max_abs_diff"]["random"] <= ATOL
    assert int8["quantize"] == "int8" and int8["calibration"] == "arrays, 8 images"
    assert run_litert(int8["path"], noise(2)).shape == (2, 3)


def test_cli_litert_int8_and_errors(tmp_path, capsys):
    keras_path = tmp_path / "best.keras"
    tiny_scse(classes=10, channels=1).save(keras_path)
    code = cli.main(["export", "--model-path", str(keras_path), "--format", "litert", "--quantize", "int8",
                     "--calibration", "fashion_mnist", "--calibration-size", "20"])
    out = capsys.readouterr().out
    assert code == 0 and (tmp_path / "best_int8.tflite").exists()
    assert "litert, int8" in out and "calibrated on fashion_mnist [train], first 20 images" in out
    assert run_litert(tmp_path / "best_int8.tflite", noise(2, channels=1)).shape == (2, 10)
    for argv, message in ((["--quantize", "int8"], "--quantize int8 needs --calibration"),
                          (["--quantize", "float16", "--format", "onnx"], "not available for --format onnx")):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["export", "--model-path", str(keras_path), *argv])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
    code = cli.main(["export", "--model-path", str(keras_path), "--format", "litert", "--quantize", "int8",
                     "--calibration", str(tmp_path / "nowhere/")])
    assert code == 2 and "does not exist" in capsys.readouterr().err


@pytest.mark.slow  # ~6 min: the shipped SCSENet44 converted three times
def test_shipped_scsenet44_int8_size_and_accuracy(tmp_path):
    """Issue #26's bar on the shipped model (first 2,000 test images): int8 within 0.5 points of float32 and the
    default int8 file (per-tensor weights) under 35% of the float32 file; per-channel weights under 42%
    (benchmarks/results/export/README.md: why per-channel cannot reach 35%)."""
    from keras_scse import data

    model = applications.SCSENet44(weights="fashion_mnist", classes=10)
    test, _ = data.load("fashion_mnist", "test", image_size=32, channels=1, batch_size=2000, shuffle=False,
                        limit=2000, pipeline="numpy")
    reports, accuracy = {}, {}
    for name, options in (("float32", {}), ("int8", {"quantize": "int8"}),
                          ("per_channel", {"quantize": "int8", "per_channel": True})):
        reports[name] = export.to_litert(model, tmp_path / f"{name}.tflite", representative_data="fashion_mnist",
                                         check=False, **options)
        predicted = np.argmax(run_litert(reports[name]["path"], test.images), -1)
        accuracy[name] = 100 * float(np.mean(predicted == test.labels))
    assert reports["int8"]["per_channel"] is False and reports["per_channel"]["per_channel"] is True
    assert reports["int8"]["bytes"] < 0.35 * reports["float32"]["bytes"]
    assert reports["per_channel"]["bytes"] < 0.42 * reports["float32"]["bytes"]
    assert accuracy["float32"] - 0.5 <= min(accuracy["int8"], accuracy["per_channel"]), accuracy
