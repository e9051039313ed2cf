"""Calibration images for int8 exports (LiteRT full-integer and ONNX static quantisation): one resolution of
"a dataset name, an image folder or arrays" into the float32 batch the exported input takes.

Int8 needs the range of every activation, read off real inputs: a few hundred images of the data the model will
see. Random noise would calibrate the ranges of noise.
"""

import os
import warnings

import numpy as np

DEFAULT_SIZE = 300  # images; the LiteRT and onnxruntime calibrators read every one, batch 1


def _needs_data(what):
    return ValueError(
        f"{what} needs calibration data: pass representative_data='fashion_mnist' (or another dataset name "
        "keras_scse.data.load takes), a folder of images with one sub-folder per class, or an array of a few "
        "hundred inputs (N, H, W, C) in [0, 1] (uint8 is scaled by 1/255) from the data the model will see."
    )


def _from_loader(source, shape, size):
    """The first ``size`` training images of a dataset name or folder, at the model's size and channels."""
    from keras_scse import data

    image_size = None if None in shape[:2] else shape[:2]
    # tf.data reads lazily: only the first batch is decoded and resized (a numpy pipeline would resize the split)
    batches, info = data.load(source, "train", image_size=image_size, channels=shape[2], batch_size=size,
                              shuffle=False, cache=False, pipeline="tf.data")
    x = next(iter(batches))[0]
    return np.asarray(x, "float32"), f"{info.name} [train], first {len(x)} images"


def _from_arrays(source, shape, size):
    """An array batch (or a tf.data.Dataset / iterable of batches, of x or (x, y)), converted to ``shape``:
    resized to (H, W), 1 <-> 3 channels (RGBA drops alpha); other channel counts are refused."""
    from keras_scse.data.numpy_pipeline import to_float

    if hasattr(source, "__array__") or isinstance(source, (list, np.ndarray)):
        x = np.asarray(source)
    else:
        parts, count = [], 0
        for batch in source:
            batch = np.asarray(batch[0] if isinstance(batch, (tuple, list)) else batch)
            parts.append(batch)
            count += len(batch)
            if count >= size:
                break
        x = np.concatenate(parts) if parts else np.zeros((0,))
    if x.ndim == 3:  # (N, H, W): grey images without a channel axis
        x = x[..., None]
    if x.ndim != 4 or not len(x):
        raise ValueError(f"Calibration arrays must be a non-empty batch of images (N, H, W, C); received shape "
                         f"{x.shape}.")
    x = x[:size]
    if x.shape[-1] not in (1, 3, 4) or (x.shape[-1] != shape[2] and shape[2] not in (1, 3)):
        raise ValueError(f"Calibration images have {x.shape[-1]} channels and the model takes {shape[2]}: only "
                         "1 <-> 3 (and RGBA -> 1 or 3) are converted. Give images with the model's channels.")
    notes = []
    if x.shape[-1] != shape[2]:
        notes.append(f"{x.shape[-1]} -> {shape[2]} channels")
    target = tuple(d if d is not None else x.shape[1 + i] for i, d in enumerate(shape[:2]))
    if tuple(x.shape[1:3]) != target:
        notes.append(f"resized {x.shape[1]}x{x.shape[2]} -> {target[0]}x{target[1]}")
    if x.dtype != np.uint8 and np.issubdtype(x.dtype, np.floating) and x.size and float(x.max()) > 1.5:
        warnings.warn(f"Calibration images reach {float(x.max()):.4g}: keras_scse models take [0, 1] inputs "
                      "(scale 0-255 floats by 1/255), else the int8 ranges are wrong.", stacklevel=4)
    x = to_float(x, target, shape[2])
    return x, f"arrays, {len(x)} images" + (f" ({'; '.join(notes)})" if notes else "")


def calibration_images(source, input_shape, size=DEFAULT_SIZE, what="int8 quantization"):
    """(images float32 (N, H, W, C) in [0, 1], a description) for calibrating an int8 export.

    Args:
        source: a dataset name (``keras_scse.data.load``'s: "fashion_mnist", a TFDS name), a folder with one
            sub-folder per class, or images: an array (N, H, W[, C]), uint8 or float in [0, 1], or a tf.data
            Dataset / iterable of such batches (of x or (x, y)).
        input_shape: the model's (H, W, C) input (H and W may be None: then the source's size is kept).
        size: how many images to take (the first ``size``).
    """
    if source is None:
        raise _needs_data(what)
    if int(size) != size or size < 1:
        raise ValueError(f"`calibration_size` must be a positive integer; received {size!r}.")
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise ValueError(f"Calibration needs an image model (H, W, C input); this one takes {shape}.")
    if isinstance(source, (str, os.PathLike)):
        if isinstance(source, os.PathLike) or os.sep in str(source) or os.path.exists(source):
            if not os.path.isdir(source):
                raise FileNotFoundError(f"Calibration folder {str(source)!r} does not exist; give a folder with "
                                        "one sub-folder of images per class, or a dataset name such as "
                                        "'fashion_mnist'.")
        return _from_loader(str(source), shape, int(size))
    return _from_arrays(source, shape, int(size))


def batches(images):
    """The calibrators' feed: one image at a time, as a (1, H, W, C) float32 batch."""
    for i in range(len(images)):
        yield images[i:i + 1]
