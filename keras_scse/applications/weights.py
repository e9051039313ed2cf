"""Pretrained weights: one registry (``PRETRAINED``) in the style of keras.applications' hash tables / timm's
pretrained_cfg, for keras_scse's own checkpoints and for the keras.applications weights the ResNet and
MobileNetV2 families transfer by layer name (``source``: "keras_scse" or "keras.applications.<Model>"; those
load through ``transfer``, their file and hash are Keras' own).

``weights`` may be None (random init), a registered name (e.g. "fashion_mnist", "imagenet"), or the path to a
``.weights.h5`` file saved from the same architecture.

A registered file is looked for in this order: packaged with keras_scse (``keras_scse/weights_data``), the
Keras cache (``$KERAS_HOME/models``), then downloaded by ``keras.utils.get_file`` from its URL. Its sha256
is checked before loading, so a truncated or altered file is refused with the file name and both hashes.
"""

import dataclasses
import hashlib
import os

import numpy as np

PACKAGE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "weights_data")


@dataclasses.dataclass(frozen=True)
class WeightsEntry:
    model: str
    name: str
    file_name: str
    sha256: object  # None for a user's local file
    classes: object  # None for a user's local file (its head must fit the model being built)
    input_shape: tuple  # the checkpoint's (H, W, C); C decides channel adaptation
    dataset: str = ""
    accuracy: object = None  # test accuracy, measured by the training command in benchmarks/
    metrics: object = None  # the rest of the run's figures: validation accuracy, every seed's test accuracy, mean
    license: str = ""
    url: object = None
    path: object = None  # set for a user's local file
    attention_kwargs: object = None  # the attention options the checkpoint was trained with (None: defaults)
    # the rest of the model card
    class_names: tuple = ()
    recipe: str = ""
    command: str = ""
    results: str = ""  # the committed folder with the run's log, history and metrics
    source: str = "keras_scse"  # or "keras.applications.<Model>": loaded by transfer.load_weights

    def card(self):
        """The model card as a dict: what the weights are, how they were made, how well they do."""
        return {key: value for key, value in dataclasses.asdict(self).items() if key not in ("path", "sha256")}


PRETRAINED = {
    # Each entry comes from a committed training run: benchmarks/results/<run>/ holds its log and metrics, and
    # benchmarks/package_weights.py printed the values below.
    ("SCSENet44", "fashion_mnist"): WeightsEntry(
        model="SCSENet44", name="fashion_mnist", file_name="scsenet44_fashion_mnist.weights.h5",
        sha256="d1541270932f1d285fd8b7ec9402689058b51796c25a5a76d043fa5d47e808b4", classes=10,
        input_shape=(32, 32, 1), dataset="Fashion-MNIST (Debian dataset-fashion-mnist), resized to 32x32",
        accuracy=0.9238, license="Apache-2.0 (weights); Fashion-MNIST is MIT-licensed",
        metrics={"best_val_accuracy": 0.9257, "test_accuracy_per_seed": {"0": 0.9238, "1": 0.92},
                 "mean_test_accuracy": 0.9219, "params": 581282},
        # SC-SE's defaults, with the spatial kernel that "auto" chose for the <= 8 px maps of a 32 px input
        # pinned, so that the weights load at any input size
        attention_kwargs={"spatial": "axial", "fusion": "mul", "spatial_kernel": 3},
        class_names=("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                     "ankle boot"),
        recipe="sgd: SGD + Nesterov 0.9, lr 0.2 at batch 256 (1 warm-up epoch, cosine over 40 epochs), weight "
               "decay 5e-4, label smoothing 0.1, flip + padded crop; 54,000 train / 6,000 validation (seed 0), "
               "best validation epoch; seed 0 of the two seeds trained (named when it alone had finished)",
        command="keras-scse train --model SCSENet44 --dataset fashion_mnist --image-size 32 --epochs 40 "
                "--batch-size 256 --seed 0  (benchmarks/train_fashion_mnist_cpu.sh)",
        results="benchmarks/results/scsenet44_fashion_mnist_40ep",
    ),
}


def keras_applications_entry(model, keras_name, license, **card):
    """A registry row for keras.applications' ImageNet weights of ``keras_name``, transferred into ``model``
    (the ResNet and MobileNetV2 modules add theirs, next to their variant rows)."""
    return WeightsEntry(
        model=model, name="imagenet", file_name="(keras.applications' file; Keras checks its hash)", sha256=None,
        classes=1000, input_shape=(224, 224, 3), source=f"keras.applications.{keras_name}",
        dataset="ImageNet-1k (ILSVRC 2012)", license=license,
        recipe=f"keras.applications.{keras_name}(weights='imagenet') copied by layer name; every attention layer "
               "starts as an exact identity (identity_start=True: residual_gate, gamma = 0) until fine-tuned",
        command=f"keras_scse.applications.{model}(weights='imagenet')", **card)


def available(model_name=None):
    """Registered pretrained weights, as {(model, name): entry}, optionally for one model."""
    return {k: v for k, v in PRETRAINED.items() if model_name is None or k[0] == model_name}


def resolve(model_name, weights):
    """None, or the WeightsEntry to load; raises ValueError for anything else."""
    if weights is None:
        return None
    if isinstance(weights, str) and (model_name, weights) in PRETRAINED:
        entry = PRETRAINED[(model_name, weights)]
        if entry.source != "keras_scse":
            raise ValueError(f"{model_name} weights {weights!r} come from {entry.source} (transfer.load_weights), "
                             "not from a keras_scse checkpoint.")
        return entry
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        return WeightsEntry(model=model_name, name="local", file_name=os.path.basename(weights), sha256=None,
                            classes=None, input_shape=(None, None, None), path=os.fspath(weights))
    known = sorted(name for (model, name) in PRETRAINED if model == model_name)
    raise ValueError(
        "The `weights` argument should be either `None` (random initialization), "
        f"one of {known} (pretrained {model_name}), or the path to an existing weights file to be loaded. "
        f"Received: weights={weights!r}"
    )


def checkpoint_attention_kwargs(entry, attention_kwargs):
    """``attention_kwargs`` with the checkpoint's attention options filled in; a conflicting option is an error.

    A checkpoint only computes its function with the options it was trained with, and options that change
    the function without changing weight shapes (e.g. SC-SE's fusion) would load without complaint.
    """
    if entry is None or not entry.attention_kwargs:
        return attention_kwargs
    merged = dict(entry.attention_kwargs)
    for key, value in (attention_kwargs or {}).items():
        if key in merged and merged[key] != value:
            raise ValueError(
                f"The {entry.model} weights {entry.name!r} were trained with attention option {key}="
                f"{merged[key]!r}; received {key}={value!r}. Leave {key!r} out of attention_kwargs to use the "
                "checkpoint, or use weights=None to train that variant.")
        merged[key] = value
    return merged


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path, expected):
    actual = sha256_of(path)
    if actual != expected:
        raise ValueError(
            f"Weights file {path} is corrupt or not the published one: sha256 {actual}, expected {expected} "
            f"({os.path.getsize(path)} bytes). Delete it and let keras_scse fetch it again, or pass a local path."
        )


