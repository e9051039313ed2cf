"""Export trained models for inference: ONNX (tf2onnx + onnxruntime parity), LiteRT (TFLite, ai_edge_litert
parity), SavedModel (TF Serving); int8 for ONNX and LiteRT, calibrated on real images.

    report = keras_scse.export.to_onnx(model, "model.onnx")          # checks parity with onnxruntime
    report = keras_scse.export.to_litert(model, "model.tflite", quantize="int8", representative_data="fashion_mnist")
    report = keras_scse.export.to_savedmodel(model, "saved_model/")  # reloads and checks parity

Every exporter refuses models that contain data-augmentation layers (``check_exportable``): augmentation is
training-only randomness and stays in the input pipeline. ONNX and LiteRT export need the ``export``
extra (``pip install keras-scse[export]``: tf2onnx, onnx, onnxruntime, ai-edge-litert).
"""

from keras_scse.export.calibration import calibration_images
from keras_scse.export.litert import to_litert
from keras_scse.export.onnx_export import to_onnx
from keras_scse.export.savedmodel import to_savedmodel
from keras_scse.export.serving import AUGMENTATION_LAYERS, ExportError, ParityError, check_exportable

__all__ = ["AUGMENTATION_LAYERS", "ExportError", "ParityError", "calibration_images", "check_exportable", "to_litert",
           "to_onnx", "to_savedmodel"]
