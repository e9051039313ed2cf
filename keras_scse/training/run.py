"""``train``: one resumable run that leaves a report.

A run folder holds everything: config.json, history.csv, tensorboard/, backup/ (BackupAndRestore: weights,
optimizer state and epoch, written every epoch), best.keras, last.keras, metrics.json, curves.png,
confusion.png. Running the same command on the same folder continues after the last finished epoch.

Under MultiWorkerMirroredStrategy (TF_CONFIG) every worker runs the same code; only the chief writes the run
folder, the other workers write their (identical) checkpoints to a temporary folder that is deleted at the end,
and start from a copy of the chief's checkpoint when resuming.
"""

import numbers
import os
import shutil
import tempfile
import time

import keras

from keras_scse.data.pipeline import tensorflow_installed
from keras_scse.training import report
from keras_scse.training.callbacks import PreciseBatchNorm, StopOnNonFinite, announce_first_step
from keras_scse.training.recipes import compile_model
from keras_scse.training.run_folder import finished_epochs, prepare_run_dir
from keras_scse.training.splits import load_splits, one_hot
from keras_scse.training.strategy import barrier, is_chief, set_precision, strategy_and_jit


def worker_run_dir(config):
    """A non-chief worker's private copy of the run folder: the chief's checkpoint and history (to resume
    identically), then its own writes, deleted at the end."""
    run_dir = tempfile.mkdtemp(prefix="keras_scse_worker_")
    backup = os.path.join(config.run_dir, "backup")
    if os.path.isdir(backup):
        shutil.copytree(backup, os.path.join(run_dir, "backup"))
    history = os.path.join(config.run_dir, "history.csv")
    if os.path.exists(history):
        shutil.copy(history, run_dir)
    return run_dir

def train(config, fresh=False, resume=False, verbose="auto", callbacks=()):
    """Train ``config.model`` on ``config.dataset``; return the metrics dict (also in run_dir/metrics.json).

    fresh: delete config.run_dir first. resume: fail unless config.run_dir holds a checkpoint to continue from
    (without it, a checkpoint is used when there is one). callbacks: extra Keras callbacks, run after the
    built-in ones (so the checkpoint is restored when their on_train_begin runs).
    """
    for arg in ("epochs", "batch_size"):
        value = getattr(config, arg)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"`{arg}` must be a positive integer; received {arg}={value!r}.")
    started = time.time()
    # first: MultiWorker must exist before other TF work
    strategy, jit = strategy_and_jit(config.cpu_devices, config.jit_compile, config.batch_size)
    precision = set_precision(config.mixed_precision)
    chief = is_chief()
    if chief or not fresh:  # other workers make the same checks (and fail the same way), but write nothing
        prepare_run_dir(config, fresh, resume, write=chief)
    barrier(strategy)  # the chief has settled the run folder before other workers copy from it
    run_dir = config.run_dir if chief else worker_run_dir(config)
    try:
        return fit_and_report(config, strategy, run_dir, chief, jit, precision, verbose, callbacks, started)
    finally:
        if not chief:
            shutil.rmtree(run_dir, ignore_errors=True)


