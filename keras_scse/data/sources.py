"""Sources as arrays: local Fashion-MNIST idx files, in-memory (images, labels), TFDS by name; the carving of
missing splits and the label checks.

Splits: "train", "validation", "test". A source without a validation (or test) split gets one carved from
its training data by ``val_fraction`` (``test_fraction``), so the three never overlap: arrays, image folders and
local Fashion-MNIST by a permutation with a fixed ``seed`` (``carve``), TFDS datasets by contiguous percent slices
of "train" (``tfds_source``).
"""

import difflib
import gzip
import os

import numpy as np

SPLITS = ("train", "validation", "test")
FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)
FASHION_MNIST_CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
                         "bag", "ankle boot")


def fashion_mnist_dir():
    """The folder with Fashion-MNIST's idx files, or FileNotFoundError saying how to get them."""
    candidates = [os.environ["KERAS_SCSE_FASHION_MNIST"]] if os.environ.get("KERAS_SCSE_FASHION_MNIST") else []
    for folder in candidates + list(FASHION_MNIST_DIRS):
        if os.path.exists(os.path.join(folder, "train-images-idx3-ubyte.gz")):
            return folder
    raise FileNotFoundError(
        f"Fashion-MNIST files not found in {candidates + list(FASHION_MNIST_DIRS)}. Install Debian's package "
        "(as root: apt-get install dataset-fashion-mnist), or point KERAS_SCSE_FASHION_MNIST to a folder "
        "holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        "t10k-labels-idx1-ubyte.gz."
    )


def read_idx(path):
    """An idx file (gzip or plain) as a numpy array; the format is MNIST's: magic, dims, big-endian sizes."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:  # gzip stream cut short, or not gzip at all
        raise ValueError(f"{path} is truncated or corrupt ({e}). Reinstall or re-download it.") from None
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or len(data) < 4 + 4 * data[3]:
        raise ValueError(f"{path} is truncated or corrupt: it does not start with an idx header of uint8 data.")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated or corrupt: header says {shape}, found {array.size} values.")
    return array.reshape(shape)


def fashion_mnist_arrays(split):
    """Fashion-MNIST 'train' (60,000) or 'test' (10,000) as (N, 28, 28, 1) uint8 images and int labels."""
    prefix = "train" if split == "train" else "t10k"
    folder = fashion_mnist_dir()
    images = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"))[..., None]
    labels = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz")).astype(np.int32)
    return images, labels


LOCAL_SOURCES = {"fashion_mnist": (fashion_mnist_arrays, FASHION_MNIST_CLASSES)}


def carve(n, split, val_fraction, test_fraction, seed, has_test):
    """Indices of ``split`` in a seeded permutation of n examples: [train | validation | test]."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = 0 if has_test else int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    bounds = {"train": (0, n - n_val - n_test), "validation": (n - n_val - n_test, n - n_test),
              "test": (n - n_test, n)}
    lo, hi = bounds[split]
    if hi <= lo:
        raise ValueError(f"Split {split!r} is empty: {n} examples with val_fraction={val_fraction}, "
                         f"test_fraction={test_fraction}. Raise the fraction or add data.")
    return np.sort(order[lo:hi])


def check_labels(labels, num_classes, source, min_present=2):
    """Labels must lie in [0, num_classes); at least ``min_present`` distinct ones must occur."""
    present = np.unique(labels)
    if len(present) < min_present:
        raise ValueError(f"{source} has {len(present)} class(es) {present.tolist()}; classification needs >= 2. "
                         "Give images of at least two classes.")
    if len(present) and (present.min() < 0 or present.max() >= num_classes):
        raise ValueError(f"{source} has labels {present.min()}..{present.max()} but {num_classes} classes "
                         f"(labels must be 0..{num_classes - 1}).")


def array_source(x, y, split, val_fraction, test_fraction, seed, has_test=False):
    """Select ``split`` of in-memory arrays; x: (N, H, W[, C]) uint8 or float in [0, 1]."""
    x, y = np.asarray(x), np.asarray(y).astype(np.int32).reshape(-1)
    if len(x) != len(y):
        raise ValueError(f"Got {len(x)} images but {len(y)} labels; they must match.")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"Images must be (N, H, W) or (N, H, W, C); got shape {x.shape}.")
    if np.issubdtype(x.dtype, np.integer) and x.dtype != np.uint8:
        # convert_image_dtype would scale int64 0..255 by 1/2**63, i.e. to ~0: make them uint8 first
        if x.size and (x.min() < 0 or x.max() > 255):
            raise ValueError(f"Integer images must be in 0..255; got {x.min()}..{x.max()} ({x.dtype}).")
        x = x.astype(np.uint8)
    elif np.issubdtype(x.dtype, np.floating) and x.size and not (np.nanmin(x) >= 0 and np.nanmax(x) <= 1):
        raise ValueError(f"Float images must be in [0, 1]; got {np.nanmin(x):.4g}..{np.nanmax(x):.4g}. Divide by "
                         "255 (or pass uint8).")
    if split != "test" or not has_test:
        idx = carve(len(x), split, val_fraction, test_fraction, seed, has_test)
        x, y = x[idx], y[idx]
    return x, y


def tfds_source(name, split, data_dir, val_fraction, test_fraction, seed):
    """A TFDS dataset split (carving validation/test by percent slices when absent); labels read once."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:  # its message lists every TFDS name: too long to read
        close = difflib.get_close_matches(name, [*LOCAL_SOURCES, *tfds.list_builders()], n=3)
        hint = f" Close names: {close}." if close else ""
        raise ValueError(
            f"{name!r} is neither a folder (no such path here) nor a dataset name.{hint} Give an image folder "
            f"(<folder>/<class name>/<image files>), {sorted(LOCAL_SOURCES)}, or a TFDS name (tfds.list_builders())."
        ) from None
    splits = builder.info.splits
    # "train" = [train | carved validation | carved test] in percent of the source's train split
    val_pct = 0 if "validation" in splits else round(100 * val_fraction)
    test_pct = 0 if "test" in splits else round(100 * test_fraction)
    train_pct = 100 - val_pct - test_pct
    if split in splits and split != "train":
        tfds_split = split
    elif split == "train":
        tfds_split = f"train[:{train_pct}%]" if train_pct < 100 else "train"
    elif split == "validation":
        tfds_split = f"train[{train_pct}%:{train_pct + val_pct}%]"
    else:
        tfds_split = f"train[{train_pct + val_pct}%:]"
    if split not in splits and split != "train" and not (val_pct if split == "validation" else test_pct):
        raise ValueError(f"{name!r} has no {split!r} split and the carved one would be empty "
                         f"(val_fraction={val_fraction}, test_fraction={test_fraction}); raise the fraction.")
    try:
        builder.download_and_prepare()
    except Exception as e:
        raise FileNotFoundError(
            f"TFDS could not prepare {name!r} in {builder.data_dir!r} ({type(e).__name__}: {e}). Without network, "
            "prepare it elsewhere and copy the folder into --data-dir, or use an image folder."
        ) from None
    ds = builder.as_dataset(split=tfds_split, as_supervised=True, shuffle_files=False)
    image_key, label_key = builder.info.supervised_keys
    undecoded = builder.as_dataset(split=tfds_split, shuffle_files=False,
                                   decoders={image_key: tfds.decode.SkipDecoding()})
    labels = np.fromiter((int(example[label_key]) for example in undecoded.as_numpy_iterator()), np.int32)
    return ds, labels, tuple(builder.info.features[label_key].names)
