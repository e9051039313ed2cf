"""Grad-CAM (Selvaraju et al. 2017): class-discriminative heat maps from a feature map and the gradient of the
class score with respect to it; and Grad-CAM++ (Chattopadhay et al. 2018), which weighs the channels otherwise."""

import keras
import numpy as np
from keras import ops

from keras_scse.applications.features import map_sizes, pyramid_layers
from keras_scse.explain import hooks
from keras_scse.explain.gradients import gradient
from keras_scse.explain.inputs import class_indices, classifier_output, model_images

MIN_CELLS = 8  # the default layer: the deepest feature map with at least 8 x 8 cells
METHODS = {"grad_cam": "Grad-CAM", "grad_cam++": "Grad-CAM++"}  # a ``method``: its name in figures


def feature_maps(model):
    """{key: layer} of the layers Grad-CAM can use, shallow to deep: a keras_scse backbone's pyramid levels
    ("P2".."P5", as ``feature_extractor``), then every layer with a 4-D output, by name."""
    try:
        levels = {key: model.get_layer(name) for key, name in pyramid_layers(model).items()}
    except ValueError:
        levels = {}
    for layer in model.layers:
        shape = getattr(layer, "output", None) is not None and layer.output.shape
        if shape and len(shape) == 4 and not isinstance(layer, keras.layers.InputLayer):
            levels.setdefault(layer.name, layer)
    return levels


def default_layer(model, candidates, image_shape):
    """The deepest pyramid level (or, without levels, the deepest 4-D layer) with at least 8 x 8 cells; when
    the input is too small for that, the one with the most cells."""
    levels = [layer for key, layer in candidates.items() if key.startswith("P") and key[1:].isdigit()]
    pool = levels or list(candidates.values())
    sizes = map_sizes(model, image_shape, pool)
    big = [layer for layer in pool if min(sizes[layer.name]) >= MIN_CELLS]
    if big:
        return big[-1]
    return max(reversed(pool), key=lambda layer: sizes[layer.name][0] * sizes[layer.name][1])


def choose_layer(model, layer, image_shape):
    """The layer Grad-CAM reads: ``layer`` as a layer name or pyramid key, or the default."""
    candidates = feature_maps(model)
    if not candidates:
        raise ValueError(f"{model.name!r} has no layer with a 4-D (batch, height, width, channels) output for "
                         "Grad-CAM.")
    if layer is None:
        return default_layer(model, candidates, image_shape)
    if layer in candidates:
        return candidates[layer]
    names = list(candidates)
    shown = names if len(names) <= 30 else names[:15] + ["..."] + names[-10:]
    raise ValueError(f"`layer`={layer!r} is not a feature map of {model.name!r}. Use a pyramid key "
                     f"{[n for n in names if n.startswith('P') and n[1:].isdigit()]} or a layer name with a "
                     f"4-D output ({len(names)}): {shown}.")


def logits_of(model):
    """The output layer whose softmax Grad-CAM steps around (the score is the class logit), or None."""
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    return last if getattr(activation, "__name__", None) == "softmax" else None


def grad_cam(model, images, class_index=None, layer=None, method="grad_cam"):
    """Grad-CAM (or Grad-CAM++) heat maps, numpy (B, H, W) in [0, 1] at the images' resolution (1 = the maximum).

    map = ReLU(sum_k a_k A_k), A = ``layer``'s output, bilinearly resized to the input and divided by its maximum
    (all zeros when nothing is positive); a_k as ``channel_weights`` for ``method``. The score is the class logit
    (the classifier's softmax is stepped around), for the predicted class by default.

    Args:
        model: a classifier, output (batch, classes).
        images: (B, H, W, C); grey <-> RGB converted (see ``model_images``).
        class_index: None (each image's predicted class), an int, or one int per image.
        layer: a layer name or a ``feature_extractor`` key ("P2".."P5"); None: the deepest feature map with at
            least 8 x 8 cells at this input size (else the one with the most cells).
        method: "grad_cam" (Selvaraju et al. 2017) or "grad_cam++" (Chattopadhay et al. 2018). Grad-CAM++ points
            at the object more often, but its maps barely change when the top layers are re-initialised (Adebayo
            et al.'s sanity check, which Grad-CAM passes): read them as where features are active, not as the
            class evidence (docs/explain.md).
    """
    return heat_maps(model, images, class_index, layer, (method,))[method]


def heat_maps(model, images, class_index=None, layer=None, methods=tuple(METHODS)):
    """{method: ``grad_cam``'s maps} for each of ``methods``, from one forward and one backward pass."""
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"`method` must be one of {list(METHODS)}; received method={method!r}.")
    x = model_images(model, images)
    classifier_output(model)
    target = choose_layer(model, layer, x.shape[1:])
    seen = {}
    with hooks.wrapped_calls([(target, hooks.record_output(seen, "A"))]):
        predictions = ops.convert_to_numpy(model(x, training=False))
    features = ops.convert_to_numpy(seen["A"])
    onehot = np.eye(predictions.shape[-1], dtype="float32")[class_indices(class_index, predictions)]
    grads = class_score_gradient(model, x, target, onehot, features.shape)
    maps = {}
    for method in methods:
        cam = np.maximum(np.einsum("bhwk,bk->bhw", features, channel_weights(method, features, grads)), 0)
        heat = ops.convert_to_numpy(ops.image.resize(cam[..., None], x.shape[1:3], interpolation="bilinear"))[..., 0]
        peak = heat.max(axis=(1, 2), keepdims=True)
        maps[method] = np.clip(np.divide(heat, peak, out=np.zeros_like(heat), where=peak > 0), 0, 1)
    return maps


def channel_weights(method, features, grads):
    """Each channel's weight a_k, (B, K), from the features A and the gradients g = d score / d A, (B, h, w, K).

    "grad_cam": the mean of g over the cells. "grad_cam++": sum over the cells of alpha * ReLU(g), alpha = g^2 /
    (2 g^2 + sum_cells(A) g^3) (the paper's eq. 19, the closed form for an exponential of the score; as
    pytorch-grad-cam's GradCAMPlusPlus): a channel active all over the map (a large sum) weighs less than one
    active only where its gradient is positive."""
    if method == "grad_cam":
        return grads.mean(axis=(1, 2))
    squared = grads**2
    denominator = 2 * squared + features.sum(axis=(1, 2), keepdims=True) * squared * grads
    alpha = np.divide(squared, denominator, out=np.zeros_like(squared), where=denominator != 0)
    return (alpha * np.maximum(grads, 0)).sum(axis=(1, 2))


def class_score_gradient(model, x, target, onehot, shape):
    """d (sum over images of the chosen class logit) / d (target's output), numpy of ``shape``."""
    head = logits_of(model)
    softmax = head.activation if head is not None else None

    def score(delta):
        with hooks.wrapped_calls([(target, hooks.record_output({}, "A", delta))]):
            return ops.sum(model(x, training=False) * onehot)

    try:
        if head is not None:
            head.activation = keras.activations.linear
        return gradient(score, np.zeros(shape, "float32"))
    finally:
        if head is not None:
            head.activation = softmax
