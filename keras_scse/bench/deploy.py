"""What a deployed file costs and keeps: one model exported to ONNX and LiteRT, float and int8, each row's test
accuracy, file size and single-image latency (``round_robin``: formats interleaved, one call a sample).

Keras float32 runs as a tf.function of the model in TensorFlow's own ("auto") conv formulation, what a TensorFlow
deployment runs; the files run in the runtimes people deploy with: onnxruntime and ai_edge_litert's interpreter.
"""

import os

import numpy as np

from keras_scse.bench.table import write_table
from keras_scse.bench.timing import round_robin, spread
from keras_scse.export import litert, onnx_export, parity, serving

# (row label, format, quantize, export options); "LiteRT int8" is to_litert's default: "plain", per-tensor weights
# for a model without depthwise convs; the last two rows: per-channel weights, and the "fused" formulation
ROWS = (("Keras float32", "keras", None, {}), ("ONNX float32", "onnx", None, {}), ("ONNX int8", "onnx", "int8", {}),
        ("LiteRT float32", "litert", None, {}), ("LiteRT float16", "litert", "float16", {}),
        ("LiteRT int8", "litert", "int8", {}), ("LiteRT int8 per-channel", "litert", "int8", {"per_channel": True}),
        ("LiteRT int8 fused", "litert", "int8", {"formulation": "fused"}))
COLUMNS = (("format", "label", ""), ("accuracy %", "accuracy_pct", ".2f"), ("file MB", "megabytes", ".2f"),
           ("vs float32 file", "size_vs_float32_pct", "{:.1f}%"), ("latency ms (median)", "latency_ms", ".2f"),
           ("IQR ms", "latency_iqr_ms", ".2f"), ("top-1 agreement with Keras %", "agreement_pct", ".2f"),
           ("max abs diff (random inputs)", "max_abs_diff", ".1e"))


def _export(model, folder, fmt, quantize, calibration, calibration_size, **extra):
    """(report, runner) of one exported file: x -> first output, through its runtime."""
    stem = os.path.join(folder, f"{model.name}_{quantize or 'float32'}" + "".join(f"_{k}{v}" for k, v in extra.items()))
    options = dict(quantize=quantize, representative_data=calibration, calibration_size=calibration_size, **extra)
    if fmt == "onnx":
        report = onnx_export.to_onnx(model, f"{stem}.onnx", **options)
        session = parity.onnx_session(report["path"])
        name, output = report["input_name"], report["output_names"][0]
        return report, lambda x: session.run([output], {name: x})[0]
    report = litert.to_litert(model, f"{stem}.tflite", **options)
    runner = parity.litert_runner(report["path"], report["output_names"][:1], num_threads=os.cpu_count())
    return report, lambda x: runner(x)[report["output_names"][0]]


def _keras_runner(model):
    import tensorflow as tf

    spec = serving.input_spec(model)
    function, names = serving.serving_function(model, spec, formulation="auto")
    return lambda x: function(tf.constant(x))[names[0]].numpy()


def _predictions(run, x, batch=250):
    return np.concatenate([np.argmax(run(x[i:i + batch]), -1) for i in range(0, len(x), batch)])


def deploy_table(model, x, y, folder, calibration="fashion_mnist", calibration_size=300, passes=300):
    """Rows of ``ROWS`` for ``model`` on the test images ``x`` (labels ``y``): files written to ``folder``.

    Latency: ``passes`` single-image calls per row (each on a different test image), round-robin over the rows,
    one untimed call before each timed one; the median and interquartile range of the samples.
    """
    os.makedirs(folder, exist_ok=True)
    rows, runners = [], []
    for label, fmt, quantize, extra in ROWS:
        if fmt == "keras":  # its file: the .keras archive (weights and config)
            path = os.path.join(folder, f"{model.name}.keras")
            model.save(path)
            report, run = {"bytes": os.path.getsize(path), "max_abs_diff": {}}, _keras_runner(model)
        else:
            report, run = _export(model, folder, fmt, quantize, calibration, calibration_size, **extra)
        size = report.get("bytes") or (os.path.getsize(report["path"]) if "path" in report else None)
        rows.append({"label": label, "format": fmt, "quantize": quantize or "float32", "bytes": size,
                     "megabytes": size / 1e6 if size else None, "max_abs_diff": report["max_abs_diff"].get("random")})
        runners.append(run)
    reference = _predictions(runners[0], x)
    for row, run in zip(rows, runners):
        predicted = reference if row["format"] == "keras" else _predictions(run, x)
        row["accuracy_pct"] = 100 * float(np.mean(predicted == y))
        row["agreement_pct"] = 100 * float(np.mean(predicted == reference))
        floats = next(r for r in rows if r["format"] == row["format"] and r["quantize"] == "float32")
        row["size_vs_float32_pct"] = 100 * row["bytes"] / floats["bytes"] if row["bytes"] else None
    singles = [x[i:i + 1] for i in range(passes * 2 + 2)]
    steps = [_cycling(run, singles) for run in runners]
    for row, samples in zip(rows, round_robin(steps, passes=passes, steps_per_pass=1, warmup=3, settle=1)):
        stats = spread(samples)
        row.update(latency_ms=1e3 * stats["median"], latency_iqr_ms=1e3 * stats["iqr"], latency_runs=len(samples))
    return rows


def _cycling(run, singles):
    """A step that runs the next single image each call (no two timed calls see the same input)."""
    state = {"i": 0}

    def step():
        run(singles[state["i"] % len(singles)])
        state["i"] += 1

    return step


def write_deploy_table(rows, stem, title, notes=()):
    return write_table(rows, stem, COLUMNS, title=title, notes=notes)


def _sigmoid_outputs(path, x):
    """{tensor name: values over ``x``, dequantized} of every sigmoid (gate) output in a LiteRT file: the
    interpreter without delegates, keeping every intermediate tensor, one image at a time."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    gates = [t for t in interpreter.get_tensor_details() if t["name"].split(";")[0].rsplit("/", 1)[-1]
             .startswith("Sigmoid")]
    values = {t["name"].split(";")[0]: [] for t in gates}
    for i in range(len(x)):
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x[i:i + 1])
        interpreter.invoke()
        for t in gates:
            v = interpreter.get_tensor(t["index"]).astype("float32")
            scale, zero = t["quantization"]
            values[t["name"].split(";")[0]].append(((v - zero) * scale if scale else v).ravel())
    return {name: np.concatenate(v) for name, v in values.items()}


def gate_errors(float_path, int8_path, x):
    """Rows per gate kind (the sigmoid's name within its layer: Sigmoid, Sigmoid_1, ...): how far the int8 file's
    attention gates are from the float32 file's on ``x``: mean and max |int8 - float32|, and the mean error
    over the gate's spread across images and positions (std)."""
    floats, ints = _sigmoid_outputs(float_path, x), _sigmoid_outputs(int8_path, x)
    kinds = {}
    for name, f in floats.items():
        if name in ints:
            error = np.abs(ints[name] - f)
            kinds.setdefault(name.rsplit("/", 1)[-1], []).append((error.mean(), error.max(), error.mean() / f.std(),
                                                                   f.min(), f.max()))
    return [{"gate": kind, "gates": len(v), "mean_abs_err": float(np.mean([e[0] for e in v])),
             "max_abs_err": float(np.max([e[1] for e in v])), "err_over_std": float(np.mean([e[2] for e in v])),
             "min": float(np.min([e[3] for e in v])), "max": float(np.max([e[4] for e in v]))}
            for kind, v in sorted(kinds.items())]
