"""`keras-scse` command line: parse, call the library, print."""

import argparse
import dataclasses
import inspect
import json
import math
import os
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the terminal


def backend_devices():
    """(backend name and version, device names) of the Keras backend in use, importing only that backend."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return f"tensorflow {tf.__version__}", [d.name for d in tf.config.list_logical_devices()]
    if backend == "jax":
        import jax

        return f"jax {jax.__version__}", [str(d) for d in jax.devices()]
    import torch

    return f"torch {torch.__version__}", ["cuda"] if torch.cuda.is_available() else ["cpu"]


def cmd_info(args):
    import keras

    import keras_scse
    from keras_scse import applications, layers

    backend, devices = backend_devices()
    print(f"keras_scse {keras_scse.__version__}  (keras {keras.__version__}, backend {backend})")
    print(f"devices: {devices}")
    print(f"models ({len(applications.list_models())}): {', '.join(applications.list_models())}")
    print(f"attention layers: {', '.join(layers.names())}")


def cmd_models(args):
    from keras_scse import applications
    from keras_scse.bench import model_row

    names = applications.list_models(args.pattern)
    if not names:
        print(f"no model matches {args.pattern!r}", file=sys.stderr)
        return 1
    if not args.costs:
        print("\n".join(names))
        return 0
    print(f"{'model':<22}{'params':>12}{'MACs':>14}  input")
    for name in names:
        row = model_row(name, classes=args.classes, input_size=args.input_size)
        print(f"{name:<22}{row['params']:>12,}{row['macs']:>14,}  {row['input_shape']}")
    return 0


def library_arguments(args, target):
    """The parsed values that ``target`` (a library function or config dataclass) takes, by name."""
    return {name: getattr(args, name) for name in library_defaults(target, everything=True) if hasattr(args, name)}


def cmd_train(args):
    from keras_scse import training

    run_dir = args.run_dir or f"runs/{args.model.lower()}-{args.dataset}"
    config = training.TrainConfig(**{**library_arguments(args, training.TrainConfig), "run_dir": run_dir})
    training.train(config, fresh=args.fresh, resume=args.resume, verbose=args.verbose)
    return 0


def cmd_demo(args):
    from keras_scse import demo

    demo.run(**library_arguments(args, demo.run))
    return 0


def cmd_study(args):
    from keras_scse import study

    spec = study.load(args.spec)
    if args.action == "status":
        print(study.status(spec))
    elif args.action == "run":
        study.run(spec, args.spec, variants=args.variant, seeds=args.seed, max_runs=args.max_runs)
        print(study.status(spec))
    else:
        print(study.report(spec))
    return 0


def cmd_tune(args):
    try:
        from keras_scse import tuning
        from keras_scse.tuning import driver
    except ImportError as error:
        raise RuntimeError(f"keras-scse tune needs KerasTuner ({error}): pip install 'keras-scse[tune]'") from None

    result = tuning.search(**library_arguments(args, driver.search))
    return 0 if result is not None else 1


def cmd_export(args):
    import os

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


def cmd_finetune(args):
    from keras_scse.training.finetune import finetune

    run_dir = args.run_dir or f"runs/finetune-{args.model.lower()}"
    finetune(**{**library_arguments(args, finetune), "model_name": args.model, "run_dir": run_dir})
    return 0


def cmd_bench(args):
    import csv

    from keras_scse import applications
    from keras_scse.bench import FIELDS, BenchConfig, run

    if args.model not in applications.list_models():
        raise ValueError(f"Unknown model {args.model!r}; see `keras-scse models`.")
    common = dict(model=args.model, channels=args.channels, classes=args.classes, steps=args.steps,
                  repeats=args.repeats, warmup=args.warmup, model_kwargs=args.model_kwargs)
    configs = []
    for size in args.input_size:
        for batch in args.batch_size:
            configs += [BenchConfig(input_size=size, batch_size=batch, xla=xla, train=not args.inference_only,
                                    **common) for xla in args.xla]
            if args.onnx:
                configs.append(BenchConfig(input_size=size, batch_size=batch, backend="onnxruntime", train=False,
                                           **common))
    out = open(args.output, "w", newline="") if args.output else None
    writer = csv.DictWriter(out, FIELDS) if out and args.output.endswith(".csv") else None
    if writer:
        writer.writeheader()

    def show(row):
        print(json.dumps(row) if args.json else
              f"{row['backend']:<12} xla={str(row['xla']):<5} {row['input_size']:>4}px batch {row['batch_size']:>4}: "
              f"train {row['train_img_s'] or '-':>8} img/s  infer {row['infer_img_s'] or '-':>8} img/s  "
              f"peak {row['peak_rss_mb']:,.0f} MB  ({row['params']:,} params, {row['macs']:,} MACs/image)",
              flush=True)
        if writer:
            writer.writerow(row)
        elif out:
            out.write(json.dumps(row) + "\n")
        if out:
            out.flush()  # a long sweep keeps its finished rows if it is stopped

    try:
        run(configs, isolate=not args.in_process, on_row=show)
    finally:
        if out:
            out.close()
    return 0


# ---------------------------------------------------------------- argument types: check at the edge, say how to fix

def integer(text, low, what):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise argparse.ArgumentTypeError(f"got {text!r}; give {what}")
    return value


def positive_int(text):
    return integer(text, 1, "a positive integer (1, 2, ...)")


def non_negative_int(text):
    return integer(text, 0, "an integer >= 0")


def real(text, ok, what):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"got {text!r}; give {what}")
    return value


def positive_float(text):
    return real(text, lambda v: v > 0, "a number > 0, e.g. 0.1 or 1e-3")


def non_negative_float(text):
    return real(text, lambda v: v >= 0, "a number >= 0, e.g. 0 or 5e-4")


def fraction(text):
    return real(text, lambda v: 0 < v < 1, "a fraction between 0 and 1 (exclusive), e.g. 0.1")


def smoothing(text):
    return real(text, lambda v: 0 <= v < 1, "a number in [0, 1), e.g. 0.1")


def json_object(text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid JSON ({error}); give an object such as "
                                         "'{\"attention\": \"sca\"}' (keys and strings in double quotes)") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"got {text!r}; give a JSON object such as '{{\"attention\": \"sca\"}}'")
    return value


def size_or_any(text):
    return "any" if text.lower() == "any" else integer(text, 1, "a positive integer (SIZE x SIZE) or 'any'")


def verbosity(text):
    if text in ("auto", "0", "1", "2"):
        return text if text == "auto" else int(text)
    raise argparse.ArgumentTypeError(f"got {text!r}; give auto, 0, 1 or 2")


def keras_file(path):
    """A path to an existing .keras model file (a zip archive, as ``model.save`` writes)."""
    if not os.path.exists(path):
        raise argparse.ArgumentTypeError(f"{path!r} does not exist; give a .keras file, e.g. runs/<run>/best.keras")
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{path!r} is a folder; give a .keras file, e.g. runs/<run>/best.keras")
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        raise argparse.ArgumentTypeError(f"{path!r} is not a Keras model file (.keras files are zip archives "
                                         "written by model.save); give a saved model, e.g. runs/<run>/best.keras")
    return path


def jit_value(text):
    values = {"auto": "auto", "true": True, "on": True, "false": False, "off": False}
    if text.lower() not in values:
        raise argparse.ArgumentTypeError(f"got {text!r}; give auto, true or false")
    return values[text.lower()]


def on_off(text):
    if text.lower() not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"expected 'on' or 'off', got {text!r}")
    return text.lower() == "on"


class DefaultsFormatter(argparse.HelpFormatter):
    """Each option's help ends with its default, unless the help names one already, or it is a flag or None."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.nargs == 0 or action.default in (None, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, ``keras-scse: error: ...``, with exit status 2, and whose
    help shows each option's default (the library's, see ``library_defaults``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        command = self.prog.split(" ", 1)[1:]  # "keras-scse train" -> ["train"]
        help_hint = f"keras-scse {command[0]} --help" if command else "keras-scse --help"
        self.exit(2, f"keras-scse: error: {message} (see {help_hint})\n")


