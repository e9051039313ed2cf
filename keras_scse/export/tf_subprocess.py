"""Export from the JAX and PyTorch backends: the exporters trace TensorFlow graphs, so they run on the same
weights in a TensorFlow-backend subprocess (a .keras file is backend-independent)."""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from keras_scse.export import parity, serving


def via_tensorflow(exporter, model, path, check=True, sample=None, atol=1e-4, **options):
    """Export a model built on the JAX or PyTorch backend: ``exporter`` ("to_onnx" or "to_savedmodel") runs on
    the same weights in a TensorFlow-backend subprocess (a .keras file is backend-independent; both exporters
    trace TensorFlow graphs); then the exported file's outputs are checked against ``model`` itself here.
    Needs TensorFlow installed (it is a keras_scse dependency); the subprocess's own parity check runs too."""
    if sample is not None and not isinstance(sample, np.ndarray):
        raise ValueError("From the JAX/PyTorch backends `sample` must be a numpy array batch.")
    with tempfile.TemporaryDirectory() as folder:
        saved = os.path.join(folder, "model.keras")
        model.save(saved)
        arrays = {}  # array options (calibration images) travel as .npy files
        for key, value in list(options.items()):
            if isinstance(value, np.ndarray):
                arrays[key] = os.path.join(folder, f"{key}.npy")
                np.save(arrays[key], options.pop(key))
        script = ("import json, sys, keras, numpy; from keras_scse import export; "
                  "model = keras.saving.load_model(sys.argv[1], safe_mode=True); "
                  "options = {**json.loads(sys.argv[3]), "
                  "**{k: numpy.load(v) for k, v in json.loads(sys.argv[4]).items()}}; "
                  f"report = export.{exporter}(model, sys.argv[2], check={bool(check)}, atol={atol}, "
                  "**options); print(json.dumps(report))")
        env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
        done = subprocess.run([sys.executable, "-c", script, saved, path, json.dumps(options),
                               json.dumps(arrays)], env=env,
                              capture_output=True, text=True)
    if done.returncode:
        raise serving.ExportError(f"Exporting {model.name!r} in a TensorFlow-backend process failed: "
                          f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}. "
                          f"Save the model (model.save('m.keras')) and run KERAS_BACKEND=tensorflow keras-scse export "
                          "--model-path m.keras --debug to see why.")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if check and report["format"] in ("onnx", "litert"):  # a SavedModel is checked in the TensorFlow process only
        report["max_abs_diff"]["source_backend"] = parity.source_backend_parity(model, report, sample, atol)
    return report
