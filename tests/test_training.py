"""keras_scse.training: runs that leave a complete report, resume exactly after a kill, stop on divergence, and
work with 1 replica, 2 replicas (MirroredStrategy over 2 logical CPUs) and 2 workers (MultiWorkerMirrored on
127.0.0.1).

A tiny SqueezeNext (4 units, width 0.25, ~19k parameters) keeps every run cheap; tracing its train step (and
compiling it, with XLA) is still most of a run's time. The CLI runs are started by the first test and overlap
with the in-process tests; the distributed runs (logical CPU devices, TF_CONFIG) are started together by their
first (slow) test.
"""

import csv
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings

import h5py
import keras
import numpy as np
import pytest

from keras_scse import applications, training

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "scripts", "train_run.py")
TINY = dict(model="SqueezeNext23", model_kwargs={"blocks": [1, 1, 1, 1], "width": 0.25})
# 160 images: 128 train / 16 validation / 16 test, all whole batches of 16 (one traced shape per function);
# no warm-up and no weight decay (fewer ops to trace), a learning rate that learns the easy task quickly.
FAST = dict(TINY, batch_size=16, augment=False, weight_decay=0.0, warmup_epochs=0, lr=0.05, jit_compile=False)
RUN_OUTPUTS = ("config.json", "history.csv", "metrics.json", "curves.png", "confusion.png", "best.keras",
               "last.keras")
SUBPROCESS_TIMEOUT = 600