def weights_choice(text):
    return None if text.lower() == "none" else text


def augment_choice(text):
    if text not in ("flip_crop", "crop", "none"):
        raise argparse.ArgumentTypeError(f"got {text!r}; give flip_crop, crop or none")
    return None if text == "none" else text


def library_defaults(target, everything=False):
    """{parameter: default} of a library function, or {field: default} of a config dataclass: the CLI takes
    its defaults from there, so each is declared once. ``everything``: every name, with or without a default."""
    if dataclasses.is_dataclass(target):
        instance = target()
        return {field.name: getattr(instance, field.name) for field in dataclasses.fields(target)}
    parameters = inspect.signature(target).parameters.values()
    return {p.name: p.default for p in parameters
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and (everything or p.default is not p.empty)}


def add_data_options(parser, data_dir=True):
    """What train, finetune and tune share: batch, the data's size, channels, subset, seed; Keras' verbosity."""
    parser.add_argument("--batch-size", type=positive_int, help="global batch size, split over replicas")
    parser.add_argument("--image-size", type=positive_int, help="resize images to SIZE x SIZE (default: as stored)")
    parser.add_argument("--channels", type=positive_int, choices=(1, 3), help="convert images to 1 or 3 channels")
    parser.add_argument("--limit", type=positive_int, help="use only the first N training images")
    parser.add_argument("--seed", type=non_negative_int, help="seed of the splits, shuffling and initialisation")
    if data_dir:
        parser.add_argument("--data-dir", help="TFDS data folder")
    parser.add_argument("--verbose", type=verbosity, help="Keras fit verbosity: auto, 0, 1, 2")


