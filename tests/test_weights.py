"""Pretrained-weight registry: resolution order, hash checks, include_top/classes rules, channel adaptation."""

import dataclasses
import os
import shutil

import keras
import numpy as np
import pytest
from helpers import FORTY_EPOCH_RUN, committed_seed_runs

from keras_scse.applications import SqueezeNext
from keras_scse.applications import weights as W

TINY = dict(blocks=(1, 1, 1, 1), width=0.25, attention="separable_se", variant="Tiny")


@pytest.fixture
def registered(tmp_path, monkeypatch):
    """A tiny checkpoint (10 classes, 1 channel) registered as Tiny/unit, published at a file:// URL."""
    source = SqueezeNext(**TINY, classes=10, input_shape=(32, 32, 1))
    published = tmp_path / "server" / "tiny.weights.h5"
    published.parent.mkdir()
    source.save_weights(str(published))
    # a registered checkpoint pins the SC-SE kernels its input size chose (3 for <= 8 px maps), as SCSENet44's
    # does: models without a head take any size by default, and would otherwise choose 7
    entry = W.WeightsEntry(model="Tiny", name="unit", file_name="tiny.weights.h5", sha256=W.sha256_of(published),
                           classes=10, input_shape=(32, 32, 1), url=published.as_uri(),
                           attention_kwargs={"spatial_kernel": 3})
    monkeypatch.setitem(W.PRETRAINED, ("Tiny", "unit"), entry)
    monkeypatch.setattr(W, "PACKAGE_DIR", str(tmp_path / "package"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return source, entry, tmp_path


def outputs(model, channels=1):
    x = np.random.default_rng(1).random((2, 32, 32, channels), dtype=np.float32)
    return np.asarray(model(x, training=False))


def test_download_then_cache_then_package_order(registered):
    source, entry, tmp = registered
    model = SqueezeNext(**TINY, weights="unit", classes=10)  # downloads into $KERAS_HOME/models
    np.testing.assert_array_equal(outputs(model), outputs(source))
    cached = tmp / "keras_home" / "models" / "tiny.weights.h5"
    assert cached.exists()
    assert W.locate(entry) == str(cached)
    (tmp / "package").mkdir()
    shutil.copy(cached, tmp / "package" / "tiny.weights.h5")
    assert W.locate(entry) == str(tmp / "package" / "tiny.weights.h5")


def test_hash_mismatch_and_truncated_file_refused(registered):
    _, entry, tmp = registered
    (tmp / "package").mkdir()
    packaged = tmp / "package" / "tiny.weights.h5"
    data = (tmp / "server" / "tiny.weights.h5").read_bytes()
    packaged.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=f"tiny.weights.h5 is corrupt.*expected {entry.sha256}"):
        SqueezeNext(**TINY, weights="unit", classes=10)
    packaged.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ValueError, match="sha256"):
        W.locate(entry)


def test_no_source_says_where_to_put_the_file(registered, monkeypatch):
    _, entry, tmp = registered
    monkeypatch.setitem(W.PRETRAINED, ("Tiny", "unit"), dataclasses.replace(entry, url=None))
    with pytest.raises(FileNotFoundError, match="keras_home/models/tiny.weights.h5"):
        SqueezeNext(**TINY, weights="unit", classes=10)


def test_include_top_and_classes_rules(registered):
    source, _, _ = registered
    with pytest.raises(ValueError, match="`classes` should be 10"):
        SqueezeNext(**TINY, weights="unit", classes=3)
    assert SqueezeNext(**TINY, weights="unit", classes=10).input_shape == (None, 32, 32, 1)  # checkpoint's input
    backbone = SqueezeNext(**TINY, weights="unit", include_top=False, pooling="avg", classes=3)
    assert backbone.input_shape == (None, None, None, 1)  # keras.applications: no head, any size (checkpoint's C)
    features = SqueezeNext(**TINY, include_top=False, pooling="avg", input_shape=(32, 32, 1))
    for layer in features.layers:
        if layer.weights:
            layer.set_weights(source.get_layer(layer.name).get_weights())
    np.testing.assert_allclose(outputs(backbone), outputs(features), rtol=1e-6)


