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


# --- sweeps as data, round-robin timing, the table writer (keras_scse.bench.sweep / timing / table) ---------

from keras_scse.bench import Row, Sweep, add_overhead, grid, round_robin, spread, write_table  # noqa: E402
from keras_scse.bench.depth import model_depth, weighted_depth  # noqa: E402
from keras_scse.bench.profile import kind_of, summarise  # noqa: E402
from keras_scse.bench.runner import run_sweep  # noqa: E402
from keras_scse.bench.table import overhead_cell  # noqa: E402

TINY = {"blocks": [1, 1, 1, 1], "width": 0.25}


@pytest.mark.parametrize("row, message", [
    (dict(model="SqueezeNet99"), r"`model` must be one of \[.*'SqueezeNext44'.*\]; received 'SqueezeNet99'"),
    (dict(model="SqueezeNext44", attention="sse"), r"`attention` must be one of .*'separable_se'.*; received 'sse'"),
    (dict(model="SqueezeNext44", attention="sca", formulation="fft"), r"`formulation` .*'banded'.*'fft'"),
    (dict(model="SqueezeNext44", batch_size=0), r"`batch_size` must be an integer >= 1; received 0"),
    (dict(model="SqueezeNext44", keras_backend="mxnet"), r"`keras_backend` .*'jax'.*'mxnet'"),
    (dict(model="SqueezeNext44", attention=None, options={"kernel_size": 3}), "need an attention name"),
    (dict(model="SqueezeNext44", backend="onnxruntime", xla=True), "ONNX Runtime rows take xla=False"),
])
def test_a_bad_row_is_refused_naming_the_sweep_the_row_and_what_is_allowed(row, message):
    with pytest.raises(ValueError, match=message) as error:
        Sweep("overhead", [Row(model="SqueezeNext44", attention=None), Row(**row)])
    assert "Sweep 'overhead', row 1" in str(error.value)


@pytest.mark.parametrize("kwargs, message", [
    (dict(rows=[]), "has no rows"),
    (dict(passes=0), "`passes` must be an integer >= 1"),
    (dict(warmup=0), "`warmup` must be an integer >= 1"),
    (dict(settle=-1), "`settle` must be an integer >= 0"),
    (dict(modes=("train", "backward")), r"`modes` must be a non-empty subset of \['train', 'infer'\]"),
    (dict(rows=[Row("SqueezeNext44", attention="se"), Row("SqueezeNext44", attention="se", label="again")]),
     "row 1 .* repeats row 0"),
    (dict(rows=[Row("SqueezeNext44", backend="onnxruntime")]), "ONNX Runtime rows time inference only"),
    (dict(rows=[{"model": "SqueezeNext44"}]), "rows must be keras_scse.bench.sweep.Row; received dict"),
])
def test_a_bad_sweep_is_refused_with_the_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Sweep("s", **{"rows": [Row("SqueezeNext44")], **kwargs})


def test_grid_is_the_product_with_one_row_without_attention():
    rows = grid(["SqueezeNext44", "SCSENet44"], [None, "se", ("sca", {"kernel_size": 3})],
                formulations=["plain", "banded"], batch_size=128)
    # per model: 1 floor (formulation irrelevant) + 2 attentions x 2 formulations
    assert len(rows) == 2 * (1 + 2 * 2)
    assert [(r.label, r.formulation) for r in rows[:5]] == [
        ("none", "auto"), ("se", "plain"), ("se", "banded"), ("sca kernel_size=3", "plain"),
        ("sca kernel_size=3", "banded")]
    assert {r.batch_size for r in rows} == {128}
    assert rows[3].constructor_kwargs() == {"attention": "sca", "attention_kwargs": {"kernel_size": 3}}
    assert Row("SCSENet44").constructor_kwargs() == {}  # DEFAULT: the model's own attention


def fake_steps(monkeypatch, durations):
    """Functions that advance a fake clock by their duration and log their name: the order is observable."""
    clock, calls = [0.0], []
    monkeypatch.setattr(speed.time, "perf_counter", lambda: clock[0])

    def step(name):
        def call():
            calls.append(name)
            clock[0] += durations[name]
        return call
    return [step(name) for name in durations], calls


