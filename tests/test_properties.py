"""Property-based checks (hypothesis): over the CLI's argument space (parse level: the parser and its checks, no
command runs) and over the attention layers' input shapes, dtypes and value ranges. Every case either works or
fails the package's way (one `keras-scse: error:` line and exit status 2; ValueError); nothing else escapes."""

import contextlib
import io
import json
import math

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from keras_scse import cli, layers

FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
PARSE_ONLY = settings(FAST, max_examples=300)  # ~3 ms each

# ---------------------------------------------------------------- CLI

POSITIVE_INT = ("epochs", "batch_size", "image_size", "limit", "cpu_devices", "steps_per_execution", "max_trials",
                "val_limit", "opset", "classes", "steps", "repeats")
NON_NEGATIVE_INT = ("seed", "patience", "warmup", "head_epochs", "full_epochs")
POSITIVE_FLOAT = ("lr", "max_params", "max_macs")
NON_NEGATIVE_FLOAT = ("weight_decay", "warmup_epochs", "atol")
JSON = ("model_kwargs", "fixed", "space_overrides")

OPTIONS = {  # the options drawn per command; flags take no value
    "train": ["--epochs", "--batch-size", "--image-size", "--channels", "--lr", "--weight-decay", "--label-smoothing",
              "--warmup-epochs", "--val-fraction", "--limit", "--seed", "--cpu-devices", "--steps-per-execution",
              "--model-kwargs", "--verbose", "--jit-compile", "--recipe", "--fresh", "--resume", "--skip-unreadable"],
    "finetune": ["--dataset", "--head-epochs", "--full-epochs", "--batch-size", "--lr", "--image-size", "--channels",
                 "--limit", "--seed", "--verbose"],
    "tune": ["--max-trials", "--epochs", "--image-size", "--limit", "--val-limit", "--batch-size", "--max-params",
             "--max-macs", "--patience", "--fixed", "--space-overrides", "--tuner", "--verbose"],
    "export": ["--model", "--model-path", "--opset", "--atol", "--input-size", "--channels", "--classes", "--format"],
    "bench": ["--input-size", "--batch-size", "--channels", "--classes", "--xla", "--steps", "--repeats", "--warmup",
              "--model-kwargs"],
    "models": ["--classes", "--input-size", "--costs"],
    "demo": ["--epochs", "--limit"],
}
FLAGS = {"--fresh", "--resume", "--skip-unreadable", "--costs"}

numbers = st.one_of(
    st.integers(-5, 300).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["0", "-0", "1", "2", "0.5", "1e3", "1e-3", "nan", "inf", "-inf", "1_000", " 7", "0x10", ""]),
)
words = st.text(st.sampled_from(list("abz019{}[]\":,.-+ eE")), max_size=10)
json_texts = st.one_of(
    st.dictionaries(st.text("abc", max_size=3), st.integers(-2, 2), max_size=2).map(json.dumps),
    st.sampled_from(['{"attention": "sca"}', "[1]", "null", "{bad", "3", '"text"', "{}"]),
)
values = st.one_of(numbers, words, json_texts, st.sampled_from(["auto", "on", "off", "true", "any", "sgd", "onnx"]))
GOOD = {  # valid values, drawn as often as anything else, so that whole command lines parse too
    "--model-kwargs": ['{"attention": "sca"}', "{}"], "--fixed": ['{"stem": "imagenet"}'], "--space-overrides": ["{}"],
    "--verbose": ["auto", "0", "2"], "--jit-compile": ["auto", "false"], "--recipe": ["adamw"], "--tuner": ["random"],
    "--format": ["savedmodel"], "--xla": ["on", "off"], "--input-size": ["32", "any"], "--val-fraction": ["0.2"],
    "--label-smoothing": ["0", "0.1"], "--lr": ["0.1", "1e-3"], "--atol": ["0", "1e-4"], "--channels": ["1", "3"],
    "--dataset": ["fashion_mnist"], "--model": ["SCSENet44"], "--head-epochs": ["0", "2"],
}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(sorted(OPTIONS)))
    argv = [command]
    for option in draw(st.lists(st.sampled_from(OPTIONS[command]), max_size=5, unique=True)):
        good = st.sampled_from(GOOD.get(option, ["1", "2", "8"]))
        argv += [option] if option in FLAGS else [option, draw(st.one_of(good, values))]
    if draw(st.booleans()):
        argv.append(draw(st.sampled_from(["--debug", "--unknown", "stray"])))
    return argv


