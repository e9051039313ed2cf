"""Training: recipes as data, strategy + XLA policy, resumable runs that leave a report.

A run folder holds everything: config.json, history.csv, tensorboard/, backup/ (BackupAndRestore: weights,
optimizer state and epoch, written every epoch), best.keras, last.keras, metrics.json, curves.png,
confusion.png. Running the same command on the same folder continues after the last finished epoch.

Under MultiWorkerMirroredStrategy (TF_CONFIG) every worker runs the same code; only the chief writes the run
folder, the other workers write their (identical) checkpoints to a temporary folder that is deleted at the end,
and start from a copy of the chief's checkpoint when resuming.
"""

import csv
import dataclasses
import hashlib
import json
import math
import numbers
import os
import shutil
import tempfile
import time

import keras
import numpy as np

from keras_scse.training import report
from keras_scse.training.strategy import (
    barrier,
    is_chief,
    resolve_jit_compile,
    select_strategy,
    set_precision,
    split_cpu,
)

REFERENCE_BATCH = 256  # learning rates in RECIPES are for this global batch; lr scales linearly (Goyal et al.)

RECIPES = {
    # SGD + Nesterov momentum, the SqueezeNext CIFAR recipe's optimiser with cosine decay and label smoothing.
    "sgd": dict(optimizer="sgd", lr=0.2, momentum=0.9, weight_decay=5e-4, label_smoothing=0.1, warmup_epochs=1),
    "adamw": dict(optimizer="adamw", lr=4e-3, weight_decay=0.05, label_smoothing=0.1, warmup_epochs=1),
}


@dataclasses.dataclass
class TrainConfig:
    model: str = "SCSENet44"
    dataset: object = "fashion_mnist"
    run_dir: str = "runs/default"
    epochs: int = 10
    batch_size: int = 128  # global: split over replicas
    image_size: object = None  # None: the dataset's size
    channels: object = None  # None: the dataset's channels
    recipe: str = "sgd"
    lr: object = None  # None: the recipe's lr, scaled to the batch size
    weight_decay: object = None
    label_smoothing: object = None
    warmup_epochs: object = None
    augment: bool = True
    val_fraction: float = 0.1
    seed: int = 0
    limit: object = None  # first N training examples only (quick runs)
    data_dir: object = None
    jit_compile: object = "auto"
    mixed_precision: bool = False
    cpu_devices: object = None
    steps_per_execution: int = 1
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    skip_unreadable: bool = False  # image folders: leave out files that cannot be decoded (default: list them, stop)

    def resolved_recipe(self):
        recipe = dict(RECIPES[self.recipe])
        for key in ("lr", "weight_decay", "label_smoothing", "warmup_epochs"):
            if getattr(self, key) is not None:
                recipe[key] = getattr(self, key)
        if self.lr is None:
            recipe["lr"] = recipe["lr"] * self.batch_size / REFERENCE_BATCH
        return recipe


class TrainingDiverged(RuntimeError):
    pass


def finished_epochs(backup_dir):
    """Epochs saved in a BackupAndRestore folder (its training_metadata.json), or None without a checkpoint."""
    meta = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.exists(meta):
        return None
    with open(meta) as f:
        return int(json.load(f)["epoch"])


class StopOnNonFinite(keras.callbacks.Callback):
    """Abort when the loss, a logged metric or a weight stops being finite: during an epoch at the first bad
    step, at its end before anything is saved (this callback runs first), so no checkpoint holds NaNs."""

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = backup_dir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def diverged(self, what):
        last = finished_epochs(self.backup_dir)
        where = (f"The last good checkpoint is {self.backup_dir} (after epoch {last}); lower the learning rate "
                 "(--lr) and run the same command again to continue from it, or --fresh to start over."
                 if last else "No checkpoint was written yet; lower the learning rate (--lr) and start over (--fresh).")
        return TrainingDiverged(f"{what}. {where}")

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise self.diverged(f"Loss became {float(loss)} at epoch {self.epoch + 1}, step {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        bad = sorted(k for k, v in (logs or {}).items() if np.ndim(v) == 0 and not math.isfinite(float(v)))
        if not bad and not all(np.isfinite(w).all() for w in self.model.get_weights()):
            bad = ["weights"]
        if bad:
            raise self.diverged(f"{', '.join(bad)} became non-finite at the end of epoch {epoch + 1}")


def make_optimizer(recipe, steps_per_epoch, epochs):
    warmup = int(recipe["warmup_epochs"] * steps_per_epoch)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else recipe["lr"],
        decay_steps=max(1, epochs * steps_per_epoch - warmup),
        warmup_target=recipe["lr"] if warmup else None,
        warmup_steps=warmup,
    )
    weight_decay = recipe["weight_decay"] or None  # 0: no decay ops at all
    if recipe["optimizer"] == "sgd":
        return keras.optimizers.SGD(schedule, momentum=recipe["momentum"], nesterov=True, weight_decay=weight_decay)
    return keras.optimizers.AdamW(schedule, weight_decay=recipe["weight_decay"])


