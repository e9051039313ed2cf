"""Callbacks of every training run: stop on non-finite values; BatchNorm statistics that match the weights."""

import math

import keras
import numpy as np

from keras_scse.training.run_folder import finished_epochs


def announce_first_step(jit=False):
    """Say why nothing moves for a while after "Epoch 1/N": the first step waits while the backend builds and
    optimises the whole training graph (on TensorFlow, its graph optimiser; minutes for the 42-unit attention
    networks on a small CPU), and the first epoch's time per step and ETA include that wait."""
    print("[keras-scse] building the training step: the first step waits for the whole graph to be built and "
          "optimised" + (" and compiled with XLA" if jit else "") + " (minutes for SCSENet44 on a 2-core CPU); the "
          "first epoch's time per step and ETA include that wait...", flush=True)


class TrainingDiverged(RuntimeError):
    pass

class StopOnNonFinite(keras.callbacks.Callback):
    """Abort when the loss, a logged metric or a weight stops being finite: during an epoch at the first bad
    step, at its end before anything is saved (this callback runs first), so no checkpoint holds NaNs."""

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = backup_dir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def diverged(self, what):
        last = finished_epochs(self.backup_dir)
        where = (f"The last good checkpoint is {self.backup_dir} (after epoch {last}); lower the learning rate "
                 "(--lr) and run the same command again to continue from it, or --fresh to start over."
                 if last else "No checkpoint was written yet; lower the learning rate (--lr) and start over (--fresh).")
        return TrainingDiverged(f"{what}. {where}")

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise self.diverged(f"Loss became {float(loss)} at epoch {self.epoch + 1}, step {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        bad = sorted(k for k, v in (logs or {}).items() if np.ndim(v) == 0 and not math.isfinite(float(v)))
        if not bad and not all(np.isfinite(w).all() for w in self.model.get_weights()):
            bad = ["weights"]
        if bad:
            raise self.diverged(f"{', '.join(bad)} became non-finite at the end of epoch {epoch + 1}")


class PreciseBatchNorm(keras.callbacks.Callback):
    """After the last training step of an epoch, before validation: BatchNorm's moving statistics become the
    plain average of the batch statistics of ``batches`` training batches at the current weights ("precise BN",
    Wu & Johnson 2021).

    Why: the moving averages (momentum 0.9) start at mean 0 / variance 1 and trail weights that move; after a
    few dozen steps they are still far off in a 44-layer network, and evaluation in inference mode is at chance
    (val loss ~10-14 after a 15-step epoch; 10% -> 30% on the same weights once recalibrated). Only on epochs
    that start before step ``until_step``: later the averages have caught up by themselves. Frozen BatchNorm
    layers (``trainable=False``) are left alone. Single replica only: under a tf.distribute strategy with
    several replicas the eager forward passes would run outside the replicas.
    """

    def __init__(self, dataset, steps_per_epoch, batches=10, until_step=1000):
        super().__init__()
        self.dataset, self.steps_per_epoch, self.batches = dataset, steps_per_epoch, batches
        self.until_step = until_step  # later the moving averages have long caught up: not worth the passes
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == self.steps_per_epoch and self.epoch * self.steps_per_epoch < self.until_step:
            recalibrate_batchnorm(self.model, self.dataset, self.batches)


def batchnorm_layers(model):
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += batchnorm_layers(layer)
        elif isinstance(layer, keras.layers.BatchNormalization) and layer.trainable:
            found.append(layer)
    return found


def recalibrate_batchnorm(model, dataset, batches):
    """Set every trainable BatchNorm layer's moving mean/variance to their average over ``batches`` batches."""
    layers = batchnorm_layers(model)
    if not layers:  # all frozen (a fine-tune head stage): nothing to recompute, skip the forward passes
        return
    momenta = [layer.momentum for layer in layers]
    try:
        for k, (x, _) in enumerate(dataset.take(batches)):
            for layer in layers:
                layer.momentum = k / (k + 1)  # moving = the running mean of the k + 1 batch statistics so far
            model(x, training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