def add_model_and_dataset(parser, dataset_required=False):
    parser.add_argument("--model", help="registered model name (see `keras-scse models`)")
    parser.add_argument("--dataset", required=dataset_required,
                        help="'fashion_mnist' (local Debian files), a TFDS name (malaria, cifar10, ...) or an "
                             "image folder with one sub-folder per class")


def add_run_folder_options(parser, default_folder):
    """A run folder resumes when the same command runs again; --fresh deletes it first."""
    parser.add_argument("--run-dir", help=f"output folder (default {default_folder})")
    parser.add_argument("--fresh", action="store_true", help="delete the run folder and start over")


def add_device_options(parser):
    parser.add_argument("--jit-compile", type=jit_value, help="auto (default), true or false (XLA)")
    parser.add_argument("--cpu-devices", type=positive_int,
                        help="split the CPU into N logical devices and train with MirroredStrategy over them")


def add_model_kwargs(parser):
    parser.add_argument("--model-kwargs", type=json_object,
                        help='JSON of constructor options, e.g. \'{"attention": "sca"}\'')


def add_info(sub):
    sub.add_parser("info", help="versions, devices, registered models and attention layers").set_defaults(func=cmd_info)


def add_models(sub):
    models = sub.add_parser("models", help="list registered models (wildcards), optionally with their costs")
    models.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard, e.g. 'SCSE*'")
    models.add_argument("--costs", action="store_true", help="build each model and print params and MACs")
    models.add_argument("--classes", type=positive_int, default=1000, help="classifier outputs")
    models.add_argument("--input-size", type=positive_int, default=None, help="default: each model's default size")
    models.set_defaults(func=cmd_models)


def add_demo(sub):
    from keras_scse import demo

    parser = sub.add_parser("demo", help="build SCSENet44, print its costs, train briefly on real Fashion-MNIST")
    parser.add_argument("--epochs", type=positive_int, help="training epochs")
    parser.add_argument("--limit", type=positive_int, help="training images to use")
    parser.add_argument("--run-dir", help="output folder")
    parser.set_defaults(**library_defaults(demo.run), func=cmd_demo)


