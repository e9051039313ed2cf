"""tf.data pipelines: local Fashion-MNIST, TFDS by name, image folders, in-memory arrays.

Every source ends in the same pipeline: images become float32 in [0, 1] (the one place normalisation
happens; the models expect [0, 1] inputs), are resized / channel-adapted to what the model wants,
cached, shuffled and augmented in tf.data (not Keras preprocessing layers, which block XLA), batched and
prefetched.

Splits: "train", "validation", "test". A source without a validation (or test) split gets one carved from
its training data by ``val_fraction`` (``test_fraction``), so the three never overlap: arrays, image folders and
local Fashion-MNIST by a permutation with a fixed ``seed``, TFDS datasets by contiguous percent slices of "train".
"""

import dataclasses
import gzip
import os
import re
import warnings

import numpy as np
import tensorflow as tf

SPLITS = ("train", "validation", "test")
FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)
FASHION_MNIST_CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
                         "bag", "ankle boot")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
AUTOTUNE = tf.data.AUTOTUNE


@dataclasses.dataclass
class DataInfo:
    """What a pipeline yields: (images (B, H, W, C) float32 in [0, 1], labels (B,) int32)."""

    name: str
    split: str
    num_examples: int
    num_classes: int
    class_names: tuple
    image_shape: tuple


# ---------------------------------------------------------------- sources -> (images uint8 NHWC, labels)

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


def folder_files(path):
    """(file paths, labels, class names) of an image folder with one sub-folder per class."""
    classes = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)) and not d.startswith("."))
    files, labels = [], []
    for label, cls in enumerate(classes):
        for root, _, names in sorted(os.walk(os.path.join(path, cls))):
            for fname in sorted(names):
                if fname.lower().endswith(IMAGE_EXTENSIONS):
                    files.append(os.path.join(root, fname))
                    labels.append(label)
    if not files:
        raise ValueError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) found in class sub-folders of {path!r}. "
                         "Expected <folder>/<class name>/<image files>.")
    if len(classes) < 2:
        raise ValueError(f"{path!r} has {len(classes)} class folder(s) {classes}; classification needs >= 2.")
    return np.array(files), np.array(labels, np.int32), tuple(classes)


