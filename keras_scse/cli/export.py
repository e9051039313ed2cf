"""``keras-scse export``: ONNX, LiteRT or SavedModel export of a trained or registered model, checked; int8 for
ONNX and LiteRT, calibrated on a dataset or an image folder."""

import os
import tempfile
import time

from keras_scse.cli.common import (
    keras_file,
    library_defaults,
    non_negative_float,
    positive_int,
    size_or_any,
)

FORMAT_NAMES = {"onnx": "ONNX (tf2onnx)", "litert": "LiteRT (TensorFlow's converter)", "savedmodel": "a SavedModel"}


def cmd_export(args):
    from keras_scse import applications, export, quiet

    if args.model_path:
        import keras

        model = keras.saving.load_model(args.model_path, compile=False)
    else:
        size = None if args.input_size in (None, "any") else args.input_size
        shape = None if args.input_size is None else (size, size, args.channels or 3)
        model = applications.get_model(args.model, input_shape=shape, classes=args.classes)
    started = time.time()
    calibrating = f", calibrating int8 on {args.calibration}" if args.quantize == "int8" else ""
    print(f"[keras-scse] exporting {model.name} to {FORMAT_NAMES[args.format]}{calibrating}, then checking it "
          "against keras (a minute or more on a CPU)...", flush=True)
    # the converters' native log (I0000/W0000 lines) and Keras' tracing warnings: only the result is printed
    with quiet.native_stderr_silenced(quiet.for_command()):
        report = _export(export, model, output_path(args), args)
    print(f"[keras-scse] done in {time.time() - started:.0f} s", flush=True)
    diffs = ", ".join(f"{k} {v:.2e}" for k, v in report["max_abs_diff"].items()) or "not checked"
    kind = {"onnx": f"onnx, opset {args.opset}", "litert": "litert",
            "savedmodel": "savedmodel, signature serving_default"}[args.format]
    if args.quantize:
        kind += f", {args.quantize}"
    print(f"wrote {report['path']} ({kind}, {os.path.getsize(report['path']) / 1e6:.2f} MB)"
          if os.path.isfile(report["path"]) else f"wrote {report['path']} ({kind})")
    print(f"input {report['input_name']!r} {report['input_shape']} -> output {report['output_name']!r}")
    atol = "measured, not enforced" if report["atol"] is None else f"atol {report['atol']:g}"
    print(f"max |diff| vs keras: {diffs} ({atol})")
    if report.get("calibration"):
        agreement = f"; top-1 agreement with keras {report['agreement']:.1%}" if "agreement" in report else ""
        print(f"calibrated on {report['calibration']}{agreement}")
    return 0


def output_path(args):
    """``--output``, or the default: next to ``--model-path``, else named after ``--model``."""
    if args.output:
        return args.output
    stem = os.path.splitext(args.model_path)[0] if args.model_path else args.model.lower()
    suffix = {"onnx": ".onnx", "litert": ".tflite", "savedmodel": "_savedmodel"}[args.format]
    return f"{stem}{f'_{args.quantize}' if args.quantize else ''}{suffix}"


def unwritable(path):
    """Why ``path`` cannot be written (a reason), or None: checked before the minutes of conversion."""
    path = os.path.abspath(path)
    if os.path.exists(path):
        return None if os.access(path, os.W_OK) else "it exists and is not writable"
    folder = os.path.dirname(path)
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        return f"{folder} is a file, not a folder"
    try:  # a probe, not os.access: read-only file systems, and root ignores permission bits
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError as error:
        return f"the folder {folder} is not writable ({error.strerror})"


def _export(export, model, output, args):
    """The library's exporter for ``args.format``, with the command's options."""
    options = {"check": not args.no_check, **({} if args.atol is None else {"atol": args.atol})}
    calibration = dict(representative_data=args.calibration, calibration_size=args.calibration_size)
    if args.format == "onnx":
        return export.to_onnx(model, output, opset=args.opset, quantize=args.quantize, **calibration, **options)
    if args.format == "litert":
        per_channel = {"auto": "auto", "per-channel": True, "per-tensor": False}[args.int8_weights]
        return export.to_litert(model, output, quantize=args.quantize, per_channel=per_channel,
                                debug_names=args.keep_names, **calibration, **options)
    return export.to_savedmodel(model, output, **options)


