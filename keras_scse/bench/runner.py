"""Run a ``Sweep``: build and trace every row, time them all round-robin, one result dict per row.

Rows on one Keras backend share one process (round-robin needs all models alive at once: about 1 GB each for
SqueezeNext44 under TensorFlow, so split big sweeps with ``keras_scse.bench.entry``'s --only); each Keras
backend gets its own child process (``runner.child``), since Keras picks its backend once.
"""

import dataclasses
import json
import os
import subprocess
import sys

from keras_scse.bench import speed, timing
from keras_scse.bench.sweep import Row, Sweep

RESULT_PREFIX = "ROW "  # the child's result lines on stdout; everything else there is progress


def bench_config(row, **timing_fields):
    """The row as a ``speed.BenchConfig`` (to reuse its model building, batches and memory probe)."""
    network = {field.name: getattr(row, field.name) for field in dataclasses.fields(speed.Network)}
    return speed.BenchConfig(**{**network, "model_kwargs": row.constructor_kwargs()}, train=row.backend == "keras",
                             **timing_fields)


def prepare(row, modes):
    """(model, {mode: step function}) for one row; traced later, inside its formulation."""
    config = bench_config(row)
    model = speed.build_model(config)
    x, y = speed.random_batch(config)
    if row.backend == "onnxruntime":
        return model, {"infer": speed.onnx_infer_step(model, x)}
    speed.compile_for_timing(model, row.xla)
    steps = {"train": lambda: model.train_on_batch(x, y), "infer": lambda: model.predict_on_batch(x)}
    return model, {mode: steps[mode] for mode in modes}


def describe(row, model, sweep):
    """The row's fields that do not depend on timing: what was measured, its cost, how it was timed."""
    import keras

    from keras_scse.bench.counts import count_flops, count_params

    params, flops = count_params(model), count_flops(model)
    layer = "none" if row.attention is None else str(row.attention)
    return {"model": row.model, "attention": row.label, "layer": layer,
            "options": json.dumps(row.options, sort_keys=True),
            "model_kwargs": json.dumps(row.model_kwargs, sort_keys=True),
            "formulation": row.formulation, "backend": row.backend, "keras_backend": keras.backend.backend(),
            "xla": bool(row.xla), "input_size": row.input_size, "channels": row.channels,
            "batch_size": row.batch_size, "params": params["total"], "trainable_params": params["trainable"],
            **flops, "passes": sweep.passes, "steps": sweep.steps, "warmup": sweep.warmup, "settle": sweep.settle,
            "threads": speed.intra_op_threads(), "device": device_name()}


def device_name():
    import keras

    if keras.backend.backend() == "jax":
        import jax

        device = jax.devices()[0]
        return f"{device.platform}: {device.device_kind}"
    return "cpu"


def timed_fields(mode, seconds, batch_size):
    """``{mode}_step_ms`` (median), its min / max / IQR, images/s of the median, and every pass's time."""
    stats = {name: 1000 * value for name, value in timing.spread(seconds).items()}
    return {f"{mode}_step_ms": round(stats["median"], 2), f"{mode}_ms_min": round(stats["min"], 2),
            f"{mode}_ms_max": round(stats["max"], 2), f"{mode}_ms_iqr": round(stats["iqr"], 2),
            f"{mode}_img_s": round(batch_size / (stats["median"] / 1000), 1),
            f"{mode}_ms_per_pass": " ".join(f"{1000 * s:.1f}" for s in seconds)}


def measure_rows(sweep, log=print):
    """In this process (its Keras backend): every row built and traced first, then timed round-robin."""
    import keras

    from keras_scse.layers.formulation import conv_formulation

    results, calls = [], []  # calls: (result index, mode, step)
    for row in sweep.rows:
        keras.backend.clear_session()  # the same layer names as in any other process: compilation caches hit
        model, steps = prepare(row, sweep.modes)
        with conv_formulation(row.formulation):  # traced here, so each compiled step keeps its formulation
            for step in steps.values():
                step()
        results.append(describe(row, model, sweep))
        calls += [(len(results) - 1, mode, step) for mode, step in steps.items()]
        log(f"traced {row.model} {row.label} ({row.formulation})")
    samples = timing.round_robin([step for _, _, step in calls], sweep.passes, sweep.steps,
                                 warmup=sweep.warmup - 1, settle=sweep.settle)  # the trace was the first
    for (index, mode, _), seconds in zip(calls, samples):
        results[index].update(timed_fields(mode, seconds, results[index]["batch_size"]))
    return results


def peak_memory(rows):
    """Peak resident MB of each row measured alone in a fresh process (one step of each kind; this process's
    Keras backend and the "auto" formulation)."""
    configs = [bench_config(row, steps=1, repeats=1, warmup=1) for row in rows]
    return [measured["peak_rss_mb"] for measured in speed.run(configs, isolate=True)]


def run_in_child(sweep, keras_backend, log=print):
    """The sweep's rows on ``keras_backend`` measured in a child process; its progress lines are passed on."""
    payload = json.dumps(dataclasses.asdict(sweep))
    env = {**os.environ, "KERAS_BACKEND": keras_backend} if keras_backend else dict(os.environ)
    child = subprocess.Popen([sys.executable, "-c", "from keras_scse.bench.runner import child; child()"],
                             stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env)
    child.stdin.write(payload)
    child.stdin.close()
    results = []
    for line in child.stdout:
        if line.startswith(RESULT_PREFIX):
            results.append(json.loads(line[len(RESULT_PREFIX):]))
        else:
            log(line.rstrip())
    if child.wait():
        raise RuntimeError(f"Sweep {sweep.name!r} on Keras backend {keras_backend or 'default'} failed (exit "
                           f"{child.returncode}); its error output is above.")
    return results


def run_sweep(sweep, isolate=True, log=print):
    """One result dict per row, in the sweep's row order. ``isolate``: rows run in child processes, one per
    Keras backend (required when rows name different backends); else all in this process."""
    by_backend = {}
    for index, row in enumerate(sweep.rows):
        by_backend.setdefault(row.keras_backend, []).append(index)
    if not isolate and len(by_backend) > 1:
        raise ValueError(f"Sweep {sweep.name!r} names Keras backends {sorted(map(str, by_backend))}: run it with "
                         "isolate=True (a process has one backend).")
    results = [None] * len(sweep.rows)
    for keras_backend, indices in by_backend.items():
        part = dataclasses.replace(sweep, rows=[sweep.rows[i] for i in indices])
        measured = run_in_child(part, keras_backend, log) if isolate else measure_rows(part, log)
        for index, result in zip(indices, measured):
            results[index] = result
    if sweep.memory:
        for result, mb in zip(results, peak_memory(sweep.rows)):
            result["peak_rss_mb"] = mb
    return results


def sweep_from_json(text):
    fields = json.loads(text)
    return Sweep(**{**fields, "rows": [Row(**row) for row in fields["rows"]]})


def child():
    """The child process: a sweep as JSON on stdin, result rows on stdout."""
    for result in measure_rows(sweep_from_json(sys.stdin.read()), log=lambda text: print(text, flush=True)):
        print(RESULT_PREFIX + json.dumps(result), flush=True)