def one_hot(dataset, num_classes):
    import tensorflow as tf

    return dataset.map(lambda x, y: (x, tf.one_hot(y, num_classes)))


def describe_dataset(dataset):
    """The dataset as JSON-able text: names and paths as given, arrays by shape, dtype and content hash."""
    if isinstance(dataset, (str, os.PathLike)):
        return os.fspath(dataset)
    digest, parts = hashlib.sha1(), []
    for array in dataset:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(array.tobytes())
        parts.append(f"{array.dtype}{list(array.shape)}")
    return f"arrays {' '.join(parts)} sha1:{digest.hexdigest()[:16]}"


def config_dict(config):
    as_dict = {field.name: getattr(config, field.name) for field in dataclasses.fields(config)}
    as_dict["dataset"] = describe_dataset(config.dataset)
    return json.loads(json.dumps(as_dict, default=str))


def trim_history(path, epochs):
    """Keep the rows of the first ``epochs`` epochs: a run killed between writing a row and saving its
    checkpoint repeats that epoch, and must not log it twice."""
    rows = []
    if os.path.exists(path):
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            # a kill while writing can leave a partial last row: keep complete rows of finished epochs only
            rows = [row for row in reader if all(row.get(k) for k in reader.fieldnames)
                    and float(row["epoch"]) < epochs]
            fields = reader.fieldnames
    if not rows:
        if os.path.exists(path):
            os.remove(path)
        return
    with open(path + ".tmp", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(path + ".tmp", path)


def prepare_run_dir(config, fresh, resume, write=True):
    """Check config.run_dir against ``config`` (and with ``write``: set it up). Returns (backup folder, epochs
    finished in its checkpoint or None)."""
    backup = os.path.join(config.run_dir, "backup")
    if fresh and write and os.path.exists(config.run_dir):
        shutil.rmtree(config.run_dir)
    done = finished_epochs(backup)
    if resume and done is None:
        raise FileNotFoundError(f"--resume: no checkpoint in {backup}. Run without --resume to start training.")
    saved = os.path.join(config.run_dir, "config.json")
    as_dict = config_dict(config)
    if done is not None and os.path.exists(saved):
        with open(saved) as f:
            previous = json.load(f)
        changed = {k for k in as_dict if k not in ("epochs",) and previous.get(k) != as_dict[k]}
        if changed:
            raise ValueError(
                f"{config.run_dir} holds a run with different settings "
                f"({', '.join(f'{k}: {previous.get(k)!r} -> {as_dict[k]!r}' for k in sorted(changed))}). "
                "Use --fresh to overwrite it, or another --run-dir."
            )
    if write:
        os.makedirs(config.run_dir, exist_ok=True)
        report.write_json(as_dict, saved)
        trim_history(os.path.join(config.run_dir, "history.csv"), done or 0)
    return backup, done


def worker_run_dir(config):
    """A non-chief worker's private copy of the run folder: the chief's checkpoint and history (to resume
    identically), then its own writes, deleted at the end."""
    run_dir = tempfile.mkdtemp(prefix="keras_scse_worker_")
    backup = os.path.join(config.run_dir, "backup")
    if os.path.isdir(backup):
        shutil.copytree(backup, os.path.join(run_dir, "backup"))
    history = os.path.join(config.run_dir, "history.csv")
    if os.path.exists(history):
        shutil.copy(history, run_dir)
    return run_dir


def load_splits(config, channels, image_size):
    from keras_scse import data

    common = dict(image_size=image_size, channels=channels, batch_size=config.batch_size, seed=config.seed,
                  val_fraction=config.val_fraction, data_dir=config.data_dir, skip_unreadable=config.skip_unreadable)
    # full batches only: one traced shape for the train step, and equal batches on every replica
    train_ds, info = data.load(config.dataset, "train", augment=config.augment, limit=config.limit,
                               drop_remainder=True, **common)
    val_ds, _ = data.load(config.dataset, "validation", **common)
    test_ds, test_info = data.load(config.dataset, "test", **common)
    return train_ds, val_ds, test_ds, info, test_info


def train(config, fresh=False, resume=False, verbose="auto", callbacks=()):
    """Train ``config.model`` on ``config.dataset``; return the metrics dict (also in run_dir/metrics.json).

    fresh: delete config.run_dir first. resume: fail unless config.run_dir holds a checkpoint to continue from
    (without it, a checkpoint is used when there is one). callbacks: extra Keras callbacks, run after the
    built-in ones (so the checkpoint is restored when their on_train_begin runs).
    """
    for arg in ("epochs", "batch_size"):
        value = getattr(config, arg)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"`{arg}` must be a positive integer; received {arg}={value!r}.")
    started = time.time()
    strategy = select_strategy(config.cpu_devices)  # first: MultiWorker must exist before other TF work
    precision = set_precision(config.mixed_precision)
    jit = resolve_jit_compile(config.jit_compile, strategy)
    if config.batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"batch_size={config.batch_size} must be divisible by the "
                         f"{strategy.num_replicas_in_sync} replicas.")
    chief = is_chief()
    if chief or not fresh:  # other workers make the same checks (and fail the same way), but write nothing
        prepare_run_dir(config, fresh, resume, write=chief)
    barrier(strategy)  # the chief has settled the run folder before other workers copy from it
    run_dir = config.run_dir if chief else worker_run_dir(config)
    try:
        return fit_and_report(config, strategy, run_dir, chief, jit, precision, verbose, callbacks, started)
    finally:
        if not chief:
            shutil.rmtree(run_dir, ignore_errors=True)


