"""Grad-CAM and Grad-CAM++ maps and attention gates of a saved model on the backend KERAS_BACKEND names (a
subprocess of tests/test_explain.py): argv = model.keras, inputs.npz (x, classes), output.npz."""

import sys

import keras
import numpy as np

from keras_scse import explain
from keras_scse.explain.gradcam import METHODS

model = keras.saving.load_model(sys.argv[1], safe_mode=True)
data = np.load(sys.argv[2])
maps = explain.attention_maps(model, data["x"])
heat = {method: explain.grad_cam(model, data["x"], data["classes"], method=method) for method in METHODS}
np.savez(sys.argv[3], backend=keras.backend.backend(), **heat,
         **{f"{key}|{name}": gate for key, gates in maps.items() for name, gate in gates.items()})
