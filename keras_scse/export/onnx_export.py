"""ONNX export with tf2onnx: a tf.function with a named TensorSpec input -> from_function -> onnxruntime parity.

tf2onnx's ``from_keras`` fails on keras.Sequential models with Keras 3 (onnx/tensorflow-onnx#2448);
``from_function`` on a traced call works for every Keras model.
"""

import contextlib
import logging
import os
import re
import tempfile
import time

import keras

from keras_scse import version
from keras_scse.export import calibration, parity, serving, tf_subprocess
from keras_scse.export import quantize as quantization


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages = []

    def emit(self, record):
        try:
            self.messages.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a broken log record must not break the export
            pass


@contextlib.contextmanager
def _collect_tf2onnx_errors():
    handler = _Collect()
    logger = logging.getLogger("tf2onnx")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _all_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.g is not None and attr.g.node:
                yield from _all_nodes(attr.g)
            for sub in attr.graphs:
                yield from _all_nodes(sub)


def _unsupported_nodes(proto):
    """Nodes tf2onnx left as TensorFlow ops (it converts with continue_on_error=True)."""
    import onnx

    bad = []
    for node in _all_nodes(proto.graph):
        if node.domain in ("", "ai.onnx") and not onnx.defs.has(node.op_type):
            bad.append(node)
    return bad


def _unsupported_error(model, ops, log_messages):
    """ExportError naming each unsupported op and, where the node name shows it, the Keras layer."""
    layer_names = {layer.name for layer, _ in serving.walk_layers(model)}
    described = []
    for op_type, node_name in ops:
        layer = serving.layer_of(node_name, layer_names)
        where = f"in layer {layer!r}" if layer else "outside any named layer"
        described.append(f"{op_type} (node {node_name!r}, {where})")
    details = "; ".join(dict.fromkeys(described))
    extra = f" tf2onnx said: {' | '.join(dict.fromkeys(log_messages))[:600]}" if log_messages else ""
    return serving.ExportError(
        f"Model {model.name!r} uses TensorFlow op(s) that tf2onnx cannot convert to ONNX: {details}. Replace the "
        f"layer with supported operations, pass a higher `opset`, or export a SavedModel instead.{extra}"
    )


