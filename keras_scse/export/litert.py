"""LiteRT (TFLite) export: the serving function as a SavedModel (Keras' ExportArchive), TensorFlow's LiteRT
converter with builtin ops only, then parity with ``ai_edge_litert``'s interpreter (what phones and small CPUs
run). Float32, float16 weights, dynamic-range int8 weights, or full-integer int8 calibrated on real images.

The attention layers are traced in the "plain" conv formulation (``layers.formulation``): TensorFlow's "auto"
(batch_as_channels) lowers to DepthwiseConv2dNative with a batch-dependent channel count, which LiteRT's builtins
do not take (ERROR_NEEDS_FLEX_OPS). Of the formulations LiteRT takes, "plain" runs fastest; "fused" gives the
fewest ops and the smallest file (the shipped SCSENet44 in 726 ops against 932: 11 per SC-SE block, not 16) but
runs slower (its wide strip convs); a one-block SC-SENet in "plain" has 96 ops, "banded" 242, "shifted" 320
(benchmarks/results/export/README.md).

int8 weights: per tensor (one scale a weight tensor) unless the model has depthwise convolutions, whose channels'
weight ranges (after BatchNorm is folded in) differ too much for one scale (Krishnamoorthi 2018, "Quantizing deep
convolutional networks for efficient inference"). Elsewhere per-channel scales (a float32 scale and an int64 zero
point per output channel) cost a sixth of an int8 file for little accuracy (the shipped SCSENet44: 92.29% against
92.21% per tensor). TFLiteConverter's only switch for it is private (``_experimental_disable_per_channel``), so the
written file is checked: the report's ``per_channel`` says what it holds.

Every tensor of a .tflite file carries a debug name (TensorFlow's fused op locations, up to ~360 characters):
a fifth of an int8 file. ``debug_names=False`` (the default) empties them, keeping the input and output tensors'
names and the signature (``get_signature_runner("serving_default")``), with TensorFlow's own flatbuffer_utils.
"""

import os
import re
import tempfile
import time
import warnings

import keras

from keras_scse.export import calibration, parity, serving, tf_subprocess

QUANTIZATIONS = (None, "float16", "dynamic", "int8")
LITERT_FORMULATION = "plain"
INT8_WEIGHTS = ("dynamic", "int8")  # the quantizations with int8 weights, where per_channel applies
# Largest allowed max |litert - keras| per quantization; None: measured and reported, not enforced (int8
# moves softmax outputs by a few 1/256 steps, more on random noise than on images).
DEFAULT_ATOL = {None: 1e-4, "float16": 1e-2, "dynamic": None, "int8": None}


def _configure(converter, quantize, images, per_channel=True):
    """Set ``converter`` up for ``quantize``: builtin ops only (never Flex: the deployed runtimes lack it)."""
    import tensorflow as tf

    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize is None:
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    # Private switch (TFLiteConverter has no public one): one scale per weight tensor, not per output channel.
    converter._experimental_disable_per_channel = not per_channel
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":  # every op in int8; the file keeps float32 input and output
        converter.representative_dataset = lambda: ([x] for x in calibration.batches(images))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]


def _conversion_error(model, error):
    """ExportError naming each op the converter refused and, where its location shows it, the Keras layer."""
    text = str(error)
    layer_names = {layer.name for layer, _ in serving.walk_layers(model)}
    ops = re.findall(r"'tf\.([A-Za-z0-9_]+)' op is neither", text)
    for listed in re.findall(r"(?:Custom|Flex) ops: ([A-Za-z0-9_, ]+)", text):
        ops += [op.strip() for op in listed.split(",") if op.strip()]
    described = []
    for op_type in dict.fromkeys(ops):  # the converter's location of the op carries the layer's name scope
        node = re.search(rf'fused\["{op_type}:", "([^"@]+)', text)
        layer = serving.layer_of(node.group(1), layer_names) if node else None
        described.append(f"{op_type} (in layer {layer!r})" if layer else op_type)
    if not described:
        return serving.ExportError(f"The LiteRT converter could not convert model {model.name!r}: "
                                   f"{type(error).__name__}: {text[:800]}")
    return serving.ExportError(
        f"Model {model.name!r} uses TensorFlow op(s) that LiteRT's builtin ops do not include: "
        f"{'; '.join(dict.fromkeys(described))}. Replace the layer with supported operations (LiteRT's Flex "
        "delegate is not part of the deployed runtimes), or export ONNX or a SavedModel instead."
    )