def add_train(sub):
    from keras_scse.training.config import TrainConfig

    tr = sub.add_parser(
        "train", help="train a registered model; re-running the same command resumes",
        description="Train a registered model (keras_scse.applications) on a dataset. Writes a run folder with "
                    "config.json, history.csv, TensorBoard logs, best.keras / last.keras, metrics.json and PNG "
                    "plots. Killing the run and starting the same command again continues after the last "
                    "finished epoch.")
    add_model_and_dataset(tr)
    tr.add_argument("--epochs", type=positive_int, help="training epochs (a larger number extends a finished run)")
    tr.add_argument("--recipe", choices=("sgd", "adamw"),
                    help="optimiser recipe (cosine schedule with warm-up, label smoothing, weight decay)")
    tr.add_argument("--lr", type=positive_float, help="peak learning rate (default: recipe's, scaled by batch/256)")
    tr.add_argument("--weight-decay", type=non_negative_float, help="default: the recipe's")
    tr.add_argument("--label-smoothing", type=smoothing, help="default: the recipe's")
    tr.add_argument("--warmup-epochs", type=non_negative_float,
                    help="default: the recipe's, at most 20%% of the schedule")
    tr.add_argument("--no-augment", dest="augment", action="store_false", help="turn off flip + padded random crop")
    tr.add_argument("--val-fraction", type=fraction, help="validation share carved from train")
    tr.add_argument("--skip-unreadable", action="store_true",
                    help="image folders: leave out files that cannot be decoded (default: stop and list them)")
    add_run_folder_options(tr, "runs/<model>-<dataset>")
    tr.add_argument("--resume", action="store_true", help="require a checkpoint to continue from")
    tr.add_argument("--mixed-precision", action="store_true", help="mixed_float16 (GPU only)")
    tr.add_argument("--steps-per-execution", type=positive_int, help="training steps per compiled call")
    add_data_options(tr)
    add_device_options(tr)
    add_model_kwargs(tr)
    tr.set_defaults(**{**library_defaults(TrainConfig), "run_dir": None}, verbose="auto", func=cmd_train)


def add_finetune(sub):
    from keras_scse.training.finetune import finetune

    ft = sub.add_parser(
        "finetune", help="fine-tune a pretrained model on your data (frozen head stage, then all layers)",
        description="Load a pretrained backbone, put a new head for the data's classes on it, train the head on "
                    "the frozen backbone (BatchNorm in inference mode, 10x the learning rate, no warm-up), then "
                    "unfreeze all layers. Channel counts that differ from the checkpoint's are adapted in the "
                    "first conv. Running the same command again resumes.")
    add_model_and_dataset(ft, dataset_required=True)
    ft.add_argument("--weights", type=weights_choice,
                    help="registered name, a .weights.h5 or .keras path, or 'none' (from scratch)")
    ft.add_argument("--head-epochs", type=non_negative_int, help="epochs of the new head on the frozen backbone")
    ft.add_argument("--full-epochs", type=non_negative_int, help="epochs of all layers after that")
    ft.add_argument("--lr", type=positive_float,
                    help="full-stage peak learning rate (head stage: 10x); default: the recipe's, scaled to the batch")
    ft.add_argument("--augment", type=augment_choice,
                    help="flip_crop, crop (for classes that a mirror image changes: digits, text) or none")
    add_run_folder_options(ft, "runs/finetune-<model>")
    add_data_options(ft, data_dir=False)
    # finetune's model and run folder are positional there: their CLI defaults are set here
    ft.set_defaults(**library_defaults(finetune), model="SCSENet44", run_dir=None, func=cmd_finetune)