def _name_dims(proto, spec):
    """Readable symbolic dims on the graph input/outputs: batch, height, width (instead of unk__123)."""
    shape = spec.shape.as_list()
    labels = ["batch"] + (["height", "width"] if len(shape) == 4 else [f"dim{i}" for i in range(1, len(shape) - 1)])
    labels.append("channels")
    renamed = {}
    for graph_input in proto.graph.input:
        if graph_input.name != spec.name:
            continue
        for dim, label, size in zip(graph_input.type.tensor_type.shape.dim, labels, shape):
            if size is None and dim.dim_param:
                renamed[dim.dim_param] = label
                dim.dim_param = label
    for value in list(proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        for i, dim in enumerate(dims):
            if dim.dim_param in renamed:
                dim.dim_param = renamed[dim.dim_param]
            elif i == 0 and shape[0] is None and dim.dim_param:
                dim.dim_param = "batch"


def to_onnx(model, path, opset=17, dynamic_batch=True, dynamic_spatial=None, check=True, sample=None, atol=1e-4,
            quantize=None, representative_data=None, calibration_size=calibration.DEFAULT_SIZE):
    """Export a Keras model to ONNX (tf2onnx) and check it against Keras with onnxruntime.

    Args:
        model: a functional (or Sequential, built with an Input) keras.Model with one input.
        path: the .onnx file to write (parent folders are created).
        opset: ONNX opset (17 by default).
        dynamic_batch: batch dimension free ("batch"); False fixes it to 1.
        dynamic_spatial: None: height/width free exactly when the model accepts any size (built with
            ``input_shape=(None, None, C)``); True: require that; False: fix them (from ``sample`` if the
            model's own are free).
        check: run the onnxruntime parity check on random inputs (batch 1 and 3 when the batch is free; sizes
            32 and 45 when height/width are) and on ``sample``.
        sample: optional real inputs (an array batch, or a tf.data.Dataset whose first batch's x is used).
        atol: largest allowed max-absolute difference between ONNX and Keras outputs (float32 only: an int8
            file's difference is measured and reported, not enforced).
        quantize: None (float32) or "int8": onnxruntime's static quantisation (QDQ, uint8 activations,
            per-channel int8 weights; ``quantize.quantize_onnx``) calibrated on ``representative_data``.
        representative_data, calibration_size: int8's calibration images, as ``to_litert`` takes them.

    Returns:
        A report dict: path, format, opset, input_name, input_shape (None = dynamic), input_dtype, output_name
        (a list if the model has several outputs), output_names, atol, max_abs_diff {"random": ..,
        "sample": ..} (empty without check), seconds; with int8 also calibration and agreement (top-1 with
        Keras on the calibration images or ``sample``).

    Raises:
        ValueError: the model cannot be exported as it is (see ``check_exportable``).
        ExportError: tf2onnx cannot convert an op (the message names the op and its layer).
        ParityError: the ONNX outputs differ from Keras by more than ``atol`` (the message gives the diff).
    """
    images, extra = _calibration(model, quantize, representative_data, calibration_size)
    atol = None if quantize else atol
    if keras.backend.backend() != "tensorflow":
        return tf_subprocess.via_tensorflow("to_onnx", model, path, check, sample, atol, opset=opset,
                                            dynamic_batch=dynamic_batch, dynamic_spatial=dynamic_spatial,
                                            quantize=quantize, representative_data=images)
    import onnx  # noqa: F401 - the export extra's ImportError comes before any tracing
    import tf2onnx  # noqa: F401

    start = time.time()
    sample, spec, function, names = serving.prepare(model, sample, dynamic_batch, dynamic_spatial)
    proto = _convert(model, function, spec, opset)
    _name_dims(proto, spec)
    # tf2onnx names the outputs after the returned dict's keys (in sorted order); `names` keeps the model's order
    # and onnxruntime is always asked for outputs by name.
    graph_outputs = [o.name for o in proto.graph.output]
    if sorted(graph_outputs) != sorted(names):
        raise serving.ExportError(f"tf2onnx wrote outputs {graph_outputs}, expected {names}")
    _save(proto, model, path, spec.name, images)
    diffs = _check_parity(model, path, spec, names, sample, atol, extra, images) if check else {}
    return serving.export_report(path, "onnx", spec, names, atol, diffs, start, opset=opset, **extra)


def _calibration(model, quantize, representative_data, calibration_size):
    """(calibration images or None, the report's quantize fields) for ``quantize``; ValueError if unusable."""
    if quantize not in quantization.ONNX_QUANTIZATIONS:
        raise ValueError(f"`quantize` must be one of {list(quantization.ONNX_QUANTIZATIONS)} for ONNX; received "
                         f"quantize={quantize!r} (float16 and dynamic are LiteRT's: to_litert).")
    if quantize is None:
        return None, {"quantize": None}
    serving.check_exportable(model)
    images, source = calibration.calibration_images(representative_data, model.inputs[0].shape[1:],
                                                    calibration_size, what="ONNX int8")
    return images, {"quantize": quantize, "calibration": source}


def _convert(model, function, spec, opset):
    """The ONNX proto of the traced ``function``; ExportError naming the op (and layer) tf2onnx cannot convert."""
    import tf2onnx

    with _collect_tf2onnx_errors() as log_messages:
        try:
            proto, _ = tf2onnx.convert.from_function(function, input_signature=[spec], opset=opset)
        except Exception as error:  # noqa: BLE001 - re-raised with context
            text = str(error)
            ops = re.findall(r"\[([^\]:]+): ([A-Za-z0-9_]+)\]", " ".join(log_messages))
            if ops:
                raise _unsupported_error(model, [(t, n) for n, t in ops], log_messages) from error
            raise serving.ExportError(
                f"tf2onnx could not convert model {model.name!r} (opset {opset}): {type(error).__name__}: "
                f"{text[:800]}"
            ) from error
    bad = _unsupported_nodes(proto)
    if bad:
        raise _unsupported_error(model, [(n.op_type, n.name) for n in bad], log_messages)
    return proto


def _save(proto, model, path, input_name, images=None):
    """Write ``proto`` to ``path`` (parent folders created), with keras_scse's version and the model's name in
    its metadata; with calibration ``images``, its int8 (QDQ) version instead."""
    import onnx

    for key, value in (("keras_scse_version", version.__version__), ("model_name", model.name)):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if images is None:
        onnx.save(proto, path)
        return
    with tempfile.TemporaryDirectory() as scratch:
        float_path = os.path.join(scratch, "float.onnx")
        onnx.save(proto, float_path)
        quantization.quantize_onnx(float_path, path, input_name, images)


def _check_parity(model, path, spec, names, sample, atol, extra, images):
    """{kind: max |onnx - keras|} on random inputs and ``sample`` through onnxruntime (see ``parity.compare``);
    ``atol`` None: measured only. An int8 file's top-1 agreement with Keras goes into ``extra``."""
    try:
        session = parity.onnx_session(path)
    except Exception as error:  # noqa: BLE001 - re-raised with context
        raise serving.ExportError(
            f"onnxruntime cannot load the exported model {path!r}: {type(error).__name__}: {str(error)[:800]}"
        ) from error
    runner = parity.onnx_runner(session, spec, names)
    diffs = parity.compare(model, runner, names, parity.cases(spec, sample), atol, path, fmt="ONNX")
    if images is not None:
        extra["agreement"] = parity.agreement(model, runner, names, images if sample is None else sample)
    return diffs
