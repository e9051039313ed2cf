"""``keras-scse tune``: KerasTuner architecture search (needs the ``tune`` extra)."""

import argparse

from keras_scse.cli.common import (
    add_data_options,
    add_device_options,
    json_object,
    library_arguments,
    library_defaults,
    non_negative_int,
    positive_float,
    positive_int,
)


def cmd_tune(args):
    try:
        from keras_scse import tuning
        from keras_scse.tuning import driver
    except ImportError as error:
        raise RuntimeError(f"keras-scse tune needs KerasTuner ({error}): pip install 'keras-scse[tune]'") from None

    result = tuning.search(**library_arguments(args, driver.search))
    return 0 if result is not None else 1


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
    tu.add_argument("--report-only", action="store_true",
                    help="run no trial: write the results of the trials done so far")
    add_data_options(tu)
    add_device_options(tu)
    tu.set_defaults(**library_defaults(search), func=cmd_tune)