def test_channel_adaptation_keeps_grey_response(registered):
    source, _, _ = registered
    rgb = SqueezeNext(**TINY, weights="unit", classes=10, input_shape=(32, 32, 3))
    grey = np.random.default_rng(2).random((2, 32, 32, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(rgb(np.repeat(grey, 3, axis=-1), training=False)),
                               np.asarray(source(grey, training=False)), rtol=1e-4, atol=1e-6)
    kernel = np.random.rand(3, 3, 3, 4).astype("float32")
    np.testing.assert_allclose(W.adapt_input_channels(kernel, (3, 3, 1, 4), "c"), kernel.sum(2, keepdims=True))
    with pytest.raises(ValueError, match="layer 'c' have shape"):
        W.adapt_input_channels(kernel, (3, 3, 3, 8), "c")


def test_local_files(tmp_path):
    model = SqueezeNext(**TINY, classes=4, input_shape=(32, 32, 1))
    path = tmp_path / "mine.weights.h5"
    model.save_weights(str(path))
    again = SqueezeNext(**TINY, classes=4, input_shape=(32, 32, 1), weights=str(path))
    np.testing.assert_array_equal(outputs(again), outputs(model))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        SqueezeNext(**TINY, classes=4, input_shape=(32, 32, 1), weights=str(path))
    with pytest.raises(ValueError, match="one of \\[\\] \\(pretrained Tiny\\)"):
        SqueezeNext(**TINY, weights="imagenet")
    assert os.path.exists(path)


def test_packaged_scsenet44_reproduces_its_registered_accuracy():
    """The shipped Fashion-MNIST checkpoint on the 10,000 test images, read straight from the raw idx files
    (read_idx, not the keras_scse.data pipeline), reaches the registered accuracy (needs dataset-fashion-mnist)."""
    import keras

    from keras_scse import applications
    from keras_scse.data.sources import fashion_mnist_dir, read_idx

    try:
        folder = fashion_mnist_dir()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    images = read_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz"))[..., None].astype("float32") / 255.0
    labels = read_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"))
    images = keras.ops.convert_to_numpy(keras.ops.image.resize(images, (32, 32)))  # bilinear, as trained
    entry = W.PRETRAINED[("SCSENet44", "fashion_mnist")]
    model = applications.SCSENet44(weights="fashion_mnist", classes=10)
    predicted = model.predict(images, batch_size=500, verbose=0).argmax(-1)
    assert abs(np.mean(predicted == labels) - entry.accuracy) <= 0.0005  # the stated figure, to the image
    assert W.locate(entry).startswith(W.PACKAGE_DIR)


def test_model_card_metrics_are_the_committed_runs():
    """The card's figures are the committed 40-epoch runs' metrics.json (seed 0 is the shipped checkpoint)."""
    from keras_scse import applications

    card = applications.model_card("SCSENet44/fashion_mnist")
    assert os.path.samefile(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                         card["results"]), FORTY_EPOCH_RUN)
    runs = committed_seed_runs()
    assert card["accuracy"] == runs[0]["accuracy"] and card["metrics"]["params"] == runs[0]["params"]
    assert card["metrics"]["best_val_accuracy"] == round(runs[0]["best_val_accuracy"], 4)
    assert card["metrics"]["test_accuracy_per_seed"] == {str(seed): run["accuracy"] for seed, run in runs.items()}
    if len(runs) > 1:
        mean = np.mean([run["accuracy"] for run in runs.values()])
        assert card["metrics"]["mean_test_accuracy"] == round(mean, 4) and mean >= 0.92


