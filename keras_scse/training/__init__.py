"""Training: recipes as data, strategy + XLA policy, resumable runs that leave a report.

``train`` (run.py) and ``finetune`` (finetune.py) share one core (core.py: recipes, compile step, data splits,
run folder) and callbacks (callbacks.py); strategy.py chooses where they run.
"""

from keras_scse.training import report
from keras_scse.training.callbacks import PreciseBatchNorm, StopOnNonFinite, TrainingDiverged, recalibrate_batchnorm
from keras_scse.training.core import (
    MAX_WARMUP_FRACTION,
    RECIPES,
    REFERENCE_BATCH,
    TrainConfig,
    compile_model,
    config_dict,
    describe_dataset,
    finished_epochs,
    load_splits,
    make_optimizer,
    one_hot,
    prepare_run_dir,
    prepare_run_folder,
    scaled_recipe,
    trim_history,
)
from keras_scse.training.run import fit_and_report, summary, train, worker_run_dir
from keras_scse.training.strategy import is_chief, resolve_jit_compile, select_strategy, split_cpu

__all__ = ["MAX_WARMUP_FRACTION", "PreciseBatchNorm", "RECIPES", "REFERENCE_BATCH", "StopOnNonFinite",
           "TrainConfig", "TrainingDiverged", "compile_model", "config_dict", "describe_dataset", "finished_epochs",
           "fit_and_report", "is_chief", "load_splits", "make_optimizer", "one_hot", "prepare_run_dir",
           "prepare_run_folder", "recalibrate_batchnorm", "report", "resolve_jit_compile", "scaled_recipe",
           "select_strategy", "split_cpu", "summary", "train", "trim_history", "worker_run_dir"]
