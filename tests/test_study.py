"""Studies: the spec, the resumable runner, its CSV and report; and the fair-baseline option they measure."""

import csv
import json
import os
import subprocess

import keras
import numpy as np
import pytest

from keras_scse import applications, study
from keras_scse.study import runner
from keras_scse.study.report import plot, read_overhead

TINY = {"name": "tiny", "model": "SqueezeNext23", "results": "out/results.csv", "seeds": [3],
        "recipe": {"dataset": "fashion_mnist", "image_size": 32, "epochs": 1, "batch_size": 64, "limit": 256},
        "variants": [{"name": "plain", "model_kwargs": {"blocks": [1, 1, 1, 1]}},
                     {"name": "se zero-init", "model_kwargs": {"blocks": [1, 1, 1, 1], "attention": "se",
                                                               "zero_init_last": True}}]}


def write_spec(tmp_path, **changes):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({**TINY, **changes}))
    return str(path)


@pytest.mark.parametrize("changes, message", [
    ({"recipe": {"epochs": 1, "seed": 2}}, r"recipe keys \['seed'\]"),
    ({"recipe": {"epoch": 1}}, r"recipe keys \['epoch'\]"),
    ({"variants": [{"name": "a b"}, {"name": "a-b"}]}, "share a folder name"),
])
def test_spec_errors_name_the_field(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        study.load(write_spec(tmp_path, **changes))


def test_spec_without_a_required_field(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({k: v for k, v in TINY.items() if k != "seeds"}))
    with pytest.raises(ValueError, match=r"lacks \['seeds'\]"):
        study.load(str(path))


@pytest.mark.slow  # builds the ten SqueezeNext44 variants
def test_the_attention_study_spec_loads():
    spec = study.load(os.path.join(os.path.dirname(__file__), "..", "benchmarks", "results", "attention_study",
                                   "spec.json"))
    assert len(spec.variants) >= 8 and len(spec.seeds) >= 2 and spec.recipe["epochs"] == 15
    assert [v.name for v in spec.variants][:2] == ["none", "none+zero-init"]
    for variant in spec.variants:  # every variant builds
        applications.get_model(spec.model, input_shape=(32, 32, 1), classes=10, **variant.model_kwargs)


@pytest.mark.skipif(not os.path.exists("/usr/share/datasets/fashion-mnist"), reason="needs dataset-fashion-mnist")
@pytest.mark.slow  # trains two tiny runs twice in subprocesses
def test_study_runs_resumably_records_once_and_reports(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_SCSE_RUNS", str(tmp_path / "runs"))
    path = write_spec(tmp_path)
    spec = study.load(path)
    assert "2 todo" in study.status(spec) and "nothing timed yet" in study.status(spec)

    first = study.run(spec, path, max_runs=1, verbose=0)
    assert [row["variant"] for row in first] == ["plain"]
    text = study.status(spec)
    assert "1 done" in text and "1 todo" in text and "h of training left" in text
    assert os.path.isdir(tmp_path / "runs" / "tiny" / "plain-seed3" / "backup")

    second = study.run(spec, path, verbose=0)
    assert [row["variant"] for row in second] == ["se zero-init"]
    assert study.run(spec, path, verbose=0) == []  # nothing left: no duplicate rows
    with open(spec.results, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["variant"], r["seed"]) for r in rows] == [("plain", "3"), ("se zero-init", "3")]
    for row in rows:
        assert 0.1 < float(row["test_accuracy"]) <= 1 and int(row["params"]) > 0 and int(row["macs"]) > 0
        assert row["command"].endswith(f"--variant {row['variant'].replace(' ', '-')} --seed 3")
        assert row["commit"] and row["backend"] == keras.backend.backend()
    assert int(rows[1]["params"]) > int(rows[0]["params"])  # SE's weights

    table = study.report(spec)
    assert "| plain |" in table and "| se zero-init |" in table
    assert (tmp_path / "out" / "results.png").stat().st_size > 1000


def test_unknown_variant_lists_the_known_ones(tmp_path):
    spec = study.load(write_spec(tmp_path))
    with pytest.raises(ValueError, match=r"Unknown variant 'sc-se'.*\['plain', 'se zero-init'\]"):
        study.run(spec, "spec.json", variants=["sc-se"])


THREE = [{"name": name, "model_kwargs": {"blocks": [1, 1, 1, 1]}} for name in ("a", "b", "c")]


def result_rows(*values):
    return [{"variant": variant, "seed": str(seed), "test_accuracy": str(accuracy)}
            for variant, seed, accuracy in values]


def test_tie_break_seeds_go_to_the_variants_whose_ranges_overlap(tmp_path):
    spec = study.load(write_spec(tmp_path, seeds=[0, 1], tie_break_seeds=[2], variants=THREE))
    rows = result_rows(("a", 0, 0.90), ("a", 1, 0.92), ("b", 0, 0.95), ("b", 1, 0.92), ("c", 0, 0.80),
                       ("c", 1, 0.81))
    assert spec.overlapping_pairs(rows) == [("a", "b")]  # they touch at 0.92; c is below both
    assert spec.undecided(rows) == {"a", "b"}
    runs = [(variant.name, seed) for variant, seed in spec.runs(rows)]
    assert runs[:6] == [("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1), ("c", 1)]
    assert runs[6:] == [("a", 2), ("b", 2)]
    # a tie-break result never widens a range into more runs; a variant short of a seed is not judged
    assert spec.undecided(rows + result_rows(("c", 2, 0.93))) == {"a", "b"}
    assert spec.undecided(rows[:3]) == set() and len(spec.runs()) == 6


def test_tie_break_seeds_must_be_extra_ones(tmp_path):
    with pytest.raises(ValueError, match=r"tie_break_seeds \[1\] are also in seeds"):
        study.load(write_spec(tmp_path, seeds=[0, 1], tie_break_seeds=[1, 2]))


def test_run_goes_on_to_the_tie_break_seeds_the_results_call_for(tmp_path, monkeypatch):
    """The runner re-reads the results after each run: the second seeds' accuracies decide the third seeds."""
    monkeypatch.setenv("KERAS_SCSE_RUNS", str(tmp_path / "runs"))
    spec = study.load(write_spec(tmp_path, seeds=[0, 1], tie_break_seeds=[2], variants=THREE))
    accuracy = {("a", 0): 0.90, ("a", 1): 0.92, ("b", 0): 0.91, ("b", 1): 0.95, ("c", 0): 0.5, ("c", 1): 0.6,
                ("a", 2): 0.93, ("b", 2): 0.94}
    trained = []

    def fake_record(study_, spec_path, variant, seed):  # a row as record() writes it, without training
        trained.append((variant.name, seed))
        row = {"variant": variant.name, "seed": seed, "test_accuracy": accuracy[variant.name, seed], "params": 10,
               "macs": 20}
        runner.append_row(study_.results, row)
        return row

    monkeypatch.setattr("keras_scse.training.train", lambda *args, **kwargs: None)
    monkeypatch.setattr(runner, "record", fake_record)
    study.run(spec, "spec.json", max_runs=4)
    assert "tie-break" not in study.status(spec)  # b's second seed not in: nothing to judge yet
    study.run(spec, "spec.json", max_runs=2)
    text = study.status(spec)
    assert text.count("todo      0/1 epochs (tie-break: its range overlaps") == 2 and "6 done, 2 todo" in text
    study.run(spec, "spec.json")
    assert trained[6:] == [("a", 2), ("b", 2)] and study.status(spec).endswith("8 done; no training left")
    text = study.report(spec)
    assert "| a | 91.67% +- 1.53% | 0: 90.00%, 1: 92.00%, 2: 93.00% |" in text
    assert text.endswith("overlap (those seeds cannot order the two; each gets tie-break seed(s) [2]): a / b.")
    assert text in (tmp_path / "out" / "results.md").read_text()


def test_status_shares_the_hours_left_among_runs_training_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_SCSE_RUNS", str(tmp_path / "runs"))
    spec = study.load(write_spec(tmp_path, recipe={**TINY["recipe"], "epochs": 2}))
    for variant, seed in spec.runs():
        folder = runner.run_dir(spec, variant, seed)
        os.makedirs(folder)
        with open(os.path.join(folder, "epoch_times.csv"), "w") as f:
            f.write("0,1800\n")  # one epoch timed, none backed up yet
        assert runner.take_lock(folder)  # held by this (live) process: "running"
    text = study.status(spec)
    assert text.endswith("2 running; about 2.0 h of training left on this machine (2 runs train at once: about "
                         "1.0 h on the clock)")


def test_a_run_folder_is_locked_once_and_a_dead_process_lock_is_taken_over(tmp_path):
    folder = str(tmp_path)
    assert runner.take_lock(folder) and runner.lock_holder(folder) == os.getpid()
    assert not runner.take_lock(folder)  # held by a live process (this one)
    (tmp_path / "study.lock").write_text("0")  # empty or nonsense: nobody's
    assert runner.lock_holder(folder) is None and runner.take_lock(folder)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "study.lock").write_text(str(dead.pid))
    assert runner.lock_holder(folder) is None and runner.take_lock(folder)
    assert sorted(os.listdir(folder)) == ["study.lock"]


def test_plot_draws_one_seed_variants_and_a_far_lower_one(tmp_path):
    from matplotlib import image

    summary = [{"variant": name, "accuracies": acc, "mean": float(np.mean(acc)), "std": np.std(acc) or None,
                "macs": 1, "train_overhead": overhead}
               for name, acc, overhead in (("plain", [0.85], 0.0), ("a", [0.90, 0.91], 0.2), ("b", [0.905], 0.5))]
    path = tmp_path / "plot.png"
    plot(summary, str(path))
    assert image.imread(path).shape[0] > 400


def test_report_quotes_the_timing_row_of_each_variants_attention_and_options(tmp_path):
    timing = tmp_path / "overhead.csv"
    rows = [("SqueezeNext23", "none", "{}", 0, 0), ("SqueezeNext23", "se", "{}", 12.5, -3.0),
            ("SqueezeNext23", "sca", '{"pool": "avg"}', 30, 40), ("SCAResNet50", "se", "{}", 99, 99)]
    with open(timing, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "layer", "options", "train_overhead_pct", "infer_overhead_pct"])
        writer.writerows(rows)
    variants = TINY["variants"] + [{"name": "sca avg", "model_kwargs": {"attention": "sca",
                                                                       "attention_kwargs": {"pool": "avg"}}},
                                   {"name": "sca", "model_kwargs": {"attention": "sca"}}]
    spec = study.load(write_spec(tmp_path, overhead="overhead.csv", variants=variants))
    assert read_overhead(spec) == {
        "plain": {"train_overhead": 0.0, "infer_overhead": 0.0},
        "se zero-init": {"train_overhead": 0.125, "infer_overhead": -0.03},
        "sca avg": {"train_overhead": 0.3, "infer_overhead": 0.4}}  # plain SCA was not timed: left out


def one_sgd_step_predictions(**kwargs):
    model = applications.SqueezeNext44(input_shape=(32, 32, 3), classes=3, **kwargs)
    x = np.random.default_rng(1).uniform(size=(8, 32, 32, 3)).astype("float32")
    y = keras.utils.to_categorical(np.arange(8) % 3, 3)
    # eager: one step needs no traced function (tracing a 44-layer train step costs a minute here)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="categorical_crossentropy",
                  run_eagerly=True)
    model.train_on_batch(x, y)
    return model, model.predict_on_batch(x)


def test_zero_init_last_gives_finite_predictions_after_one_sgd_step():
    _, plain = one_sgd_step_predictions()
    assert not np.isfinite(plain).all()  # the instability the option fixes (inference-mode BN one step behind)
    model, fixed = one_sgd_step_predictions(zero_init_last=True)
    assert np.isfinite(fixed).all()
    last_bn = model.get_layer("stage1_unit1_5_bn")
    assert 0 < np.abs(last_bn.gamma.numpy()).max() < 0.1  # started at 0 and learns (no ReLU to block it)
    with pytest.raises(ValueError):
        model.get_layer("stage1_unit1_5_relu")


def test_zero_init_last_keeps_the_weights_layout():
    kwargs = dict(input_shape=(32, 32, 1), classes=10, attention="separable_se")
    plain = applications.SqueezeNext44(**kwargs)
    fixed = applications.SqueezeNext44(**kwargs, zero_init_last=True)
    def layout(model):
        return {w.path: tuple(w.shape) for w in model.weights}

    assert layout(plain) == layout(fixed)