def parse(argv):
    """(Namespace or None, exit status or None, stdout, stderr) of cli.parse_args(argv)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            return cli.parse_args(argv), None, out.getvalue(), err.getvalue()
        except SystemExit as stop:
            return None, stop.code, out.getvalue(), err.getvalue()


def assert_valid(args):
    """What a parsed command line guarantees to the commands."""
    given = vars(args)
    for dest, value in given.items():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if item is None:
                continue
            if dest in POSITIVE_INT or (dest == "input_size" and item != "any"):
                assert isinstance(item, int) and item >= 1, (dest, item)
            elif dest in NON_NEGATIVE_INT:
                assert isinstance(item, int) and item >= 0, (dest, item)
            elif dest in POSITIVE_FLOAT:
                assert math.isfinite(item) and item > 0, (dest, item)
            elif dest in NON_NEGATIVE_FLOAT:
                assert math.isfinite(item) and item >= 0, (dest, item)
            elif dest == "val_fraction":
                assert 0 < item < 1
            elif dest == "label_smoothing":
                assert 0 <= item < 1
            elif dest in JSON:
                assert isinstance(item, dict)
            elif dest == "verbose":
                assert item in ("auto", 0, 1, 2)
            elif dest == "channels" and args.command != "bench":
                assert item >= 1
    if args.command == "finetune":
        assert args.head_epochs + args.full_epochs >= 1
    if args.command == "train":
        assert not (args.fresh and args.resume)


@PARSE_ONLY
@given(argv=command_lines())
def test_any_command_line_parses_to_checked_values_or_one_error_line(argv):
    args, code, out, err = parse(argv)
    event("parsed" if args is not None else f"exit {code}")
    if args is not None:
        assert err == ""
        assert_valid(args)
    elif code == 0:  # only help exits 0 here
        assert out.startswith("usage:")
    else:
        lines = err.splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("keras-scse: error: "), (argv, err)
        assert "Traceback" not in err


@pytest.mark.parametrize("option, good, bad", [
    ("--epochs", "3", "0"), ("--batch-size", "8", "-4"), ("--image-size", "32", "0"), ("--val-fraction", "0.2", "1"),
    ("--lr", "0.1", "inf"), ("--label-smoothing", "0", "1"), ("--seed", "0", "-1"),
    ("--model-kwargs", '{"attention": "sca"}', "{bad"),
])
def test_each_train_option_has_a_boundary(option, good, bad):
    args, *_ = parse(["train", option, good])
    assert args is not None
    _, code, _, err = parse(["train", option, bad])
    assert code == 2 and err.startswith(f"keras-scse: error: argument {option}: ")


# ---------------------------------------------------------------- attention layers

DTYPES = ("float32", "float16", "bfloat16", "float64", "int32", "uint8", "bool")
SCALES = (0.0, 1e-30, 1.0, 1e4, 1e30, math.nan, math.inf)


@st.composite
def layer_inputs(draw):
    rank = draw(st.sampled_from([4, 4, 4, 3, 5, 2]))
    shape = [draw(st.integers(0, 2))] + [draw(st.integers(0, 9)) for _ in range(rank - 2)]
    shape.append(draw(st.sampled_from([0, 1, 2, 3, 8, 64])))
    return tuple(shape), draw(st.sampled_from(DTYPES)), draw(st.sampled_from(SCALES))


@FAST
@given(name=st.sampled_from(layers.names()), case=layer_inputs(), residual_gate=st.booleans(),
       symbolic=st.booleans())
def test_attention_layers_work_or_raise_value_error(name, case, residual_gate, symbolic):
    shape, dtype, scale = case
    layer = layers.make(name, name="attention", attention_kwargs={"residual_gate": residual_gate})
    if symbolic:  # batch, height and width unknown, as in a model built for any image size
        x = keras.Input(batch_shape=(None,) * (len(shape) - 1) + shape[-1:], dtype=dtype)
    else:
        with np.errstate(all="ignore"):
            values = np.random.default_rng(0).normal(size=shape) * scale
            if dtype in ("int32", "uint8", "bool"):
                values = np.nan_to_num(values, posinf=1, neginf=0)
            x = keras.ops.cast(values.astype("float32" if dtype == "bfloat16" else dtype), dtype)
    try:
        y = layer(x)
    except ValueError:
        event("ValueError")
        return
    event("works")
    assert tuple(y.shape) == tuple(x.shape)
    assert keras.backend.is_float_dtype(y.dtype)
    if not symbolic and scale <= 1e4:  # moderate finite input: finite output
        assert np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(y, "float32"))).all()
