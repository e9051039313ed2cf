"""keras_scse.bench's speed tool: the timing protocol, complete rows, counts against a hand-computed model."""

import csv
import json
import subprocess
import sys

import keras
import pytest

from keras_scse.bench import FIELDS, BenchConfig, measure, speed


def small_model():
    """3x3 conv (3 -> 4 channels, bias) on 8x8, global pool, dense 4 -> 2: counts are easy to do by hand."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))


def test_timed_steps_excludes_warmup_and_takes_the_median(monkeypatch):
    clock = iter([0, 1, 1, 3, 3, 4])  # three timed blocks of 1 step: 1 s, 2 s, 1 s
    monkeypatch.setattr(speed.time, "perf_counter", lambda: next(clock))
    calls = []
    assert speed.timed_steps(lambda: calls.append(1), steps=1, repeats=3, warmup=2) == 1
    assert len(calls) == 2 + 3


def test_timed_steps_averages_within_a_block(monkeypatch):
    clock = iter([0, 10, 10, 14])  # blocks of 2 steps: 10 s and 4 s -> 5 and 2 s per step; median of two = 3.5
    monkeypatch.setattr(speed.time, "perf_counter", lambda: next(clock))
    assert speed.timed_steps(lambda: None, steps=2, repeats=2, warmup=1) == pytest.approx(3.5)


def test_keras_row_is_complete_and_counts_match_hand_computation():
    config = BenchConfig(model="small", input_size=8, channels=3, classes=2, batch_size=4, steps=2, repeats=2,
                         warmup=1)
    row = measure(config, model=small_model())
    assert list(row) == FIELDS
    assert row["params"] == row["trainable_params"] == (3 * 3 * 3 * 4 + 4) + (4 * 2 + 2)
    assert row["macs"] == 8 * 8 * 4 * (3 * 3 * 3) + 4 * 2
    for mode in ("train", "infer"):
        assert row[f"{mode}_step_ms"] > 0
        assert row[f"{mode}_img_s"] == pytest.approx(4 / (row[f"{mode}_step_ms"] / 1000), rel=0.01)
    assert row["peak_rss_mb"] > 50  # TensorFlow alone takes more; a unit mix-up (bytes/KiB) would not
    assert (row["backend"], row["xla"], row["batch_size"]) == ("keras", False, 4)


def test_onnxruntime_row_has_inference_only():
    pytest.importorskip("onnxruntime")
    config = BenchConfig(model="small", input_size=8, classes=2, batch_size=4, backend="onnxruntime", train=False,
                         steps=2, repeats=2, warmup=1)
    row = measure(config, model=small_model())
    assert row["backend"] == "onnxruntime" and row["train_img_s"] is None and row["infer_img_s"] > 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(backend="torch"), "backend"),
    (dict(batch_size=0), "batch_size"),
    (dict(warmup=0), "warmup"),
    (dict(backend="onnxruntime", xla=True), "xla"),
])
def test_bad_configs_are_refused_with_the_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BenchConfig(**kwargs)


def test_a_model_that_does_not_match_the_config_is_refused():
    with pytest.raises(ValueError, match="input_size and channels"):
        measure(BenchConfig(input_size=16, batch_size=2), model=small_model())


@pytest.mark.slow
def test_cli_writes_one_isolated_row_per_configuration(tmp_path):
    out = tmp_path / "rows.csv"
    tiny = json.dumps({"blocks": [1, 1, 1, 1], "width": 0.25})
    result = subprocess.run(
        [sys.executable, "-m", "keras_scse.cli", "bench", "--model", "SqueezeNext44", "--model-kwargs", tiny,
         "--input-size", "32", "--batch-size", "2", "4", "--steps", "1", "--repeats", "2", "--warmup", "1",
         "--output", str(out)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader(out.open()))
    assert [int(r["batch_size"]) for r in rows] == [2, 4]
    assert all(float(r["train_img_s"]) > 0 and float(r["infer_img_s"]) > 0 for r in rows)
    assert rows[0]["params"] == rows[1]["params"]
    assert "img/s" in result.stdout
