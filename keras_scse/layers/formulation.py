"""How the attention layers compute their one-output convolutions: a public policy, not a hidden switch.

The attention layers' spatial and channel gates are convolutions with ONE output channel on small pooled maps.
Computed as plain Keras convs they are slow on some backends, so ``apply_conv`` (``layers.base``) can compute
the same function in several ways (tests/test_layers.py and tests/test_backends.py assert they agree):

- "plain": the Keras conv layers themselves; what graph converters (tf2onnx, LiteRT) take.
- "batch_as_channels": one depthwise conv over the batch's maps.
- "shifted": k x k shifted slices of one small matmul, summed (element-wise ops that XLA fuses).
- "banded": one matmul with a banded matrix along the height, kw shifted slices along the width.
- "fused": "plain" in the fewest graph ops, for converters (LiteRT int8: every op is a tensor with its own
  quantisation parameters and table entries): the channel gate's conv1d as one conv on the descriptor's 1 x C
  view (no expand_dims), SC-SE's two pooled strip convs as one wide conv (``base.axial_gate``: the means folded
  into the kernel) with one sigmoid and a product over its two channels. Needs static map sizes (else "plain").
- "auto": ``AUTO_FORMULATION[backend][kernel kind]``, the fastest measured (``formulation``).

Choose one with ``with conv_formulation("plain"): ...`` around the model's first call or tracing: a traced or
compiled function keeps the choice it was traced with. Nothing in keras_scse changes it except inside such a
block (the exporters trace under "plain").
"""

import contextlib

import keras

FORMULATIONS = ("auto", "plain", "batch_as_channels", "shifted", "banded", "fused")

# "auto" per backend, for 1-D kernels (1 x k and k x 1: SC-SE's strip convs, the channel conv1d of SC-SE and
# ECA) and for k x k kernels (SCA, CBAM): the cheapest SqueezeNext44 training step on the 2-core CPU, from
# benchmarks/results/speed/formulations.md (k x k) and formulations_1d.md (1-D). PyTorch has not been
# measured: it takes JAX's 1-D rule and plain k x k convs. No GPU has been measured.
AUTO_FORMULATION = {
    "tensorflow": {"1d": "batch_as_channels", "kxk": "batch_as_channels"},
    "jax": {"1d": "shifted", "kxk": "banded"},
    "torch": {"1d": "shifted", "kxk": "plain"},
}

# Process-wide on purpose, not a contextvars.ContextVar: tf.distribute's MirroredStrategy traces each replica in
# a thread of its own, which would not see a context variable set around model.fit. Set only by conv_formulation.
_active = {"formulation": "auto"}


@contextlib.contextmanager
def conv_formulation(name):
    """Within the block, the attention layers' one-output convs are computed as ``name`` (see the module)."""
    if name not in FORMULATIONS:
        raise ValueError(f"Unknown conv formulation {name!r}; use one of {list(FORMULATIONS)}.")
    previous, _active["formulation"] = _active["formulation"], name
    try:
        yield
    finally:
        _active["formulation"] = previous


def plain_convs():
    """``conv_formulation("plain")``: what graph converters take."""
    return conv_formulation("plain")


def formulation(kernel_size):
    """The formulation a one-output conv with this (kh, kw) kernel size uses now: the active one, or under "auto"
    ``AUTO_FORMULATION``'s choice for the backend and kernel kind."""
    chosen = _active["formulation"]
    if chosen != "auto":
        return chosen
    return AUTO_FORMULATION[keras.backend.backend()]["1d" if min(kernel_size) == 1 else "kxk"]