def test_checkpoint_attention_options_are_pinned(registered, monkeypatch):
    """A checkpoint trained with non-default SC-SE options loads with them; conflicting options are refused."""
    source_kwargs = {"spatial": "conv", "fusion": "add"}
    source = SqueezeNext(**TINY, attention_kwargs=source_kwargs, classes=10, input_shape=(32, 32, 1))
    _, entry, tmp_path = registered
    path = tmp_path / "conv_add.weights.h5"
    source.save_weights(str(path))
    pinned = dataclasses.replace(entry, name="conv_add", file_name=path.name, sha256=W.sha256_of(path),
                                 url=path.as_uri(), attention_kwargs=source_kwargs)
    monkeypatch.setitem(W.PRETRAINED, ("Tiny", "conv_add"), pinned)
    loaded = SqueezeNext(**TINY, weights="conv_add", classes=10)  # default options (axial/mul) overridden
    assert loaded.get_layer("stage1_unit1_attention").fusion == "add"
    np.testing.assert_allclose(outputs(loaded), outputs(source), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="trained with attention option fusion='add'"):
        SqueezeNext(**TINY, weights="conv_add", classes=10, attention_kwargs={"fusion": "mul"})


def test_presets_load_with_overrides_and_decode_predictions():
    from keras_scse import applications

    assert "SCSENet44/fashion_mnist" in applications.list_presets()
    card = applications.model_card("SCSENet44/fashion_mnist")
    assert card["classes"] == 10 and card["attention_kwargs"]["spatial_kernel"] == 3 and card["command"]
    model = applications.from_preset("SCSENet44/fashion_mnist", input_shape=(64, 64, 1), name="x")
    assert model.name == "x" and model.output_shape == (None, 10)
    x = np.zeros((2, 64, 64, 1), "float32")
    x[1, 16:48, 28:36] = 1.0  # a bright vertical bar
    decoded = applications.decode_predictions(model.predict(x, verbose=0), "SCSENet44/fashion_mnist", top=3)
    assert len(decoded) == 2 and [len(row) for row in decoded] == [3, 3]
    assert decoded[0][0][1] >= decoded[0][1][1] >= decoded[0][2][1]
    assert {name for name, _ in decoded[0]} <= set(card["class_names"])
    with pytest.raises(ValueError, match="Unknown preset"):
        applications.from_preset("SCSENet44/imagenet")
    with pytest.raises(ValueError, match=r"shape \(samples, 10\)"):
        applications.decode_predictions(np.zeros((1, 3)), "SCSENet44/fashion_mnist")


def test_one_registry_lists_keras_applications_weights_too():
    from keras_scse import applications
    from keras_scse.applications import weights as weights_lib

    imagenet = [p for p in applications.list_presets() if p.endswith("/imagenet")]
    assert imagenet == ["SCAMobileNetV2/imagenet", "SCAResNet101/imagenet", "SCAResNet152/imagenet",
                        "SCAResNet50/imagenet"]
    card = applications.model_card("SCAResNet50/imagenet")
    assert card["source"] == "keras.applications.ResNet50" and card["classes"] == 1000 and "MIT" in card["license"]
    assert applications.model_card("SCSENet44/fashion_mnist")["source"] == "keras_scse"
    assert weights_lib.resolve("SCAResNet50", "imagenet").source == "keras.applications.ResNet50"  # transfer's
    with pytest.raises(ValueError, match=r"one of \['imagenet'\] \(pretrained SCAResNet50\)"):
        weights_lib.resolve("SCAResNet50", "fashion_mnist")  # the one message, for every family


@pytest.mark.slow  # ~30 s; the default tier: test_applications_contract's any-size backbone, the README's 64 px preset
def test_pretrained_scsenet44_loads_at_other_input_sizes():
    from keras_scse.applications import SCSENet44

    small = SCSENet44(weights="fashion_mnist", classes=10)
    large = SCSENet44(weights="fashion_mnist", input_shape=(64, 64, 1), classes=10)
    assert large.predict(np.zeros((1, 64, 64, 1), "float32"), verbose=0).shape == (1, 10)
    np.testing.assert_array_equal(large.get_layer("stage1_unit1_attention").weights[2].numpy(),
                                  small.get_layer("stage1_unit1_attention").weights[2].numpy())


