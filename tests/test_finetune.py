"""Fine-tuning: pretrained backbone + new head, frozen first stage, channel adaptation, outputs."""

import json

import keras
import numpy as np
import pytest

from keras_scse import applications
from keras_scse.applications import SqueezeNext
from keras_scse.applications import weights as W
from keras_scse.training.finetune import build_finetune_model, finetune

TINY = dict(blocks=(1, 1, 1, 1), width=0.25, attention="separable_se")


@pytest.fixture
def tiny_pretrained(tmp_path, monkeypatch):
    """A registered 1-channel, 10-class tiny checkpoint, as a packaged file."""
    source = SqueezeNext(**TINY, variant="Tiny", classes=10, input_shape=(32, 32, 1))
    (tmp_path / "package").mkdir()
    path = tmp_path / "package" / "tiny.weights.h5"
    source.save_weights(str(path))
    monkeypatch.setattr(W, "PACKAGE_DIR", str(tmp_path / "package"))
    monkeypatch.setitem(W.PRETRAINED, ("Tiny", "unit"), W.WeightsEntry(
        model="Tiny", name="unit", file_name="tiny.weights.h5", sha256=W.sha256_of(path), classes=10,
        input_shape=(32, 32, 1)))
    monkeypatch.setitem(applications.MODELS, "Tiny", lambda **kw: SqueezeNext(**TINY, variant="Tiny", **kw))
    return source


def test_new_head_on_pretrained_backbone(tiny_pretrained):
    model, backbone = build_finetune_model("Tiny", "unit", (32, 32, 3), classes=4)
    assert model.output_shape == (None, 4)
    stem = tiny_pretrained.get_layer("stem_conv").get_weights()[0]
    np.testing.assert_allclose(backbone.get_layer("stem_conv").get_weights()[0], np.repeat(stem, 3, axis=2) / 3,
                               rtol=1e-6)
    np.testing.assert_array_equal(backbone.get_layer("stage2_unit1_5_conv").get_weights()[0],
                                  tiny_pretrained.get_layer("stage2_unit1_5_conv").get_weights()[0])


def stage_column(run):
    return [line.split(",")[-1] for line in (run / "history.csv").read_text().splitlines()[1:]]


@pytest.mark.slow  # over a minute: both stages, killed and resumed
def test_two_stage_finetune_end_to_end_and_resume(tiny_pretrained, tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.random((160, 32, 32, 3), dtype=np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) > 0.5).astype("int32")
    run = tmp_path / "run"
    args = dict(weights="unit", head_epochs=1, batch_size=32, verbose=0)
    metrics = finetune("Tiny", (x, y), str(run), full_epochs=1, **args)
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["accuracy"] == metrics["accuracy"] and metrics["num_examples"] == 16
    assert saved["image_shape"] == [32, 32, 3]  # what the data became (a mixed folder: the channels chosen)
    assert stage_column(run) == ["head", "full"]
    # each stage says, before its first step, why that step waits (minutes for SCSENet44's full stage)
    assert capsys.readouterr().out.count("building the training step: the first step waits") == 2
    assert (run / "model.keras").exists() and (run / "curves.png").exists()
    config = json.loads((run / "config.json").read_text())
    assert config["augment"] == "flip_crop"
    (run / "config.json").write_text(json.dumps({**config, "augment": True}))  # as earlier versions wrote it
    # the same call again continues: one more full epoch, the head stage is not repeated
    finetune("Tiny", (x, y), str(run), full_epochs=2, **args)
    assert stage_column(run) == ["head", "full", "full"]
    with pytest.raises(ValueError, match="different settings.*batch_size"):
        finetune("Tiny", (x, y), str(run), full_epochs=2, **{**args, "batch_size": 16})


