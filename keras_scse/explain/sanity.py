"""The model-randomisation test of Adebayo et al. (2018, "Sanity checks for saliency maps"): a map that explains
the model must change when the model's top layers are re-initialised; one that does not shows the image (its
edges, where features are active), not what the model learned."""

import warnings

import keras
import numpy as np
from scipy.stats import spearmanr

from keras_scse.applications.features import pyramid_layers
from keras_scse.explain.gradcam import METHODS, heat_maps
from keras_scse.explain.inputs import model_images


def top_layers(model):
    """Names of the layers with weights above the second-deepest pyramid level: the deepest stage, what follows it
    and the head (the first step of Adebayo et al.'s top-down cascade)."""
    levels = list(pyramid_layers(model).values())  # shallow to deep
    names = [layer.name for layer in model.layers]  # a functional model's layers are in the order they run
    cut = names.index(levels[-2]) + 1 if len(levels) > 1 else 0
    return [layer.name for layer in model.layers[cut:] if layer.weights]


def sanity_check(model, images, class_index=None, layers=None, methods=tuple(METHODS), layer=None):
    """{method: (B,) Spearman rank correlations} between each image's heat map from ``model`` and from a copy of it
    whose ``layers`` are re-initialised (``model`` itself is left alone). Near 0: the maps depend on what those
    layers learned; near 1: they do not (Grad-CAM passes on keras_scse models, Grad-CAM++ does not:
    docs/explain.md). A map that is constant in either model has no ranks and counts as 0.

    Args:
        class_index: None (the trained model's predicted class, for both models), an int or one per image.
        layers: names of the layers to re-initialise; None: ``top_layers(model)`` (needs a keras_scse backbone).
        methods, layer: as ``grad_cam``'s ``method`` and ``layer``.
    """
    known = {item.name for item in model.layers}
    layers = top_layers(model) if layers is None else list(layers)
    unknown = [name for name in layers if name not in known]
    if not layers:
        raise ValueError("`layers` is empty: name at least one layer to re-initialise (or pass None for "
                         "`top_layers(model)`).")
    if unknown:
        raise ValueError(f"`layers` must name layers of {model.name!r} to re-initialise; not in the model: "
                         f"{unknown}. See [layer.name for layer in model.layers].")
    x = model_images(model, images)
    if class_index is None:
        class_index = np.asarray(model.predict(x, verbose=0)).argmax(-1)
    trained = heat_maps(model, x, class_index, layer, methods)
    randomised = keras.models.clone_model(model)  # every layer freshly initialised
    for original, copy in zip(model.layers, randomised.layers):
        if original.name not in layers:
            copy.set_weights(original.get_weights())
    after = heat_maps(randomised, x, class_index, layer, methods)
    with warnings.catch_warnings():  # a constant map has no ranks: scipy warns and returns nan
        warnings.simplefilter("ignore")
        return {method: np.nan_to_num([spearmanr(a.ravel(), b.ravel())[0] for a, b in zip(trained[method],
                                                                                          after[method])])
                for method in methods}
