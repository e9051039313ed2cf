"""KerasTuner architecture search over keras_scse backbones (needs ``pip install 'keras-scse[tune]'``).

HyperModels (``keras_scse.tuning.hypermodels``; search spaces are data, one dict per hypermodel):

* ``HyperSCSENet``: SqueezeNext blocks per stage, width, stem, attention (every registered layer, or none),
  SC-SE options (spatial variant, fusion, channel/spatial kernels; only when attention == "scse");
  defaults = SCSENet44.
* ``HyperSCAResNet``: depth 18/34/50, SCA kernel 3/5/7, fusion.
* ``HyperSCAMobileNetV2``: alpha, SCA kernel, fusion.
* all: optimiser sgd/adamw and a log-sampled peak learning rate; an optional ``max_params`` / ``max_macs``
  budget: over-budget configurations are REJECTED before training (``OverBudget``, a KerasTuner
  ``FailedTrialError``: the trial is recorded as failed and the search moves on; rejected trials count toward
  ``max_trials``).

Search (Python)::

    from keras_scse import tuning
    result = tuning.search("scsenet", "fashion_mnist", tuner="random", max_trials=10, epochs=3,
                           image_size=32, limit=3000, max_params=1e6, directory="runs/tune")
    print(result.best["values"], result.best["val_accuracy"])

or ``keras-scse tune --hypermodel scsenet --dataset fashion_mnist --tuner random --max-trials 10 --epochs 3
--image-size 32 --limit 3000 --max-params 1e6 --directory runs/tune``.

Results in ``<directory>/<project_name>/``: ``trials.csv`` (one row per trial: id, status COMPLETED / FAILED /
REJECTED, best val_accuracy, params, MACs, time, every hyperparameter, error), ``best_hyperparameters.json``
(values, cost, the builder's keyword arguments and the ``keras-scse train`` command that retrains it),
``accuracy_vs_params.png``, ``best_model.keras`` (the best trial's best epoch, loadable with
``keras.saving.load_model``), ``search_config.json``, TensorBoard logs with HParams, and KerasTuner's own
files (oracle.json, trial_*/).

Resuming: run the same call/command again (``overwrite=False``, the default): finished trials are kept, an
interrupted trial is re-run, and the search continues until ``max_trials`` trials exist; raising
``max_trials`` extends a finished search. Changing other settings on the same folder is refused
(``overwrite=True`` / ``--overwrite`` starts over).

Distributed tuning (KerasTuner's chief/worker mode). One chief process runs the oracle (a gRPC server) and
waits; any number of workers ask it for trials and train them. Start the SAME command on every machine, with
three environment variables::

    # machine A (chief; 10.0.0.1 must be reachable from the workers on the port):
    KERASTUNER_TUNER_ID=chief KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        keras-scse tune --hypermodel scsenet --max-trials 20 --directory /shared/tune ...
    # machines B, C, ... (one process per machine or per GPU, each with its own id):
    KERASTUNER_TUNER_ID=tuner0 KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        keras-scse tune --hypermodel scsenet --max-trials 20 --directory /shared/tune ...

The chief's id must contain "chief", every worker's id must be unique. ``KERASTUNER_ORACLE_IP`` is the address
the chief listens on (use 0.0.0.0 on the chief to listen everywhere, and its real address on the workers).
The chief blocks until every trial has ended, then writes the results; workers return when there is nothing
left to run (they write no results). Use one shared ``--directory`` (NFS, a bucket mount) for all processes:
the workers write the trial checkpoints and per-trial records there and the chief reads them to write
``best_model.keras`` and the trials' errors/costs (KerasTuner's gRPC protocol does not carry error messages).
Without a shared folder the chief still writes trials.csv and best_hyperparameters.json but warns and skips
best_model.keras. Only the chief may pass ``--overwrite``; workers ignore it. A worker can also use several
devices per trial (``--cpu-devices`` / several GPUs: MirroredStrategy), independent of the tuning mode.
"""

from keras_scse.tuning.driver import (
    SearchResult,
    check_dependencies,
    plot_accuracy_vs_params,
    read_csv,
    search,
)
from keras_scse.tuning.hypermodels import (
    HYPERMODELS,
    OPTIMIZER_SPACE,
    SCAMOBILENETV2_SPACE,
    SCARESNET_SPACE,
    SCSENET_SPACE,
    HyperSCAMobileNetV2,
    HyperSCAResNet,
    HyperSCSENet,
    OverBudget,
    SCSEHyperModel,
    defaults,
    describe,
    get_hypermodel,
    resolve_space,
)

__all__ = [
    "HYPERMODELS",
    "HyperSCAMobileNetV2",
    "HyperSCAResNet",
    "HyperSCSENet",
    "OPTIMIZER_SPACE",
    "OverBudget",
    "SCAMOBILENETV2_SPACE",
    "SCARESNET_SPACE",
    "SCSENET_SPACE",
    "SCSEHyperModel",
    "SearchResult",
    "check_dependencies",
    "defaults",
    "describe",
    "get_hypermodel",
    "plot_accuracy_vs_params",
    "read_csv",
    "resolve_space",
    "search",
]
