"""Weight transfer by layer name, and pretrained keras.applications weights for attention backbones.

Our ResNet and MobileNetV2 keep keras.applications' layer names, so the plain keras.applications model
(built with ``weights="imagenet"``, which uses Keras' own cache and download, or with a local weights file)
is the source, and ``transfer_weights`` copies it into the attention model: the attention layers are the only
target layers the source does not have.
"""

import os
import warnings

import keras

from keras_scse import layers as attention_layers


def transfer_weights(source_model, target_model, strict=True):
    """Copy the weights of every layer whose name and weight shapes match from ``source_model``.

    Returns a report dict:

    * ``copied``: names of target layers whose weights were copied;
    * ``skipped``: {name: reason} for target layers whose name exists in the source but whose weights do not
      match (count or shapes);
    * ``not_in_source``: target layers with weights and no same-named source layer (e.g. attention layers);
    * ``unused_source``: source layers with weights that no target layer took.

    Mismatches are never ignored silently: with ``strict=True`` (default) they raise ``ValueError`` and
    nothing is copied; with ``strict=False`` they are warned about and listed in ``skipped``.
    """
    source_layers = {layer.name: layer for layer in source_model.layers}
    plan, skipped, missing = [], {}, []
    for layer in target_model.layers:
        if not layer.weights:
            continue
        source = source_layers.get(layer.name)
        if source is None:
            missing.append(layer.name)
            continue
        want = [tuple(w.shape) for w in layer.weights]
        have = [tuple(w.shape) for w in source.weights]
        if want != have:
            skipped[layer.name] = (
                f"weight shapes differ: target {type(layer).__name__} {want}, source {type(source).__name__} {have}"
            )
            continue
        plan.append((layer, source))
    if skipped:
        lines = "\n".join(f"  {name}: {reason}" for name, reason in skipped.items())
        message = f"{len(skipped)} layer(s) of {target_model.name!r} do not match {source_model.name!r}:\n{lines}"
        if strict:
            raise ValueError(
                f"{message}\nBuild both models with the same classes/include_top/width, or pass strict=False "
                "to copy only the matching layers."
            )
        warnings.warn(message, stacklevel=2)
    for layer, source in plan:
        layer.set_weights(source.get_weights())
    copied = [layer.name for layer, _ in plan]
    taken = set(copied) | set(skipped)
    unused = [layer.name for layer in source_model.layers if layer.weights and layer.name not in taken]
    return {"copied": copied, "skipped": skipped, "not_in_source": missing, "unused_source": unused}


def keras_home():
    """Keras' cache root, computed as Keras does: $KERAS_HOME, else ~/.keras (/tmp/.keras if ~ is read-only)."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    return os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")


def attention_options(attention, attention_kwargs, identity_start, pretrained, sca_kernel_size):
    """Resolve the attention keyword arguments of a backbone.

    * SCA gets ``kernel_size=sca_kernel_size`` unless the user set it;
    * ``identity_start`` None means ``pretrained`` (weights come from a plain keras.applications model); when
      True every attention layer is built with ``residual_gate=True`` (an exact identity at start, see
      ``AttentionLayer``), which needs an ``AttentionLayer`` subclass (all registered layers are).
    """
    if attention is None:
        return None
    factory = attention_layers.get(attention)  # fails early on unknown names
    kwargs = dict(attention_kwargs or {})
    if factory is attention_layers.SpatialChannelAttention:
        kwargs.setdefault("kernel_size", sca_kernel_size)
    gateable = isinstance(factory, type) and issubclass(factory, attention_layers.AttentionLayer)
    if identity_start is None:
        identity_start = pretrained and gateable
    if identity_start:
        if not gateable:
            raise ValueError(
                f"identity_start=True needs an AttentionLayer subclass (it sets residual_gate=True); received "
                f"attention={attention!r}. Use a registered name {attention_layers.names()} or identity_start=False."
            )
        kwargs["residual_gate"] = True
    return kwargs


def load_weights(model, args, keras_name, file_name, attention_names=(), **source_options):
    """Load ``args.weights`` ("imagenet" or a local file) into ``model``; returns the transfer report (or None).

    With ``keras_name`` (a keras.applications constructor such as "ResNet50"), the weights go into the plain
    keras.applications model built with ``model``'s head and input (``args``) and ``source_options`` (e.g.
    MobileNetV2's alpha), and are copied into ``model`` by ``transfer_weights``; every layer of ``model`` with
    weights must be covered except ``attention_names``. "imagenet" goes through Keras' own cache and download;
    ``file_name`` is the file Keras caches, named in the error when it cannot be fetched. A local file that does not
    load into the plain model (e.g. a checkpoint of this very model) is loaded directly with ``model.load_weights``.
    Loads are strict: a file that does not match the model raises ``ValueError``.
    """
    weights = args.weights
    if weights is None:
        return None
    if keras_name is None:
        return _load_direct(model, weights, None)
    constructor = getattr(keras.applications, keras_name)
    source_kwargs = dict(include_top=args.include_top, input_shape=tuple(model.inputs[0].shape[1:]),
                         pooling=args.pooling, classes=args.classes,
                         classifier_activation=args.classifier_activation, **source_options)
    if isinstance(weights, str) and weights == "imagenet":
        try:
            source = constructor(weights="imagenet", **source_kwargs)
        except Exception as err:
            _raise_imagenet_error(err, keras_name, file_name)
    else:
        source = constructor(weights=None, **source_kwargs)
        try:
            _strict_load(source, weights)
        except Exception as err:
            return _load_direct(model, weights, err)
    report = transfer_weights(source, model)
    unexpected = [name for name in report["not_in_source"] if name not in set(attention_names)]
    if unexpected or report["unused_source"]:
        raise ValueError(
            f"The weights of keras.applications.{keras_name} do not cover {model.name!r}: target layers not in "
            f"the source {unexpected}, source layers not used {report['unused_source']}."
        )
    return report


def _raise_imagenet_error(err, keras_name, file_name):
    cached = os.path.join(keras_home(), "models", file_name)
    if isinstance(err, ValueError) or os.path.exists(cached):
        raise err  # keras.applications' own argument checks, a bad hash, or a broken cached file
    raise FileNotFoundError(
        f"Could not fetch the ImageNet weights of keras.applications.{keras_name} ({type(err).__name__}: {err}). "
        f"Without network access, put the file {file_name!r} at {cached} (Keras' cache, "
        "$KERAS_HOME/models/<file name>; KERAS_HOME defaults to ~/.keras), or pass weights=<local path to the "
        ".h5 file>."
    ) from err


def _strict_load(model, path):
    """``model.load_weights`` that also fails on Keras' "skipping ... no matching group" partial loads."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.load_weights(path)
    partial = [str(w.message) for w in caught if "saving" in w.filename]
    if partial:
        raise ValueError(f"The file does not match the model: {partial[0]}")
    for w in caught:  # not ours to swallow
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _short(err, limit=300):
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _load_direct(model, path, source_error):
    try:
        _strict_load(model, path)
    except Exception as err:
        tried = f"as keras.applications weights: {_short(source_error)}; " if source_error is not None else ""
        raise ValueError(
            f"Could not load the weights file {os.fspath(path)!r} into {model.name!r}: {tried}"
            f"as a weights file of this model: {_short(err)}. If it is a checkpoint of this model, build it with "
            "the same options (attention, attention_kwargs, identity_start) it was saved with."
        ) from err
    return None