def fit_and_report(config, strategy, run_dir, chief, jit, precision, verbose, callbacks, started):
    """train() once the run folder is settled: build, fit (resuming from run_dir/backup), evaluate, report."""
    from keras_scse import applications

    backup = os.path.join(run_dir, "backup")
    resumed = finished_epochs(backup)
    keras.utils.set_random_seed(config.seed)

    train_ds, val_ds, test_ds, info, test_info = load_splits(config, config.channels, config.image_size)
    recipe = config.resolved_recipe()
    steps = max(1, info.num_examples // config.batch_size)  # the train split drops a partial last batch
    with strategy.scope():
        model = applications.get_model(config.model, input_shape=info.image_shape, classes=info.num_classes,
                                       **config.model_kwargs)
        model.compile(
            optimizer=make_optimizer(recipe, steps, config.epochs),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe["label_smoothing"]),
            metrics=["accuracy"],
            jit_compile=jit,
            steps_per_execution=config.steps_per_execution,
        )
    history_path = os.path.join(run_dir, "history.csv")
    best_so_far = max((row["val_accuracy"] for row in report.read_history(history_path)), default=None)
    callbacks = [
        StopOnNonFinite(backup),  # first: a NaN epoch must stop before anything below saves it
        # Everything of an epoch is written before its checkpoint, which marks it done: a run killed in
        # between repeats the epoch (rewriting last.keras; its history row is trimmed at the restart).
        keras.callbacks.CSVLogger(history_path, append=True),
        keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "best.keras"), monitor="val_accuracy",
                                        mode="max", save_best_only=True, initial_value_threshold=best_so_far),
        keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "last.keras")),
        keras.callbacks.BackupAndRestore(backup, double_checkpoint=True, delete_checkpoint=False),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard")),
        *callbacks,
    ]
    print(f"[keras-scse] {config.model} on {info.name}: {info.num_examples} train images {info.image_shape}, "
          f"{info.num_classes} classes; {strategy.num_replicas_in_sync} replica(s), jit_compile={jit}, {precision}; "
          f"lr={recipe['lr']:.4g}" + (f"; resuming after epoch {resumed}" if resumed else ""))
    model.fit(one_hot(train_ds, info.num_classes), validation_data=one_hot(val_ds, info.num_classes),
              epochs=config.epochs, callbacks=callbacks, verbose=verbose, shuffle=False)  # shuffled in tf.data

    best = model
    for name in ("best.keras", "last.keras"):  # best.keras is missing if no epoch beat the resumed run's best
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            try:
                best = keras.saving.load_model(path)
                break
            except Exception as e:  # e.g. cut short by a kill while it was written
                print(f"[keras-scse] cannot load {path} ({type(e).__name__}: {e}); evaluating another model")
    y_true, y_pred = report.predict_labels(best, test_ds)
    metrics = report.classification_metrics(y_true, y_pred, test_info.class_names)
    history = report.read_history(history_path)
    metrics.update(model=config.model, dataset=info.name, split="test", epochs=len(history),
                   params=int(model.count_params()), wall_time_s=round(time.time() - started, 1),
                   best_val_accuracy=max((row["val_accuracy"] for row in history), default=None))
    report.write_json(metrics, os.path.join(run_dir, "metrics.json"))
    report.plot_curves(history, os.path.join(run_dir, "curves.png"))
    report.plot_confusion(metrics["confusion_matrix"], test_info.class_names, os.path.join(run_dir, "confusion.png"))
    if chief:
        print(summary(metrics, run_dir))
    return metrics


def summary(metrics, run_dir):
    worst = min(metrics["per_class"].items(), key=lambda kv: kv[1]["recall"])
    return "\n".join([
        f"== {metrics['model']} on {metrics['dataset']} ({metrics['epochs']} epochs, {metrics['wall_time_s']} s)",
        f"   test accuracy {metrics['accuracy']:.4f} on {metrics['num_examples']} images "
        f"(best val accuracy {metrics['best_val_accuracy'] or float('nan'):.4f})",
        f"   weakest class: {worst[0]} (recall {worst[1]['recall']:.3f})",
        f"   outputs in {run_dir}: metrics.json, history.csv, curves.png, confusion.png, best.keras, last.keras",
    ])


__all__ = ["RECIPES", "TrainConfig", "TrainingDiverged", "is_chief", "resolve_jit_compile", "select_strategy",
           "split_cpu", "train"]
