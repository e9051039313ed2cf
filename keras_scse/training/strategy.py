"""Where training runs: the distribution (tf.distribute on TensorFlow, keras.distribution on JAX) and the XLA /
precision policy.

TensorFlow: MultiWorkerMirroredStrategy with TF_CONFIG, MirroredStrategy over several GPUs (or logical CPUs).
JAX: ``keras.distribution.DataParallel`` over all local devices when there are several, XLA always on.
PyTorch: one device, no XLA.
"""

import contextlib
import json
import os
import warnings

import keras


def backend():
    return keras.backend.backend()


def has_gpu():
    """Whether the active backend sees a GPU (imports only that backend)."""
    if backend() == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU"))
    if backend() == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend() == "torch":
        import torch

        return torch.cuda.is_available()
    return False


class KerasDistribution:
    """The part of a tf.distribute strategy that training uses (scope, replica count), for JAX and PyTorch.

    On JAX with several local devices it installs ``keras.distribution.DataParallel`` (batch split over the
    devices, weights replicated); everything else runs on one device.
    """

    def __init__(self):
        devices = keras.distribution.list_devices() if backend() == "jax" else []
        self.num_replicas_in_sync = max(1, len(devices))
        if self.num_replicas_in_sync > 1:
            keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))

    def scope(self):
        return contextlib.nullcontext()


def split_cpu(n):
    """Expose the CPU as ``n`` logical devices (for multi-replica tests). Must run before TF initialises."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError:
        if len(tf.config.list_logical_devices("CPU")) != n:
            raise RuntimeError(
                f"Cannot split the CPU into {n} devices: TensorFlow is already initialised in this process. "
                "Choose cpu_devices before anything runs on TensorFlow (start a fresh process)."
            ) from None


def multi_worker_strategy():
    """tf.distribute.MultiWorkerMirroredStrategy with a ``reduce`` that Keras 3.15's fit can use.

    Keras' TF trainer calls ``strategy.reduce`` in two ways that only the single-worker strategies accept
    (keras-team/keras#20585): on a whole (images, labels) batch to learn its shapes (fails with "Attempt to
    convert a value (PerReplica...) to a Tensor"), and with ``axis=0`` on per-replica scalar losses/metrics
    (fails with "Invalid reduction dimension 0 for input with 0 dimensions"). Here nests are reduced leaf by
    leaf and scalars across replicas (axis=None), which is what Keras means in both cases.
    """
    import tensorflow as tf

    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            parent = super()

            def reduce_one(v):
                rank = tf.TensorShape(self.experimental_local_results(v)[0].shape).rank
                return parent.reduce(reduce_op, v, None if rank == 0 else axis)

            return tf.nest.map_structure(reduce_one, value)

    return MultiWorkerMirroredStrategy()


def select_strategy(cpu_devices=None):
    """TensorFlow: TF_CONFIG set -> MultiWorkerMirroredStrategy; cpu_devices=N -> MirroredStrategy over N
    logical CPUs; several GPUs -> MirroredStrategy over all; else the default (single-device) strategy.
    JAX / PyTorch: a ``KerasDistribution`` (data-parallel over JAX's local devices)."""
    if backend() != "tensorflow":
        if os.environ.get("TF_CONFIG") or (cpu_devices and cpu_devices > 1):
            raise ValueError(
                f"TF_CONFIG and cpu_devices select tf.distribute strategies, which need KERAS_BACKEND=tensorflow "
                f"(Keras runs on {backend()!r}). On JAX, training is data-parallel over all local devices by "
                "itself; unset TF_CONFIG / cpu_devices, or use the TensorFlow backend.")
        return KerasDistribution()
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        json.loads(os.environ["TF_CONFIG"])  # a malformed TF_CONFIG fails here, with the JSON error
        return multi_worker_strategy()
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
        import tensorflow as tf

        tf.function(lambda: strategy.reduce("SUM", strategy.run(lambda: tf.constant(1.0)), axis=None))()


def resolve_jit_compile(jit_compile, strategy):
    """The jit_compile value to give model.compile.

    "auto": on JAX always (Keras on JAX is XLA by construction; without jit it runs op by op); on PyTorch
    never; on TensorFlow on a single GPU only: off on CPU (measured ~2x slower training on the 2-core CPU, see
    reference.md section 4) and with several replicas, where Keras' XLA path fails (keras-team/keras#19005).
    An explicit True with several TensorFlow replicas is downgraded with a warning instead of crashing.
    """
    replicas = strategy.num_replicas_in_sync
    if jit_compile == "auto":
        if backend() != "tensorflow":
            return backend() == "jax"
        return has_gpu() and replicas == 1
    if jit_compile and replicas > 1 and backend() == "tensorflow":
        warnings.warn(
            f"jit_compile=True is not supported by Keras with {replicas} replicas (keras-team/keras#19005); "
            "training without XLA.", stacklevel=2)
        return False
    return bool(jit_compile)


def strategy_and_jit(cpu_devices, jit_compile, batch_size):
    """(strategy, resolved jit_compile) for a run of global ``batch_size``, which the replicas must divide."""
    strategy = select_strategy(cpu_devices)
    jit = resolve_jit_compile(jit_compile, strategy)
    if batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"batch_size={batch_size} must be divisible by the "
                         f"{strategy.num_replicas_in_sync} replicas.")
    return strategy, jit


def set_precision(mixed_precision):
    """mixed_float16 on GPUs when asked; on CPU it would only slow down, so it is refused with a warning."""
    if mixed_precision and has_gpu():
        keras.mixed_precision.set_global_policy("mixed_float16")
        return "mixed_float16"
    if mixed_precision:
        warnings.warn("mixed precision needs a GPU; training in float32.", stacklevel=2)
    keras.mixed_precision.set_global_policy("float32")
    return "float32"
