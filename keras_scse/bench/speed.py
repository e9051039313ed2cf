"""Speed and memory: training / inference throughput of a model, with XLA on or off, and ONNX Runtime inference.

Timing protocol (every backend the same): synthetic inputs of the requested size, ``warmup`` steps first
(tracing, XLA compilation, allocator warm-up: never timed), then ``repeats`` timed blocks of ``steps`` steps;
the reported step time is the median over the blocks of their mean step time; images/s = batch / step time.
A training step is a full optimiser step (forward, loss, backward, SGD + momentum update) on one batch.

Memory: ``peak_rss_mb`` is the peak resident set of the process that measured the row (the OS's ru_maxrss),
so it is that configuration's own only when the row ran in a fresh process: ``run(..., isolate=True)`` (the
CLI's default) does that.
"""

import dataclasses
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from keras_scse.bench.counts import count_flops, count_params

BACKENDS = ("keras", "onnxruntime")
FIELDS = ["model", "attention", "backend", "xla", "input_size", "channels", "batch_size", "params",
          "trainable_params", "macs", "flops", "train_step_ms", "train_img_s", "infer_step_ms", "infer_img_s",
          "peak_rss_mb", "threads", "steps", "repeats", "warmup", "keras_backend"]


@dataclasses.dataclass
class Network:
    """What a measurement builds and feeds: a model from ``keras_scse.applications`` at one input and batch
    size, run by Keras or by ONNX Runtime; shared by a benchmark run and a sweep's row."""

    model: str = "SCSENet44"
    input_size: int = 32
    channels: int = 3
    classes: int = 10
    batch_size: int = 32
    backend: str = "keras"  # "keras" (train + infer) or "onnxruntime" (infer, of the tf2onnx export)
    xla: bool = False
    model_kwargs: dict = dataclasses.field(default_factory=dict)  # constructor options


@dataclasses.dataclass
class BenchConfig(Network):
    """One benchmark run of a ``Network``: what to time and how many steps."""

    train: bool = True
    infer: bool = True
    steps: int = 5
    repeats: int = 5
    warmup: int = 2
    seed: int = 0

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ValueError(f"`backend` must be one of {list(BACKENDS)}; received {self.backend!r}.")
        for name in ("input_size", "channels", "classes", "batch_size", "steps", "repeats"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"`{name}` must be >= 1; received {getattr(self, name)!r}.")
        if self.warmup < 1:
            raise ValueError("`warmup` must be >= 1: the first step traces the model and must not be timed.")
        if self.backend == "onnxruntime" and self.xla:
            raise ValueError("xla=True applies to the Keras backend only; ONNX Runtime rows take xla=False.")


def attention_label(model_kwargs):
    """The row's ``attention`` field: "" = the model's own default, "none" = switched off, else the name."""
    if "attention" not in model_kwargs:
        return ""
    attention = model_kwargs["attention"]
    return "none" if attention is None else str(getattr(attention, "__name__", attention))


def timed_steps(step, steps, repeats, warmup):
    """Median over ``repeats`` blocks of the mean seconds per call of ``step`` (after ``warmup`` calls)."""
    for _ in range(warmup):
        step()
    blocks = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        blocks.append((time.perf_counter() - start) / steps)
    return statistics.median(blocks)


def peak_rss_mb():
    """Peak resident memory of this process so far, MB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if platform.system() == "Darwin" else 2**10), 1)


def intra_op_threads():
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    return os.cpu_count()


def build_model(config):
    from keras_scse import applications

    shape = (config.input_size, config.input_size, config.channels)
    return applications.get_model(config.model, input_shape=shape, classes=config.classes, **config.model_kwargs)


def random_batch(config):
    """Synthetic (images, labels) of ``config``'s batch, input and class count, from its seed."""
    rng = np.random.default_rng(config.seed)
    x = rng.standard_normal((config.batch_size, config.input_size, config.input_size, config.channels),
                            dtype=np.float32)
    return x, rng.integers(0, config.classes, size=(config.batch_size,))


