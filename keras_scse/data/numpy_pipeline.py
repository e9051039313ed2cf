"""The same pipeline without TensorFlow, for in-memory sources: a ``keras.utils.PyDataset`` of numpy batches.

``load(..., pipeline="numpy")`` (chosen by itself when TensorFlow is not installed, e.g. Keras on JAX on a GPU
machine) gives what the tf.data pipeline gives for (images, labels) arrays and local Fashion-MNIST: float32 in
[0, 1], resized (``keras.ops.image.resize``, bilinear as ``tf.image.resize``) and channel-adapted once, shuffled
each epoch, the same flip + padded-crop augmentation, drawn from numpy with the run's seed.
"""

import math

import keras
import numpy as np

GREY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140], "float32")  # tf.image.rgb_to_grayscale's
RESIZE_CHUNK = 4096  # images resized at a time (bounds the float copy's memory)


def to_float(images, image_size, channels):
    """(N, H, W, C) uint8 or float -> float32 in [0, 1] at ``image_size`` (H, W) with ``channels``."""
    x = np.asarray(images)
    x = x.astype("float32") / 255.0 if x.dtype == np.uint8 else x.astype("float32")
    have = x.shape[-1]
    if channels is not None and have != channels:
        if have == 4:  # RGBA: drop alpha
            x, have = x[..., :3], 3
        if have == 3 and channels == 1:
            x = np.tensordot(x, GREY_WEIGHTS, axes=[[3], [0]])[..., None]
        elif have == 1 and channels == 3:
            x = np.repeat(x, 3, axis=-1)
        elif have != channels:
            raise ValueError(f"Cannot convert images with {have} channels to {channels}; supported: 1 <-> 3 "
                             "(and RGBA -> 1 or 3).")
    if image_size is not None and tuple(x.shape[1:3]) != tuple(image_size):
        chunks = [keras.ops.convert_to_numpy(keras.ops.image.resize(x[i:i + RESIZE_CHUNK], image_size,
                                                                    interpolation="bilinear", antialias=False))
                  for i in range(0, len(x), RESIZE_CHUNK)]
        x = np.concatenate(chunks) if chunks else np.zeros((0, *image_size, x.shape[-1]), "float32")
    return np.ascontiguousarray(x, dtype="float32")


def flip_crop(batch, rng, flip):
    """A random crop after zero-padding by 1/8 of the size, after a left-right flip when ``flip`` (per image)."""
    n, h, w, _ = batch.shape
    pad = h // 8
    if flip:
        mirrored = rng.random(n) < 0.5
        batch = np.where(mirrored[:, None, None, None], batch[:, :, ::-1], batch)
    padded = np.pad(batch, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    tops, lefts = rng.integers(0, 2 * pad + 1, n), rng.integers(0, 2 * pad + 1, n)
    return np.stack([padded[i, top:top + h, left:left + w] for i, (top, left) in enumerate(zip(tops, lefts))])


class ArrayBatches(keras.utils.PyDataset):
    """Batches of (images float32 (B, H, W, C), labels int32 (B,) or one-hot float32 (B, classes))."""

    def __init__(self, images, labels, batch_size, shuffle=False, augment=None, seed=0, drop_remainder=False,
                 one_hot_classes=None):
        super().__init__()
        self.images, self.labels = images, np.asarray(labels, "int32")
        self.batch_size, self.shuffle, self.augment, self.seed = int(batch_size), shuffle, augment, seed
        self.drop_remainder, self.one_hot_classes = drop_remainder, one_hot_classes
        self.epoch = 0
        self.order = self._order()

    def _order(self):
        if not self.shuffle:
            return np.arange(len(self.labels))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.labels))

    def __len__(self):
        count = len(self.labels) / self.batch_size
        return int(count) if self.drop_remainder else math.ceil(count)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        take = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        x, y = self.images[take], self.labels[take]
        if self.augment:
            x = flip_crop(x, np.random.default_rng([self.seed, self.epoch, index]), self.augment == "flip_crop")
        if self.one_hot_classes:
            y = np.eye(self.one_hot_classes, dtype="float32")[y]
        return x, y

    def on_epoch_end(self):
        self.epoch += 1
        self.order = self._order()

    def with_one_hot(self, num_classes):
        """The same batches with one-hot labels (what the training loss takes)."""
        return ArrayBatches(self.images, self.labels, self.batch_size, self.shuffle, self.augment, self.seed,
                            self.drop_remainder, one_hot_classes=num_classes)

    def take(self, count):
        """The first ``count`` batches (tf.data's ``take``, for the callers that read a few batches)."""
        return [self[i] for i in range(min(count, len(self)))]
