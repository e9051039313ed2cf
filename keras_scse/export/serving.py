"""What both exporters share: the exportability check, the serving signature, inputs for parity checks."""

import os
import re
import time

import keras
import numpy as np

# Training-only randomness (keras.layers image augmentation). Deterministic preprocessing (Rescaling,
# Normalization, Resizing, AutoContrast, Equalization, ...) is allowed; Dropout/GaussianNoise are inert at
# inference and allowed too.
AUGMENTATION_LAYER_NAMES = (
    "AugMix", "CutMix", "MixUp", "RandAugment", "Solarization",
    "RandomBrightness", "RandomColorDegeneration", "RandomColorJitter", "RandomContrast", "RandomCrop",
    "RandomElasticTransform", "RandomErasing", "RandomFlip", "RandomGaussianBlur", "RandomGrayscale",
    "RandomHeight", "RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization", "RandomRotation",
    "RandomSaturation", "RandomSharpness", "RandomShear", "RandomTranslation", "RandomWidth", "RandomZoom",
)
AUGMENTATION_LAYERS = tuple(
    getattr(keras.layers, n) for n in AUGMENTATION_LAYER_NAMES if isinstance(getattr(keras.layers, n, None), type)
)

# Spatial sizes used for the random-input parity check when the exported input has dynamic H/W: one even,
# one odd (odd sizes exercise "same" padding with stride 2, where converters most often go wrong).
DYNAMIC_CHECK_SIZES = (32, 45)
# Batch sizes of the random-input parity check when the batch dimension is dynamic.
DYNAMIC_CHECK_BATCHES = (1, 3)


class ExportError(RuntimeError):
    """The model could not be converted (e.g. an op the target format does not support)."""


class ParityError(ExportError):
    """The exported model's outputs differ from the Keras model's by more than the tolerance."""


def _children(layer):
    if hasattr(layer, "_flatten_layers"):
        return list(layer._flatten_layers(include_self=False, recursive=False))
    return list(getattr(layer, "layers", []) or [])


def walk_layers(model):
    """Yield (layer, path) for every layer inside ``model``, nested models and layers' sub-layers included."""
    seen = {id(model)}
    stack = [(child, f"{model.name}/{child.name}") for child in reversed(_children(model))]
    while stack:
        layer, path = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer, path
        stack.extend((child, f"{path}/{child.name}") for child in reversed(_children(layer)))


def check_exportable(model):
    """Raise ValueError if ``model`` cannot be exported as it is; return None otherwise.

    Refused: anything but a built Keras model with one input, and data-augmentation layers anywhere inside
    (RandomFlip, RandomCrop, RandomRotation, RandomZoom, RandomContrast, RandomTranslation, ...), because
    their randomness belongs to training: keep augmentation in the input pipeline, outside the exported model.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"Expected a keras.Model to export. Received: {type(model).__name__}")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ValueError(
            f"Model {model.name!r} has no defined inputs (a subclassed or unbuilt model). Export a functional "
            "model, or a Sequential model that starts with keras.Input(shape=...)."
        )
    if len(inputs) != 1:
        raise ValueError(
            f"Model {model.name!r} has {len(inputs)} inputs; the exporters support models with exactly one input."
        )
    found = [(path, type(layer).__name__) for layer, path in walk_layers(model)
             if isinstance(layer, AUGMENTATION_LAYERS)]
    if found:
        listed = ", ".join(f"{path!r} ({cls})" for path, cls in found)
        raise ValueError(
            f"Model {model.name!r} contains data-augmentation layer(s): {listed}. Augmentation is training-only "
            "randomness and must not be part of an exported model. Keep it outside the model (keras_scse.data "
            "augments in tf.data), or rebuild the model without these layers and copy the other layers' weights."
        )


def output_names(model):
    names = list(getattr(model, "output_names", None) or [])
    if len(names) != len(model.outputs) or len(set(names)) != len(names):
        names = [f"output_{i}" for i in range(len(model.outputs))]
    return [sanitize(n) for n in names]


def sanitize(name):
    """A name TensorFlow accepts for a TensorSpec / signature key (and ONNX for a graph input)."""
    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(name).split(":")[0])
    return name if re.match(r"[A-Za-z]", name) else f"x_{name}"


def input_spec(model, dynamic_batch=True, dynamic_spatial=None, sample=None):
    """The named tf.TensorSpec of the exported input.

    Batch: None if ``dynamic_batch`` else 1. Inner dims (H, W): None when the model accepts any size
    (built with ``input_shape=(None, None, C)``) and ``dynamic_spatial`` is not False; ``dynamic_spatial=True``
    on a fixed-size model is an error; ``dynamic_spatial=False`` on a dynamic model takes the sizes from
    ``sample``.
    """
    import tensorflow as tf

    keras_input = model.inputs[0]
    shape = list(keras_input.shape)
    inner = shape[1:-1]
    model_dynamic = any(d is None for d in inner)
    if dynamic_spatial and not model_dynamic:
        raise ValueError(
            f"dynamic_spatial=True, but model {model.name!r} was built for a fixed input shape {tuple(shape[1:])}. "
            "Rebuild it with input_shape=(None, None, channels) (and load the weights) to export dynamic sizes."
        )
    if dynamic_spatial is False and model_dynamic:
        if sample is None:
            raise ValueError(
                f"dynamic_spatial=False, but model {model.name!r} accepts any size {tuple(shape[1:])} and no "
                "`sample` was given to fix the size from. Pass `sample`, or build the model with a fixed input_shape."
            )
        inner = list(np.shape(sample)[1:-1])
    batch = None if dynamic_batch else 1
    name = sanitize(getattr(keras_input, "name", None) or "input")
    dtype = keras_input.dtype if isinstance(keras_input.dtype, str) else "float32"
    return tf.TensorSpec([batch, *inner, shape[-1]], tf.as_dtype(dtype), name=name)


def serving_function(model, spec, formulation="plain"):
    """A tf.function of the single named input returning {output name: tensor} (inference mode), the attention
    layers' one-output convs traced as ``formulation`` ("plain": the conv layers, what converters take)."""
    import tensorflow as tf

    names = output_names(model)

    def serve(x):
        from keras_scse.layers.formulation import conv_formulation

        with conv_formulation(formulation):  # the same function, in ops the target format takes
            return dict(zip(names, as_list(model, model(x, training=False))))

    return tf.function(serve, input_signature=[spec], autograph=False), names