def compile_for_timing(model, xla):
    import keras

    # Plain SGD + momentum: the optimiser of the package's "sgd" recipe (its cost is small next to the backward).
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
                  loss="sparse_categorical_crossentropy", jit_compile=bool(xla))


def keras_timings(model, config, x, y):
    compile_for_timing(model, config.xla)
    timings = {}
    if config.train:
        timings["train"] = timed_steps(lambda: model.train_on_batch(x, y), config.steps, config.repeats,
                                       config.warmup)
    if config.infer:
        timings["infer"] = timed_steps(lambda: model.predict_on_batch(x), config.steps, config.repeats,
                                       config.warmup)
    return timings


def onnx_infer_step(model, x):
    """A function that runs ONNX Runtime inference of ``model``'s tf2onnx export on ``x``."""
    from keras_scse.export.onnx_export import to_onnx
    from keras_scse.export.parity import onnx_session

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.onnx")
        report = to_onnx(model, path, check=False)
        session = onnx_session(path)
    feed = {report["input_name"]: x}
    return lambda: session.run(None, feed)


def onnx_timings(model, config, x):
    return {"infer": timed_steps(onnx_infer_step(model, x), config.steps, config.repeats, config.warmup)}


def measure(config, model=None):
    """One row (a dict with ``FIELDS``) for ``config``, measured in this process.

    ``model``: a ready Keras model to measure instead of building ``config.model`` (which then only names the
    row); its input must match ``config``'s input size and channels, its output ``config.classes``.
    """
    import keras

    if model is None:
        model = build_model(config)
    expected = (None, config.input_size, config.input_size, config.channels)
    if tuple(model.input_shape) != expected:
        raise ValueError(f"The model's input shape {model.input_shape} does not match the config's {expected}: "
                         "set input_size and channels to the model's.")
    x, y = random_batch(config)
    params, flops = count_params(model), count_flops(model)
    if config.backend == "keras":
        timings = keras_timings(model, config, x, y)
    else:
        timings = onnx_timings(model, config, x)
    row = {
        "model": config.model,
        "attention": attention_label(config.model_kwargs),
        "backend": config.backend,
        "xla": bool(config.xla),
        "input_size": config.input_size,
        "channels": config.channels,
        "batch_size": config.batch_size,
        "params": params["total"],
        "trainable_params": params["trainable"],
        **flops,
        "peak_rss_mb": peak_rss_mb(),
        "threads": intra_op_threads(),
        "steps": config.steps,
        "repeats": config.repeats,
        "warmup": config.warmup,
        "keras_backend": keras.backend.backend(),
    }
    for mode in ("train", "infer"):
        seconds = timings.get(mode)
        row[f"{mode}_step_ms"] = round(1000 * seconds, 2) if seconds else None
        row[f"{mode}_img_s"] = round(config.batch_size / seconds, 1) if seconds else None
    return {field: row[field] for field in FIELDS}


def run(configs, isolate=True, on_row=None):
    """Measure each config; with ``isolate`` each in a fresh Python process (own memory peak, no shared state).

    ``on_row(row)`` is called as each row is ready (e.g. to write it out before a long sweep ends).
    """
    rows = []
    for config in configs:
        if isolate:
            result = subprocess.run([sys.executable, "-m", "keras_scse.bench.speed",
                                     json.dumps(dataclasses.asdict(config))],
                                    capture_output=True, text=True)
            if result.returncode:
                raise RuntimeError(f"Benchmark of {config} failed (exit {result.returncode}):\n"
                                   f"{result.stderr[-3000:]}")
            row = json.loads(result.stdout.strip().splitlines()[-1])
        else:
            row = measure(config)
        rows.append(row)
        if on_row:
            on_row(row)
    return rows


if __name__ == "__main__":  # one isolated row: the JSON config in, the JSON row out (last line)
    print(json.dumps(measure(BenchConfig(**json.loads(sys.argv[1])))))
