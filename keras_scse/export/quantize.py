"""Int8 ONNX: onnxruntime's static quantisation (QDQ), calibrated on the images ``calibration`` resolves."""

import os
import tempfile

from keras_scse.export import calibration

ONNX_QUANTIZATIONS = (None, "int8")


def _reader(input_name, images):
    """An onnxruntime CalibrationDataReader feeding ``images`` one at a time."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feed = ({input_name: x} for x in calibration.batches(images))

        def get_next(self):
            return next(self.feed, None)

    return Reader()


def quantize_onnx(float_path, path, input_name, images):
    """Write the int8 (QDQ) version of the float ONNX file ``float_path`` to ``path``.

    uint8 activations and per-channel int8 weights: onnxruntime's recommendation for x86 CPUs with VNNI
    (reduce_range stays off); the activation ranges are the min/max over ``images``. The file is shape-inferred
    and optimised first (``quant_pre_process``), as onnxruntime asks; with ONNX's shape inference, not its
    symbolic one (that needs sympy, and tf2onnx's files carry their shapes).
    """
    from onnxruntime.quantization import QuantFormat, QuantType, quant_pre_process, quantize_static

    with tempfile.TemporaryDirectory() as folder:
        prepared = os.path.join(folder, "prepared.onnx")
        quant_pre_process(float_path, prepared, skip_symbolic_shape=True)
        quantize_static(prepared, path, _reader(input_name, images), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
