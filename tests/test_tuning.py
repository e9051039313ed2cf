"""keras_scse.tuning: HyperModels (spaces as data, builds across the space), budget rejection, the search driver
end to end (results files, resume), failure reporting, distributed chief + worker, and the CLI wiring.

Models are kept tiny with ``fixed`` / ``space_overrides``; data are generated in memory.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

kt = pytest.importorskip("keras_tuner")
pytest.importorskip("tensorboard")

from keras_scse import applications, bench, layers, tuning  # noqa: E402
from keras_scse.tuning import driver  # noqa: E402

TINY_SCSENET = {"blocks_stage1": 1, "blocks_stage2": 1, "blocks_stage3": 1, "blocks_stage4": 1, "width": 0.25,
                "stem": "imagenet"}
# A tiny search space: architecture pinned small, attention none/scse, optimiser and learning rate searched.
TINY_OVERRIDES = {"attention": {"kind": "choice", "values": ["none", "separable_se"], "default": "none"}}


def tiny_arrays(n=128, size=28, classes=3, seed=0):
    """Images whose class is visible (a bright band whose row depends on the label) plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.integers(0, 60, (n, size, size, 1)).astype(np.uint8)
    band = size // classes
    for c in range(classes):
        x[y == c, c * band:(c + 1) * band] = 230
    return x, y


def hp_with(hypermodel, values):
    """HyperParameters as an oracle hands them to a trial: the space declared, then values assigned."""
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    hp.values.update(values)
    return hp


def random_values(hypermodel, seed):
    """A random configuration drawn like KerasTuner's random oracle (active hyperparameters only)."""
    space = kt.HyperParameters()
    hypermodel.declare_hyperparameters(space)
    hp = kt.HyperParameters()
    for i, param in enumerate(space.space):
        hp.merge([param])
        if hp.is_active(param):
            hp.values[param.name] = param.random_sample(seed * 100 + i)
    return hp.values


def check_model(model, hypermodel):
    assert isinstance(model, keras.Model)
    assert model.output_shape == (None, hypermodel.classes)
    assert model.optimizer is not None  # built AND compiled
    out = model(np.zeros((1,) + hypermodel.input_shape, "float32"), training=False)
    assert np.allclose(np.sum(np.asarray(out)), 1.0, atol=1e-4)


SEARCH_KW = dict(hypermodel="scsenet", tuner="random", epochs=1, batch_size=32, val_fraction=0.25, seed=0,
                 fixed=TINY_SCSENET, space_overrides=TINY_OVERRIDES, verbose=0)


# ----------------------------------------------------------------------------------------------- spaces

def test_spaces_are_data_with_scsenet44_priors():
    d = tuning.defaults(tuning.SCSENET_SPACE)
    hm = tuning.HyperSCSENet((32, 32, 1), 10)
    kwargs = hm.model_kwargs(d)
    row = applications.squeezenext.VARIANTS["SCSENet44"]
    assert tuple(kwargs["blocks"]) == row["blocks"] and kwargs["width"] == row["width"]
    assert kwargs["stem"] == "imagenet" and kwargs["attention"] == "separable_se"
    assert kwargs["attention_kwargs"] == {"spatial": "axial", "fusion": "mul", "channel_kernel": None,
                                          "spatial_kernel": None}  # SeparableSqueezeExcite's own defaults
    assert set(tuning.SCSENET_SPACE["attention"]["values"]) == set(layers.names()) | {"none"}
    for space in (tuning.SCSENET_SPACE, tuning.SCARESNET_SPACE, tuning.SCAMOBILENETV2_SPACE):
        tuning.resolve_space(space)  # validates every spec
        for name, spec in space.items():
            if spec["kind"] == "choice":
                assert spec["default"] in spec["values"], name
            if spec["kind"] in ("int", "float"):
                assert spec["min"] <= spec["default"] <= spec["max"], name
    assert "only when attention in ['separable_se']" in tuning.describe(tuning.SCSENET_SPACE)
    # conditional: SC-SE options are inactive (absent) unless attention == "separable_se"
    assert "scse_fusion" not in tuning.defaults(tuning.resolve_space(tuning.SCSENET_SPACE, fixed={"attention": "se"}))
    assert tuning.defaults(tuning.SCARESNET_SPACE)["sca_kernel_size"] == 7
    assert tuning.defaults(tuning.SCAMOBILENETV2_SPACE)["sca_kernel_size"] == 3


