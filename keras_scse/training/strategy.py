"""Where training runs: tf.distribute strategy selection and the XLA / precision policy."""

import json
import os
import warnings

import tensorflow as tf


def split_cpu(n):
    """Expose the CPU as ``n`` logical devices (for multi-replica tests). Must run before TF initialises."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError:
        if len(tf.config.list_logical_devices("CPU")) != n:
            raise RuntimeError(
                f"Cannot split the CPU into {n} devices: TensorFlow is already initialised in this process. "
                "Choose cpu_devices before anything runs on TensorFlow (start a fresh process)."
            ) from None


class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """tf.distribute.MultiWorkerMirroredStrategy with a ``reduce`` that Keras 3.15's fit can use.

    Keras' TF trainer calls ``strategy.reduce`` in two ways that only the single-worker strategies accept
    (keras-team/keras#20585): on a whole (images, labels) batch to learn its shapes (fails with "Attempt to
    convert a value (PerReplica...) to a Tensor"), and with ``axis=0`` on per-replica scalar losses/metrics
    (fails with "Invalid reduction dimension 0 for input with 0 dimensions"). Here nests are reduced leaf by
    leaf and scalars across replicas (axis=None), which is what Keras means in both cases.
    """

    def reduce(self, reduce_op, value, axis):
        parent = super()

        def reduce_one(v):
            rank = tf.TensorShape(self.experimental_local_results(v)[0].shape).rank
            return parent.reduce(reduce_op, v, None if rank == 0 else axis)

        return tf.nest.map_structure(reduce_one, value)


def select_strategy(cpu_devices=None):
    """TF_CONFIG set -> MultiWorkerMirroredStrategy; cpu_devices=N -> MirroredStrategy over N logical CPUs;
    several GPUs -> MirroredStrategy over all; else the default (single-device) strategy."""
    if os.environ.get("TF_CONFIG"):
        json.loads(os.environ["TF_CONFIG"])  # a malformed TF_CONFIG fails here, with the JSON error
        return MultiWorkerMirroredStrategy()
    if cpu_devices and cpu_devices > 1:
        split_cpu(cpu_devices)
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(cpu_devices)])
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief():
    """Whether this process writes the run's outputs: always without TF_CONFIG; with it, the "chief" task, or
    worker 0 when the cluster has no chief (TensorFlow's convention)."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = tf_config.get("task") or {}
    if not task.get("type"):
        return True
    index = int(task.get("index", 0))
    return task["type"] == "chief" or (task["type"] == "worker" and index == 0
                                       and "chief" not in tf_config.get("cluster", {}))


def barrier(strategy):
    """Return when every worker has got here (an all-reduce); immediate without TF_CONFIG."""
    if os.environ.get("TF_CONFIG"):
        tf.function(lambda: strategy.reduce("SUM", strategy.run(lambda: tf.constant(1.0)), axis=None))()


def resolve_jit_compile(jit_compile, strategy):
    """The jit_compile value to give model.compile.

    "auto": XLA on a single GPU only. Off on CPU (measured ~2x slower training on the 2-core CPU, see
    reference.md section 4) and with several replicas, where Keras' XLA path fails
    (keras-team/keras#19005). An explicit True with several replicas is downgraded with a warning
    instead of crashing.
    """
    replicas = strategy.num_replicas_in_sync
    if jit_compile == "auto":
        return bool(tf.config.list_logical_devices("GPU")) and replicas == 1
    if jit_compile and replicas > 1:
        warnings.warn(
            f"jit_compile=True is not supported by Keras with {replicas} replicas (keras-team/keras#19005); "
            "training without XLA.", stacklevel=2)
        return False
    return bool(jit_compile)


def set_precision(mixed_precision):
    """mixed_float16 on GPUs when asked; on CPU it would only slow down, so it is refused with a warning."""
    import keras

    if mixed_precision and tf.config.list_logical_devices("GPU"):
        keras.mixed_precision.set_global_policy("mixed_float16")
        return "mixed_float16"
    if mixed_precision:
        warnings.warn("mixed precision needs a GPU; training in float32.", stacklevel=2)
    keras.mixed_precision.set_global_policy("float32")
    return "float32"
