"""Pretrained weights: one registry, one validator, one loader.

Each family module declares its checkpoints next to its variant rows with ``register_weights`` (keras-hub's
``register_presets``): keras_scse's own checkpoints (``source="keras_scse"``) and the keras.applications ImageNet
weights that the ResNet and MobileNetV2 families transfer by layer name (``source="keras.applications.<Model>"``;
their file and hash are Keras' own and ``transfer`` reads them).

``weights`` may be None (random init), a registered name (e.g. "fashion_mnist", "imagenet"), or the path to a
weights file; ``resolve`` checks it and names every allowed value when it is none of these.

A registered keras_scse file is looked for in this order: packaged with keras_scse (``keras_scse/weights_data``),
the Keras cache (``$KERAS_HOME/models``), then downloaded by ``keras.utils.get_file`` from its URL. Its sha256
is checked before loading, so a truncated or altered file is refused with the file name and both hashes. It is
loaded into the model itself (``load_into``); only the first conv is adapted when the model takes another
channel count than the checkpoint, as timm adapts a first conv.
"""

import dataclasses
import hashlib
import os
import re
import warnings

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
    first_conv: str = "stem_conv"  # the layer adapted to another input channel count
    # the weights work only at input_shape's size: a classifier built at another size resizes its input to it
    # (builder.resize_to_checkpoint); the card's metrics say how well each way works
    fixed_size: bool = False

    def card(self):
        """The model card as a dict: what the weights are, how they were made, how well they do."""
        return {key: value for key, value in dataclasses.asdict(self).items() if key not in ("path", "sha256")}


PRETRAINED = {}  # (model, name) -> WeightsEntry, filled by the family modules through register_weights


def register_weights(*entries):
    """Add checkpoints to the registry; a second, different entry under the same (model, name) is an error."""
    for entry in entries:
        key = (entry.model, entry.name)
        if PRETRAINED.get(key, entry) != entry:
            raise ValueError(f"Weights {entry.model}/{entry.name} are already registered differently.")
        PRETRAINED[key] = entry


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


def resolve(model_name, weights):
    """None, or the WeightsEntry that ``weights`` names for ``model_name`` (registered, or a local file); the
    one error message for anything else, with every allowed value."""
    if weights is None:
        return None
    if isinstance(weights, str) and (model_name, weights) in PRETRAINED:
        return PRETRAINED[(model_name, weights)]
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


def load_into(model, entry):
    """Load a keras_scse checkpoint into ``model`` in place.

    A user's local file must hold this exact model's weights. A registered checkpoint may differ from the model
    in two ways: no head (include_top=False; the file's head is not read) and another input channel count (its
    first conv is adapted, ``adapt_input_channels``). Anything else that does not fit is an error.
    """
    if entry.path is not None:
        _load_file(model, entry.path)
        return model
    path = locate(entry)
    first = model.get_layer(entry.first_conv)
    stored = _checkpoint_vars(path, model, first)
    adapt = tuple(first.kernel.shape) != stored[0].shape
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _load_file(model, path, skip_mismatch=True)
    # Keras warns (it does not raise) about what skip_mismatch left out: only the first conv may be
    not_loaded = [str(w.message) for w in caught if "could not be loaded" in str(w.message)]
    skipped = sum(int(re.search(r"A total of (\d+)", message).group(1)) for message in not_loaded)
    if skipped != int(adapt):
        raise ValueError(f"The {entry.model} weights {entry.name!r} do not fit {model.name!r}: "
                         f"{' '.join(not_loaded[0].split()[:40]) if not_loaded else 'nothing was skipped'}. Build "
                         "the model with the checkpoint's architecture options, or use weights=None.")
    if adapt:
        first.set_weights([adapt_input_channels(stored[0], first.kernel.shape, first.name), *stored[1:]])
    return model


def _checkpoint_vars(path, model, layer):
    """The arrays a Keras ``.weights.h5`` file holds for ``layer`` of ``model``: Keras stores a functional
    model's layers by class, in order ("layers/conv2d", "layers/conv2d_1", ...), not by their names."""
    import h5py

    same_class = [other for other in model.layers if type(other) is type(layer)]
    snake = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", type(layer).__name__)  # Keras' to_snake_case
    snake = re.sub("([a-z])([A-Z])", r"\1_\2", snake).lower()
    index = same_class.index(layer)
    group = f"layers/{snake}" + (f"_{index}" if index else "") + "/vars"
    with h5py.File(path, "r") as f:
        if group not in f:
            raise ValueError(f"{path} has no weights for layer {layer.name!r} (looked for {group!r}).")
        return [np.asarray(f[group][str(i)]) for i in range(len(f[group]))]


def _load_file(model, path, skip_mismatch=False):
    try:
        model.load_weights(path, skip_mismatch=skip_mismatch)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"Cannot load weights from {path}: {str(e).splitlines()[0]} The file may be truncated or corrupt, or "
            "saved from another architecture/classes/input channels; re-save or re-download it."
        ) from None