def test_default_configuration_is_scsenet44():
    hm = tuning.HyperSCSENet((32, 32, 1), 10)
    model = hm.build(kt.HyperParameters())  # nothing sampled: every default
    reference = applications.SCSENet44(input_shape=(32, 32, 1), classes=10)
    assert bench.count_params(model) == bench.count_params(reference)
    assert type(model.optimizer).__name__ == "SGD"


def test_resolve_space_rejects_bad_specs():
    with pytest.raises(ValueError, match="Cannot fix 'depht'"):
        tuning.resolve_space(tuning.SCARESNET_SPACE, fixed={"depht": 18})
    with pytest.raises(ValueError, match="kind must be one of"):
        tuning.resolve_space(tuning.SCARESNET_SPACE, space_overrides={"depth": {"kind": "range", "min": 1}})
    with pytest.raises(ValueError, match="lacks"):
        tuning.resolve_space(tuning.SCARESNET_SPACE, space_overrides={"depth": {"kind": "choice"}})
    with pytest.raises(ValueError, match="must be declared before"):
        tuning.resolve_space({"a": {"kind": "bool", "when": ("b", [True])}, "b": {"kind": "bool"}})
    with pytest.raises(ValueError, match="Unknown hypermodel"):
        tuning.get_hypermodel("densenet")


# ----------------------------------------------------------------------------------------------- builds

@pytest.mark.parametrize("attention", layers.names() + ["none"])
def test_scsenet_builds_every_attention_at_the_small_extreme(attention):
    hm = tuning.HyperSCSENet((28, 28, 1), 3)
    values = dict(tuning.defaults(hm.space), blocks_stage1=1, blocks_stage2=1, blocks_stage3=1, blocks_stage4=1,
                  width=0.5, stem="cifar", attention=attention, optimizer="adamw", lr_adamw=3e-4)
    if attention == "separable_se":
        values.update(scse_spatial="conv", scse_fusion="max", scse_channel_kernel=7, scse_spatial_kernel=3)
    else:
        values = {k: v for k, v in values.items() if not k.startswith("scse_")}
    values.pop("lr_sgd", None)
    model = hm.build(hp_with(hm, values))
    check_model(model, hm)
    n_attention = sum(name.endswith("_attention") for name in (layer.name for layer in model.layers))
    assert n_attention == (0 if attention == "none" else 4)
    assert type(model.optimizer).__name__ == "AdamW"


def test_scsenet_builds_the_large_extreme_with_fixed_hyperparameters():
    hm = tuning.HyperSCSENet((32, 32, 1), 10)
    hp = kt.HyperParameters()
    for name, value in dict(blocks_stage1=16, blocks_stage2=16, blocks_stage3=16, blocks_stage4=4, width=1.25,
                            stem="imagenet", attention="separable_se", optimizer="sgd", lr_sgd=0.5).items():
        hp.Fixed(name, value)
    model = hm.build(hp)
    check_model(model, hm)
    assert sum(layer.name.endswith("_attention") for layer in model.layers) == 52
    assert bench.count_params(model)["total"] > 1_000_000


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scsenet_builds_random_samples_of_the_space(seed):
    hm = tuning.HyperSCSENet((32, 32, 1), 4, fixed={k: 1 for k in TINY_SCSENET if k.startswith("blocks")})
    values = random_values(hm, seed)
    check_model(hm.build(hp_with(hm, values)), hm)


@pytest.mark.parametrize("depth,kernel,fusion", [(18, 3, "mean"), (50, 7, "mul")])
def test_scaresnet_builds_extremes(depth, kernel, fusion):
    hm = tuning.HyperSCAResNet((32, 32, 3), 5)
    model = hm.build(hp_with(hm, dict(depth=depth, sca_kernel_size=kernel, sca_fusion=fusion, optimizer="sgd",
                                      lr_sgd=0.01)))
    check_model(model, hm)
    sca = [layer for layer in model.layers if isinstance(layer, layers.SpatialChannelAttention)]
    assert sca and all(layer.kernel_size == kernel and layer.fusion == fusion for layer in sca)
    assert len(sca) == {18: 8, 50: 16}[depth]


