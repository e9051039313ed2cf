"""Sweeps declared as data: rows over model x attention x options x formulation x backend, checked up front.

A ``Row`` is one network to time (a registered model at one input and batch size, with one attention layer and
its options, one conv formulation, on one Keras backend); a ``Sweep`` is named rows plus the timing settings
that ``keras_scse.bench.runner`` applies to all of them alike. ``grid`` writes the product of lists as rows.
Every mistake a caller can make (unknown model, attention, formulation or backend; sizes < 1; the same row
twice) raises ValueError before anything is built, so an hours-long sweep does not die at row 17.
"""

import dataclasses
import itertools
import json

from keras_scse.bench.speed import Network

DEFAULT = "default"  # attention: keep the model's own (e.g. SC-SE in SCSENet44); None switches it off
BACKENDS = ("keras", "onnxruntime")
KERAS_BACKENDS = (None, "tensorflow", "jax", "torch")  # None: the backend of the process that runs the sweep
MODES = ("train", "infer")


@dataclasses.dataclass
class Row(Network):
    """One network to time, with the attention as its own fields (``model_kwargs``: the other constructor
    options). ``label`` names it in tables (default: the attention and its options)."""

    attention: object = DEFAULT
    options: dict = dataclasses.field(default_factory=dict)  # the attention layer's kwargs
    formulation: str = "auto"  # keras_scse.layers.base.conv_formulation while the row is traced
    keras_backend: str = None
    label: str = ""

    def __post_init__(self):
        if not self.label:
            self.label = "none" if self.attention is None else " ".join(
                [str(self.attention), *(f"{k}={v}" for k, v in sorted(self.options.items()))])

    def constructor_kwargs(self):
        """What ``applications.get_model`` gets besides the input shape and classes."""
        kwargs = dict(self.model_kwargs)
        if self.attention != DEFAULT:
            kwargs["attention"] = self.attention
            kwargs["attention_kwargs"] = dict(self.options) or None
        return kwargs

    def key(self):
        """What makes two rows the same measurement (the label is only a name)."""
        fields = dataclasses.asdict(self)
        fields.pop("label")
        return json.dumps(fields, sort_keys=True, default=str)

    def network(self):
        """The row without its attention: rows of one network share a floor (its attention=None row)."""
        fields = json.loads(self.key())
        for name in ("attention", "options", "formulation"):
            fields.pop(name)
        return json.dumps(fields, sort_keys=True)


@dataclasses.dataclass
class Sweep:
    """Named rows and one timing method for all of them (see ``keras_scse.bench.timing.round_robin``).

    passes: round-robin passes (each row's median and spread are over these); steps: timed steps per pass;
    warmup: untimed steps per row before any timing (tracing, compilation); settle: untimed steps per row at the
    start of each pass (the other rows ran in between: cold caches); memory: also measure each row's peak
    memory in a fresh process (``keras_scse.bench.speed.run``), since one process times all rows.
    """

    name: str
    rows: list
    passes: int = 5
    steps: int = 3
    warmup: int = 1
    settle: int = 1
    modes: tuple = MODES
    memory: bool = False

    def __post_init__(self):
        self.rows = list(self.rows)
        self.modes = tuple(self.modes)
        validate(self)


def _check_choice(where, name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{where}: `{name}` must be one of {list(allowed)}; received {value!r}.")


def validate_row(row, where):
    from keras_scse import applications, layers
    from keras_scse.layers.formulation import FORMULATIONS

    _check_choice(where, "model", row.model, applications.list_models())
    if row.attention not in (None, DEFAULT):
        _check_choice(where, "attention", row.attention, [None, DEFAULT, *layers.names()])
    _check_choice(where, "formulation", row.formulation, FORMULATIONS)
    _check_choice(where, "backend", row.backend, BACKENDS)
    _check_choice(where, "keras_backend", row.keras_backend, KERAS_BACKENDS)
    for name in ("input_size", "batch_size", "channels", "classes"):
        value = getattr(row, name)
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{where}: `{name}` must be an integer >= 1; received {value!r}.")
    if row.backend == "onnxruntime" and row.xla:
        raise ValueError(f"{where}: xla=True applies to the Keras backend only; ONNX Runtime rows take xla=False.")
    if not isinstance(row.options, dict) or not isinstance(row.model_kwargs, dict):
        raise ValueError(f"{where}: `options` and `model_kwargs` must be dicts; received {row.options!r}, "
                         f"{row.model_kwargs!r}.")
    if row.options and row.attention in (None, DEFAULT):
        raise ValueError(f"{where}: attention options {row.options} need an attention name; received "
                         f"attention={row.attention!r}.")


def validate(sweep):
    """Raise ValueError naming the sweep, the row and what is allowed, for the first mistake found."""
    if not sweep.rows:
        raise ValueError(f"Sweep {sweep.name!r} has no rows.")
    for name in ("passes", "steps", "warmup"):
        if not isinstance(getattr(sweep, name), int) or getattr(sweep, name) < 1:
            raise ValueError(f"Sweep {sweep.name!r}: `{name}` must be an integer >= 1 (warmup: the first step "
                             f"traces or compiles and must not be timed); received {getattr(sweep, name)!r}.")
    if not isinstance(sweep.settle, int) or sweep.settle < 0:
        raise ValueError(f"Sweep {sweep.name!r}: `settle` must be an integer >= 0; received {sweep.settle!r}.")
    if not sweep.modes or any(mode not in MODES for mode in sweep.modes):
        raise ValueError(f"Sweep {sweep.name!r}: `modes` must be a non-empty subset of {list(MODES)}; "
                         f"received {list(sweep.modes)}.")
    seen = {}
    for index, row in enumerate(sweep.rows):
        where = f"Sweep {sweep.name!r}, row {index} ({getattr(row, 'label', row)!r})"
        if not isinstance(row, Row):
            raise ValueError(f"{where}: rows must be keras_scse.bench.sweep.Row; received {type(row).__name__}.")
        validate_row(row, where)
        if row.backend == "onnxruntime" and "train" in sweep.modes:
            raise ValueError(f"{where}: ONNX Runtime rows time inference only: use modes=('infer',) or a "
                             "separate sweep.")
        if row.key() in seen:
            raise ValueError(f"{where} repeats row {seen[row.key()]}: every row must differ in something.")
        seen[row.key()] = index


def grid(models, attentions=(DEFAULT,), formulations=("auto",), keras_backends=(None,), **fixed):
    """Rows for every combination (models outermost). ``attentions``: names, None (off), ``DEFAULT`` (the
    model's own, the default), or (name, options) pairs;
    rows without attention get one row (formulation "auto"), whatever ``formulations`` lists, since there is
    no attention conv to formulate. ``fixed``: any other ``Row`` field, the same in every row."""
    rows, keys = [], set()
    for model, attention, formulation, keras_backend in itertools.product(
            models, attentions, formulations, keras_backends):
        name, options = attention if isinstance(attention, tuple) else (attention, {})
        row = Row(model=model, attention=name, options=dict(options), keras_backend=keras_backend,
                  formulation="auto" if name is None else formulation, **fixed)
        if row.key() not in keys:
            keys.add(row.key())
            rows.append(row)
    return rows
