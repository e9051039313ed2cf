"""The gradient of a scalar function of one tensor, one small function per Keras backend."""

import keras
from keras import ops


def tensorflow_gradient(fn, delta):
    import tensorflow as tf

    delta = tf.convert_to_tensor(delta)
    with tf.GradientTape() as tape:
        tape.watch(delta)
        value = fn(delta)
    return tape.gradient(value, delta)


def jax_gradient(fn, delta):
    import jax

    return jax.grad(fn)(delta)


def torch_gradient(fn, delta):
    import torch

    delta = delta.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(delta), delta)
    return grad


GRADIENTS = {"tensorflow": tensorflow_gradient, "jax": jax_gradient, "torch": torch_gradient}


def gradient(fn, delta):
    """d fn / d delta at ``delta`` (numpy) on the running Keras backend, as a numpy array."""
    backend = keras.backend.backend()
    if backend not in GRADIENTS:
        raise ValueError(f"Gradients are implemented for the backends {sorted(GRADIENTS)}; Keras runs on "
                         f"{backend!r}. Set KERAS_BACKEND to one of them.")
    return ops.convert_to_numpy(GRADIENTS[backend](fn, ops.convert_to_tensor(delta)))