@pytest.mark.slow
def test_scaresnet34_builds():
    hm = tuning.HyperSCAResNet((32, 32, 3), 5)
    check_model(hm.build(hp_with(hm, dict(depth=34, sca_kernel_size=5, sca_fusion="mul", optimizer="adamw",
                                          lr_adamw=1e-2))), hm)


@pytest.mark.parametrize("alpha,kernel,fusion", [(0.35, 7, "mean"), (1.4, 3, "mul")])
def test_scamobilenetv2_builds_extremes(alpha, kernel, fusion):
    hm = tuning.HyperSCAMobileNetV2((32, 32, 3), 5)
    model = hm.build(hp_with(hm, dict(alpha=alpha, sca_kernel_size=kernel, sca_fusion=fusion, optimizer="sgd",
                                      lr_sgd=0.5)))
    check_model(model, hm)
    sca = [layer for layer in model.layers if isinstance(layer, layers.SpatialChannelAttention)]
    assert len(sca) == 10 and all(layer.kernel_size == kernel for layer in sca)
    assert hm.retrain_spec(hm.default_values()) == {
        "model": "SCAMobileNetV2",
        "model_kwargs": {"alpha": 1.0, "attention_kwargs": {"kernel_size": 3, "fusion": "mul"}}}


# ----------------------------------------------------------------------------------------------- budget

def _fit_must_not_run(*args, **kwargs):
    raise AssertionError("model.fit was called for an over-budget configuration")


def test_over_budget_model_is_rejected_before_fit(monkeypatch):
    hm = tuning.HyperSCSENet((28, 28, 1), 3, fixed=TINY_SCSENET, max_params=1000)
    hp = kt.HyperParameters()
    model = hm.build(hp)
    monkeypatch.setattr(model, "fit", _fit_must_not_run)
    with pytest.raises(tuning.OverBudget, match=r"parameters > max_params=1,000") as err:
        hm.fit(hp, model)
    assert isinstance(err.value, kt.errors.FailedTrialError)
    assert hm.last_cost["params"] == bench.count_params(model)["total"]

    macs = bench.count_flops(model)["macs"]
    hm_macs = tuning.HyperSCSENet((28, 28, 1), 3, fixed=TINY_SCSENET, max_macs=macs - 1)
    with pytest.raises(tuning.OverBudget, match="MACs > max_macs"):
        hm_macs.fit(hp, model)
    assert hm_macs.last_cost["macs"] == macs


def test_search_records_rejections_and_reports_all_failures(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: calls.append(1) or _fit_must_not_run())
    with pytest.raises(RuntimeError, match="No trial of the search") as err:
        tuning.search(dataset=tiny_arrays(64), max_trials=2, directory=str(tmp_path), project_name="p",
                      max_params=1000, **SEARCH_KW)
    assert calls == []
    message = str(err.value)
    assert "trial 0 (REJECTED): OverBudget" in message and "trial 1 (REJECTED)" in message
    assert "FileNotFoundError" not in message
    rows = tuning.read_csv(tmp_path / "p" / "trials.csv")
    assert [r["status"] for r in rows] == ["REJECTED", "REJECTED"]
    assert all(int(r["params"]) > 1000 and "max_params" in r["error"] for r in rows)


def test_missing_tensorboard_fails_early_with_pip_hint(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboard.plugins.hparams.api", None)
    with pytest.raises(ImportError, match="pip install tensorboard"):
        tuning.search(dataset=tiny_arrays(64), max_trials=1, directory=str(tmp_path), **SEARCH_KW)
    assert not os.listdir(tmp_path)  # nothing started
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match="scikit-learn"):
        tuning.check_dependencies("bayesian")


# ----------------------------------------------------------------------------------------------- search

