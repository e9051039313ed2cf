"""`keras-scse` command line: parse, call the library, print."""

import argparse
import json
import sys


def cmd_info(args):
    import keras
    import tensorflow as tf

    import keras_scse
    from keras_scse import applications, layers

    print(f"keras_scse {keras_scse.__version__}  (keras {keras.__version__}, tensorflow {tf.__version__})")
    print(f"devices: {[d.name for d in tf.config.list_logical_devices()]}")
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


def cmd_train(args):
    from keras_scse import training

    config = training.TrainConfig(
        model=args.model, dataset=args.dataset, run_dir=args.run_dir or f"runs/{args.model.lower()}-{args.dataset}",
        epochs=args.epochs, batch_size=args.batch_size, image_size=args.image_size, channels=args.channels,
        recipe=args.recipe, lr=args.lr, weight_decay=args.weight_decay, label_smoothing=args.label_smoothing,
        warmup_epochs=args.warmup_epochs, augment=not args.no_augment, val_fraction=args.val_fraction,
        seed=args.seed, limit=args.limit, data_dir=args.data_dir, jit_compile=args.jit_compile,
        mixed_precision=args.mixed_precision, cpu_devices=args.cpu_devices,
        steps_per_execution=args.steps_per_execution,
        model_kwargs=json.loads(args.model_kwargs) if args.model_kwargs else {},
    )
    training.train(config, fresh=args.fresh, resume=args.resume, verbose=args.verbose)
    return 0


def cmd_demo(args):
    from keras_scse import demo

    demo.run(epochs=args.epochs, limit=args.limit, run_dir=args.run_dir)
    return 0


def jit_value(text):
    return {"auto": "auto", "true": True, "on": True, "false": False, "off": False}[text.lower()]


def build_parser():
    parser = argparse.ArgumentParser(prog="keras-scse", description="Small attention CNNs (SC-SENet, SCA) for Keras 3.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("info", help="versions, devices, registered models and attention layers").set_defaults(func=cmd_info)

    models = sub.add_parser("models", help="list registered models (wildcards), optionally with their costs")
    models.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard, e.g. 'SCSE*'")
    models.add_argument("--costs", action="store_true", help="build each model and print params and MACs")
    models.add_argument("--classes", type=int, default=1000)
    models.add_argument("--input-size", type=int, default=None, help="default: each model's default size")
    models.set_defaults(func=cmd_models)

    demo = sub.add_parser("demo", help="build SCSENet44, print its costs, train briefly on real Fashion-MNIST")
    demo.add_argument("--epochs", type=int, default=3)
    demo.add_argument("--limit", type=int, default=6000, help="training images to use")
    demo.add_argument("--run-dir", default="runs/demo")
    demo.set_defaults(func=cmd_demo)

    tr = sub.add_parser(
        "train", help="train a registered model; re-running the same command resumes",
        description="Train a registered model (keras_scse.applications) on a dataset. Writes a run folder with "
                    "config.json, history.csv, TensorBoard logs, best.keras / last.keras, metrics.json and PNG "
                    "plots. Killing the run and starting the same command again continues after the last "
                    "finished epoch.")
    tr.add_argument("--model", default="SCSENet44", help="registered model name (see `keras-scse models`)")
    tr.add_argument("--dataset", default="fashion_mnist",
                    help="'fashion_mnist' (local Debian files), a TFDS name (malaria, cifar10, ...) or an image "
                         "folder with one sub-folder per class")
    tr.add_argument("--epochs", type=int, default=10)
    tr.add_argument("--batch-size", type=int, default=128, help="global batch size, split over replicas")
    tr.add_argument("--image-size", type=int, default=None, help="resize images to SIZE x SIZE (default: as stored)")
    tr.add_argument("--channels", type=int, choices=(1, 3), default=None, help="convert images to 1 or 3 channels")
    tr.add_argument("--recipe", choices=("sgd", "adamw"), default="sgd",
                    help="optimiser recipe (cosine schedule with warm-up, label smoothing, weight decay)")
    tr.add_argument("--lr", type=float, default=None, help="peak learning rate (default: recipe's, scaled by batch/256)")
    tr.add_argument("--weight-decay", type=float, default=None)
    tr.add_argument("--label-smoothing", type=float, default=None)
    tr.add_argument("--warmup-epochs", type=float, default=None)
    tr.add_argument("--no-augment", action="store_true", help="turn off flip + padded random crop")
    tr.add_argument("--val-fraction", type=float, default=0.1, help="validation share carved from train")
    tr.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--data-dir", default=None, help="TFDS data folder")
    tr.add_argument("--run-dir", default=None, help="output folder (default runs/<model>-<dataset>)")
    tr.add_argument("--fresh", action="store_true", help="delete the run folder and start over")
    tr.add_argument("--resume", action="store_true", help="require a checkpoint to continue from")
    tr.add_argument("--jit-compile", type=jit_value, default="auto", help="auto (default), true or false (XLA)")
    tr.add_argument("--mixed-precision", action="store_true", help="mixed_float16 (GPU only)")
    tr.add_argument("--cpu-devices", type=int, default=None,
                    help="split the CPU into N logical devices and train with MirroredStrategy over them")
    tr.add_argument("--steps-per-execution", type=int, default=1)
    tr.add_argument("--model-kwargs", default=None, help='JSON of constructor options, e.g. \'{"attention": "sca"}\'')
    tr.add_argument("--verbose", default="auto", help="Keras fit verbosity: auto, 0, 1, 2")
    tr.set_defaults(func=cmd_train)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if getattr(args, "verbose", None) not in (None, "auto"):
        args.verbose = int(args.verbose)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