def test_round_robin_warms_every_row_first_then_interleaves_the_rows(monkeypatch):
    steps, calls = fake_steps(monkeypatch, {"a": 1.0, "b": 2.0, "c": 4.0})
    samples = round_robin(steps, passes=2, steps_per_pass=2, warmup=1, settle=1)
    warm, passes = calls[:3], calls[3:]
    assert warm == ["a", "b", "c"]  # all traced before anything is timed
    # each pass: every row in turn, 1 settle + 2 timed calls each
    assert passes == ["a"] * 3 + ["b"] * 3 + ["c"] * 3 + ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert samples == [[1.0, 1.0], [2.0, 2.0], [4.0, 4.0]]  # seconds per call, settle calls untimed


def test_round_robin_refuses_nonsense_settings():
    with pytest.raises(ValueError, match="passes=0"):
        round_robin([lambda: None], passes=0, steps_per_pass=1)


def test_spread_gives_median_min_max_and_interquartile_range():
    assert spread([5.0, 1.0, 3.0, 2.0, 4.0]) == {"median": 3.0, "min": 1.0, "max": 5.0, "q1": 2.0, "q3": 4.0,
                                                 "iqr": 2.0}
    assert spread([2.0, 4.0]) == {"median": 3.0, "min": 2.0, "max": 4.0, "q1": 2.5, "q3": 3.5, "iqr": 1.0}
    assert spread([7.0]) == {"median": 7.0, "min": 7.0, "max": 7.0, "q1": 7.0, "q3": 7.0, "iqr": 0.0}
    with pytest.raises(ValueError, match="at least one sample"):
        spread([])


def result(attention, train_ms, infer_ms, batch=128, model="SqueezeNext44"):
    return {"model": model, "attention": attention, "layer": attention, "input_size": 32, "channels": 3,
            "batch_size": batch, "backend": "keras", "keras_backend": "tensorflow", "xla": False, "model_kwargs": "{}",
            "formulation": "auto", "params": 1234567, "train_step_ms": train_ms, "train_ms_min": train_ms - 1,
            "train_ms_max": train_ms + 2, "infer_step_ms": infer_ms, "infer_ms_min": infer_ms,
            "infer_ms_max": infer_ms}


def test_overhead_is_over_the_same_networks_row_without_attention():
    rows = add_overhead([result("none", 200.0, 50.0), result("se", 250.0, 45.0),
                         result("none", 100.0, 20.0, batch=16), result("sca", 130.0, 30.0, batch=16),
                         result("sca", 10.0, 1.0, model="SCAResNet50")])  # no floor for this network
    assert [(r["train_overhead_pct"], r["infer_overhead_pct"]) for r in rows] == [
        (0.0, 0.0), (25.0, -10.0), (0.0, 0.0), (30.0, 50.0), (None, None)]


def test_table_writer_writes_every_field_to_csv_and_the_columns_to_markdown(tmp_path):
    from keras_scse.bench.table import TIMING_COLUMNS

    rows = add_overhead([result("none", 200.0, 50.0), result("se", 250.0, None)])
    text = write_table(rows, str(tmp_path / "overhead"), TIMING_COLUMNS, title="Overhead", notes=["On a CPU."])
    written = list(csv.DictReader((tmp_path / "overhead.csv").open()))
    assert list(written[0]) == list(rows[0])  # every field, in order
    assert written[1]["train_overhead_pct"] == "25.0" and written[1]["infer_step_ms"] == ""
    lines = (tmp_path / "overhead.md").read_text().splitlines()
    assert lines[:3] == ["# Overhead", "", "On a CPU."] and text == (tmp_path / "overhead.md").read_text()
    assert lines[4] == ("| network | backend | attention | formulation | params | train ms/step (min-max) | "
                        "train overhead (per-pass IQR) | infer ms/step (min-max) | infer overhead (per-pass IQR) |")
    assert lines[6] == ("| SqueezeNext44 32 px, batch 128 | tensorflow | none | auto | 1,234,567 | "
                        "200.0 (199.0-202.0) | +0% | 50.0 (50.0-50.0) | +0% |")
    assert lines[7].endswith("| 250.0 (249.0-252.0) | +25% | - | - |")