def add_export(sub):
    from keras_scse.export.calibration import DEFAULT_SIZE
    from keras_scse.export.onnx_export import to_onnx

    ex = sub.add_parser(
        "export", help="export a trained or registered model to ONNX, LiteRT or a SavedModel, checking parity",
        description="Export a .keras model (e.g. a run's best.keras) or a registered model with random weights "
                    "to ONNX (tf2onnx, checked with onnxruntime), LiteRT (TFLite, checked with ai_edge_litert) or a "
                    "TF Serving SavedModel (reloaded and checked); --quantize int8 calibrates on --calibration.")
    source = ex.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-path", type=keras_file, help="a .keras file, e.g. runs/<run>/best.keras")
    source.add_argument("--model", help="a registered model name, built with random weights (for trying it out)")
    ex.add_argument("--format", choices=("onnx", "litert", "savedmodel"), default="onnx", help="what to write")
    ex.add_argument("--output", default=None, help="output file (.onnx, .tflite) or folder (savedmodel); default: "
                    "next to --model-path, or <model>[_<quantize>].onnx / .tflite / <model>_savedmodel")
    ex.add_argument("--quantize", choices=("float16", "dynamic", "int8"), default=None,
                    help="int8 (ONNX and LiteRT: weights and activations, calibrated on --calibration); LiteRT "
                         "also float16 (weights) and dynamic (int8 weights); default: float32")
    ex.add_argument("--calibration", default=None,
                    help="int8's calibration images: a dataset name (fashion_mnist, a TFDS name) or an image folder "
                         "with one sub-folder per class (its first --calibration-size training images)")
    ex.add_argument("--calibration-size", type=positive_int, default=DEFAULT_SIZE, help="calibration images")
    ex.add_argument("--int8-weights", choices=("auto", "per-channel", "per-tensor"), default="auto",
                    help="litert int8/dynamic: a scale per output channel or per weight tensor (smaller); auto: "
                         "per-channel only for models with depthwise convolutions")
    ex.add_argument("--keep-names", action="store_true",
                    help="litert: keep every tensor's debug name (larger file; for tools that look tensors up)")
    defaults = library_defaults(to_onnx)
    ex.add_argument("--opset", type=positive_int, help="ONNX opset")
    ex.add_argument("--atol", type=non_negative_float, help="largest allowed |exported - keras| difference (default "
                    f"{defaults['atol']:g}; LiteRT float16 1e-2; int8 and dynamic: measured, not enforced)")
    ex.add_argument("--no-check", action="store_true", help="skip the parity check")
    ex.add_argument("--input-size", type=size_or_any, default=None,
                    help="with --model: SIZE (SIZExSIZE) or 'any' (free height/width)")
    ex.add_argument("--channels", type=positive_int, default=None, help="with --model: input channels (default 3)")
    ex.add_argument("--classes", type=positive_int, default=1000, help="with --model: classifier outputs")
    ex.set_defaults(opset=defaults["opset"], func=cmd_export)


def check_export(parser, args):
    """Options that need another one: a parser error (one line, exit status 2)."""
    if args.channels is not None and args.input_size is None:
        parser.error("--channels needs --input-size (an int, or 'any' for any height/width)")
    if args.quantize and args.format == "savedmodel" or args.quantize in ("float16", "dynamic") and \
            args.format != "litert":
        parser.error(f"--quantize {args.quantize} is not available for --format {args.format}: int8 is for onnx and "
                     "litert, float16 and dynamic for litert")
    if args.quantize == "int8" and not args.calibration:
        parser.error("--quantize int8 needs --calibration: a dataset name (e.g. fashion_mnist) or a folder of "
                     "images with one sub-folder per class, from the data the model will see")
    if args.calibration and args.quantize != "int8":
        parser.error("--calibration is for --quantize int8")
    from keras_scse.export.litert import INT8_WEIGHTS

    if args.int8_weights != "auto" and (args.format != "litert" or args.quantize not in INT8_WEIGHTS):
        parser.error(f"--int8-weights {args.int8_weights} is for --format litert with --quantize int8 or dynamic")
    if args.keep_names and args.format != "litert":
        parser.error("--keep-names is for --format litert")
    output = output_path(args)
    reason = unwritable(output)
    if reason:
        parser.error(f"cannot write the export to {output}: {reason}; give --output a path in a folder you can "
                     "write to")