def add_tune(sub):
    tu = sub.add_parser(
        "tune", help="KerasTuner architecture search (HyperSCSENet / HyperSCAResNet / HyperSCAMobileNetV2)",
        description="Search architectures and optimiser settings with KerasTuner. Writes <directory>/<project>/ "
                    "trials.csv, best_hyperparameters.json, accuracy_vs_params.png, best_model.keras. Running the "
                    "same command again continues the search. Distributed: set KERASTUNER_TUNER_ID / "
                    "KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT (see docs/tuning.md).")
    try:
        from keras_scse.tuning.driver import search
    except ImportError:  # the optional extra is missing: say so when the command runs, not in every --help
        tu.add_argument("options", nargs=argparse.REMAINDER, help="(needs pip install 'keras-scse[tune]')")
        tu.set_defaults(func=cmd_tune)
        return
    tu.add_argument("--hypermodel", choices=("scsenet", "scaresnet", "scamobilenetv2"), help="the search space")
    tu.add_argument("--dataset", help="as for train")
    tu.add_argument("--tuner", choices=("random", "hyperband", "bayesian"), help="KerasTuner's search algorithm")
    tu.add_argument("--max-trials", type=positive_int, help="total trials, rejected ones included (not hyperband)")
    tu.add_argument("--epochs", type=positive_int, help="epochs per trial (hyperband: max epochs)")
    tu.add_argument("--directory", help="folder of the search's projects")
    tu.add_argument("--project-name", help="default <hypermodel>_<dataset>")
    tu.add_argument("--val-limit", type=positive_int, help="use only the first N validation images")
    tu.add_argument("--max-params", type=positive_float, help="reject bigger models before training, e.g. 1e6")
    tu.add_argument("--max-macs", type=positive_float, help="reject models with more MACs per image")
    tu.add_argument("--overwrite", action="store_true", help="delete the project and start over")
    tu.add_argument("--augment", action="store_true", help="flip + padded random crop during trials")
    tu.add_argument("--patience", type=non_negative_int, help="EarlyStopping patience (epochs) on val_accuracy")
    tu.add_argument("--fixed", type=json_object,
                    help='JSON name -> value pinning hyperparameters, e.g. \'{"stem": "imagenet"}\'')
    tu.add_argument("--space-overrides", type=json_object,
                    help='JSON name -> spec, e.g. \'{"width": {"kind": "choice", "values": [0.5, 0.75]}}\'')
    tu.add_argument("--report-only", action="store_true", help="run no trial: write the results of the trials done so far")
    add_data_options(tu)
    add_device_options(tu)
    tu.set_defaults(**library_defaults(search), func=cmd_tune)


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


def add_bench(sub):
    from keras_scse.bench import BenchConfig

    defaults = library_defaults(BenchConfig)
    be = sub.add_parser(
        "bench", help="parameters, MACs, peak memory, training/inference throughput (XLA on/off, ONNX Runtime)",
        description="Benchmark a registered model on synthetic inputs: images/s for training steps (forward, "
                    "backward, SGD update) and inference, median of --repeats timed blocks of --steps steps after "
                    "--warmup untimed steps; each configuration runs in a fresh process so peak memory is its own. "
                    "MACs are multiply-accumulates per image (what papers call FLOPs).")
    be.add_argument("--model", help="registered model name")
    be.add_argument("--input-size", type=positive_int, nargs="+", default=[defaults["input_size"]],
                    help="one or more sizes (SIZE x SIZE)")
    be.add_argument("--batch-size", type=positive_int, nargs="+", default=[defaults["batch_size"]],
                    help="one or more batch sizes")
    be.add_argument("--channels", type=positive_int, help="input channels")
    be.add_argument("--classes", type=positive_int, help="classifier outputs")
    be.add_argument("--xla", type=on_off, nargs="+", default=[defaults["xla"]], metavar="{off,on}",
                    help="XLA off (default), on, or both: --xla off on")
    be.add_argument("--onnx", action="store_true", help="also time ONNX Runtime inference of the tf2onnx export")
    be.add_argument("--inference-only", action="store_true", help="time inference only")
    be.add_argument("--steps", type=positive_int, help="steps per timed block")
    be.add_argument("--repeats", type=positive_int, help="timed blocks (the median is reported)")
    be.add_argument("--warmup", type=non_negative_int, help="untimed steps first (tracing, compilation)")
    add_model_kwargs(be)
    be.add_argument("--json", action="store_true", help="print rows as JSON lines instead of a table")
    be.add_argument("--output", help="also write the rows to this file: CSV if it ends in .csv, else JSON lines")
    be.add_argument("--in-process", action="store_true", help="measure in this process (faster; memory is shared)")
    scalar = {key: defaults[key] for key in ("model", "channels", "classes", "steps", "repeats", "warmup",
                                             "model_kwargs")}
    be.set_defaults(**scalar, func=cmd_bench)


