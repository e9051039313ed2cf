"""Temporary wrappers around a layer's ``call`` (an instance attribute, removed on exit): see what a layer
received or returned during a forward pass, or add a perturbation to its output, without touching the model's
graph or weights. Works for nested layers and on every backend (Keras runs ``self.call`` in eager mode)."""

import contextlib


@contextlib.contextmanager
def wrapped_calls(wrappers):
    """Within the block, ``layer.call`` is ``wrap(original_call)`` for each (layer, wrap) in ``wrappers``."""
    saved = []
    try:
        for layer, wrap in wrappers:
            own = layer.__dict__.get("call")  # a call set on the instance itself (rare): put it back after
            layer.call = wrap(layer.call)
            saved.append((layer, own))
        yield
    finally:
        for layer, own in reversed(saved):
            if own is None:
                del layer.call
            else:
                layer.call = own


def record_inputs(store, key):
    """A wrap that keeps the first input ``x`` the layer is called on as ``store[key]``."""
    def wrap(call):
        def recording_call(x, *args, **kwargs):
            store.setdefault(key, x)
            return call(x, *args, **kwargs)
        return recording_call
    return wrap


def record_output(store, key, delta=None):
    """A wrap that keeps the layer's output as ``store[key]`` and returns it plus ``delta`` (when given): the
    gradient of anything downstream with respect to ``delta`` at 0 is its gradient with respect to the output."""
    def wrap(call):
        def perturbed_call(*args, **kwargs):
            y = call(*args, **kwargs)
            store[key] = y
            return y if delta is None else y + delta
        return perturbed_call
    return wrap
