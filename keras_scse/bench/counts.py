"""Cost counting: parameters and FLOPs, reproducible from a model object, on every Keras backend.

``count_flops`` traces one batch-1 forward pass (inference mode) with the active backend's own tracer (a
TensorFlow graph, a JAX jaxpr, or PyTorch's dispatcher) and counts, per op:

* ``macs``: multiply-accumulates of convolutions (incl. depthwise) and matrix products (what most papers call
  "FLOPs"); the same on every backend (the attention layers are traced in one formulation everywhere,
  ``conv_formulation("batch_as_channels")``, whose MACs are those of their plain convs);
* ``flops``: 2 * macs + one FLOP per output element of element-wise ops (BN's scale/shift, activations,
  gates, bias adds) + one per input element of reductions and pooling windows. This part follows the
  backend's op graph (e.g. ReLU is a ``max`` in JAX), so it may differ between backends in the last digits.

TensorFlow, JAX and PyTorch are imported only by the tracer of the backend in use.
"""

import math

import keras
import numpy as np

# Op names per backend graph: TF op types, JAX primitives, ATen ops (TF's "Max" is a reduction, JAX's an
# element-wise maximum).
TF_ELEMENTWISE = {"Mul", "AddV2", "Add", "Sub", "RealDiv", "Maximum", "Minimum", "Sigmoid", "Relu", "Relu6",
                  "BiasAdd", "Softmax", "Rsqrt", "Tanh", "Exp", "Square", "Sqrt"}
TF_REDUCTIONS = {"Mean", "Max", "Sum", "Min"}
JAX_ELEMENTWISE = {"mul", "add", "sub", "div", "max", "min", "logistic", "rsqrt", "tanh", "exp", "sqrt",
                   "square", "integer_pow", "pow"}
JAX_REDUCTIONS = {"reduce_sum", "reduce_max", "reduce_min"}
TORCH_ELEMENTWISE = {"mul", "add", "sub", "div", "maximum", "minimum", "sigmoid", "relu", "hardtanh", "clamp",
                     "rsqrt", "tanh", "exp", "sqrt", "square", "pow", "_softmax", "clamp_min", "where"}
TORCH_REDUCTIONS = {"mean", "sum", "amax", "amin"}


def count_params(model):
    """{"trainable", "non_trainable", "total"} (BatchNorm moving statistics are the non-trainable part)."""
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    total = int(model.count_params())
    return {"trainable": trainable, "non_trainable": total - trainable, "total": total}


def _size(shape):
    return math.prod(int(d) for d in shape)


def _tf_ops(model, shape):
    """(macs, other flops) of each op of the TensorFlow graph of one forward pass."""
    import tensorflow as tf

    forward = tf.function(lambda x: model(x, training=False))
    graph = forward.get_concrete_function(tf.TensorSpec((1,) + shape, model.inputs[0].dtype)).graph
    for op in graph.get_operations():
        out = op.outputs[0].shape if op.outputs else ()
        if op.type == "Conv2D":
            kh, kw, cin, _ = op.inputs[1].shape
            yield _size(out) * kh * kw * cin, 0
        elif op.type == "DepthwiseConv2dNative":
            kh, kw, _, _ = op.inputs[1].shape
            yield _size(out) * kh * kw, 0
        elif op.type in ("MatMul", "BatchMatMulV2"):
            a = op.inputs[0].shape
            transposed = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
            yield _size(out) * int(a[-2] if transposed else a[-1]), 0
        elif op.type in TF_ELEMENTWISE:
            yield 0, _size(out)
        elif op.type in TF_REDUCTIONS:
            yield 0, _size(op.inputs[0].shape)
        elif op.type in ("MaxPool", "AvgPool"):
            yield 0, _size(out) * _size(op.get_attr("ksize"))


def _jax_ops(model, shape):
    """(macs, other flops) of each equation of the jaxpr of one forward pass (nested jaxprs included)."""
    import jax

    closed = jax.make_jaxpr(lambda x: model(x, training=False))(np.zeros((1,) + shape, model.inputs[0].dtype))

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            for param in eqn.params.values():
                for sub in param if isinstance(param, (tuple, list)) else (param,):
                    inner = getattr(sub, "jaxpr", sub)
                    if hasattr(inner, "eqns"):
                        yield from walk(inner)
            name = eqn.primitive.name
            ins = [v.aval.shape for v in eqn.invars if hasattr(v.aval, "shape")]
            out = eqn.outvars[0].aval.shape if eqn.outvars else ()
            if name == "conv_general_dilated":
                kernel = ins[1]
                out_features = kernel[eqn.params["dimension_numbers"].rhs_spec[0]]
                yield _size(out) * _size(kernel) // out_features, 0
            elif name == "dot_general":
                (contract, _), _ = eqn.params["dimension_numbers"]
                yield _size(out) * _size(ins[0][d] for d in contract), 0
            elif name in JAX_ELEMENTWISE:
                yield 0, _size(out)
            elif name in JAX_REDUCTIONS:
                yield 0, _size(ins[0])
            elif name in ("reduce_window_max", "reduce_window_sum"):
                yield 0, _size(out) * _size(eqn.params["window_dimensions"])

    yield from walk(closed.jaxpr)


def _torch_ops(model, shape):
    """(macs, other flops) of each ATen op dispatched during one forward pass."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    records = []

    class Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = func.overloadpacket.__name__.rstrip("_")
            tensors = [a for a in args if isinstance(a, torch.Tensor)]
            result = out[0] if isinstance(out, (tuple, list)) else out
            numel = result.numel() if isinstance(result, torch.Tensor) else 0
            if name == "convolution":  # weight (O, I / groups, kh, kw)
                records.append((numel * _size(args[1].shape[1:]), 0))
            elif name in ("mm", "addmm", "bmm", "baddbmm"):
                records.append((numel * tensors[-1].shape[-2], 0))
            elif name in ("mv", "dot"):  # matrix-vector products of batch-1 tensordots
                records.append((numel * tensors[0].shape[-1], 0))
            elif name in TORCH_ELEMENTWISE:
                records.append((0, numel))
            elif name in TORCH_REDUCTIONS:
                records.append((0, tensors[0].numel()))
            elif name in ("max_pool2d_with_indices", "avg_pool2d"):
                records.append((0, numel * _size(args[1])))
            return out

    x = torch.zeros((1,) + shape, dtype=getattr(torch, model.inputs[0].dtype))
    with torch.no_grad(), Recorder():
        model(x, training=False)
    return records


TRACERS = {"tensorflow": _tf_ops, "jax": _jax_ops, "torch": _torch_ops}


def count_flops(model, input_shape=None):
    """{"macs", "flops"} for one image of ``input_shape`` (default: the model's static input shape)."""
    shape = tuple(input_shape or model.input_shape[1:])
    if any(d is None for d in shape):
        raise ValueError(
            f"FLOPs need a static input size; the model's input is {model.input_shape}. Pass input_shape=(H, W, C)."
        )
    backend = keras.backend.backend()
    if backend not in TRACERS:
        raise ValueError(f"FLOP counting supports the {sorted(TRACERS)} backends; Keras runs on {backend!r}. "
                         "Set KERAS_BACKEND to one of them.")
    from keras_scse.layers.formulation import conv_formulation

    macs = other = 0
    # One formulation of the attention convs on every backend, so that counts agree (and with the committed
    # tables); its MACs are those of the plain convs.
    with conv_formulation("batch_as_channels"):
        for op_macs, op_other in TRACERS[backend](model, shape):
            macs += op_macs
            other += op_other
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
