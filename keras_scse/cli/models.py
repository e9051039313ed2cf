"""``keras-scse models``: list registered models (wildcards), optionally with their costs."""

import sys

from keras_scse.cli.common import positive_int


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


def add_models(sub):
    models = sub.add_parser("models", help="list registered models (wildcards), optionally with their costs")
    models.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard, e.g. 'SCSE*'")
    models.add_argument("--costs", action="store_true", help="build each model and print params and MACs")
    models.add_argument("--classes", type=positive_int, default=1000, help="classifier outputs")
    models.add_argument("--input-size", type=positive_int, default=None, help="default: each model's default size")
    models.set_defaults(func=cmd_models)
