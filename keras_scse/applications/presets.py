"""keras-hub-style presets over the registered weights: "Model/weights" names, ``from_preset`` with overrides,
model cards and ``decode_predictions`` from the classes the weights carry."""

import numpy as np

from keras_scse.applications import weights as weights_lib
from keras_scse.applications.registry import get_model


def list_presets():
    """The registered presets, "Model/weights" (e.g. "SCSENet44/fashion_mnist")."""
    return sorted(f"{model}/{name}" for model, name in weights_lib.PRETRAINED)


def preset_entry(preset):
    model, _, name = str(preset).partition("/")
    entry = weights_lib.PRETRAINED.get((model, name))
    if entry is None:
        raise ValueError(f"Unknown preset {preset!r}. Registered presets: {list_presets()}.")
    return entry


def model_card(preset):
    """What the preset's weights are, how they were made (data, recipe, command) and how well they do."""
    return preset_entry(preset).card()


def from_preset(preset, **kwargs):
    """The preset's model with its weights. ``kwargs`` override the constructor's arguments: e.g.
    ``include_top=False, pooling="avg"`` for a backbone, ``input_shape=(64, 64, 1)`` for another input size,
    ``name="x"``. Classes and input shape default to the checkpoint's."""
    entry = preset_entry(preset)
    kwargs.setdefault("classes", entry.classes)
    return get_model(entry.model, weights=entry.name, **kwargs)


def decode_predictions(preds, preset, top=5):
    """As keras.applications' ``decode_predictions``: for each row of ``preds`` (batch, classes), the ``top``
    (class name, score) pairs, best first, with the class names of the preset's weights."""
    entry = preset_entry(preset)
    if entry.source.startswith("keras.applications"):  # ImageNet: keras.applications' own class index
        import keras

        return keras.applications.imagenet_utils.decode_predictions(np.asarray(preds), top=top)
    names = entry.class_names
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != len(names):
        raise ValueError(f"`decode_predictions` expects a batch of predictions of shape (samples, {len(names)}) "
                         f"for {preset!r}; received shape {preds.shape}.")
    order = np.argsort(-preds, axis=1)[:, :top]
    return [[(names[i], float(row[i])) for i in best] for row, best in zip(preds, order)]
