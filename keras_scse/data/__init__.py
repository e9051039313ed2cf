"""Data pipelines: local Fashion-MNIST, TFDS by name, image folders, in-memory arrays.

Every source ends in the same pipeline (``keras_scse.data.pipeline``): float32 images in [0, 1], resized /
channel-adapted, cached, shuffled, augmented, batched and prefetched, in tf.data, or in numpy without
TensorFlow for in-memory sources (``numpy_pipeline``). Sources and the carving of missing validation/test
splits: ``keras_scse.data.sources``; image folders: ``keras_scse.data.folders``. Start with ``load``.
"""

from keras_scse.data.folders import (
    IMAGE_EXTENSIONS,
    folder_files,
    folder_source,
    folder_spec,
    image_shape,
    progress,
    to_channels,
)
from keras_scse.data.numpy_pipeline import ArrayBatches
from keras_scse.data.pipeline import (
    AUGMENTATIONS,
    AUTOTUNE,
    PIPELINES,
    DataInfo,
    augment_fn,
    check_augment,
    finish,
    load,
    preprocess,
)
from keras_scse.data.sources import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIRS,
    LOCAL_SOURCES,
    SPLITS,
    array_source,
    carve,
    check_labels,
    fashion_mnist_arrays,
    fashion_mnist_dir,
    read_idx,
    tfds_source,
)

__all__ = [
    "AUGMENTATIONS", "AUTOTUNE", "ArrayBatches", "PIPELINES", "FASHION_MNIST_CLASSES", "FASHION_MNIST_DIRS",
    "IMAGE_EXTENSIONS", "LOCAL_SOURCES",
    "SPLITS", "DataInfo", "array_source", "augment_fn", "carve", "check_augment", "check_labels",
    "fashion_mnist_arrays", "fashion_mnist_dir", "finish", "folder_files", "folder_source", "folder_spec",
    "image_shape", "load", "preprocess", "progress", "read_idx", "tfds_source", "to_channels",
]