def add_study(sub):
    st = sub.add_parser(
        "study", help="run a declared study (variants x seeds x recipe), show its progress, write its report",
        description="A study is a JSON spec (e.g. benchmarks/results/attention_study/spec.json): variants of a "
                    "model, seeds and one training recipe. 'run' trains the runs not done yet, one at a time, "
                    "resuming an interrupted one, and appends each finished run to the study's results CSV. Run "
                    "folders go to $KERAS_SCSE_RUNS (default ~/.cache/keras_scse/runs). 'status' prints what is "
                    "done, what is left and the time it will take; 'report' writes the summary table and plot.")
    st.add_argument("action", choices=("status", "run", "report"))
    st.add_argument("spec", help="the study's JSON file")
    st.add_argument("--variant", nargs="+", help="run only these variants (names or folder names)")
    st.add_argument("--seed", type=int, nargs="+", help="run only these seeds")
    st.add_argument("--max-runs", type=positive_int, help="stop after this many runs")
    st.set_defaults(func=cmd_study)


SUBCOMMANDS = (add_info, add_models, add_demo, add_train, add_finetune, add_tune, add_export, add_bench, add_study)


def build_parser():
    parser = Parser(prog="keras-scse", description="Small attention CNNs (SC-SENet, SCA) for Keras 3.")
    debug = dict(action="store_true", help="show Python tracebacks of errors and the backend's native start-up log")
    parser.add_argument("--debug", **debug)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    for command in sub.choices.values():  # --debug also after the command; SUPPRESS keeps the top-level value
        command.add_argument("--debug", **debug, default=argparse.SUPPRESS)
    parser.commands = sub.choices
    return parser


def check(parser, args):
    """Checks that involve more than one argument; a failure is a parser error (one line, exit status 2)."""
    parser = parser.commands[args.command]
    if args.command == "finetune" and args.head_epochs + args.full_epochs == 0:
        parser.error("--head-epochs 0 and --full-epochs 0 leave nothing to train; give at least one epoch")
    if args.command == "train" and args.fresh and args.resume:
        parser.error("--fresh (delete the run and start over) and --resume (continue it) contradict; give one")
    if args.command == "export" and args.channels is not None and args.input_size is None:
        parser.error("--channels needs --input-size (an int, or 'any' for any height/width)")


def parse_args(argv=None):
    """The parsed and checked arguments, or SystemExit(2) after one line ``keras-scse: error: ...``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check(parser, args)
    return args


def one_line(text, limit=1000):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def main(argv=None):
    """Run the command; errors print one line (``keras-scse: error: ...``) unless --debug, which re-raises.

    Exit status: 0 done, 2 the input was wrong (bad arguments, data, files: ValueError, OSError), 1 another error.
    """
    args = parse_args(argv)
    if not args.debug:
        from keras_scse import quiet

        if (getattr(args, "cpu_devices", None) or 0) > 1:  # before the backend starts: a started CPU cannot split
            import keras

            if keras.backend.backend() == "tensorflow":
                from keras_scse.training.strategy import split_cpu

                with quiet.native_stderr_silenced():
                    split_cpu(args.cpu_devices)
        quiet.start_backend(with_tensorflow=args.command in ("train", "finetune", "tune", "export", "demo", "study"))
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("keras-scse: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        if isinstance(error, (ValueError, OSError)):
            print(f"keras-scse: error: {one_line(error)}", file=sys.stderr)
            return 2
        print(f"keras-scse: error: {type(error).__name__}: {one_line(error)} (--debug shows the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