@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A finished 2-trial random search on in-memory data (shared by the tests below)."""
    directory = tmp_path_factory.mktemp("tune")
    data = tiny_arrays(128)
    started = time.time()
    result = tuning.search(dataset=data, max_trials=2, directory=str(directory), project_name="p", **SEARCH_KW)
    return result, directory, data, time.time() - started


def test_search_writes_consistent_results(searched, tmp_path):
    result, directory, _, _ = searched
    project = directory / "p"
    for name in driver.RESULT_FILES:
        assert (project / name).exists(), name
    rows = tuning.read_csv(project / "trials.csv")
    assert len(rows) == 2 == len(result.rows)
    assert [r["trial_id"] for r in rows] == ["0", "1"]
    assert all(r["status"] == "COMPLETED" for r in rows)
    for r in rows:  # the CSV reports what KerasTuner scored (its objective: the best val_accuracy of the trial)
        score = json.loads((project / f"trial_{r['trial_id']}" / "trial.json").read_text())["score"]
        assert float(r["val_accuracy"]) == pytest.approx(score), r["trial_id"]
    assert all(int(r["params"]) > 0 and int(r["macs"]) > 0 and float(r["time_s"]) > 0 for r in rows)
    best = json.loads((project / "best_hyperparameters.json").read_text())
    best_row = max(rows, key=lambda r: float(r["val_accuracy"]))
    assert best["trial_id"] == best_row["trial_id"]
    assert best["val_accuracy"] == pytest.approx(float(best_row["val_accuracy"]))
    assert best["params"] == int(best_row["params"]) and best["macs"] == int(best_row["macs"])
    for name, value in best["values"].items():
        assert str(value) == best_row[name], name
    inactive = [n for n in tuning.SCSENET_SPACE if n not in best["values"]]
    assert all(best_row[n] == "" for n in inactive)
    assert best["retrain_command"].startswith("keras-scse train --model SCSENet44 --model-kwargs")

    # best_model.keras: loads (safe mode), has the best configuration's size, and exports
    model = keras.saving.load_model(project / "best_model.keras", safe_mode=True)
    assert bench.count_params(model)["total"] == best["params"]
    assert model.predict(np.zeros((2, 28, 28, 1), "float32"), verbose=0).shape == (2, 3)
    model.export(str(tmp_path / "saved_model"), format="tf_saved_model", verbose=False)
    assert (tmp_path / "saved_model" / "saved_model.pb").exists()


def test_search_resumes_and_refuses_changed_settings(searched, tmp_path, monkeypatch):
    _, directory, data, _ = searched
    shutil.copytree(directory / "p", tmp_path / "p")
    before = tuning.read_csv(tmp_path / "p" / "trials.csv")
    fits = []
    original_fit = keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda self, *a, **k: fits.append(1) or original_fit(self, *a, **k))
    result = tuning.search(dataset=data, max_trials=3, directory=str(tmp_path), project_name="p", **SEARCH_KW)
    assert len(fits) == 1  # exactly one more trial trained
    rows = tuning.read_csv(tmp_path / "p" / "trials.csv")
    assert [r["trial_id"] for r in rows] == ["0", "1", "2"] and len(result.rows) == 3
    assert rows[:2] == before  # the finished trials are kept as they were
    with pytest.raises(ValueError, match="different settings"):
        tuning.search(dataset=data, max_trials=3, directory=str(tmp_path), project_name="p",
                      **dict(SEARCH_KW, seed=1))


def test_report_only_runs_no_trial(searched, tmp_path, monkeypatch):
    _, directory, data, _ = searched
    shutil.copytree(directory / "p", tmp_path / "p")
    os.remove(tmp_path / "p" / "trials.csv")
    monkeypatch.setattr(keras.Model, "fit", _fit_must_not_run)
    result = tuning.search(dataset=data, max_trials=5, directory=str(tmp_path), project_name="p", report_only=True,
                           **SEARCH_KW)
    assert len(result.rows) == 2 and len(tuning.read_csv(tmp_path / "p" / "trials.csv")) == 2


@pytest.mark.slow
@pytest.mark.parametrize("tuner", ["bayesian", "hyperband"])
def test_other_tuners(tmp_path, tuner):
    result = tuning.search(dataset=tiny_arrays(96), max_trials=3, directory=str(tmp_path),
                           **dict(SEARCH_KW, tuner=tuner, epochs=2))
    assert result.best is not None and len(result.rows) >= 2
    assert (tmp_path / "scsenet_arrays" / "best_model.keras").exists()


# ----------------------------------------------------------------------------------------------- distributed

DISTRIBUTED_SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {tests!r})
    from test_tuning import SEARCH_KW, tiny_arrays
    from keras_scse import tuning

    result = tuning.search(dataset=tiny_arrays(96), max_trials=2, directory={directory!r}, project_name="p",
                           **SEARCH_KW)
    print("RESULT", json.dumps({{"role": result.role, "rows": len(result.rows)}}))
""")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_distributed_chief_and_worker(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(DISTRIBUTED_SCRIPT.format(tests=os.path.dirname(__file__), directory=str(tmp_path / "shared")))
    port = str(_free_port())
    procs = {}
    for tuner_id in ("chief", "tuner0"):
        env = dict(os.environ, KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                   KERASTUNER_ORACLE_PORT=port, TF_CPP_MIN_LOG_LEVEL="3")
        procs[tuner_id] = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True)
    outputs = {}
    deadline = time.time() + 900
    try:
        for tuner_id, proc in procs.items():
            outputs[tuner_id], _ = proc.communicate(timeout=max(1, deadline - time.time()))
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for tuner_id, proc in procs.items():
        assert proc.returncode == 0, f"{tuner_id} failed:\n{outputs.get(tuner_id, '')[-4000:]}"
    assert 'RESULT {"role": "chief", "rows": 2}' in outputs["chief"]
    assert 'RESULT {"role": "worker", "rows": 0}' in outputs["tuner0"]
    rows = tuning.read_csv(tmp_path / "shared" / "p" / "trials.csv")
    assert [r["status"] for r in rows] == ["COMPLETED", "COMPLETED"]
    sidecars = [json.loads((tmp_path / "shared" / "p" / f"trial_{i}" / driver.SIDECAR).read_text()) for i in (0, 1)]
    assert {s["tuner_id"] for s in sidecars} == {"tuner0"}  # the worker ran the trials, the chief only the oracle
    assert (tmp_path / "shared" / "p" / "best_model.keras").exists()


