"""Fine-tuning: pretrained backbone + new head, frozen first stage, channel adaptation, outputs."""

import json

import numpy as np
import pytest

from keras_scse import applications
from keras_scse.applications import SqueezeNext
from keras_scse.applications import weights as W
from keras_scse.training.finetune import build_finetune_model, finetune

TINY = dict(blocks=(1, 1, 1, 1), width=0.25, attention="scse")


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


def test_two_stage_finetune_end_to_end(tiny_pretrained, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((160, 32, 32, 3), dtype=np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) > 0.5).astype("int32")
    metrics = finetune("Tiny", (x, y), str(tmp_path / "run"), weights="unit", head_epochs=1, full_epochs=1,
                       batch_size=32, verbose=0)
    assert 0.0 <= metrics["accuracy"] <= 1.0 and len(metrics["val_accuracy"]) == 2
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["accuracy"] == metrics["accuracy"]
    stages = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert [line.split(",")[1] for line in stages[1:]] == ["head", "full"]
    assert (tmp_path / "run" / "model.keras").exists() and (tmp_path / "run" / "curves.png").exists()


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
