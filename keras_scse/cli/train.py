"""``keras-scse train``: train a registered model; re-running the same command resumes.

Train a registered model (keras_scse.applications) on a dataset. Writes a run folder with config.json,
history.csv, TensorBoard logs, best.keras / last.keras, metrics.json and PNG plots. Killing the run and starting
the same command again continues after the last finished epoch.
"""

from keras_scse.cli.common import (
    add_data_options,
    add_device_options,
    add_model_and_dataset,
    add_model_kwargs,
    add_run_folder_options,
    add_skip_unreadable,
    command_parser,
    fraction,
    library_arguments,
    library_defaults,
    non_negative_float,
    positive_float,
    positive_int,
    smoothing,
)


def cmd_train(args):
    from keras_scse import training

    run_dir = args.run_dir or f"runs/{args.model.lower()}-{args.dataset}"
    config = training.TrainConfig(**{**library_arguments(args, training.TrainConfig), "run_dir": run_dir})
    training.train(config, fresh=args.fresh, resume=args.resume, verbose=args.verbose)
    return 0


def add_train(sub):
    from keras_scse.training.config import TrainConfig

    tr = command_parser(sub, __doc__)
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
    add_skip_unreadable(tr)
    add_run_folder_options(tr, "runs/<model>-<dataset>")
    tr.add_argument("--resume", action="store_true", help="require a checkpoint to continue from")
    tr.add_argument("--mixed-precision", action="store_true", help="mixed_float16 (GPU only)")
    tr.add_argument("--steps-per-execution", type=positive_int, help="training steps per compiled call")
    add_data_options(tr)
    add_device_options(tr)
    add_model_kwargs(tr)
    tr.set_defaults(**{**library_defaults(TrainConfig), "run_dir": None}, verbose="auto", func=cmd_train)


def check_train(parser, args):
    """Options that contradict each other: a parser error (one line, exit status 2)."""
    if args.fresh and args.resume:
        parser.error("--fresh (delete the run and start over) and --resume (continue it) contradict; give one")
