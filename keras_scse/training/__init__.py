"""Training: recipes as data, strategy + XLA policy, resumable runs that leave a report.

``train`` (run.py) and ``finetune`` (finetune.py) share the recipes and compile step (recipes.py), a run's
settings (config.py), the run folder (run_folder.py), the data splits (splits.py) and callbacks (callbacks.py);
strategy.py chooses where they run, report.py writes what a run leaves.
"""

from keras_scse.training import report
from keras_scse.training.callbacks import PreciseBatchNorm, StopOnNonFinite, TrainingDiverged, recalibrate_batchnorm
from keras_scse.training.config import TrainConfig, config_dict, describe_dataset
from keras_scse.training.recipes import (
    MAX_WARMUP_FRACTION,
    RECIPES,
    REFERENCE_BATCH,
    compile_model,
    make_optimizer,
    scaled_recipe,
)
from keras_scse.training.run import fit_and_report, summary, train, worker_run_dir
from keras_scse.training.run_folder import (
    changed_settings,
    finished_epochs,
    prepare_run_dir,
    prepare_run_folder,
    trim_history,
)
from keras_scse.training.splits import load_split, load_splits, one_hot
from keras_scse.training.strategy import (
    is_chief,
    resolve_jit_compile,
    select_strategy,
    split_cpu,
    strategy_and_jit,
)

__all__ = ["MAX_WARMUP_FRACTION", "PreciseBatchNorm", "RECIPES", "REFERENCE_BATCH", "StopOnNonFinite",
           "TrainConfig", "TrainingDiverged", "changed_settings", "compile_model", "config_dict",
           "describe_dataset", "finished_epochs", "fit_and_report", "is_chief", "load_split", "load_splits",
           "make_optimizer", "one_hot", "prepare_run_dir", "prepare_run_folder", "recalibrate_batchnorm", "report",
           "resolve_jit_compile", "scaled_recipe", "select_strategy", "split_cpu", "strategy_and_jit", "summary",
           "train", "trim_history", "worker_run_dir"]