def progress(items, desc):
    """Iterate ``items`` with a progress bar: tqdm's (on stderr) if it is installed, else a Keras Progbar."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        import keras

        bar = keras.utils.Progbar(len(items), unit_name="file")
        for i, item in enumerate(items):
            yield item
            bar.update(i + 1)
        return
    yield from tqdm(items, desc=desc, unit="file", leave=False)


_decoded = {}  # (path, size, mtime) -> shape or why unreadable: the checks decode a file once, not once per split


def image_shape(path):
    """(H, W, C) of an image file as stored, or the reason it cannot be read (a str)."""
    try:
        stat = os.stat(path)
        key = (path, stat.st_size, stat.st_mtime_ns)
        if key not in _decoded:
            image = tf.io.decode_image(tf.io.read_file(path), channels=0, expand_animations=False)
            _decoded[key] = tuple(image.shape)
        return _decoded[key]
    except tf.errors.OpError as e:  # not an image, truncated, unsupported: TensorFlow's reason, without op names
        first = e.message.splitlines()[0] if e.message else ""
        reason = re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:.*", "", first)
        return reason or type(e).__name__
    except OSError as e:
        return str(e)


def folder_spec(files, labels, channels, image_size, source, skip_unreadable=False, shown=10):
    """Decode every file of the folder once, before any split is carved (so all splits agree), and pick the
    static image shape: ``channels``, or 1 if all images are grayscale else 3; the common size, unless
    ``image_size`` is given. Unreadable files are all listed (ValueError), or left out with
    ``skip_unreadable``. Returns (files, labels, channels, (H, W))."""
    shapes, bad = {}, {}
    for path in progress(files, f"decoding {os.path.basename(os.path.normpath(source))}"):
        shape = image_shape(path)
        (shapes if isinstance(shape, tuple) else bad)[path] = shape
    if bad:
        listed = "; ".join(f"{path} ({reason})" for path, reason in list(bad.items())[:shown])
        more = f"; and {len(bad) - shown} more" if len(bad) > shown else ""
        if not skip_unreadable:
            raise ValueError(f"{len(bad)} of {len(files)} image files in {source!r} cannot be read; remove or replace "
                             "them, or skip them (skip_unreadable=True; keras-scse train --skip-unreadable): "
                             f"{listed}{more}.")
        warnings.warn(f"Skipping {len(bad)} unreadable image files in {source!r}: {listed}{more}.", stacklevel=3)
        keep = np.array([path not in bad for path in files], bool)
        files, labels = files[keep], labels[keep]
    if not len(files):
        raise ValueError(f"None of the image files in {source!r} can be read.")
    if channels is None:
        channels = 1 if all(s[2] <= 2 for s in shapes.values()) else 3  # grey (with or without alpha)
    sizes = {s[:2] for s in shapes.values()}
    if image_size is None and len(sizes) > 1:
        examples = {s[:2]: p for p, s in shapes.items()}
        raise ValueError(f"Images in {source!r} have different sizes ({len(sizes)} sizes, e.g. "
                         f"{[(p, s) for s, p in list(examples.items())[:2]]}); give image_size to resize them.")
    return files, labels, channels, (tuple(image_size) if image_size is not None else sizes.pop())


def to_channels(image, channels):
    """A decoded image with 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels, known only when the
    graph runs, as ``channels`` (1 or 3) channels; alpha is dropped."""
    colour = tf.shape(image)[-1] >= 3
    if channels == 1:
        image = tf.cond(colour, lambda: tf.image.rgb_to_grayscale(image[..., :3]), lambda: image[..., :1])
    else:
        image = tf.cond(colour, lambda: image[..., :3], lambda: tf.tile(image[..., :1], [1, 1, 3]))
    image.set_shape([None, None, channels])
    return image


# ---------------------------------------------------------------- the common pipeline

def preprocess(image, image_size, channels):
    image = tf.image.convert_image_dtype(image, tf.float32)  # uint8 -> [0, 1]; floats pass through
    have = image.shape[-1]
    if channels is not None and have != channels:
        if have == 4:  # RGBA: drop alpha
            image, have = image[..., :3], 3
        if have == 3 and channels == 1:
            image = tf.image.rgb_to_grayscale(image)
        elif have == 1 and channels == 3:
            image = tf.tile(image, [1, 1, 3])
        elif have != channels:
            raise ValueError(f"Cannot convert images with {have} channels to {channels}; supported: 1 <-> 3 "
                             "(and RGBA -> 1 or 3).")
    if image_size is not None:
        image = tf.image.resize(image, image_size)
    return image


AUGMENTATIONS = ("flip_crop", "crop")


def check_augment(augment):
    """True/False or a name from AUGMENTATIONS; True means "flip_crop"."""
    if augment in (True, False, None) or augment in AUGMENTATIONS:
        return "flip_crop" if augment is True else augment or None
    raise ValueError(f"`augment` must be True, False or one of {list(AUGMENTATIONS)}; received {augment!r}. "
                     "Use 'crop' for data whose classes change under a mirror image (digits, text).")


def augment_fn(flip):
    """A random crop after zero-padding by 1/8 of the size, after a left-right flip when ``flip``."""

    def augment(image, label):
        size = tf.shape(image)[:2]
        pad = image.shape[0] // 8 if image.shape[0] else 4
        if flip:
            image = tf.image.random_flip_left_right(image)
        image = tf.image.pad_to_bounding_box(image, pad, pad, size[0] + 2 * pad, size[1] + 2 * pad)
        image = tf.image.random_crop(image, tf.concat([size, tf.shape(image)[2:]], 0))
        return image, label

    return augment


def finish(ds, info, batch_size, shuffle, augment, seed, cache, drop_remainder=False):
    options = tf.data.Options()
    # Shard by element across workers: works for every source (files or in-memory) under MultiWorker.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    ds = ds.with_options(options)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(min(info.num_examples, 20_000), seed=seed, reshuffle_each_iteration=True)
    if augment:
        ds = ds.map(augment_fn(flip=augment == "flip_crop"), num_parallel_calls=AUTOTUNE)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(AUTOTUNE)


def load(source, split="train", image_size=None, channels=None, batch_size=128, shuffle=None, augment=False,
         val_fraction=0.1, test_fraction=0.1, seed=0, data_dir=None, cache=True, limit=None, class_names=None,
         drop_remainder=False, skip_unreadable=False):
    """One split of a dataset as a batched tf.data pipeline, and its DataInfo.

    Args:
        source: "fashion_mnist" (local Debian files), a TFDS name ("malaria", "cifar10", ...), a folder of
            class sub-folders, or an (images, labels) pair of arrays.
        split: "train", "validation" or "test".
        image_size: (H, W) to resize to, or None to keep the source's size.
        channels: 1 or 3 to convert to (grayscale <-> RGB), or None to keep the source's.
        shuffle: default True for "train". augment (train only, by default off): True or "flip_crop" = left-right
            flip + padded random crop; "crop" = the crop alone (for classes that a mirror image changes).
        val_fraction, test_fraction, seed: how missing validation/test splits are carved from train.
        data_dir: TFDS data folder. limit: keep the first N examples of the split (quick runs).
        class_names: names of the classes of an (images, labels) source (default "0", "1", ...).
        drop_remainder: drop a last, partial batch (one traced shape less; only if >= 1 full batch remains).
        skip_unreadable: image folders: leave out files that cannot be decoded (with a warning listing them);
            by default they are all listed in a ValueError before anything else happens.
    """
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {list(SPLITS)}; received {split!r}.")
    if image_size is not None:
        image_size = (int(image_size), int(image_size)) if np.isscalar(image_size) else tuple(image_size)
        if len(image_size) != 2 or min(image_size) < 1:
            raise ValueError(f"`image_size` must be a positive int or (height, width); received {image_size!r}.")
    if channels not in (None, 1, 3):
        raise ValueError(f"`channels` must be 1, 3 or None (keep the source's); received channels={channels!r}.")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer; received batch_size={batch_size!r}.")
    shuffle = split == "train" if shuffle is None else shuffle
    augment = check_augment(augment)
    carve_args = dict(val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)

    if isinstance(source, (tuple, list)) and len(source) == 2:
        all_labels = np.asarray(source[1]).reshape(-1)
        if class_names is None:
            class_names = tuple(str(i) for i in range(int(np.max(all_labels, initial=0)) + 1))
        check_labels(all_labels, len(class_names), "(images, labels) arrays")
        x, y = array_source(*source, split, **carve_args)
        name = "arrays"
        ds = tf.data.Dataset.from_tensor_slices((x, y))
    elif isinstance(source, str) and source in LOCAL_SOURCES:
        reader, class_names = LOCAL_SOURCES[source]
        has_test = True
        x, y = reader("test" if split == "test" else "train")
        x, y = array_source(x, y, split, **carve_args, has_test=has_test)
        name = source
        ds = tf.data.Dataset.from_tensor_slices((x, y))
    elif isinstance(source, (str, os.PathLike)) and os.path.isdir(source):
        files, labels, class_names = folder_files(os.fspath(source))
        files, labels, channels, size = folder_spec(files, labels, channels, image_size, os.fspath(source),
                                                    skip_unreadable)
        idx = carve(len(files), split, val_fraction, test_fraction, seed, has_test=False)
        files, y = files[idx], labels[idx]
        name = os.path.basename(os.path.normpath(source))

        def read(path, label):
            image = to_channels(tf.io.decode_image(tf.io.read_file(path), channels=0, expand_animations=False),
                                channels)
            if image_size is None:  # all one size (checked): make it static, as models need
                image = tf.ensure_shape(image, (*size, channels))
            return image, label

        ds = tf.data.Dataset.from_tensor_slices((files, y)).map(read, num_parallel_calls=AUTOTUNE)
    elif isinstance(source, str) and (os.path.exists(source) or source.startswith(("/", ".", "~"))):
        raise FileNotFoundError(f"{source!r} is not a folder of class sub-folders (it does not exist or is a file). "
                                "Give <folder>/<class name>/<image files>, a dataset name or (images, labels).")
    elif isinstance(source, str):
        ds, y, class_names = tfds_source(source, split, data_dir, **carve_args)
        name = source
    else:
        raise ValueError(f"Unknown data source {source!r}: give a dataset name, a folder or (images, labels).")

    if limit:
        y = y[:limit]
        ds = ds.take(limit)
    check_labels(y, len(class_names), f"{name} [{split}]", min_present=2 if split == "train" else 0)
    ds = ds.map(lambda img, label: (preprocess(img, image_size, channels), tf.cast(label, tf.int32)),
                num_parallel_calls=AUTOTUNE)
    shape = tuple(ds.element_spec[0].shape)
    info = DataInfo(name=name, split=split, num_examples=len(y), num_classes=len(class_names),
                    class_names=tuple(class_names), image_shape=shape)
    drop_remainder = drop_remainder and len(y) >= batch_size
    return finish(ds, info, batch_size, shuffle, augment if split == "train" else None, seed, cache,
                  drop_remainder), info


def tfds_source(name, split, data_dir, val_fraction, test_fraction, seed):
    """A TFDS dataset split (carving validation/test by percent slices when absent); labels read once."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as e:  # tfds raises DatasetNotFoundError with its own list
        raise ValueError(
            f"Unknown dataset {name!r}. Local datasets: {sorted(LOCAL_SOURCES)}; or any TFDS name "
            f"(tfds.list_builders()), an image folder path, or (images, labels) arrays. TFDS said: {e}"
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
