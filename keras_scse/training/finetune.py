"""Fine-tuning a pretrained backbone on new data, in two stages, resumable.

Stage "head": only a new head (dropout + softmax dense) trains on the frozen backbone. A frozen Keras layer runs
in inference mode, so BatchNorm keeps the checkpoint's statistics. A fresh linear head has nothing to lose by
large steps: it trains at ``HEAD_LR_FACTOR`` x the rate, without warm-up.
Stage "full" (the unfreeze): every layer trains at ``lr`` with the recipe's warm-up and cosine decay; BatchNorm
runs in training mode again, so its statistics move to the new data (a domain as far from the checkpoint's as
digits from clothes needs that).

``weights``: a registered name ("fashion_mnist"), a ``.weights.h5`` file of the same architecture, or a
``.keras`` model file (e.g. ``best.keras`` of a ``train`` run, or a previous ``finetune``'s ``model.keras``):
its head is cut off at the global pooling. None trains from scratch (the baseline of a transfer comparison):
one stage, all layers, ``head_epochs + full_epochs`` epochs at ``lr``.

The run folder: config.json, backup/<stage>/ (BackupAndRestore, every epoch), history.csv (with a ``stage``
column), model.keras, metrics.json, curves.png. Running the same call again continues where it stopped.
When the data's channel count differs from the checkpoint's, the first conv is adapted
(``weights.adapt_input_channels``), not refused.
"""

import csv
import numbers
import os
import time

import keras

from keras_scse import applications
from keras_scse.data.pipeline import check_augment
from keras_scse.training import report
from keras_scse.training.callbacks import PreciseBatchNorm, announce_first_step
from keras_scse.training.config import describe_dataset
from keras_scse.training.recipes import compile_model, scaled_recipe
from keras_scse.training.run_folder import finished_epochs, prepare_run_folder, trim_history
from keras_scse.training.splits import load_splits, one_hot

HEAD_LR_FACTOR = 10
HEAD_LAYERS = ("head_dropout", "predictions", "avg_pool", "max_pool")


def backbone_of_file(path, input_shape):
    """The feature extractor of a saved ``.keras`` model: its layers up to the global pooling."""
    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    layer_names = [layer.name for layer in model.layers]
    cut = next((name for name in ("avg_pool", "max_pool") if name in layer_names), None)
    if cut is None:
        raise ValueError(f"{path} has no global pooling layer ('avg_pool' or 'max_pool'), so its head cannot be "
                         "cut off. Give a model built by keras_scse (train's best.keras, finetune's model.keras).")
    have = tuple(model.input_shape[1:])
    if input_shape is not None and tuple(input_shape) != have:
        raise ValueError(f"{path} takes inputs of shape {have}; the data gives {tuple(input_shape)}. Pass "
                         f"image_size={have[0]} and channels={have[2]}.")
    return keras.Model(model.inputs, model.get_layer(cut).output, name=model.name.removesuffix("_finetuned"))


def build_finetune_model(model_name, weights, input_shape, classes, dropout=0.2):
    """Pretrained backbone (include_top=False, average pooling) + a new softmax head for ``classes``."""
    if isinstance(weights, (str, os.PathLike)) and os.fspath(weights).endswith(".keras"):
        backbone = backbone_of_file(os.fspath(weights), input_shape)
    else:
        backbone = applications.get_model(model_name, weights=weights, include_top=False, pooling="avg",
                                          input_shape=input_shape)
    x = keras.layers.Dropout(dropout, name="head_dropout")(backbone.output)
    outputs = keras.layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(backbone.inputs, outputs, name=f"{backbone.name}_finetuned"), backbone


