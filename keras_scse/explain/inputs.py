"""What explain's functions accept: images shaped and coloured for the model, class indices, the classifier."""

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], "float32")  # ITU-R BT.601 weights: RGB -> grey


def model_input_shape(model):
    """The model's (H, W, C) (H, W may be None); a clear error for a model with several inputs."""
    shape = model.input_shape
    if isinstance(shape, list) or len(shape) != 4:
        raise ValueError(f"Model {model.name!r} must take one batch of images (batch, height, width, channels); "
                         f"its input shape is {shape}.")
    return tuple(shape[1:])


def model_images(model, images):
    """``images`` as float32 (B, H, W, C) for ``model``.

    Channels are converted when that is unambiguous: grey (C=1) is repeated to RGB for a 3-channel model, RGB
    is turned into grey with the BT.601 weights (0.299 R + 0.587 G + 0.114 B) for a 1-channel model. Any other
    mismatch, a wrong rank or a spatial size the model does not take raises a ValueError saying what to do.
    Pixel values are used as given (scale them as the model was trained)."""
    x = np.asarray(images, dtype="float32")
    height, width, channels = model_input_shape(model)
    if x.ndim != 4:
        raise ValueError(f"`images` must be a batch of shape (batch, height, width, channels), e.g. (n, {height}, "
                         f"{width}, {channels}) for {model.name!r}; received shape {x.shape}. One image: pass "
                         "image[None]; greyscale without a channel axis: pass images[..., None].")
    if x.shape[-1] != channels:
        if (x.shape[-1], channels) == (1, 3):
            x = np.repeat(x, 3, axis=-1)
        elif (x.shape[-1], channels) == (3, 1):
            x = (x @ LUMA)[..., None]
        else:
            raise ValueError(f"{model.name!r} takes {channels}-channel images; received {x.shape[-1]} channels "
                             f"(shape {x.shape}). Only grey <-> RGB is converted here; convert the images first.")
    for size, expected in ((x.shape[1], height), (x.shape[2], width)):
        if expected is not None and size != expected:
            raise ValueError(f"{model.name!r} takes {height}x{width} images; received {x.shape[1]}x{x.shape[2]} "
                             f"(shape {x.shape}). Resize them first, e.g. keras.ops.image.resize(images, "
                             f"({height}, {width})).")
    return x


def classifier_output(model):
    """The number of classes of a model whose output is (batch, classes); else a ValueError."""
    shape = model.output_shape
    if isinstance(shape, (list, dict)) or len(shape) != 2 or not shape[-1]:
        raise ValueError(f"Grad-CAM needs a classifier with one output of shape (batch, classes); {model.name!r} "
                         f"outputs {shape}. Build it with include_top=True.")
    return int(shape[-1])


def class_indices(class_index, predictions):
    """One class per image: argmax of ``predictions`` (B, K) when None, an int for all, or a sequence of B."""
    batch, classes = predictions.shape
    if class_index is None:
        return np.argmax(predictions, axis=-1)
    chosen = np.broadcast_to(np.asarray(class_index), (batch,)) if np.ndim(class_index) == 0 else \
        np.asarray(class_index)
    if chosen.shape != (batch,) or not np.issubdtype(chosen.dtype, np.integer):
        raise ValueError(f"`class_index` must be None, an int, or one int per image ({batch} images); received "
                         f"{class_index!r}.")
    if chosen.min() < 0 or chosen.max() >= classes:
        raise ValueError(f"`class_index` must be in [0, {classes - 1}] (the model has {classes} classes); "
                         f"received {class_index!r}.")
    return chosen.astype("int64")