def fit_and_report(config, strategy, run_dir, chief, jit, precision, verbose, callbacks, started):
    """train() once the run folder is settled: build, fit (resuming from run_dir/backup), evaluate, report."""
    from keras_scse import applications

    backup = os.path.join(run_dir, "backup")
    resumed = finished_epochs(backup)
    keras.utils.set_random_seed(config.seed)

    train_ds, val_ds, test_ds, info, test_info = load_splits(
        config.dataset, config.batch_size, config.image_size, config.channels, config.seed, config.val_fraction,
        config.augment, config.limit, config.data_dir, config.skip_unreadable)
    recipe = config.resolved_recipe()
    steps = max(1, info.num_examples // config.batch_size)  # the train split drops a partial last batch
    with strategy.scope():
        model = applications.get_model(config.model, input_shape=info.image_shape, classes=info.num_classes,
                                       **config.model_kwargs)
        compile_model(model, recipe, steps, config.epochs, jit, config.steps_per_execution)
    callbacks = run_callbacks(run_dir, train_ds, steps, strategy.num_replicas_in_sync, callbacks)
    print(f"[keras-scse] {config.model} on {info.name}: {info.num_examples} train images {info.image_shape}, "
          f"{info.num_classes} classes; {strategy.num_replicas_in_sync} replica(s), jit_compile={jit}, {precision}; "
          f"lr={recipe['lr']:.4g}" + (f"; resuming after epoch {resumed}" if resumed else ""))
    announce_first_step(jit)
    model.fit(one_hot(train_ds, info.num_classes), validation_data=one_hot(val_ds, info.num_classes),
              epochs=config.epochs, callbacks=callbacks, verbose=verbose, shuffle=False)  # shuffled in tf.data

    metrics = evaluate_and_report(model, config, run_dir, test_ds, test_info, info.name, started)
    if chief:
        print(summary(metrics, run_dir))
    return metrics


def run_callbacks(run_dir, train_ds, steps, replicas, extra):
    """train()'s callbacks, in the order that keeps an interrupted run resumable, then ``extra``."""
    backup = os.path.join(run_dir, "backup")
    history_path = os.path.join(run_dir, "history.csv")
    best_so_far = max((row["val_accuracy"] for row in report.read_history(history_path)), default=None)
    return [
        StopOnNonFinite(backup),  # first: a NaN epoch must stop before anything below saves it
        PreciseBatchNorm(train_ds, steps),
        # Everything of an epoch is written before its checkpoint, which marks it done: a run killed in
        # between repeats the epoch (rewriting last.keras; its history row is trimmed at the restart).
        keras.callbacks.CSVLogger(history_path, append=True),
        keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "best.keras"), monitor="val_accuracy",
                                        mode="max", save_best_only=True, initial_value_threshold=best_so_far),
        keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "last.keras")),
        keras.callbacks.BackupAndRestore(backup, double_checkpoint=True, delete_checkpoint=False),
        # Keras' TensorBoard callback writes through TensorFlow: without it, no logs
        *([keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard"))] if tensorflow_installed() else []),
        *extra,
    ]


def evaluate_and_report(model, config, run_dir, test_ds, test_info, dataset_name, started):
    """Test metrics of the best saved model (else the last, else ``model``), written with plots to run_dir."""
    best = model
    for name in ("best.keras", "last.keras"):  # best.keras is missing if no epoch beat the resumed run's best
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            try:
                best = keras.saving.load_model(path)
                break
            except Exception as e:  # e.g. cut short by a kill while it was written
                print(f"[keras-scse] cannot load {path} ({type(e).__name__}: {e}); evaluating another model")
    y_true, y_pred = report.predict_labels(best, test_ds)
    metrics = report.classification_metrics(y_true, y_pred, test_info.class_names)
    history = report.read_history(os.path.join(run_dir, "history.csv"))
    metrics.update(model=config.model, dataset=dataset_name, split="test", epochs=len(history),
                   params=int(model.count_params()), wall_time_s=round(time.time() - started, 1),
                   best_val_accuracy=max((row["val_accuracy"] for row in history), default=None))
    report.write_json(metrics, os.path.join(run_dir, "metrics.json"))
    report.plot_curves(history, os.path.join(run_dir, "curves.png"))
    report.plot_confusion(metrics["confusion_matrix"], test_info.class_names, os.path.join(run_dir, "confusion.png"))
    return metrics


def summary(metrics, run_dir):
    worst = min(metrics["per_class"].items(), key=lambda kv: kv[1]["recall"])
    return "\n".join([
        f"== {metrics['model']} on {metrics['dataset']} ({metrics['epochs']} epochs, {metrics['wall_time_s']} s)",
        f"   test accuracy {metrics['accuracy']:.4f} on {metrics['num_examples']} images "
        f"(best val accuracy {metrics['best_val_accuracy'] or float('nan'):.4f})",
        f"   weakest class: {worst[0]} (recall {worst[1]['recall']:.3f})",
        f"   outputs in {run_dir}: metrics.json, history.csv, curves.png, confusion.png, best.keras, last.keras",
    ])
