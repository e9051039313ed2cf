"""``keras-scse export``: ONNX or SavedModel export of a trained or registered model, checked."""

import os

from keras_scse.cli.common import (
    keras_file,
    library_defaults,
    non_negative_float,
    positive_int,
    size_or_any,
)


def cmd_export(args):
    from keras_scse import applications, export

    if args.model_path:
        import keras

        model = keras.saving.load_model(args.model_path, compile=False)
        stem = os.path.splitext(args.model_path)[0]
    else:
        size = None if args.input_size in (None, "any") else args.input_size
        shape = None if args.input_size is None else (size, size, args.channels or 3)
        model = applications.get_model(args.model, input_shape=shape, classes=args.classes)
        stem = args.model.lower()
    output = args.output or (f"{stem}.onnx" if args.format == "onnx" else f"{stem}_savedmodel")
    if args.format == "onnx":
        report = export.to_onnx(model, output, opset=args.opset, check=not args.no_check, atol=args.atol)
    else:
        report = export.to_savedmodel(model, output, check=not args.no_check, atol=args.atol)
    diffs = ", ".join(f"{k} {v:.2e}" for k, v in report["max_abs_diff"].items()) or "not checked"
    kind = f"onnx, opset {args.opset}" if args.format == "onnx" else "savedmodel, signature serving_default"
    print(f"wrote {report['path']} ({kind})")
    print(f"input {report['input_name']!r} {report['input_shape']} -> output {report['output_name']!r}")
    print(f"max |diff| vs keras: {diffs} (atol {args.atol:g})")
    return 0


def add_export(sub):
    from keras_scse.export.onnx_export import to_onnx

    ex = sub.add_parser(
        "export", help="export a trained or registered model to ONNX or a SavedModel, checking parity with Keras",
        description="Export a .keras model (e.g. a run's best.keras) or a registered model with random weights "
                    "to ONNX (tf2onnx, checked with onnxruntime) or a TF Serving SavedModel (reloaded and checked).")
    source = ex.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-path", type=keras_file, help="a .keras file, e.g. runs/<run>/best.keras")
    source.add_argument("--model", help="a registered model name, built with random weights (for trying it out)")
    ex.add_argument("--format", choices=("onnx", "savedmodel"), default="onnx", help="what to write")
    ex.add_argument("--output", default=None, help="output file (.onnx) or folder (savedmodel); default: next to "
                    "--model-path, or <model>.onnx / <model>_savedmodel")
    ex.add_argument("--opset", type=positive_int, help="ONNX opset")
    ex.add_argument("--atol", type=non_negative_float, help="largest allowed |exported - keras| difference")
    ex.add_argument("--no-check", action="store_true", help="skip the parity check")
    ex.add_argument("--input-size", type=size_or_any, default=None,
                    help="with --model: SIZE (SIZExSIZE) or 'any' (free height/width)")
    ex.add_argument("--channels", type=positive_int, default=None, help="with --model: input channels (default 3)")
    ex.add_argument("--classes", type=positive_int, default=1000, help="with --model: classifier outputs")
    defaults = library_defaults(to_onnx)
    ex.set_defaults(opset=defaults["opset"], atol=defaults["atol"], func=cmd_export)


def check_export(parser, args):
    """Options that need another one: a parser error (one line, exit status 2)."""
    if args.channels is not None and args.input_size is None:
        parser.error("--channels needs --input-size (an int, or 'any' for any height/width)")