# ----------------------------------------------------------------------------------------------- CLI

def test_cli_tune_wires_arguments(monkeypatch):
    from keras_scse import cli

    seen = {}
    monkeypatch.setattr(tuning, "search", lambda **kwargs: seen.update(kwargs) or "result")
    code = cli.main(["tune", "--hypermodel", "scsenet", "--dataset", "fashion_mnist", "--tuner", "random",
                     "--max-trials", "10", "--epochs", "3", "--limit", "3000", "--max-params", "1e6",
                     "--directory", "runs/tune", "--fixed", '{"stem": "imagenet"}', "--verbose", "0"])
    assert code == 0
    assert seen["max_params"] == 1e6 and seen["max_trials"] == 10 and seen["limit"] == 3000
    assert seen["fixed"] == {"stem": "imagenet"} and seen["tuner"] == "random" and seen["verbose"] == 0
    assert seen["overwrite"] is False and seen["directory"] == "runs/tune" and seen["report_only"] is False


def test_search_report_lists_every_trial_with_its_hyperparameters():
    from keras_scse.tuning import summary

    rows = [{"trial_id": "0", "status": "COMPLETED", "val_accuracy": 0.8, "params": 1000, "macs": 2000, "time_s": 3,
             "attention": "se", "width": 0.5, "stem": "cifar", "optimizer": "sgd", "lr_sgd": 0.1,
             **{f"blocks_stage{i}": i for i in range(1, 5)}},
            {"trial_id": "1", "status": "REJECTED", "val_accuracy": None, "params": None, "macs": 9_000_000_000,
             "time_s": None, "attention": "sca", "width": 2.0, "stem": "cifar", "optimizer": "adamw"}]
    header, rule, first, second = summary.trials_table(rows)
    assert header.count("|") == rule.count("|") == 13
    assert first == "| 0 | COMPLETED | 0.8000 | 1,000 | 2,000 | 3 | se | 1/2/3/4 | 0.5 | cifar | sgd | 0.1 |"
    assert second.startswith("| 1 | REJECTED |  |  |") and second.endswith("| adamw |  |")
