"""Fine-tuning a pretrained backbone on new data, in two stages.

Stage 1 trains only a new head on the frozen backbone (its BatchNorm layers run in inference mode, as frozen
Keras layers do); stage 2 unfreezes everything with a 10x lower learning rate. When the data's channel count
differs from the checkpoint's, the first conv is adapted (``weights.adapt_input_channels``), not refused.
"""

import csv
import math
import numbers
import os
import time

import keras

from keras_scse import applications, data
from keras_scse.training import RECIPES, make_optimizer, one_hot, report


def build_finetune_model(model_name, weights, input_shape, classes, dropout=0.2):
    """Pretrained backbone (include_top=False, average pooling) + a new softmax head for ``classes``."""
    backbone = applications.get_model(model_name, weights=weights, include_top=False, pooling="avg",
                                      input_shape=input_shape)
    x = keras.layers.Dropout(dropout, name="head_dropout")(backbone.output)
    outputs = keras.layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(backbone.inputs, outputs, name=f"{backbone.name}_finetuned"), backbone


def finetune(model_name, dataset, run_dir, weights="fashion_mnist", head_epochs=2, full_epochs=8,
             batch_size=64, lr=None, image_size=None, channels=None, recipe="adamw", seed=0, augment=True,
             val_fraction=0.1, limit=None, verbose="auto"):
    """Fine-tune ``model_name`` on ``dataset`` (anything ``keras_scse.data.load`` takes).

    ``weights``: a registered name or a local file; None trains from scratch for the same number of epochs
    (the baseline of a transfer comparison). Returns metrics (also run_dir/metrics.json, history.csv,
    curves.png, model.keras).
    """
    for arg, value in (("head_epochs", head_epochs), ("full_epochs", full_epochs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"`{arg}` must be an integer >= 0; received {arg}={value!r}.")
    if head_epochs + full_epochs == 0:
        raise ValueError("head_epochs=0 and full_epochs=0 leave nothing to train; give at least one epoch "
                         "(head_epochs trains the new head, full_epochs all layers).")
    started = time.time()
    keras.utils.set_random_seed(seed)
    os.makedirs(run_dir, exist_ok=True)
    common = dict(image_size=image_size, channels=channels, batch_size=batch_size, seed=seed,
                  val_fraction=val_fraction)
    train_ds, info = data.load(dataset, "train", augment=augment, limit=limit, **common)
    val_ds, _ = data.load(dataset, "validation", **common)
    test_ds, test_info = data.load(dataset, "test", **common)
    model, backbone = build_finetune_model(model_name, weights, info.image_shape, info.num_classes)
    base = dict(RECIPES[recipe])
    base["lr"] = lr if lr is not None else base["lr"] * batch_size / 256
    steps = math.ceil(info.num_examples / batch_size)
    train_oh, val_oh = one_hot(train_ds, info.num_classes), one_hot(val_ds, info.num_classes)

    history = []
    stages = [("head", head_epochs, base["lr"], False), ("full", full_epochs, base["lr"] / 10, True)]
    if weights is None:  # the from-scratch baseline: the same number of epochs, all layers at the base rate
        stages = [("scratch", head_epochs + full_epochs, base["lr"], True)]
    for stage, epochs, stage_lr, backbone_trainable in stages:
        if epochs <= 0:
            continue
        backbone.trainable = backbone_trainable
        model.compile(optimizer=make_optimizer({**base, "lr": stage_lr}, steps, epochs),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=base["label_smoothing"]),
                      metrics=["accuracy"])
        fit = model.fit(train_oh, validation_data=val_oh, epochs=epochs, verbose=verbose, shuffle=False)
        for i in range(epochs):
            history.append({"epoch": len(history), "stage": stage,
                            **{k: float(v[i]) for k, v in fit.history.items()}})

    model.save(os.path.join(run_dir, "model.keras"))
    y_true, y_pred = report.predict_labels(model, test_ds)
    metrics = report.classification_metrics(y_true, y_pred, test_info.class_names)
    metrics.update(model=model_name, weights=str(weights), dataset=info.name, head_epochs=head_epochs,
                   full_epochs=full_epochs, wall_time_s=round(time.time() - started, 1),
                   val_accuracy=[row["val_accuracy"] for row in history])
    with open(os.path.join(run_dir, "history.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    report.write_json(metrics, os.path.join(run_dir, "metrics.json"))
    report.plot_curves(history, os.path.join(run_dir, "curves.png"))
    return metrics