def make_arrays(n=160, size=28, seed=0):
    """Two classes told apart by brightness: dark (label 0) and bright (label 1) noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.random((n, size, size, 1)) * 0.5 + 0.5 * y[:, None, None, None]
    return (x * 255).astype(np.uint8), y


@pytest.fixture(scope="module")
def arrays_npz(tmp_path_factory):
    x, y = make_arrays()
    path = str(tmp_path_factory.mktemp("data") / "arrays.npz")
    np.savez(path, x=x, y=y)
    return path, (x, y)


def read_history(run_dir):
    with open(os.path.join(run_dir, "history.csv")) as f:
        return list(csv.DictReader(f))


def metadata_epoch(backup_dir):
    try:
        with open(os.path.join(backup_dir, "training_metadata.json")) as f:
            return json.load(f)["epoch"]
    except (OSError, ValueError, KeyError):
        return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Run:
    """A Python subprocess (``python *args``) with its output in a file."""

    def __init__(self, workdir, name, args, env=None):
        os.makedirs(workdir, exist_ok=True)
        self.name, self.log_path = name, os.path.join(workdir, f"{name}.log")
        env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"} | (env or {})
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(["nice", "-n", "15", sys.executable, *args], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, timeout=SUBPROCESS_TIMEOUT):
        """(return code, output); kills the run (and fails) when it takes longer than ``timeout``."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{self.name} did not finish in {timeout} s:\n{self.output()[-3000:]}")
        return code, self.output()

    def output(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def metrics(self):
        lines = [line for line in self.output().splitlines() if line.startswith("METRICS ")]
        assert lines, self.output()[-3000:]
        return json.loads(lines[-1][len("METRICS "):])

    def kill(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def train_run(workdir, name, npz, config, env=None, **spec):
    """keras_scse.training.train(TrainConfig(dataset=arrays in npz, **config)) in a subprocess
    (tests/scripts/train_run.py; spec: fresh, epoch_sleep)."""
    spec_path = os.path.join(workdir, f"{name}.json")
    with open(spec_path, "w") as f:
        json.dump({"data": npz, "config": config, **spec}, f)
    return Run(workdir, name, [SCRIPT, spec_path], env=env)


def write_image_folder(root, n=80, seed=1):
    """make_arrays as PNG files in root/bright and root/dark."""
    import tensorflow as tf

    x, y = make_arrays(n=n, seed=seed)
    for i, (image, label) in enumerate(zip(x, y)):
        folder = os.path.join(root, "bright" if label else "dark")
        os.makedirs(folder, exist_ok=True)
        tf.io.write_file(os.path.join(folder, f"{i}.png"), tf.io.encode_png(image))


CLI_MAIN = "import sys; from keras_scse import cli; sys.exit(cli.main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def distributed_runs(tmp_path_factory, arrays_npz):
    """Start the separate-process runs: 2 replicas (MirroredStrategy on 2 logical CPUs) and a 2-worker
    MultiWorkerMirroredStrategy cluster on 127.0.0.1. Their (slow) tests collect the results."""
    npz, _ = arrays_npz
    root = tmp_path_factory.mktemp("distributed")
    workdir = str(root)
    runs = {"mirrored": train_run(workdir, "mirrored", npz,
                                  dict(FAST, run_dir=str(root / "mirrored"), epochs=3, cpu_devices=2), fresh=True)}
    ports = [free_port(), free_port()]
    worker_tmp = root / "worker_tmp"
    worker_tmp.mkdir()
    for index in range(2):
        tf_config = {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                     "task": {"type": "worker", "index": index}}
        runs[f"worker{index}"] = train_run(workdir, f"worker{index}", npz,
                                           dict(FAST, run_dir=str(root / "multiworker"), epochs=2),
                                           env={"TF_CONFIG": json.dumps(tf_config), "TMPDIR": str(worker_tmp)},
                                           fresh=True)
    runs["root"], runs["worker_tmp"] = root, worker_tmp
    yield runs
    for run in runs.values():
        if isinstance(run, Run):
            run.kill()


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """The CLI in separate processes, started together: `train --help`, and a training with XLA."""
    root = tmp_path_factory.mktemp("cli")
    workdir = str(root)
    console_script = os.path.join(os.path.dirname(sys.executable), "keras-scse")
    runs = {"help": Run(workdir, "help", [console_script, "train", "--help"])}
    write_image_folder(str(root / "images"))
    runs["cli"] = Run(workdir, "cli", [
        "-c", CLI_MAIN, "train", "--model", "SqueezeNext23", "--model-kwargs", json.dumps(TINY["model_kwargs"]),
        "--dataset", str(root / "images"), "--epochs", "1", "--batch-size", "16", "--lr", "0.05",
        "--weight-decay", "0", "--warmup-epochs", "0", "--no-augment", "--jit-compile", "true",
        "--run-dir", str(root / "cli_run"), "--verbose", "0"])
    runs["root"] = root
    yield runs
    for run in runs.values():
        if isinstance(run, Run):
            run.kill()


# ---------------------------------------------------------------- kill and resume (single replica)

class RecordStart(keras.callbacks.Callback):
    """The model and optimizer state when fit starts (after BackupAndRestore restored it), and the epochs run."""

    def on_train_begin(self, logs=None):
        self.weights = [np.array(w) for w in self.model.get_weights()]
        self.optimizer_vars = [np.array(v) for v in self.model.optimizer.variables]
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


@pytest.fixture(scope="module")
def resumed(tmp_path_factory, arrays_npz, cli_runs):
    """A run killed (SIGKILL) in a subprocess after >= 1 finished epoch, then continued in this process."""
    npz, (x, y) = arrays_npz
    root = tmp_path_factory.mktemp("resume")
    run_dir, epochs = str(root / "run"), 6
    config = dict(FAST, run_dir=run_dir, epochs=epochs)
    backup = os.path.join(run_dir, "backup")
    # the pause after each epoch leaves time to kill the run in the middle, with a checkpoint on disk
    first = train_run(str(root), "first", npz, config, fresh=True, epoch_sleep=3.0)
    deadline = time.time() + SUBPROCESS_TIMEOUT
    while (metadata_epoch(backup) or 0) < 1 and first.process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    first.kill()
    killed_after = metadata_epoch(backup)
    assert killed_after and killed_after < epochs, first.output()[-3000:]
    snapshot = str(root / "backup_at_kill")
    shutil.copytree(backup, snapshot)
    history_at_kill = read_history(run_dir)

    record = RecordStart()
    metrics = training.train(training.TrainConfig(dataset=(x, y), **config), verbose=0, callbacks=[record])
    return dict(run_dir=run_dir, epochs=epochs, killed_after=killed_after, snapshot=snapshot, record=record,
                metrics=metrics, history_at_kill=history_at_kill, config=config, data=(x, y),
                first_output=first.output())


def test_resume_continues_at_the_next_epoch_with_each_epoch_logged_once(resumed):
    killed_after, epochs = resumed["killed_after"], resumed["epochs"]
    assert "1 replica(s), jit_compile=False" in resumed["first_output"]
    assert resumed["record"].epochs == list(range(killed_after, epochs))
    assert len(resumed["history_at_kill"]) >= killed_after  # the kill may come before or after the row
    history = read_history(resumed["run_dir"])
    assert [int(row["epoch"]) for row in history] == list(range(epochs))
    assert resumed["metrics"]["epochs"] == epochs


def test_resume_restores_exactly_the_checkpointed_weights_and_optimizer(resumed):
    record, snapshot = resumed["record"], os.path.join(resumed["snapshot"], "latest.weights.h5")
    fresh = applications.get_model(TINY["model"], input_shape=(28, 28, 1), classes=2, **TINY["model_kwargs"])
    before = [np.array(w) for w in fresh.get_weights()]
    fresh.load_weights(snapshot)
    saved = fresh.get_weights()
    assert len(saved) == len(record.weights) > 50
    assert not all(np.array_equal(a, b) for a, b in zip(before, saved))  # the checkpoint is not an init
    for restored, checkpoint in zip(record.weights, saved):
        np.testing.assert_array_equal(restored, checkpoint)
    with h5py.File(snapshot, "r") as f:
        group = f["optimizer"]["vars"]
        optimizer_saved = [np.array(group[str(i)]) for i in range(len(group))]
    assert len(optimizer_saved) == len(record.optimizer_vars)
    for restored, checkpoint in zip(record.optimizer_vars, optimizer_saved):
        np.testing.assert_array_equal(restored, checkpoint)
    steps_per_epoch = 128 // 16
    assert int(record.optimizer_vars[0]) == resumed["killed_after"] * steps_per_epoch  # iterations


def test_run_folder_holds_a_consistent_report(resumed):
    run_dir, metrics = resumed["run_dir"], resumed["metrics"]
    for name in RUN_OUTPUTS:
        assert os.path.getsize(os.path.join(run_dir, name)) > 0, name
    with open(os.path.join(run_dir, "metrics.json")) as f:
        saved = json.load(f)
    assert saved == metrics
    matrix = np.array(saved["confusion_matrix"])
    assert matrix.shape == (2, 2) and matrix.sum() == saved["num_examples"] == 16
    assert saved["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert list(saved["per_class"]) == ["0", "1"]
    for i, name in enumerate(saved["per_class"]):
        assert saved["per_class"][name]["support"] == matrix[i].sum()
        assert saved["per_class"][name]["recall"] == pytest.approx(matrix[i, i] / matrix[i].sum())
    assert saved["best_val_accuracy"] == max(float(row["val_accuracy"]) for row in read_history(run_dir))
    assert saved["params"] > 0 and saved["epochs"] == resumed["epochs"] and saved["model"] == "SqueezeNext23"
    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    assert config["model_kwargs"] == TINY["model_kwargs"] and config["dataset"].startswith("arrays uint8[160, 28")
    assert keras.saving.load_model(os.path.join(run_dir, "best.keras")).output_shape == (None, 2)


def test_changed_settings_on_an_existing_run_fail(resumed):
    x, y = resumed["data"]
    changed = training.TrainConfig(dataset=(x, y), **{**resumed["config"], "lr": 0.01})
    with pytest.raises(ValueError, match=r"different settings \(lr: 0\.05 -> 0\.01\).*--fresh"):
        training.train(changed, verbose=0)
    other_data = training.TrainConfig(dataset=(x[::-1], y), **resumed["config"])
    with pytest.raises(ValueError, match=r"different settings \(dataset: .*--fresh"):
        training.train(other_data, verbose=0)


def test_resume_without_a_checkpoint_fails(tmp_path, arrays_npz):
    config = training.TrainConfig(dataset=arrays_npz[1], run_dir=str(tmp_path / "new"), **FAST)
    with pytest.raises(FileNotFoundError, match="--resume: no checkpoint in .*new/backup"):
        training.train(config, resume=True, verbose=0)


def test_fresh_deletes_the_run_folder(tmp_path, arrays_npz):
    run_dir = tmp_path / "run"
    (run_dir / "backup").mkdir(parents=True)
    (run_dir / "backup" / "training_metadata.json").write_text('{"epoch": 3, "batch": 0}')
    (run_dir / "history.csv").write_text("epoch,loss\n0,1.0\n")
    (run_dir / "stale.txt").write_text("old")
    config = training.TrainConfig(dataset=arrays_npz[1], run_dir=str(run_dir), **FAST)
    _, done = training.prepare_run_dir(config, fresh=True, resume=False)
    assert done is None and sorted(os.listdir(run_dir)) == ["config.json"]
    with pytest.raises(FileNotFoundError):
        training.prepare_run_dir(config, fresh=True, resume=True)


def test_trim_history_drops_epochs_after_the_checkpoint(tmp_path):
    path = str(tmp_path / "history.csv")
    with open(path, "w") as f:
        f.write("epoch,loss\n0,1.0\n1,0.9\n2,0.8\n3,")  # the last row cut short by a kill
    training.trim_history(path, 5)
    assert [row["epoch"] for row in read_history(str(tmp_path))] == ["0", "1", "2"]
    training.trim_history(path, 2)
    assert [row["epoch"] for row in read_history(str(tmp_path))] == ["0", "1"]
    training.trim_history(path, 0)
    assert not os.path.exists(path)


# ---------------------------------------------------------------- divergence

class PoisonWeights(keras.callbacks.Callback):
    """Make one weight NaN at the start of the second epoch: its first step's loss is NaN."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            kernel = self.model.trainable_variables[0]
            kernel.assign(np.full(kernel.shape, np.nan, np.float32))


def test_nan_loss_stops_naming_epoch_step_and_last_good_checkpoint(tmp_path, arrays_npz):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "stale.txt").write_text("old")
    config = training.TrainConfig(dataset=arrays_npz[1], run_dir=str(run_dir), epochs=3, **FAST)
    with pytest.raises(training.TrainingDiverged,
                       match=r"Loss became nan at epoch 2, step 1\. The last good checkpoint is .*backup "
                             r"\(after epoch 1\)"):
        training.train(config, fresh=True, verbose=0, callbacks=[PoisonWeights()])
    assert not (run_dir / "stale.txt").exists()  # --fresh emptied the folder
    backup = str(run_dir / "backup")
    assert metadata_epoch(backup) == 1 and len(read_history(str(run_dir))) == 1
    with h5py.File(os.path.join(backup, "latest.weights.h5"), "r") as f:
        arrays = []
        f.visititems(lambda name, obj: arrays.append(np.array(obj)) if isinstance(obj, h5py.Dataset) else None)
    assert len(arrays) > 50 and all(np.isfinite(a).all() for a in arrays)


def test_huge_learning_rate_diverges_in_the_first_epoch_without_a_checkpoint(tmp_path, arrays_npz):
    config = training.TrainConfig(dataset=arrays_npz[1], run_dir=str(tmp_path / "run"), epochs=2,
                                  **{**FAST, "lr": 1e30})
    with pytest.raises(training.TrainingDiverged, match=r"at (the end of )?epoch 1.*No checkpoint was written yet"):
        training.train(config, verbose=0)
    assert metadata_epoch(str(tmp_path / "run" / "backup")) is None
    assert not os.path.exists(tmp_path / "run" / "backup" / "latest.weights.h5")


def test_nan_weights_with_a_finite_loss_stop_before_the_checkpoint(tmp_path):
    """One step per epoch can blow the weights up while the logged loss (computed before the update) is still
    finite; the epoch-end check catches that before BackupAndRestore saves."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.layers[0].kernel.assign(np.full((3, 2), np.inf, np.float32))
    stop = training.StopOnNonFinite(str(tmp_path / "backup"))
    stop.set_model(model)
    with pytest.raises(training.TrainingDiverged, match="weights became non-finite at the end of epoch 4"):
        stop.on_epoch_end(3, {"loss": 0.5, "val_loss": 0.7})
    with pytest.raises(training.TrainingDiverged, match="val_loss became non-finite"):
        stop.on_epoch_end(3, {"loss": 0.5, "val_loss": float("nan")})


# ---------------------------------------------------------------- policy helpers

class FakeStrategy:
    def __init__(self, replicas):
        self.num_replicas_in_sync = replicas


@pytest.mark.gpu
def test_auto_jit_compiles_on_this_gpu():
    assert training.resolve_jit_compile("auto", FakeStrategy(1)) is True


@pytest.mark.parametrize("gpu", [False, True])
def test_resolve_jit_compile_rules(gpu, monkeypatch):
    from keras_scse.training import strategy

    monkeypatch.setattr(strategy, "has_gpu", lambda: gpu)  # the rule, whatever this host has
    assert training.resolve_jit_compile("auto", FakeStrategy(1)) is gpu  # XLA on a single GPU only
    assert training.resolve_jit_compile("auto", FakeStrategy(2)) is False
    assert training.resolve_jit_compile(True, FakeStrategy(1)) is True
    assert training.resolve_jit_compile(False, FakeStrategy(1)) is False
    with pytest.warns(UserWarning, match="jit_compile=True is not supported by Keras with 2 replicas"):
        assert training.resolve_jit_compile(True, FakeStrategy(2)) is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        training.resolve_jit_compile(False, FakeStrategy(2))


def test_is_chief_follows_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert training.is_chief()
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    for task, chief in [({"type": "worker", "index": 0}, True), ({"type": "worker", "index": 1}, False)]:
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
        assert training.is_chief() is chief
    with_chief = dict(cluster, chief=["127.0.0.1:3"])
    for task, chief in [({"type": "chief", "index": 0}, True), ({"type": "worker", "index": 0}, False)]:
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": with_chief, "task": task}))
        assert training.is_chief() is chief


def test_recipe_lr_scales_with_batch_and_overrides_apply():
    config = training.TrainConfig(batch_size=128)
    assert config.resolved_recipe()["lr"] == pytest.approx(training.RECIPES["sgd"]["lr"] / 2)
    config = training.TrainConfig(batch_size=128, lr=0.3, weight_decay=0.0, recipe="adamw")
    recipe = config.resolved_recipe()
    assert recipe["lr"] == 0.3 and recipe["weight_decay"] == 0.0 and recipe["optimizer"] == "adamw"


# ---------------------------------------------------------------- CLI (and XLA)

def test_cli_train_help(cli_runs):
    code, output = cli_runs["help"].wait()
    assert code == 0, output
    for option in ("--model", "--dataset", "--fresh", "--resume", "--jit-compile", "--cpu-devices", "--run-dir"):
        assert option in output


def test_cli_main_trains_end_to_end_with_xla(cli_runs):
    """cli.main(["train", ...]) on an image folder, jit_compile=True (XLA) on one replica, 1 epoch."""
    code, out = cli_runs["cli"].wait()
    assert code == 0, out[-3000:]
    assert "1 replica(s), jit_compile=True" in out and "test accuracy" in out
    run_dir = str(cli_runs["root"] / "cli_run")
    for name in RUN_OUTPUTS:
        assert os.path.exists(os.path.join(run_dir, name)), name
    with open(os.path.join(run_dir, "metrics.json")) as f:
        metrics = json.load(f)
    assert list(metrics["per_class"]) == ["bright", "dark"] and metrics["num_examples"] == 8
    assert metrics["epochs"] == 1 and len(read_history(run_dir)) == 1


# ---------------------------------------------------------------- separate processes

@pytest.mark.slow
def test_two_replicas_on_two_logical_cpus_learn(distributed_runs):
    run = distributed_runs["mirrored"]
    code, output = run.wait()
    assert code == 0, output[-3000:]
    assert "2 replica(s), jit_compile=False" in output
    losses = [float(row["loss"]) for row in read_history(str(distributed_runs["root"] / "mirrored"))]
    assert len(losses) == 3 and losses[-1] < losses[0], losses
    assert run.metrics()["epochs"] == 3


@pytest.mark.slow
def test_two_workers_on_localhost_train_together_and_the_chief_writes(distributed_runs):
    workers = [distributed_runs["worker0"], distributed_runs["worker1"]]
    results = [worker.wait() for worker in workers]
    for code, output in results:
        assert code == 0, output[-3000:]
        assert "2 replica(s)" in output
    run_dir = str(distributed_runs["root"] / "multiworker")
    for name in RUN_OUTPUTS:
        assert os.path.exists(os.path.join(run_dir, name)), name
    assert [int(row["epoch"]) for row in read_history(run_dir)] == [0, 1]
    assert metadata_epoch(os.path.join(run_dir, "backup")) == 2
    chief, other = (worker.metrics() for worker in workers)
    assert chief["accuracy"] == other["accuracy"] and chief["best_val_accuracy"] == other["best_val_accuracy"]
    with open(os.path.join(run_dir, "metrics.json")) as f:
        assert json.load(f)["accuracy"] == chief["accuracy"]
    leftovers = [name for name in os.listdir(distributed_runs["worker_tmp"]) if name.startswith("keras_scse_worker_")]
    assert leftovers == []  # the other worker's temporary run folder is gone
    assert "== SqueezeNext23" in results[0][1] and "== SqueezeNext23" not in results[1][1]  # one summary


def test_precise_batchnorm_sets_statistics_to_the_batch_average():
    import tensorflow as tf

    inp = keras.Input((4,))
    frozen = keras.layers.BatchNormalization(name="frozen")
    model = keras.Model(inp, frozen(keras.layers.BatchNormalization(name="bn")(inp)))
    frozen.trainable = False
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(24, 4)).astype("float32")
    batches = tf.data.Dataset.from_tensor_slices((x, np.zeros(24))).batch(8)
    training.recalibrate_batchnorm(model, batches, batches=3)
    bn = model.get_layer("bn")
    np.testing.assert_allclose(np.asarray(bn.moving_mean), np.mean([b.mean(0) for b in np.split(x, 3)], 0),
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(bn.moving_variance), np.mean([b.var(0) for b in np.split(x, 3)], 0),
                               rtol=1e-4)
    assert bn.momentum == 0.99  # restored
    np.testing.assert_array_equal(np.asarray(frozen.moving_mean), np.zeros(4))  # frozen layers are left alone


def rate_at(optimizer, step):
    optimizer.iterations.assign(step)
    return float(optimizer.learning_rate)


def test_warmup_is_capped_so_short_runs_decay():
    recipe = dict(training.RECIPES["sgd"], lr=0.1, warmup_epochs=1)
    short = training.make_optimizer(recipe, steps_per_epoch=15, epochs=1)
    assert rate_at(short, 0) == 0.0 and rate_at(short, 3) == pytest.approx(0.1) and rate_at(short, 14) < 0.01
    long = training.make_optimizer(recipe, steps_per_epoch=100, epochs=15)
    assert rate_at(long, 50) == pytest.approx(0.05) and rate_at(long, 100) == pytest.approx(0.1)


@pytest.mark.slow
@pytest.mark.backend
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_kill_and_resume_on_jax(tmp_path, arrays_npz):
    """The same run folder protocol on KERAS_BACKEND=jax: killed after >= 1 epoch, the same command continues."""
    npz, _ = arrays_npz
    run_dir, epochs = str(tmp_path / "run"), 4
    config = dict(FAST, run_dir=run_dir, epochs=epochs, jit_compile="auto")  # auto: XLA on JAX
    env = {"KERAS_BACKEND": "jax"}
    first = train_run(str(tmp_path), "first", npz, config, env=env, fresh=True, epoch_sleep=3.0)
    deadline = time.time() + SUBPROCESS_TIMEOUT
    backup = os.path.join(run_dir, "backup")
    while (metadata_epoch(backup) or 0) < 1 and first.process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    first.kill()
    killed_after = metadata_epoch(backup)
    assert killed_after and killed_after < epochs, first.output()[-3000:]
    code, output = train_run(str(tmp_path), "second", npz, config, env=env).wait()
    assert code == 0, output[-3000:]
    assert f"resuming after epoch {killed_after}" in output and "jit_compile=True" in output
    assert [int(row["epoch"]) for row in read_history(run_dir)] == list(range(epochs))


@pytest.mark.slow
@pytest.mark.backend
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
@pytest.mark.skipif(not os.path.exists("/usr/share/datasets/fashion-mnist"), reason="needs dataset-fashion-mnist")
def test_train_and_resume_on_jax_without_tensorflow(tmp_path):
    """A GPU machine with Keras on JAX and no TensorFlow: `keras-scse train` on Fashion-MNIST through the numpy
    pipeline, resumed by the same command with more epochs; TensorFlow is never imported."""
    tests = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(tests, "scripts", "train_without_tensorflow.py")
    env = {**os.environ, "KERAS_BACKEND": "jax",
           "PYTHONPATH": os.pathsep.join([os.path.dirname(tests), os.path.dirname(script)])}
    run_dir = str(tmp_path / "run")
    for epochs in ("1", "2"):
        done = subprocess.run([sys.executable, script, run_dir, epochs], env=env, capture_output=True, text=True,
                              timeout=SUBPROCESS_TIMEOUT, cwd=str(tmp_path))
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "tensorflow_loaded": False}
    assert "resuming after epoch 1" in done.stdout
    assert [int(row["epoch"]) for row in read_history(run_dir)] == [0, 1]
    metrics = json.loads(open(os.path.join(run_dir, "metrics.json")).read())
    assert metrics["num_examples"] == 10_000 and metrics["accuracy"] > 0.25  # 42% when written; chance 10%
    assert not os.path.exists(os.path.join(run_dir, "tensorboard"))


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/usr/share/datasets/fashion-mnist"), reason="needs dataset-fashion-mnist")
def test_two_replica_short_run_on_fashion_mnist_is_far_above_chance(tmp_path):
    """`keras-scse train --cpu-devices 2` (MirroredStrategy over two logical CPUs) on 2,000 Fashion-MNIST images,
    3 epochs: the command splits the CPU before TensorFlow starts, and the BatchNorm statistics are recomputed
    after each epoch with both replicas, so the short run ends far above chance (10%), as one replica does."""
    console_script = os.path.join(os.path.dirname(sys.executable), "keras-scse")
    run_dir = tmp_path / "run"
    done = subprocess.run([console_script, "train", "--model", "SCSENet44", "--dataset", "fashion_mnist",
                           "--image-size", "32", "--epochs", "3", "--batch-size", "64", "--limit", "2000",
                           "--cpu-devices", "2", "--run-dir", str(run_dir), "--verbose", "0"],
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 replica(s)" in done.stdout + done.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["num_examples"] == 10_000 and metrics["accuracy"] > 0.5