def test_a_classifier_at_another_size_resizes_to_the_checkpoints_unless_asked_for_native_resolution(registered,
                                                                                                     monkeypatch):
    _, entry, _ = registered
    monkeypatch.setitem(W.PRETRAINED, ("Tiny", "unit"), dataclasses.replace(entry, fixed_size=True))
    small = SqueezeNext(**TINY, weights="unit")  # classes=1000, keras' default, stands for the checkpoint's 10
    resized = SqueezeNext(**TINY, weights="unit", input_shape=(64, 64, 1))
    native = SqueezeNext(**TINY, weights="unit", input_shape=(64, 64, 1), native_resolution=True)
    backbone = SqueezeNext(**TINY, weights="unit", input_shape=(64, 64, 1), include_top=False)
    assert small.output_shape == resized.output_shape == (None, 10)
    names = [[layer.name for layer in model.layers] for model in (small, resized, native, backbone)]
    assert ["resize_to_checkpoint" in layers for layers in names] == [False, True, False, False]
    x = np.random.default_rng(0).random((2, 64, 64, 1), dtype="float32")
    at_32 = keras.ops.image.resize(x, (32, 32), interpolation="bilinear")
    np.testing.assert_allclose(resized.predict(x, verbose=0), small.predict(at_32, verbose=0), atol=1e-5)
    assert native.get_layer("stem_conv").input.shape[1:3] == (64, 64)  # the native model sees the 64 px input
    with pytest.raises(ValueError, match="`classes` should be 10"):
        SqueezeNext(**TINY, weights="unit", classes=7)
    from keras_scse.applications import presets

    assert presets.preset_entry("SCSENet44/fashion_mnist").fixed_size  # the shipped weights are resized too


def test_the_model_card_gives_the_committed_accuracy_at_other_sizes():
    import csv

    from keras_scse import applications

    table = os.path.join(os.path.dirname(FORTY_EPOCH_RUN), "preset_sizes", "table.csv")
    by_size = applications.model_card("SCSENet44/fashion_mnist")["metrics"]["test_accuracy_by_input_size"]
    resized, native = by_size.values()
    for row in csv.DictReader(open(table)):
        if row["size"] == "32":
            assert float(row["resized_pct"]) == float(row["native_pct"]) == 92.38
            continue
        assert resized[row["size"]] == pytest.approx(float(row["resized_pct"]) / 100, abs=1e-6)
        assert native[row["size"]] == pytest.approx(float(row["native_pct"]) / 100, abs=1e-6)
    assert set(resized) == set(native) == {"40", "48", "64", "96"}
    readme = open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(FORTY_EPOCH_RUN))), "README.md")).read()
    assert f"{resized['64']:.2%} at 64 px, {native['64']:.2%} with native_resolution=True" in readme


@pytest.mark.slow
def test_the_shipped_weights_at_64_px_are_within_a_point_of_32_px():
    from keras_scse.bench.sizes import accuracy_by_size
    from keras_scse.data.sources import fashion_mnist_arrays

    images, labels = fashion_mnist_arrays("test")
    at_32, at_64 = accuracy_by_size("SCSENet44/fashion_mnist", images[:1000], labels[:1000], (32, 64))
    assert at_32["resized_pct"] == at_32["native_pct"] > 90  # at its own size nothing is resized
    assert abs(at_64["resized_pct"] - at_32["resized_pct"]) <= 1.0
    assert at_64["native_pct"] < 50  # the regime the resizing avoids (27% measured)


def test_preprocess_input_per_family():
    from keras_scse.applications import mobilenet_v2, resnet, squeezenext

    x = np.full((1, 2, 2, 3), 255.0, "float32")
    np.testing.assert_allclose(squeezenext.preprocess_input(x), 1.0)
    np.testing.assert_allclose(mobilenet_v2.preprocess_input(x.copy()), 1.0)
    np.testing.assert_allclose(resnet.preprocess_input(x.copy())[0, 0, 0], [255 - 103.939, 255 - 116.779, 255 - 123.68],
                               rtol=1e-5)
