"""Cost counting: parameters and FLOPs, reproducible from a model object.

``count_flops`` traces one batch-1 forward pass (inference mode) to a TensorFlow graph and counts, per op:

* ``macs``: multiply-accumulates of Conv2D / DepthwiseConv2D / MatMul (what most papers call "FLOPs");
* ``flops``: 2 * macs + one FLOP per output element of element-wise ops (BN's scale/shift, activations,
  gates, bias adds) + one per input element of reductions and pooling windows.
"""

import math

import numpy as np
import tensorflow as tf

ELEMENTWISE = {"Mul", "AddV2", "Add", "Sub", "RealDiv", "Maximum", "Minimum", "Sigmoid", "Relu", "Relu6",
               "BiasAdd", "Softmax", "Rsqrt", "Tanh", "Exp", "Square", "Sqrt"}
REDUCTIONS = {"Mean", "Max", "Sum", "Min"}
POOLS = {"MaxPool", "AvgPool"}


def count_params(model):
    """{"trainable", "non_trainable", "total"} (BatchNorm moving statistics are the non-trainable part)."""
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    total = int(model.count_params())
    return {"trainable": trainable, "non_trainable": total - trainable, "total": total}


def _size(shape):
    return math.prod(int(d) for d in shape)


def _op_macs(op):
    if op.type not in ("Conv2D", "DepthwiseConv2dNative", "MatMul", "BatchMatMulV2"):
        return 0
    out = op.outputs[0].shape
    if op.type == "Conv2D":
        kh, kw, cin, _ = op.inputs[1].shape
        return _size(out) * kh * kw * cin
    if op.type == "DepthwiseConv2dNative":
        kh, kw, _, _ = op.inputs[1].shape
        return _size(out) * kh * kw
    if op.type in ("MatMul", "BatchMatMulV2"):
        a = op.inputs[0].shape
        transposed = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
        return _size(out) * int(a[-2] if transposed else a[-1])
    return 0


def _op_other_flops(op):
    if op.type in ELEMENTWISE:
        return _size(op.outputs[0].shape)
    if op.type in REDUCTIONS:
        return _size(op.inputs[0].shape)
    if op.type in POOLS:
        return _size(op.outputs[0].shape) * _size(op.get_attr("ksize"))
    return 0


def count_flops(model, input_shape=None):
    """{"macs", "flops"} for one image of ``input_shape`` (default: the model's static input shape)."""
    shape = tuple(input_shape or model.input_shape[1:])
    if any(d is None for d in shape):
        raise ValueError(
            f"FLOPs need a static input size; the model's input is {model.input_shape}. Pass input_shape=(H, W, C)."
        )
    forward = tf.function(lambda x: model(x, training=False))
    graph = forward.get_concrete_function(tf.TensorSpec((1,) + shape, model.inputs[0].dtype)).graph
    macs = other = 0
    for op in graph.get_operations():
        macs += _op_macs(op)
        other += _op_other_flops(op)
    return {"macs": int(macs), "flops": int(2 * macs + other)}


def model_row(name, classes=1000, input_size=None, channels=3, **kwargs):
    """One model-table row: params (trainable/total), MACs and FLOPs at the given or default input size."""
    from keras_scse import applications

    shape = (input_size, input_size, channels) if input_size else None
    model = applications.get_model(name, classes=classes, input_shape=shape, **kwargs)
    params = count_params(model)
    flops = count_flops(model)
    return {"model": name, "input_shape": tuple(model.input_shape[1:]), "classes": classes,
            "params": params["total"], "trainable_params": params["trainable"], **flops}
