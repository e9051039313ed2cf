"""Parity of an exported file with the Keras model: the same inputs through both, max |exported - keras|.

Every exporter checks its file here, with a ``runner`` (x -> {output name: array}) for its runtime."""

import math

import keras
import numpy as np

from keras_scse.export import serving


def cases(spec, sample):
    """[(kind, x)]: random inputs of the export's shape (``serving.random_inputs``), then ``sample`` if given."""
    found = [("random", x) for x in serving.random_inputs(spec)]
    if sample is not None:
        found.append(("sample", sample))
    return found


def compare(model, runner, names, checks, atol, path, fmt):
    """{kind: max |exported - keras|} over ``checks`` [(kind, x)]; ParityError above ``atol`` (None: measured
    and reported, not enforced, as for quantized files)."""
    diffs = {}
    for kind, x in checks:
        expected = serving.keras_outputs(model, x, names)
        diff = serving.max_abs_diff(expected, runner(x))
        diffs[kind] = max(diffs.get(kind, 0.0), diff) if np.isfinite(diff) else diff
        if not diff <= (math.inf if atol is None else atol):  # NaN fails either way
            raise serving.ParityError(
                f"{fmt} parity check failed on {kind} inputs of shape {x.shape}: max |{fmt.lower()} - keras| = "
                f"{diff:.3g} > atol={atol}. The exported file is at {path!r}; do not deploy it. Check for "
                "layers that behave differently at inference, or loosen `atol` if the difference is expected "
                "(e.g. reduced precision)."
            )
    return diffs


def onnx_session(path):
    """An onnxruntime CPU InferenceSession of the .onnx file ``path``, with onnxruntime's own log cut to errors."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def onnx_runner(session, spec, names):
    """x -> {name: output} through ``session``; an export with a fixed batch size runs in slices of that size."""
    fixed_batch = spec.shape.as_list()[0]

    def run(x):
        if fixed_batch is None or len(x) == fixed_batch:
            return dict(zip(names, session.run(names, {spec.name: x})))
        if len(x) % fixed_batch:
            raise ValueError(f"The export has a fixed batch size {fixed_batch}; the sample has {len(x)} items.")
        parts = [session.run(names, {spec.name: x[i:i + fixed_batch]}) for i in range(0, len(x), fixed_batch)]
        return {n: np.concatenate([p[j] for p in parts]) for j, n in enumerate(names)}

    return run


def litert_runner(path, names, num_threads=None):
    """x -> {name: output} through ``ai_edge_litert``'s interpreter (its signature runner resizes the batch)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
    runner = interpreter.get_signature_runner("serving_default")
    input_name = next(iter(runner.get_input_details()))

    def run(x):
        out = runner(**{input_name: np.ascontiguousarray(x)})
        return {n: out[n] for n in names}

    return run


def agreement(model, runner, names, x):
    """Share of ``x`` whose first output's argmax is the same in the export and in Keras (top-1 agreement)."""
    expected = serving.keras_outputs(model, x, names)[names[0]]
    got = runner(x)[names[0]]
    return float(np.mean(np.argmax(got, -1) == np.argmax(expected, -1)))


def source_backend_parity(model, report, sample, atol):
    """Max |exported file - model| on random inputs at batch 1 and 5 (and ``sample``), the model on its own
    backend (JAX, PyTorch): what ``tf_subprocess.via_tensorflow`` checks after exporting in TensorFlow (an ONNX
    file through onnxruntime, a LiteRT file through ai_edge_litert). ``atol`` None: measured, not enforced."""
    shape = [32 if d is None else d for d in report["input_shape"][1:]]
    rng = np.random.default_rng(0)
    inputs = [rng.uniform(size=(batch, *shape)).astype(report["input_dtype"]) for batch in (1, 5)]
    if sample is not None:
        inputs.append(np.asarray(sample, report["input_dtype"]))
    first = report["output_names"][0]
    if report["format"] == "litert":
        runner = litert_runner(report["path"], [first])
    else:
        session = onnx_session(report["path"])

        def runner(x):
            return {first: session.run([first], {report["input_name"]: x})[0]}
    worst = 0.0
    for x in inputs:
        expected = np.asarray(keras.ops.convert_to_numpy(model(x, training=False)))
        worst = max(worst, float(np.abs(runner(x)[first] - expected).max()))
    if atol is not None and worst > atol:
        raise serving.ParityError(f"The {report['format']} export of {model.name!r} differs from the model on the "
                                 f"{keras.backend.backend()} backend by {worst:.3g} > atol={atol}.")
    return worst