def sample_array(sample, dtype):
    """``sample`` as one numpy batch: arrays/tensors as they are; a tf.data.Dataset or iterable: its first
    batch, and of an (x, y[, w]) tuple the x."""
    if sample is None:
        return None
    if not hasattr(sample, "__array__") and not isinstance(sample, (list, np.ndarray)):
        first = next(iter(sample))
        sample = first[0] if isinstance(first, (tuple, list)) else first
    array = np.asarray(sample).astype(dtype, copy=False)
    if array.ndim < 2:
        raise ValueError(f"`sample` must be a batch of inputs (batch first). Received shape {array.shape}")
    return array


def random_inputs(spec, seed=0):
    """Random uniform [0, 1) batches covering the exported shape's dynamic dims: batch 1 and 3 when the batch
    is dynamic, ``DYNAMIC_CHECK_SIZES`` when H/W are."""
    rng = np.random.default_rng(seed)
    shape = spec.shape.as_list()
    batches = DYNAMIC_CHECK_BATCHES if shape[0] is None else (shape[0],)
    sizes = DYNAMIC_CHECK_SIZES if any(d is None for d in shape[1:-1]) else (None,)
    out = []
    for i in range(max(len(batches), len(sizes))):
        batch, size = batches[i % len(batches)], sizes[i % len(sizes)]
        inner = [size if d is None else d for d in shape[1:-1]]
        out.append(rng.random((batch, *inner, shape[-1])).astype(spec.dtype.as_numpy_dtype))
    return out


def as_list(model, outputs):
    """A model call's outputs as a list in ``model.outputs`` order."""
    if isinstance(outputs, dict):
        keys = list(getattr(model, "output_names", None) or [])
        return [outputs[k] for k in keys] if set(keys) == set(outputs) else list(outputs.values())
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    return [outputs]


def keras_outputs(model, x, names):
    outputs = as_list(model, model(x, training=False))
    return {n: np.asarray(keras.ops.convert_to_numpy(o)) for n, o in zip(names, outputs)}


def max_abs_diff(expected, got):
    worst = 0.0
    for name, ref in expected.items():
        value = np.asarray(got[name])
        if value.shape != ref.shape:
            raise ExportError(f"Output {name!r}: exported shape {value.shape} != Keras shape {ref.shape}")
        diff = float(np.max(np.abs(value.astype(np.float64) - ref.astype(np.float64)))) if ref.size else 0.0
        if not np.isfinite(diff):
            return float("nan")
        worst = max(worst, diff)
    return worst


def layer_of(op_name, layer_names):
    """The deepest Keras layer whose name scope appears in a TF/ONNX node name, or None."""
    for part in reversed(re.split(r"[/:]", op_name)):
        for candidate in (part, re.sub(r"_\d+$", "", part)):
            if candidate in layer_names:
                return candidate
    return None


def prepare(model, sample, dynamic_batch, dynamic_spatial, formulation="plain"):
    """What every exporter starts with: refuse augmentation, then (sample array, input spec, serving function,
    output names)."""
    check_exportable(model)
    dtype = model.inputs[0].dtype if isinstance(model.inputs[0].dtype, str) else "float32"
    sample = sample_array(sample, dtype)
    spec = input_spec(model, dynamic_batch, dynamic_spatial, sample)
    function, names = serving_function(model, spec, formulation)
    return sample, spec, function, names


def export_report(path, fmt, spec, names, atol, diffs, start, **extra):
    """The report dict both exporters return (see ``to_onnx``); ``extra`` adds format-specific fields."""
    return {
        "path": os.path.abspath(path),
        "format": fmt,
        **extra,
        "input_name": spec.name,
        "input_shape": spec.shape.as_list(),
        "input_dtype": spec.dtype.name,
        "output_name": names[0] if len(names) == 1 else names,
        "output_names": names,
        "atol": atol,
        "max_abs_diff": diffs,
        "seconds": round(time.time() - start, 2),
    }
