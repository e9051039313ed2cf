"""The training core: recipes, the compile step, data splits and the run folder, shared by ``train``,
``finetune``, the tuning HyperModels and the benchmarks."""

import csv
import dataclasses
import hashlib
import json
import os
import shutil

import keras
import numpy as np

from keras_scse.training import report

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
        return scaled_recipe(self.recipe, self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                             label_smoothing=self.label_smoothing, warmup_epochs=self.warmup_epochs)

def finished_epochs(backup_dir):
    """Epochs saved in a BackupAndRestore folder (its training_metadata.json), or None without a checkpoint."""
    meta = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.exists(meta):
        return None
    with open(meta) as f:
        return int(json.load(f)["epoch"])

MAX_WARMUP_FRACTION = 0.2  # of the whole schedule: a run shorter than 5 warm-up periods still gets to decay


def make_optimizer(recipe, steps_per_epoch, epochs):
    """The recipe's optimizer on a linear warm-up + cosine decay schedule over ``epochs``.

    The warm-up is capped at MAX_WARMUP_FRACTION of the steps: a 1-epoch run with a 1-epoch warm-up would end
    at the peak rate, with BatchNorm's moving statistics far behind the weights (val loss ~10, chance accuracy).
    """
    total = max(1, epochs * steps_per_epoch)
    warmup = min(int(recipe["warmup_epochs"] * steps_per_epoch), int(MAX_WARMUP_FRACTION * total))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else recipe["lr"],
        decay_steps=max(1, total - warmup),
        warmup_target=recipe["lr"] if warmup else None,
        warmup_steps=warmup,
    )
    weight_decay = recipe["weight_decay"] or None  # 0: no decay ops at all
    if recipe["optimizer"] == "sgd":
        return keras.optimizers.SGD(schedule, momentum=recipe["momentum"], nesterov=True, weight_decay=weight_decay)
    return keras.optimizers.AdamW(schedule, weight_decay=recipe["weight_decay"])


def compile_model(model, recipe, steps_per_epoch, epochs, jit_compile="auto", steps_per_execution=1):
    """Compile for a recipe: its optimizer and schedule, label-smoothed cross-entropy on one-hot labels,
    accuracy. The one compile step of train, finetune, tuning and the benchmarks."""
    model.compile(
        optimizer=make_optimizer(recipe, steps_per_epoch, epochs),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe["label_smoothing"]),
        metrics=["accuracy"],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model


def scaled_recipe(name, batch_size, **overrides):
    """RECIPES[name] with ``overrides`` (None values ignored); lr scaled linearly to ``batch_size`` unless given."""
    if name not in RECIPES:
        raise ValueError(f"Unknown recipe {name!r}; use one of {sorted(RECIPES)}.")
    recipe = dict(RECIPES[name])
    recipe["lr"] = recipe["lr"] * batch_size / REFERENCE_BATCH
    recipe.update({k: v for k, v in overrides.items() if v is not None})
    return recipe


def one_hot(dataset, num_classes):
    """The pipeline with one-hot labels (what the label-smoothed loss takes): tf.data or numpy batches."""
    if hasattr(dataset, "with_one_hot"):  # data.ArrayBatches
        return dataset.with_one_hot(num_classes)
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


def prepare_run_folder(run_dir, settings, fresh=False, write=True, keep=(), defaults=None, canonical=None):
    """Settle a run folder for ``settings`` (a JSON-able dict): with ``fresh`` (and ``write``) delete it first;
    if it holds a checkpoint (backup/) of a run with other settings, refuse (``keep``: keys that may change, e.g.
    epochs; ``defaults``: values of keys that older config.json files lack; ``canonical``: {key: function} that
    maps a saved value to today's spelling of it); with ``write`` save config.json."""
    if fresh and write and os.path.exists(run_dir):
        shutil.rmtree(run_dir)
    saved = os.path.join(run_dir, "config.json")
    if os.path.isdir(os.path.join(run_dir, "backup")) and os.path.exists(saved):
        with open(saved) as f:
            previous = json.load(f)
        defaults = defaults or {}
        for key, spell in (canonical or {}).items():
            if key in previous:
                previous[key] = spell(previous[key])
        changed = {k for k in settings if k not in keep and previous.get(k, defaults.get(k)) != settings[k]}
        if changed:
            raise ValueError(
                f"{run_dir} holds a run with different settings "
                f"({', '.join(f'{k}: {previous.get(k)!r} -> {settings[k]!r}' for k in sorted(changed))}). "
                "Use --fresh (fresh=True) to overwrite it, or another --run-dir."
            )
    if write:
        os.makedirs(run_dir, exist_ok=True)
        report.write_json(settings, saved)


def prepare_run_dir(config, fresh, resume, write=True):
    """Check config.run_dir against ``config`` (and with ``write``: set it up). Returns (backup folder, epochs
    finished in its checkpoint or None)."""
    backup = os.path.join(config.run_dir, "backup")
    if resume and (fresh or finished_epochs(backup) is None):
        raise FileNotFoundError(f"--resume: no checkpoint in {backup}. Run without --resume to start training.")
    defaults = config_dict(TrainConfig(model=config.model, dataset=config.dataset))
    prepare_run_folder(config.run_dir, config_dict(config), fresh, write, keep=("epochs",), defaults=defaults)
    done = finished_epochs(backup)
    if write:
        trim_history(os.path.join(config.run_dir, "history.csv"), done or 0)
    return backup, done

def load_splits(dataset, batch_size, image_size=None, channels=None, seed=0, val_fraction=0.1, augment=True,
                limit=None, data_dir=None, skip_unreadable=False):
    """(train, validation, test) pipelines and the DataInfo of train and of test: the one place where a run
    reads its data. The train split drops a partial last batch: one traced shape for the train step, and equal
    batches on every replica."""
    from keras_scse import data

    common = dict(image_size=image_size, channels=channels, batch_size=batch_size, seed=seed,
                  val_fraction=val_fraction, data_dir=data_dir, skip_unreadable=skip_unreadable)
    train_ds, info = data.load(dataset, "train", augment=augment, limit=limit, drop_remainder=True, **common)
    val_ds, _ = data.load(dataset, "validation", **common)
    test_ds, test_info = data.load(dataset, "test", **common)
    return train_ds, val_ds, test_ds, info, test_info