def clear_tensor_names(flatbuffer):
    """.tflite bytes with every tensor's name emptied but the subgraphs' inputs' and outputs': the signatures
    (which name tensors by index) and the model's behaviour unchanged (TensorFlow's flatbuffer_utils; unlike its
    ``strip_strings``, which also deletes the signatures that ``get_signature_runner`` needs)."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    for graph in model.subgraphs:
        kept = set(graph.inputs) | set(graph.outputs)
        for i, tensor in enumerate(graph.tensors):
            tensor.name = tensor.name if i in kept else None
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _checked_per_channel(model, quantize, per_channel):
    """``per_channel`` checked against ``quantize``, "auto" resolved (without int8 weights nothing is switched)."""
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"`quantize` must be one of {list(QUANTIZATIONS)}; received quantize={quantize!r}.")
    if per_channel not in ("auto", True, False):
        raise ValueError(f"`per_channel` must be 'auto', True or False; received per_channel={per_channel!r}.")
    if per_channel is False and quantize not in INT8_WEIGHTS:
        raise ValueError(f"per_channel=False applies to int8 weights (quantize='dynamic' or 'int8'); received "
                         f"quantize={quantize!r}.")
    if per_channel == "auto":
        return has_depthwise_convs(model) if quantize in INT8_WEIGHTS else True
    return per_channel


def has_depthwise_convs(model):
    """Whether ``model`` has a depthwise (or separable) convolution anywhere: per_channel="auto" keeps
    per-channel int8 weights for it."""
    kinds = (keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
    return any(isinstance(layer, kinds) for layer, _ in serving.walk_layers(model))


def weights_per_channel(flatbuffer):
    """Whether a .tflite file's weights are quantized per channel: some constant tensor has several scales."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    return any(tensor.quantization is not None and tensor.quantization.scale is not None
               and len(tensor.quantization.scale) > 1 and model.buffers[tensor.buffer].data is not None
               for graph in model.subgraphs for tensor in graph.tensors)