def test_overhead_spread_is_the_pass_by_pass_ratio_to_the_floor():
    floor, se = result("none", 200.0, 50.0), result("se", 250.0, 60.0)
    floor["train_ms_per_pass"], se["train_ms_per_pass"] = "200.0 300.0 100.0", "240.0 330.0 130.0"  # +20 +10 +30%
    rows = add_overhead([floor, se])
    assert [rows[1][f"train_overhead_{name}pct"] for name in ("", "q1_", "q3_")] == [20.0, 15.0, 25.0]
    assert rows[1]["infer_overhead_q1_pct"] is None  # no passes recorded: no spread
    assert overhead_cell(rows[1], "train") == "+20% (+15..+25)" and overhead_cell(rows[1], "infer") == "+20%"
    assert overhead_cell(result("sca", 1.0, 1.0), "train") == "-"


def test_depth_comes_from_the_family_rule_or_the_longest_weighted_path():
    assert [model_depth(n) for n in ("SqueezeNext23v5", "SCSENet44", "SCAResNet18", "SCAResNet152")] == [
        23, 44, 18, 152]
    inputs = keras.Input((8, 8, 3))
    main = keras.layers.Conv2D(4, 3)(keras.layers.Conv2D(4, 1)(inputs))  # 2 convs
    side = keras.layers.Conv2D(4, 3)(inputs)  # 1 conv: the shorter path
    x = keras.layers.BatchNormalization()(keras.layers.Add()([main, side]))
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    assert weighted_depth(keras.Model(inputs, outputs)) == 3


def test_a_tiny_sweep_runs_in_process_with_one_result_per_row():
    sweep = Sweep("tiny", grid(["SqueezeNext44"], [None, "sca"], formulations=["plain", "banded"], batch_size=2,
                               model_kwargs=TINY), passes=2, steps=1, settle=0)
    results = add_overhead(run_sweep(sweep, isolate=False, log=lambda text: None))
    assert [(r["attention"], r["formulation"]) for r in results] == [
        ("none", "auto"), ("sca", "plain"), ("sca", "banded")]
    for r in results:
        for mode in ("train", "infer"):
            passes = [float(t) for t in r[f"{mode}_ms_per_pass"].split()]
            assert len(passes) == 2 and r[f"{mode}_ms_min"] <= r[f"{mode}_step_ms"] <= r[f"{mode}_ms_max"]
            # images/s of the median pass: between those of the slowest and the fastest pass (ms are rounded)
            assert 0.98 * 2000 / r[f"{mode}_ms_max"] <= r[f"{mode}_img_s"] <= 1.02 * 2000 / r[f"{mode}_ms_min"]
    assert results[0]["train_overhead_pct"] == 0.0 and results[1]["params"] > results[0]["params"]
    assert results[1]["params"] == results[2]["params"]  # a formulation changes the ops, not the weights


def test_rows_on_two_keras_backends_need_child_processes():
    sweep = Sweep("two", grid(["SqueezeNext44"], [None], keras_backends=["tensorflow", "jax"]))
    with pytest.raises(ValueError, match="isolate=True"):
        run_sweep(sweep, isolate=False)


def test_profile_summary_groups_self_time_by_layer_kind_and_op_type(tmp_path):
    assert kind_of("stage1_unit1_attention_1/Conv2D") == "attention"
    assert kind_of("stage1_unit1_conv_2/Conv2D") == "conv (+bias)" and kind_of("mystery") == "other"
    rows = [("stage1_unit1_attention/Conv2D", "Conv2D", 3000.0), ("stage1_unit1_bn/FusedBatchNorm", "BN", 1000.0),
            ("IDLE", "IDLE", 4000.0)]  # microseconds over 2 steps
    text = summarise(rows, BenchConfig(model="SCSENet44", batch_size=8), steps=2, out=str(tmp_path), tag="t")
    assert "| attention | 1.5 | 37.5% |" in text and "| idle (no op running) | 2.0 | 50.0% |" in text
    with open(tmp_path / "t_by_kind.csv") as f:
        assert f.read().splitlines()[1] == "idle (no op running),2.0,50.0"