def check_epochs(head_epochs, full_epochs):
    for arg, value in (("head_epochs", head_epochs), ("full_epochs", full_epochs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"`{arg}` must be an integer >= 0; received {arg}={value!r}.")
    if head_epochs + full_epochs == 0:
        raise ValueError("head_epochs=0 and full_epochs=0 leave nothing to train; give at least one epoch "
                         "(head_epochs trains the new head, full_epochs all layers).")


def stages(weights, head_epochs, full_epochs, lr):
    """(name, epochs, peak lr, backbone trainable, warm-up epochs or None for the recipe's) of each stage."""
    if weights is None:
        return [("scratch", head_epochs + full_epochs, lr, True, None)]
    return [stage for stage in (("head", head_epochs, lr * HEAD_LR_FACTOR, False, 0),
                                ("full", full_epochs, lr, True, None)) if stage[1] > 0]


def finetune(model_name, dataset, run_dir, weights="fashion_mnist", head_epochs=2, full_epochs=8,
             batch_size=64, lr=None, image_size=None, channels=None, recipe="adamw", seed=0, augment="flip_crop",
             val_fraction=0.1, limit=None, verbose="auto", fresh=False, skip_unreadable=False):
    """Fine-tune ``model_name`` on ``dataset`` (anything ``keras_scse.data.load`` takes); see the module doc.

    ``lr``: the full stage's peak rate (default: the recipe's, scaled to ``batch_size``). ``augment``: as
    ``data.load`` ("crop" for classes a mirror image changes). ``fresh``: start over instead of resuming.
    ``skip_unreadable``: image folders: leave out files that cannot be decoded (default: list them, stop).
    Returns the metrics dict (also run_dir/metrics.json).
    """
    check_epochs(head_epochs, full_epochs)
    started = time.time()
    settings = dict(model=model_name, dataset=describe_dataset(dataset), weights=str(weights),
                    head_epochs=head_epochs, full_epochs=full_epochs, batch_size=batch_size, lr=lr,
                    image_size=image_size, channels=channels, recipe=recipe, seed=seed,
                    augment=check_augment(augment), val_fraction=val_fraction, limit=limit)
    # augment=True and "flip_crop" are one setting (folders written before the default became "flip_crop")
    prepare_run_folder(run_dir, settings, fresh, keep=("head_epochs", "full_epochs"),
                       canonical={"augment": check_augment})
    keras.utils.set_random_seed(seed)
    train_ds, val_ds, test_ds, info, test_info = load_splits(dataset, batch_size, image_size, channels, seed,
                                                             val_fraction, augment, limit,
                                                             skip_unreadable=skip_unreadable)
    print(f"[keras-scse] data {info.name}: {info.num_examples} training images of {info.image_shape} (height, "
          f"width, channels), {info.num_classes} classes; {test_info.num_examples} test images", flush=True)
    model, backbone = build_finetune_model(model_name, weights, info.image_shape, info.num_classes)
    base = scaled_recipe(recipe, batch_size, lr=lr)
    steps = max(1, info.num_examples // batch_size)  # the train split drops a partial last batch
    train_oh, val_oh = one_hot(train_ds, info.num_classes), one_hot(val_ds, info.num_classes)

    plan = stages(weights, head_epochs, full_epochs, base["lr"])
    for stage, epochs, stage_lr, backbone_trainable, warmup in plan:
        backbone.trainable = backbone_trainable
        stage_recipe = {**base, "lr": stage_lr, "warmup_epochs": base["warmup_epochs"] if warmup is None else warmup}
        compile_model(model, stage_recipe, steps, epochs)
        backup = os.path.join(run_dir, "backup", stage)
        history_path = os.path.join(run_dir, f"history_{stage}.csv")
        trim_history(history_path, finished_epochs(backup) or 0)
        print(f"[keras-scse] fine-tune stage {stage!r}: {epochs} epoch(s), lr {stage_lr:.3g}, "
              f"backbone {'trainable' if backbone_trainable else 'frozen (BatchNorm in inference mode)'}",
              flush=True)
        announce_first_step()
        model.fit(train_oh, validation_data=val_oh, epochs=epochs, verbose=verbose, shuffle=False, callbacks=[
            PreciseBatchNorm(train_ds, steps),
            keras.callbacks.CSVLogger(history_path, append=True),
            keras.callbacks.BackupAndRestore(backup, double_checkpoint=True, delete_checkpoint=False)])

    model.save(os.path.join(run_dir, "model.keras"))
    history = merged_history(run_dir, [stage[0] for stage in plan])
    y_true, y_pred = report.predict_labels(model, test_ds)
    metrics = report.classification_metrics(y_true, y_pred, test_info.class_names)
    metrics.update(model=model_name, weights=str(weights), dataset=info.name, image_shape=list(info.image_shape),
                   head_epochs=head_epochs,
                   full_epochs=full_epochs, wall_time_s=round(time.time() - started, 1),
                   val_accuracy=[row["val_accuracy"] for row in history])
    report.write_json(metrics, os.path.join(run_dir, "metrics.json"))
    report.plot_curves(history, os.path.join(run_dir, "curves.png"))
    print(f"[keras-scse] fine-tuned {model_name} on {info.name}: test accuracy {metrics['accuracy']:.4f} "
          f"on {metrics['num_examples']} images; outputs in {run_dir}", flush=True)
    return metrics


def merged_history(run_dir, stage_names):
    """The stages' history files as one list of rows (epochs numbered across stages), also run_dir/history.csv."""
    rows = []
    for stage in stage_names:
        for row in report.read_history(os.path.join(run_dir, f"history_{stage}.csv")):
            rows.append({**row, "epoch": len(rows), "stage": stage})
    if rows:
        with open(os.path.join(run_dir, "history.csv"), "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return rows
