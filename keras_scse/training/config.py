"""A train run's settings (``TrainConfig``, whose defaults are the CLI's) and their JSON form."""

import dataclasses
import hashlib
import json
import os

import numpy as np

from keras_scse.training.recipes import scaled_recipe


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
