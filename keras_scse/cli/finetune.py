"""``keras-scse finetune``: fine-tune a pretrained model on your data (frozen head stage, then all layers).

Load a pretrained backbone, put a new head for the data's classes on it, train the head on the frozen backbone
(BatchNorm in inference mode, 10x the learning rate, no warm-up), then unfreeze all layers. Channel counts that
differ from the checkpoint's are adapted in the first conv. Running the same command again resumes.
"""

from keras_scse.cli.common import (
    add_data_options,
    add_model_and_dataset,
    add_run_folder_options,
    add_skip_unreadable,
    augment_choice,
    command_parser,
    library_arguments,
    library_defaults,
    non_negative_int,
    positive_float,
    weights_choice,
)


def cmd_finetune(args):
    from keras_scse.training.finetune import finetune

    run_dir = args.run_dir or f"runs/finetune-{args.model.lower()}"
    finetune(**{**library_arguments(args, finetune), "model_name": args.model, "run_dir": run_dir})
    return 0


def add_finetune(sub):
    from keras_scse.training.finetune import finetune

    ft = command_parser(sub, __doc__)
    add_model_and_dataset(ft, dataset_required=True)
    ft.add_argument("--weights", type=weights_choice,
                    help="registered name, a .weights.h5 or .keras path, or 'none' (from scratch)")
    ft.add_argument("--head-epochs", type=non_negative_int, help="epochs of the new head on the frozen backbone")
    ft.add_argument("--full-epochs", type=non_negative_int, help="epochs of all layers after that")
    ft.add_argument("--lr", type=positive_float,
                    help="full-stage peak learning rate (head stage: 10x); default: the recipe's, scaled to the batch")
    ft.add_argument("--augment", type=augment_choice,
                    help="flip_crop, crop (for classes that a mirror image changes: digits, text) or none")
    add_skip_unreadable(ft)
    add_run_folder_options(ft, "runs/finetune-<model>")
    add_data_options(ft, data_dir=False)
    # finetune's model and run folder are positional there: their CLI defaults are set here
    ft.set_defaults(**library_defaults(finetune), model="SCSENet44", run_dir=None, func=cmd_finetune)


def check_finetune(parser, args):
    """Options that leave nothing to do: a parser error (one line, exit status 2)."""
    if args.head_epochs + args.full_epochs == 0:
        parser.error("--head-epochs 0 and --full-epochs 0 leave nothing to train; give at least one epoch")