def test_finetune_from_a_saved_keras_model(tiny_pretrained, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((96, 32, 32, 1), dtype=np.float32)
    y = rng.integers(0, 3, 96).astype("int32")
    first = tmp_path / "first"
    finetune("Tiny", (x, y), str(first), weights="unit", head_epochs=1, full_epochs=0, batch_size=32, verbose=0)
    model, backbone = build_finetune_model("Tiny", str(first / "model.keras"), (32, 32, 1), classes=5)
    assert model.output_shape == (None, 5) and backbone.output_shape == (None, 32)
    saved = keras.saving.load_model(str(first / "model.keras"), compile=False)
    np.testing.assert_array_equal(backbone.get_layer("stage1_unit1_5_conv").get_weights()[0],
                                  saved.get_layer("stage1_unit1_5_conv").get_weights()[0])
    with pytest.raises(ValueError, match=r"takes inputs of shape \(32, 32, 1\).*image_size=32 and channels=1"):
        build_finetune_model("Tiny", str(first / "model.keras"), (40, 40, 1), classes=5)


def test_head_stage_trains_faster_without_warmup():
    from keras_scse.training.finetune import HEAD_LR_FACTOR, stages

    head, full = stages("unit", 2, 3, 1e-3)
    assert head == ("head", 2, 1e-3 * HEAD_LR_FACTOR, False, 0) and full == ("full", 3, 1e-3, True, None)
    assert stages(None, 2, 3, 1e-3) == [("scratch", 5, 1e-3, True, None)]
    assert [s[0] for s in stages("unit", 0, 3, 1e-3)] == ["full"]


def test_frozen_stage_keeps_backbone_and_bn_statistics(tiny_pretrained, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.random((64, 32, 32, 1), dtype=np.float32)
    y = rng.integers(0, 3, 64).astype("int32")
    model, backbone = build_finetune_model("Tiny", "unit", (32, 32, 1), classes=3)
    before = [np.array(w) for w in backbone.weights]  # includes BN moving statistics
    head_before = np.array(model.get_layer("predictions").kernel)
    backbone.trainable = False
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for old, new in zip(before, backbone.weights):
        np.testing.assert_array_equal(old, np.array(new))
    assert not np.array_equal(head_before, np.array(model.get_layer("predictions").kernel))


@pytest.mark.slow
def test_finetune_fashion_mnist_weights_at_64_px(tmp_path):
    """The registered SC-SE checkpoint carries its kernel sizes, so it fine-tunes at an input size it was not
    trained at (the spatial kernel was derived from the map size before)."""
    rng = np.random.default_rng(0)
    x = rng.random((80, 64, 64, 1), dtype=np.float32)
    y = rng.integers(0, 2, 80).astype("int32")
    metrics = finetune("SCSENet44", (x, y), str(tmp_path / "run"), weights="fashion_mnist", head_epochs=1,
                       full_epochs=1, batch_size=16, verbose=0)
    assert metrics["num_examples"] == 8 and len(metrics["val_accuracy"]) == 2
    model = keras.saving.load_model(str(tmp_path / "run" / "model.keras"))
    assert model.input_shape == (None, 64, 64, 1)
    assert model.get_layer("stage1_unit1_attention").get_config()["spatial_kernel"] == 3


def test_cli_finetune_wires_arguments(monkeypatch):
    import functools

    from keras_scse import cli
    from keras_scse.training import finetune as module

    seen = {}
    monkeypatch.setattr(module, "finetune", functools.wraps(module.finetune)(lambda **kwargs: seen.update(kwargs)))
    code = cli.main(["finetune", "--dataset", "some/folder", "--weights", "none", "--head-epochs", "0",
                     "--full-epochs", "3", "--augment", "crop", "--batch-size", "32", "--image-size", "32"])
    assert code == 0
    assert seen == dict(model_name="SCSENet44", dataset="some/folder", run_dir="runs/finetune-scsenet44", weights=None,
                        head_epochs=0, full_epochs=3, batch_size=32, lr=None, image_size=32, channels=None,
                        recipe="adamw", seed=0, augment="crop", val_fraction=0.1, limit=None, verbose="auto",
                        skip_unreadable=False, fresh=False)
