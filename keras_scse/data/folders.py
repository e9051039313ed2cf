"""Image-folder source: <folder>/<class name>/<image files>, classes in sorted order.

Every file is decoded once, before any split is carved (so all splits agree on the classes, channels and size),
with a progress bar; unreadable files are all listed in one error, or skipped with a warning. Splits are carved
by ``keras_scse.data.sources.carve`` (a seeded permutation), as for arrays.
"""

import os
import re
import warnings

import numpy as np

from keras_scse.data.sources import carve

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLIT_NAMES = {"train", "training", "val", "valid", "validation", "test", "testing", "heldout", "holdout", "dev"}


def folder_files(path):
    """(file paths, labels, class names) of an image folder with one sub-folder per class."""
    classes = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)) and not d.startswith("."))
    check_not_split_folders(path, classes)
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
    empty = [cls for label, cls in enumerate(classes) if label not in set(labels)]
    if empty:  # an empty folder would still be a class: a head with a class no image ever shows
        raise ValueError(f"Class folder(s) {empty} in {path!r} hold no images ({', '.join(IMAGE_EXTENSIONS)}); "
                         "remove them or put images in them.")
    if len(classes) < 2:
        raise ValueError(f"{path!r} has {len(classes)} class folder(s) {classes}; classification needs >= 2.")
    return np.array(files), np.array(labels, np.int32), tuple(classes)


def check_not_split_folders(path, subfolders):
    """Refuse a folder whose sub-folders are splits (train/, test/, ...) of class folders, not classes."""
    if not subfolders or any(name.lower() not in SPLIT_NAMES for name in subfolders):
        return
    nested = [name for name in subfolders if any(entry.is_dir() for entry in os.scandir(os.path.join(path, name)))]
    if nested:
        train = next((name for name in subfolders if name.lower().startswith("train")), nested[0])
        raise ValueError(f"{path!r} holds split folders {subfolders}, not one folder per class; give the training "
                         f"folder, e.g. {os.path.join(path, train)!r} (validation and test images are carved "
                         "from it, 10% each).")


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
    yield from tqdm(items, desc=desc, unit="file")  # left on screen: a bar erased at the end is never seen


_decoded = {}  # (path, size, mtime) -> shape or why unreadable: the checks decode a file once, not once per split


def decode_key(path):
    """What identifies a decoded file: its path, size and modification time (OSError if it cannot be read)."""
    stat = os.stat(path)
    return path, stat.st_size, stat.st_mtime_ns


def decoded_already(path):
    try:
        return decode_key(path) in _decoded
    except OSError:
        return False


def image_shape(path):
    """(H, W, C) of an image file as stored, or the reason it cannot be read (a str)."""
    import tensorflow as tf  # image folders are read by tf.data (TensorFlow)

    try:
        key = decode_key(path)
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


def folder_spec(files, labels, channels, image_size, source, skip_unreadable=False, shown=10, stacklevel=3):
    """Decode every file of the folder once, before any split is carved (so all splits agree), and pick the
    static image shape: ``channels``, or 1 if all images are grayscale else 3; the common size, unless
    ``image_size`` is given. Unreadable files are all listed (ValueError), or left out with
    ``skip_unreadable`` (the warning points ``stacklevel`` frames up). Returns (files, labels, channels, (H, W))."""
    shapes, bad = {}, {}
    fresh = any(not decoded_already(path) for path in files)  # each split asks: one bar per folder
    for path in progress(files, f"decoding {os.path.basename(os.path.normpath(source))}") if fresh else files:
        shape = image_shape(path)
        (shapes if isinstance(shape, tuple) else bad)[path] = shape
    if bad:
        listed = "; ".join(f"{path} ({reason})" for path, reason in list(bad.items())[:shown])
        more = f"; and {len(bad) - shown} more" if len(bad) > shown else ""
        if not skip_unreadable:
            raise ValueError(f"{len(bad)} of {len(files)} image files in {source!r} cannot be read; remove or replace "
                             "them, or skip them (skip_unreadable=True; keras-scse train or finetune "
                             f"--skip-unreadable): {listed}{more}.")
        warnings.warn(f"Skipping {len(bad)} unreadable image files in {source!r}: {listed}{more}.",
                      stacklevel=stacklevel)
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
    import tensorflow as tf  # image folders are read by tf.data (TensorFlow)

    colour = tf.shape(image)[-1] >= 3
    if channels == 1:
        image = tf.cond(colour, lambda: tf.image.rgb_to_grayscale(image[..., :3]), lambda: image[..., :1])
    else:
        image = tf.cond(colour, lambda: image[..., :3], lambda: tf.tile(image[..., :1], [1, 1, 3]))
    image.set_shape([None, None, channels])
    return image


def folder_source(path, split, image_size, channels, val_fraction, test_fraction, seed, skip_unreadable=False):
    """``split`` of the image folder ``path`` as a tf.data.Dataset of (decoded image, label), with its labels,
    class names and channels (``channels``, or the folder's: 1 if all images are grayscale else 3)."""
    import tensorflow as tf  # image folders are read by tf.data (TensorFlow)

    path = os.fspath(path)
    files, labels, class_names = folder_files(path)
    # stacklevel 5: a skipped-files warning points at the caller of keras_scse.data.load
    files, labels, channels, size = folder_spec(files, labels, channels, image_size, path, skip_unreadable,
                                                stacklevel=5)
    idx = carve(len(files), split, val_fraction, test_fraction, seed, has_test=False)
    files, y = files[idx], labels[idx]

    def read(file, label):
        image = to_channels(tf.io.decode_image(tf.io.read_file(file), channels=0, expand_animations=False),
                            channels)
        if image_size is None:  # all one size (checked): make it static, as models need
            image = tf.ensure_shape(image, (*size, channels))
        return image, label

    ds = tf.data.Dataset.from_tensor_slices((files, y)).map(read, num_parallel_calls=tf.data.AUTOTUNE)
    return ds, y, class_names, channels