def _write(flatbuffer, path, quantize, per_channel):
    """Write the .tflite bytes; return whether its weights are per channel (None without int8 weights), warning
    when the converter ignored the private per-tensor switch."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(flatbuffer)
    written = weights_per_channel(flatbuffer) if quantize in INT8_WEIGHTS else None
    if written and not per_channel:
        warnings.warn("TensorFlow's LiteRT converter ignored `_experimental_disable_per_channel` (a private switch): "
                      f"{path} has per-channel int8 weights, a larger file.", stacklevel=3)
    return written


def _convert(model, function, quantize, images, per_channel=True, debug_names=True):
    """The .tflite bytes of ``function`` (written as a SavedModel first, as Keras' own LiteRT export does:
    converting the concrete function directly keeps Keras' variables as resource variables, READ_VARIABLE ops
    with no weights in the file, which int8 calibration then cannot run); without debug_names, names cleared."""
    import tensorflow as tf

    from keras_scse.export.savedmodel import write_archive

    with tempfile.TemporaryDirectory() as folder:
        write_archive(model, function, folder)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        _configure(converter, quantize, images, per_channel)
        try:
            flatbuffer = converter.convert()
        except Exception as error:  # noqa: BLE001 - re-raised with the op and layer named
            raise _conversion_error(model, error) from error
    return flatbuffer if debug_names else clear_tensor_names(flatbuffer)


def to_litert(model, path, quantize=None, representative_data=None, calibration_size=calibration.DEFAULT_SIZE,
              dynamic_batch=True, check=True, sample=None, atol="auto", formulation=LITERT_FORMULATION,
              debug_names=False, per_channel="auto"):
    """Export a Keras model to LiteRT (a .tflite file) and check it against Keras with ai_edge_litert.

    Args:
        model: a functional (or Sequential, built with an Input) keras.Model with one input.
        path: the .tflite file to write (parent folders are created).
        quantize: None (float32), "float16" (float16 weights), "dynamic" (int8 weights, float activations) or
            "int8" (full-integer: int8 weights and activations, calibrated on ``representative_data``; float32
            input and output).
        representative_data: int8's calibration images: a dataset name ("fashion_mnist"), a folder with a sub-folder
            per class, or an array (N, H, W, C) (``calibration.calibration_images``: converts sizes, 1 <-> 3 channels).
        calibration_size: how many of them (the first N).
        dynamic_batch: batch dimension free; False fixes it to 1.
        check: run the parity check (random inputs at batch 1 and 3, and ``sample``).
        sample: optional real inputs (an array batch, or a tf.data.Dataset whose first batch's x is used).
        atol: largest allowed max |litert - keras|; "auto": ``DEFAULT_ATOL[quantize]``; None: report only.
        formulation: how the attention layers are traced (``layers.formulation``; the module docstring).
        debug_names: keep every tensor's name; False (default): only the input's and outputs' (and the signature).
        per_channel: int8 weights with a scale per output channel (True) or per tensor (False: a smaller file,
            through the converter's private ``_experimental_disable_per_channel``); "auto": True only for models
            with depthwise convolutions (the module docstring).

    Returns:
        ``to_onnx``'s report (format "litert") plus quantize, formulation, bytes, calibration (where the images
        came from), debug_names, per_channel (what the file holds; None without int8 weights) and, when
        quantized, the top-1 agreement with Keras on the calibration images (or ``sample``).

    Raises:
        ValueError: bad ``quantize`` (or per_channel=False without int8 weights), int8 without calibration
            data, unusable calibration images, or a model that cannot be exported as it is (``check_exportable``).
        ExportError: an op LiteRT's builtins do not take (the message names the op and its layer).
        ParityError: the LiteRT outputs differ from Keras by more than ``atol``.
    """
    per_channel = _checked_per_channel(model, quantize, per_channel)
    atol = DEFAULT_ATOL[quantize] if atol == "auto" else atol
    images, source = None, None
    if quantize == "int8":
        serving.check_exportable(model)
        images, source = calibration.calibration_images(representative_data, model.inputs[0].shape[1:],
                                                        calibration_size, what="LiteRT int8")
    if keras.backend.backend() != "tensorflow":
        return tf_subprocess.via_tensorflow(
            "to_litert", model, path, check, sample, atol, quantize=quantize, representative_data=images,
            dynamic_batch=dynamic_batch, formulation=formulation, debug_names=debug_names, per_channel=per_channel)
    start = time.time()
    sample, spec, function, names = serving.prepare(model, sample, dynamic_batch, None, formulation)
    flatbuffer = _convert(model, function, quantize, images, per_channel, debug_names)
    written = _write(flatbuffer, path, quantize, per_channel)
    extra = {"quantize": quantize, "formulation": formulation, "bytes": len(flatbuffer),
             "calibration": source, "debug_names": debug_names, "per_channel": written}
    diffs = {}
    if check:
        runner = parity.litert_runner(path, names)
        diffs = parity.compare(model, runner, names, parity.cases(spec, sample), atol, path, fmt="LiteRT")
        if quantize is not None and (sample is not None or images is not None):
            extra["agreement"] = parity.agreement(model, runner, names, images if sample is None else sample)
    return serving.export_report(path, "litert", spec, names, atol, diffs, start, **extra)
