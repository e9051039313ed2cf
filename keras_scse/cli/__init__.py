"""`keras-scse` command line: parse, call the library, print. One module per command (its ``add_*`` and
``cmd_*``); shared argument types and option groups in ``common``; starting the backend in ``backend``."""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the terminal

from keras_scse.cli import backend, bench, demo, explain, export, finetune, info, models, study, train, tune
from keras_scse.cli.common import Parser, failure

SUBCOMMANDS = (info.add_info, models.add_models, demo.add_demo, train.add_train, finetune.add_finetune,
               tune.add_tune, export.add_export, explain.add_explain, bench.add_bench, study.add_study)
# checks that involve more than one argument; a failure is a parser error (one line, exit status 2)
CHECKS = {"train": train.check_train, "finetune": finetune.check_finetune, "export": export.check_export,
          "explain": explain.check_explain}


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


def parse_args(argv=None):
    """The parsed and checked arguments, or SystemExit(2) after one line ``keras-scse: error: ...``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in CHECKS:
        CHECKS[args.command](parser.commands[args.command], args)
    return args


def main(argv=None):
    """Run the command; errors print one line (``keras-scse: error: ...``) unless --debug, which re-raises.

    Exit status: 0 done, 2 the input was wrong (bad arguments, data, files: ValueError, OSError), 1 another error,
    130 interrupted.
    """
    args = parse_args(argv)
    if not args.debug:
        backend.start(args)
    try:
        return args.func(args) or 0
    except (KeyboardInterrupt, Exception) as error:
        if args.debug:
            raise
        return failure(error)
