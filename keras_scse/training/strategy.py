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


def select_strategy(cpu_devices=None):
    """TF_CONFIG set -> MultiWorkerMirroredStrategy; cpu_devices=N -> MirroredStrategy over N logical CPUs;
    several GPUs -> MirroredStrategy over all; else the default (single-device) strategy."""
    if os.environ.get("TF_CONFIG"):
        json.loads(os.environ["TF_CONFIG"])  # a malformed TF_CONFIG fails here, with the JSON error
        return tf.distribute.MultiWorkerMirroredStrategy()
    if cpu_devices and cpu_devices > 1:
        split_cpu(cpu_devices)
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(cpu_devices)])
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


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
