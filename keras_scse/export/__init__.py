"""Export trained models for inference: ONNX (tf2onnx + onnxruntime parity) and SavedModel (TF Serving).

    report = keras_scse.export.to_onnx(model, "model.onnx")          # checks parity with onnxruntime
    report = keras_scse.export.to_savedmodel(model, "saved_model/")  # reloads and checks parity

Both refuse models that contain data-augmentation layers (``check_exportable``): augmentation is
training-only randomness and stays in the input pipeline. ONNX export needs the ``export`` extra
(``pip install keras-scse[export]``: tf2onnx, onnx, onnxruntime).
"""

from keras_scse.export.onnx_export import to_onnx
from keras_scse.export.savedmodel import to_savedmodel
from keras_scse.export.serving import AUGMENTATION_LAYERS, ExportError, ParityError, check_exportable

__all__ = ["AUGMENTATION_LAYERS", "ExportError", "ParityError", "check_exportable", "to_onnx", "to_savedmodel"]