def locate(entry):
    """The verified local path of a registered entry: packaged, Keras cache, then download."""
    import keras

    from keras_scse.applications.transfer import keras_home

    cached = os.path.join(keras_home(), "models", entry.file_name)
    for path in (os.path.join(PACKAGE_DIR, entry.file_name), cached):
        if os.path.exists(path):
            verify(path, entry.sha256)
            return path
    if entry.url:
        os.makedirs(os.path.dirname(cached), exist_ok=True)  # get_file falls back to /tmp when it is missing
        try:
            path = keras.utils.get_file(entry.file_name, entry.url, file_hash=entry.sha256, cache_subdir="models",
                                        cache_dir=keras_home())
        except Exception as e:
            raise FileNotFoundError(
                f"Could not download {entry.file_name} from {entry.url} ({e}). Put the file at {cached}, "
                "or pass its local path as `weights=`."
            ) from None
        verify(path, entry.sha256)
        return path
    raise FileNotFoundError(
        f"Weights {entry.model}/{entry.name} ({entry.file_name}) are neither packaged nor in {cached}. "
        "Reinstall keras_scse, copy the file there, or pass its local path as `weights=`."
    )


def adapt_input_channels(kernel, shape, layer_name):
    """Fit a pretrained conv kernel (kh, kw, C_in, C_out) to another input channel count, as timm does:
    3 -> 1 sums the RGB filters; 1 -> C repeats the filter and scales by 1/C, so the response to a grey
    image is unchanged. Any other shape difference is an error."""
    shape = tuple(shape)
    if kernel.shape == shape:
        return kernel
    if kernel.ndim != 4 or kernel.shape[:2] + kernel.shape[3:] != shape[:2] + shape[3:]:
        raise ValueError(f"Pretrained weights of layer {layer_name!r} have shape {kernel.shape}, the model wants "
                         f"{shape}: the checkpoint is for another architecture or width.")
    src, dst = kernel.shape[2], shape[2]
    if dst == 1:
        return kernel.sum(axis=2, keepdims=True)
    repeated = np.tile(kernel.sum(axis=2, keepdims=True) / src if src != 1 else kernel, (1, 1, dst, 1))
    return repeated / dst


def load_into(model, entry, twin):
    """Load ``entry`` into ``model``.

    A user's local file must hold this exact model's weights. A registered checkpoint is loaded into
    ``twin(...)`` (the same architecture with the checkpoint's head and channels), then copied layer by layer,
    adapting the first conv to the model's input channels; with include_top=False the head is left out.
    """
    if entry.path is not None:
        _load_file(model, entry.path)
        return model
    # The checkpoint's own input shape: size-dependent defaults (SC-SE's spatial kernel) must match it.
    source = twin(include_top=True, classes=entry.classes, input_shape=tuple(entry.input_shape))
    _load_file(source, locate(entry))
    for layer in model.layers:
        if layer.weights:
            values = source.get_layer(layer.name).get_weights()
            layer.set_weights([adapt_input_channels(v, w.shape, layer.name) for v, w in zip(values, layer.weights)])
    return model


def _load_file(model, path):
    try:
        model.load_weights(path)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"Cannot load weights from {path}: {str(e).splitlines()[0]} The file may be truncated or corrupt, or "
            "saved from another architecture/classes/input channels; re-save or re-download it."
        ) from None
