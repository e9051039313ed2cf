"""SavedModel export for TF Serving (keras.export.ExportArchive), reloaded with tf.saved_model.load to check."""

import os
import shutil
import time

from keras_scse.export import parity, serving, tf_subprocess


def write_archive(model, function, path):
    """Write ``model``'s variables and ``function`` (the ``serve`` endpoint and ``serving_default``) as a
    SavedModel folder: Keras' ExportArchive, as ``model.export`` does."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", function)
    archive.write_out(path, verbose=False)


def to_savedmodel(model, path, check=True, sample=None, atol=1e-4, dynamic_batch=True, overwrite=True):
    """Export a Keras model as a TensorFlow SavedModel with a ``serving_default`` signature.

    The signature takes one named input (the model's input name, e.g. ``input``, batch dimension free and
    height/width as the model's) and returns ``{output name: tensor}`` (e.g. ``predictions``); the same
    function is the ``serve`` endpoint. With ``check``, the folder is reloaded with ``tf.saved_model.load``
    and the signature's outputs are compared with Keras on random inputs and on ``sample``.

    Returns a report dict like ``to_onnx``'s (format "savedmodel", signature "serving_default").
    Raises ValueError for models that cannot be exported (``check_exportable``), ParityError above ``atol``.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return tf_subprocess.via_tensorflow("to_savedmodel", model, path, check, sample, atol,
                                            dynamic_batch=dynamic_batch, overwrite=overwrite)
    import tensorflow as tf

    start = time.time()
    sample, spec, function, names = serving.prepare(model, sample, dynamic_batch, None)

    if os.path.exists(path):
        if not overwrite:
            raise FileExistsError(f"{path!r} exists; pass overwrite=True or choose another path.")
        if os.path.isdir(path) and not os.path.exists(os.path.join(path, "saved_model.pb")):
            raise FileExistsError(f"{path!r} is a folder that is not a SavedModel; refusing to replace it.")
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    write_archive(model, function, path)

    diffs = {}
    if check:
        loaded = tf.saved_model.load(path)
        signature = loaded.signatures["serving_default"]

        def runner(x):
            out = signature(**{spec.name: tf.constant(x)})
            return {n: out[n].numpy() for n in names}

        diffs = parity.compare(model, runner, names, parity.cases(spec, sample), atol, path, fmt="SavedModel")
    return serving.export_report(path, "savedmodel", spec, names, atol, diffs, start, signature="serving_default")
