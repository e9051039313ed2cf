"""Training: recipes as data, strategy + XLA policy, resumable runs that leave a report.

A run folder holds everything: config.json, history.csv, tensorboard/, backup/ (BackupAndRestore: weights,
optimizer state and epoch, written every epoch), best.keras, last.keras, metrics.json, curves.png,
confusion.png. Running the same command on the same folder continues after the last finished epoch.
"""

import dataclasses
import json
import math
import os
import shutil
import time

import keras

from keras_scse.training import report
from keras_scse.training.strategy import resolve_jit_compile, select_strategy, set_precision, split_cpu

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


class StopOnNonFinite(keras.callbacks.Callback):
    """Abort (before any checkpoint is written) when the loss stops being finite."""

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = backup_dir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            meta = os.path.join(self.backup_dir, "training_metadata.json")
            last = json.load(open(meta))["epoch"] if os.path.exists(meta) else 0
            raise TrainingDiverged(
                f"Loss became {loss} at epoch {self.epoch + 1}, step {batch + 1}. The last good checkpoint is "
                f"{self.backup_dir} (after epoch {last}); lower the learning rate (--lr) and run the same command "
                "again to continue from it, or --fresh to start over."
            )


def make_optimizer(recipe, steps_per_epoch, epochs):
    warmup = int(recipe["warmup_epochs"] * steps_per_epoch)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else recipe["lr"],
        decay_steps=max(1, epochs * steps_per_epoch - warmup),
        warmup_target=recipe["lr"] if warmup else None,
        warmup_steps=warmup,
    )
    if recipe["optimizer"] == "sgd":
        return keras.optimizers.SGD(schedule, momentum=recipe["momentum"], nesterov=True,
                                    weight_decay=recipe["weight_decay"])
    return keras.optimizers.AdamW(schedule, weight_decay=recipe["weight_decay"])


def one_hot(dataset, num_classes):
    import tensorflow as tf

    return dataset.map(lambda x, y: (x, tf.one_hot(y, num_classes)))


def prepare_run_dir(config, fresh, resume):
    backup = os.path.join(config.run_dir, "backup")
    if fresh and os.path.exists(config.run_dir):
        shutil.rmtree(config.run_dir)
    has_backup = os.path.exists(os.path.join(backup, "training_metadata.json"))
    if resume and not has_backup:
        raise FileNotFoundError(f"--resume: no checkpoint in {backup}. Run without --resume to start training.")
    os.makedirs(config.run_dir, exist_ok=True)
    saved = os.path.join(config.run_dir, "config.json")
    as_dict = json.loads(json.dumps(dataclasses.asdict(config), default=str))
    if has_backup and os.path.exists(saved):
        previous = json.load(open(saved))
        changed = {k for k in as_dict if k not in ("epochs",) and previous.get(k) != as_dict[k]}
        if changed:
            raise ValueError(
                f"{config.run_dir} holds a run with different settings ({sorted(changed)}). Use --fresh to "
                "overwrite it, or another --run-dir."
            )
    report.write_json(as_dict, saved)
    return backup, has_backup


def load_splits(config, channels, image_size):
    from keras_scse import data

    common = dict(image_size=image_size, channels=channels, batch_size=config.batch_size, seed=config.seed,
                  val_fraction=config.val_fraction, data_dir=config.data_dir)
    train_ds, info = data.load(config.dataset, "train", augment=config.augment, limit=config.limit, **common)
    val_ds, _ = data.load(config.dataset, "validation", **common)
    test_ds, test_info = data.load(config.dataset, "test", **common)
    return train_ds, val_ds, test_ds, info, test_info


def train(config, fresh=False, resume=False, verbose="auto"):
    """Train ``config.model`` on ``config.dataset``; return the metrics dict (also in run_dir/metrics.json)."""
    from keras_scse import applications

    started = time.time()
    strategy = select_strategy(config.cpu_devices)  # first: MultiWorker must exist before other TF work
    precision = set_precision(config.mixed_precision)
    jit = resolve_jit_compile(config.jit_compile, strategy)
    if config.batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"batch_size={config.batch_size} must be divisible by the "
                         f"{strategy.num_replicas_in_sync} replicas.")
    backup, resumed = prepare_run_dir(config, fresh, resume)
    keras.utils.set_random_seed(config.seed)

    train_ds, val_ds, test_ds, info, test_info = load_splits(config, config.channels, config.image_size)
    recipe = config.resolved_recipe()
    steps = math.ceil(info.num_examples / config.batch_size)
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
    history_path = os.path.join(config.run_dir, "history.csv")
    best_so_far = max((row["val_accuracy"] for row in report.read_history(history_path)), default=None)
    callbacks = [
        StopOnNonFinite(backup),
        keras.callbacks.BackupAndRestore(backup, double_checkpoint=True, delete_checkpoint=False),
        keras.callbacks.CSVLogger(history_path, append=True),
        keras.callbacks.ModelCheckpoint(os.path.join(config.run_dir, "best.keras"), monitor="val_accuracy",
                                        mode="max", save_best_only=True, initial_value_threshold=best_so_far),
        keras.callbacks.ModelCheckpoint(os.path.join(config.run_dir, "last.keras")),
        keras.callbacks.TensorBoard(os.path.join(config.run_dir, "tensorboard")),
    ]
    print(f"[keras-scse] {config.model} on {info.name}: {info.num_examples} train images {info.image_shape}, "
          f"{info.num_classes} classes; {strategy.num_replicas_in_sync} replica(s), jit_compile={jit}, {precision}; "
          f"lr={recipe['lr']:.4g}" + ("; resuming from the last checkpoint" if resumed else ""))
    model.fit(one_hot(train_ds, info.num_classes), validation_data=one_hot(val_ds, info.num_classes),
              epochs=config.epochs, callbacks=callbacks, verbose=verbose)

    best_path = os.path.join(config.run_dir, "best.keras")
    best = keras.saving.load_model(best_path) if os.path.exists(best_path) else model
    y_true, y_pred = report.predict_labels(best, test_ds)
    metrics = report.classification_metrics(y_true, y_pred, test_info.class_names)
    history = report.read_history(history_path)
    metrics.update(model=config.model, dataset=info.name, split="test", epochs=len(history),
                   params=int(model.count_params()), wall_time_s=round(time.time() - started, 1),
                   best_val_accuracy=max((row["val_accuracy"] for row in history), default=None))
    report.write_json(metrics, os.path.join(config.run_dir, "metrics.json"))
    report.plot_curves(history, os.path.join(config.run_dir, "curves.png"))
    report.plot_confusion(metrics["confusion_matrix"], test_info.class_names,
                          os.path.join(config.run_dir, "confusion.png"))
    print(summary(metrics, config.run_dir))
    return metrics


def summary(metrics, run_dir):
    worst = min(metrics["per_class"].items(), key=lambda kv: kv[1]["recall"])
    return "\n".join([
        f"== {metrics['model']} on {metrics['dataset']} ({metrics['epochs']} epochs, {metrics['wall_time_s']} s)",
        f"   test accuracy {metrics['accuracy']:.4f} on {metrics['num_examples']} images "
        f"(best val accuracy {metrics['best_val_accuracy']:.4f})",
        f"   weakest class: {worst[0]} (recall {worst[1]['recall']:.3f})",
        f"   outputs in {run_dir}: metrics.json, history.csv, curves.png, confusion.png, best.keras, last.keras",
    ])


__all__ = ["RECIPES", "TrainConfig", "TrainingDiverged", "resolve_jit_compile", "select_strategy", "split_cpu",
           "train"]
