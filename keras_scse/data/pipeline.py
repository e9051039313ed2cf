"""The common pipeline every source ends in, and ``load``, which picks the source.

Images become float32 in [0, 1] (the one place normalisation happens; the models expect [0, 1] inputs), are
resized / channel-adapted to what the model wants, cached, shuffled and augmented in tf.data (not Keras
preprocessing layers, which block XLA), batched and prefetched. Without TensorFlow, in-memory sources take the
same steps in numpy (``numpy_pipeline``).
"""

import dataclasses
import importlib.util
import os

import numpy as np

from keras_scse.data import numpy_pipeline
from keras_scse.data.folders import folder_source
from keras_scse.data.sources import (
    LOCAL_SOURCES,
    SPLITS,
    array_source,
    check_labels,
    tfds_source,
)

AUTOTUNE = -1  # tf.data.AUTOTUNE
PIPELINES = ("tf.data", "numpy")


@dataclasses.dataclass
class DataInfo:
    """What a pipeline yields: (images (B, H, W, C) float32 in [0, 1], labels (B,) int32)."""

    name: str
    split: str
    num_examples: int
    num_classes: int
    class_names: tuple
    image_shape: tuple


def preprocess(image, image_size, channels):
    import tensorflow as tf

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

    import tensorflow as tf

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
    import tensorflow as tf

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
         drop_remainder=False, skip_unreadable=False, pipeline=None):
    """One split of a dataset as a batched pipeline, and its DataInfo.

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
        pipeline: "tf.data" (a tf.data.Dataset), "numpy" (a keras.utils.PyDataset of numpy batches, for
            arrays and local Fashion-MNIST only; needs no TensorFlow), or None: tf.data when TensorFlow is
            installed, else numpy.
    """
    image_size = check_options(split, image_size, channels, batch_size)
    shuffle = split == "train" if shuffle is None else shuffle
    augment = check_augment(augment)
    carve_args = dict(val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    arrays = array_split(source, split, carve_args, class_names)  # None: not an in-memory source
    if choose_pipeline(pipeline, source, arrays is not None) == "numpy":
        x, y, class_names, name = arrays
        return load_numpy(x[:limit] if limit else x, y[:limit] if limit else y, class_names, name, split,
                          image_size, channels, batch_size, shuffle, augment, seed, drop_remainder)
    import tensorflow as tf

    ds, y, class_names, name, channels = open_source(source, arrays, split, image_size, channels, carve_args,
                                                     data_dir, skip_unreadable)
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


def load_numpy(x, y, class_names, name, split, image_size, channels, batch_size, shuffle, augment, seed,
               drop_remainder):
    """``load``'s pipeline for in-memory arrays without TensorFlow: (ArrayBatches, DataInfo)."""
    check_labels(y, len(class_names), f"{name} [{split}]", min_present=2 if split == "train" else 0)
    x = numpy_pipeline.to_float(x, image_size, channels)
    info = DataInfo(name=name, split=split, num_examples=len(y), num_classes=len(class_names),
                    class_names=tuple(class_names), image_shape=tuple(x.shape[1:]))
    batches = numpy_pipeline.ArrayBatches(x, y, batch_size, shuffle, augment if split == "train" else None, seed,
                                          drop_remainder and len(y) >= batch_size)
    return batches, info


def check_options(split, image_size, channels, batch_size):
    """ValueError for a bad ``split``, ``image_size``, ``channels`` or ``batch_size`` of ``load``; returns
    ``image_size`` as (H, W) (or None)."""
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
    return image_size


def open_source(source, arrays, split, image_size, channels, carve_args, data_dir, skip_unreadable):
    """``split`` of any source ``load`` takes, before the common pipeline: (tf.data.Dataset of (image, label),
    labels as an array, class names, the source's name, channels (an image folder's are settled here)).
    ``arrays``: ``array_split``'s result for an in-memory source, else None."""
    import tensorflow as tf

    if arrays is not None:
        x, y, class_names, name = arrays
        return tf.data.Dataset.from_tensor_slices((x, y)), y, class_names, name, channels
    if isinstance(source, (str, os.PathLike)) and os.path.isdir(source):
        ds, y, class_names, channels = folder_source(source, split, image_size, channels, **carve_args,
                                                     skip_unreadable=skip_unreadable)
        return ds, y, class_names, os.path.basename(os.path.normpath(source)), channels
    if isinstance(source, str) and (os.path.exists(source) or source.startswith(("/", ".", "~"))):
        raise FileNotFoundError(f"{source!r} is not a folder of class sub-folders (it does not exist or is a file). "
                                "Give <folder>/<class name>/<image files>, a dataset name or (images, labels).")
    if isinstance(source, str):
        ds, y, class_names = tfds_source(source, split, data_dir, **carve_args)
        return ds, y, class_names, source, channels
    raise ValueError(f"Unknown data source {source!r}: give a dataset name, a folder or (images, labels).")


def array_split(source, split, carve_args, class_names):
    """(images, labels, class names, name) of ``split`` of an in-memory source ((images, labels) arrays or a
    local dataset such as Fashion-MNIST), or None for any other source."""
    if isinstance(source, (tuple, list)) and len(source) == 2:
        all_labels = np.asarray(source[1]).reshape(-1)
        if class_names is None:
            class_names = tuple(str(i) for i in range(int(np.max(all_labels, initial=0)) + 1))
        check_labels(all_labels, len(class_names), "(images, labels) arrays")
        x, y = array_source(*source, split, **carve_args)
        return x, y, class_names, "arrays"
    if isinstance(source, str) and source in LOCAL_SOURCES:
        reader, class_names = LOCAL_SOURCES[source]
        x, y = reader("test" if split == "test" else "train")
        x, y = array_source(x, y, split, **carve_args, has_test=True)
        return x, y, class_names, source
    return None


def choose_pipeline(pipeline, source, in_memory):
    """"tf.data" or "numpy" for ``load``'s ``pipeline`` argument (None: tf.data when TensorFlow is installed);
    ``in_memory``: ``source`` is one the numpy pipeline reads."""
    if pipeline is None:
        pipeline = "tf.data" if tensorflow_installed() else "numpy"
    if pipeline not in PIPELINES:
        raise ValueError(f"`pipeline` must be one of {list(PIPELINES)} or None; received pipeline={pipeline!r}.")
    if pipeline == "numpy" and not in_memory:
        raise ValueError(
            f"The numpy pipeline reads (images, labels) arrays and {sorted(LOCAL_SOURCES)} only; {source!r} needs "
            "tf.data: install TensorFlow (pip install tensorflow), or load the images into arrays yourself.")
    return pipeline


def tensorflow_installed():
    """Whether TensorFlow can be imported (tf.data pipelines, TensorBoard logs)."""
    return importlib.util.find_spec("tensorflow") is not None
