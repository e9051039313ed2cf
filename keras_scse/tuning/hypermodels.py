"""KerasTuner HyperModels over our backbones, in the style of ``keras_tuner.applications.HyperResNet``.

A search space is data: a dict ``name -> spec`` per hypermodel, each spec one of::

    {"kind": "int",    "min": 1, "max": 16, "default": 14}
    {"kind": "float",  "min": 0.01, "max": 0.5, "sampling": "log", "default": 0.1}
    {"kind": "choice", "values": [...], "default": ...}
    {"kind": "bool",   "default": False}
    {"kind": "fixed",  "value": ...}

plus an optional ``"when": (parent_name, [parent values])`` that makes the hyperparameter conditional
(KerasTuner's ``conditional_scope``: it exists, and is sampled, only while the parent has one of those values).
Defaults are the priors: a search's "default configuration" is the known-good model (SCSENet44 for
``HyperSCSENet``), so ``kt.HyperParameters()`` with nothing sampled builds exactly that model.

Spaces are shrunk or pinned without subclassing: ``space_overrides={"width": {"kind": "choice", "values":
[0.25]}}`` replaces (or adds) specs; ``fixed={"blocks_stage1": 1}`` pins names to one value (their condition is
kept). Tests use both to make models tiny.

Every hypermodel builds AND compiles (optimiser and learning rate are hyperparameters), expects one-hot labels
(categorical cross-entropy with the recipe's label smoothing), and has a cost budget: with ``max_params`` /
``max_macs`` set, ``fit`` counts the built model (``keras_scse.bench``: total parameters, multiply-accumulates of
one image) and raises ``OverBudget`` -- a ``keras_tuner.errors.FailedTrialError`` -- BEFORE ``model.fit`` is called.
The tuner records the trial as FAILED (no retry) and moves on to the next one. We reject rather than resample:
rejection works unchanged with every tuner (random, Hyperband, Bayesian) and with distributed tuning, and
the trial log shows what the budget cut; the cost is that a rejected trial still counts toward ``max_trials``
(a rejection takes seconds: one build + one count, no training).
"""

import copy
import time

import keras_tuner as kt

from keras_scse import layers as attention_layers
from keras_scse.applications.squeezenext import STEMS
from keras_scse.layers import SeparableSqueezeExcite, SpatialChannelAttention

# ------------------------------------------------------------------------------------------- spaces as data

KINDS = ("int", "float", "choice", "bool", "fixed")

# Optimiser and learning rate, shared by every hypermodel. The learning rate is the PEAK rate the optimiser gets
# (after one warm-up epoch, cosine decay to 0 over the run, as keras_scse.training's recipes); defaults are the
# recipes' rates at batch 128 (sgd 0.2 * 128/256, adamw 4e-3 * 128/256). Other recipe settings (momentum 0.9
# Nesterov, weight decay 5e-4 / 0.05, label smoothing 0.1) come from keras_scse.training.RECIPES.
OPTIMIZER_SPACE = {
    "optimizer": {"kind": "choice", "values": ["sgd", "adamw"], "default": "sgd"},
    "lr_sgd": {"kind": "float", "min": 0.01, "max": 0.5, "sampling": "log", "default": 0.1,
               "when": ("optimizer", ["sgd"])},
    "lr_adamw": {"kind": "float", "min": 3e-4, "max": 1e-2, "sampling": "log", "default": 2e-3,
                 "when": ("optimizer", ["adamw"])},
}

# HyperSCSENet: SqueezeNext layout x attention. Defaults = SCSENet44 (blocks 14/14/12/2, width 0.75, ImageNet
# stem, SC-SE with its default options). "none" = plain SqueezeNext. SC-SE options only exist when
# attention == "separable_se"; kernel 0 means the layer's own rule (channel: ECA's adaptive k; spatial: 7, or 3 on
# maps <= 8 px).
_SCSE = ("attention", ["separable_se"])
SCSENET_SPACE = {
    "blocks_stage1": {"kind": "int", "min": 1, "max": 16, "default": 14},
    "blocks_stage2": {"kind": "int", "min": 1, "max": 16, "default": 14},
    "blocks_stage3": {"kind": "int", "min": 1, "max": 16, "default": 12},
    "blocks_stage4": {"kind": "int", "min": 1, "max": 4, "default": 2},
    "width": {"kind": "choice", "values": [0.5, 0.75, 1.0, 1.25], "default": 0.75},
    "stem": {"kind": "choice", "values": list(STEMS), "default": "imagenet"},
    "attention": {"kind": "choice", "values": attention_layers.names() + ["none"], "default": "separable_se"},
    "scse_spatial": {"kind": "choice", "values": list(SeparableSqueezeExcite.SPATIAL_VARIANTS), "default": "axial",
                     "when": _SCSE},
    "scse_fusion": {"kind": "choice", "values": list(SeparableSqueezeExcite.FUSIONS), "default": "mul", "when": _SCSE},
    "scse_channel_kernel": {"kind": "choice", "values": [0, 3, 5, 7], "default": 0, "when": _SCSE},
    "scse_spatial_kernel": {"kind": "choice", "values": [0, 3, 5, 7], "default": 0, "when": _SCSE},
    **OPTIMIZER_SPACE,
}

# HyperSCAResNet: depth (18/34 basic blocks, 50 bottleneck) x SCA options. Defaults: the cheapest depth and the
# SCA kernel Triplet Attention found best on ResNet-50 (7), multiplicative fusion.
SCARESNET_SPACE = {
    "depth": {"kind": "choice", "values": [18, 34, 50], "default": 18},
    "sca_kernel_size": {"kind": "choice", "values": [3, 5, 7], "default": 7},
    "sca_fusion": {"kind": "choice", "values": list(SpatialChannelAttention.FUSIONS), "default": "mul"},
    **OPTIMIZER_SPACE,
}

# HyperSCAMobileNetV2: width multiplier x SCA options. Defaults: alpha 1.0 (the standard network), SCA kernel 3
# (Triplet Attention's choice on MobileNetV2), multiplicative fusion.
SCAMOBILENETV2_SPACE = {
    "alpha": {"kind": "choice", "values": [0.35, 0.5, 0.75, 1.0, 1.4], "default": 1.0},
    "sca_kernel_size": {"kind": "choice", "values": [3, 5, 7], "default": 3},
    "sca_fusion": {"kind": "choice", "values": list(SpatialChannelAttention.FUSIONS), "default": "mul"},
    **OPTIMIZER_SPACE,
}


def resolve_space(space, space_overrides=None, fixed=None):
    """A copy of ``space`` with ``space_overrides`` (name -> spec, replacing or adding) applied, then ``fixed``
    (name -> value: the spec becomes ``{"kind": "fixed", "value": value}``, keeping its ``when``). Validated."""
    space = copy.deepcopy(dict(space))
    for name, spec in (space_overrides or {}).items():
        space[name] = copy.deepcopy(dict(spec))
    for name, value in (fixed or {}).items():
        if name not in space:
            raise ValueError(f"Cannot fix {name!r}: not in the search space. Names: {sorted(space)}")
        spec = {"kind": "fixed", "value": value}
        if "when" in space[name]:
            spec["when"] = space[name]["when"]
        space[name] = spec
    for name, spec in space.items():
        _check_spec(name, spec, space)
    return space


def _check_spec(name, spec, space):
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"Search space entry {name!r}: kind must be one of {list(KINDS)}; received {spec!r}.")
    required = {"int": ("min", "max"), "float": ("min", "max"), "choice": ("values",), "fixed": ("value",)}
    missing = [key for key in required.get(kind, ()) if key not in spec]
    if missing:
        raise ValueError(f"Search space entry {name!r} ({kind}) lacks {missing}; received {spec!r}.")
    if "when" in spec:
        parent = spec["when"][0]
        names = list(space)
        if parent not in space or names.index(parent) > names.index(name):
            raise ValueError(f"Search space entry {name!r} depends on {parent!r}, which must be declared before it.")


def declare(hp, name, spec):
    """Declare one spec on a ``keras_tuner.HyperParameters`` and return its value (None while inactive)."""
    kind = spec["kind"]
    if kind == "int":
        kwargs = dict(min_value=spec["min"], max_value=spec["max"], step=spec.get("step"),
                      sampling=spec.get("sampling", "linear"), default=spec.get("default"))
        return hp.Int(name, **kwargs)
    if kind == "float":
        kwargs = dict(min_value=spec["min"], max_value=spec["max"], step=spec.get("step"),
                      sampling=spec.get("sampling", "linear"), default=spec.get("default"))
        return hp.Float(name, **kwargs)
    if kind == "choice":
        return hp.Choice(name, list(spec["values"]), default=spec.get("default"), ordered=spec.get("ordered"))
    if kind == "bool":
        return hp.Boolean(name, default=spec.get("default", False))
    return hp.Fixed(name, spec["value"])


def sample(hp, space):
    """Declare every spec of ``space`` on ``hp`` (conditional ones in their scope); return the ACTIVE values."""
    values = {}
    for name, spec in space.items():
        if "when" in spec:
            parent, parent_values = spec["when"]
            with hp.conditional_scope(parent, list(parent_values)):
                value = declare(hp, name, spec)
            if values.get(parent) in parent_values:
                values[name] = value
        else:
            values[name] = declare(hp, name, spec)
    return values


def defaults(space):
    """The default (prior) configuration of a space: active values only."""
    values = {}
    for name, spec in space.items():
        if "when" in spec and values.get(spec["when"][0]) not in spec["when"][1]:
            continue
        kind = spec["kind"]
        if kind == "fixed":
            values[name] = spec["value"]
        elif spec.get("default") is not None:
            values[name] = spec["default"]
        else:
            values[name] = {"int": spec.get("min"), "float": spec.get("min"), "bool": False}.get(
                kind, (spec.get("values") or [None])[0])
    return values


def describe(space):
    """One line per hyperparameter (for docstrings, CLI help and logs)."""
    lines = []
    for name, spec in space.items():
        kind = spec["kind"]
        if kind in ("int", "float"):
            domain = f"{spec['min']}..{spec['max']}" + (" (log)" if spec.get("sampling") == "log" else "")
        elif kind == "choice":
            domain = "{" + ", ".join(map(str, spec["values"])) + "}"
        elif kind == "fixed":
            domain = f"fixed {spec['value']!r}"
        else:
            domain = "{False, True}"
        default = "" if kind == "fixed" else f", default {spec.get('default')!r}"
        when = f", only when {spec['when'][0]} in {list(spec['when'][1])}" if "when" in spec else ""
        lines.append(f"{name}: {kind} {domain}{default}{when}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- budget

class OverBudget(kt.errors.FailedTrialError):
    """A configuration whose built model exceeds ``max_params`` / ``max_macs``; raised before any training."""


def model_cost(model, macs=True):
    """{"params": total parameters, "macs": multiply-accumulates for one image (None if not counted)}."""
    from keras_scse.bench import count_flops, count_params

    cost = {"params": count_params(model)["total"], "macs": None}
    if macs:
        cost["macs"] = count_flops(model)["macs"]
    return cost


# ------------------------------------------------------------------------------------------- hypermodels

class BackboneHyperModel(kt.HyperModel):
    """Base class: a space as data, build + compile, a cost budget checked in ``fit`` before training.

    Args:
        input_shape: (H, W, C) of the images (channels_last).
        classes: number of classes (softmax head; labels one-hot).
        space_overrides: name -> spec, replacing or adding entries of the class's ``SPACE``.
        fixed: name -> value, pinning entries to one value.
        max_params: reject (``OverBudget``) models with more total parameters than this; None: no limit.
        max_macs: reject models with more multiply-accumulates per image than this; None: no limit.
        count_macs: count MACs of every trained model (a graph trace, ~10-20 s for a 44-layer model on a slow
            CPU) so that results can report them; MACs are always counted when ``max_macs`` is set.
        steps_per_epoch, epochs: for the learning-rate schedule (warm-up + cosine decay, as
            ``keras_scse.training``); None: one step per epoch, one epoch (set by ``keras_scse.tuning.search``).
        jit_compile: passed to ``model.compile`` (use ``keras_scse.training.resolve_jit_compile``).
        name, tunable: as ``keras_tuner.HyperModel``.
    """

    SPACE = {}
    DEFAULT_NAME = "hypermodel"

    def __init__(self, input_shape, classes, space_overrides=None, fixed=None, max_params=None, max_macs=None,
                 count_macs=True, steps_per_epoch=None, epochs=None, jit_compile=False, name=None, tunable=True):
        super().__init__(name=name or self.DEFAULT_NAME, tunable=tunable)
        if input_shape is None or len(input_shape) != 3:
            raise ValueError(f"`input_shape` must be (H, W, C); received input_shape={input_shape!r}.")
        if not classes or int(classes) < 2:
            raise ValueError(f"`classes` must be an integer >= 2; received classes={classes!r}.")
        for arg, value in (("max_params", max_params), ("max_macs", max_macs)):
            if value is not None and not value > 0:
                raise ValueError(f"`{arg}` must be > 0 or None; received {arg}={value!r}.")
        self.input_shape = tuple(int(d) for d in input_shape)
        self.classes = int(classes)
        self.space = resolve_space(self.SPACE, space_overrides, fixed)
        self.max_params = max_params
        self.max_macs = max_macs
        self.count_macs = count_macs
        self.steps_per_epoch = steps_per_epoch
        self.epochs = epochs
        self.jit_compile = jit_compile
        self.last_cost = None  # cost of the model last checked in fit (read by keras_scse.tuning's tuners)

    # -- space
    def declare_hyperparameters(self, hp):
        sample(hp, self.space)

    def values(self, hp):
        """Declare the space on ``hp``; the active values (what the model is built from)."""
        return sample(hp, self.space)

    def default_values(self):
        return defaults(self.space)

    # -- model
    def model_kwargs(self, values):
        """Keyword arguments for the backbone constructor (JSON-ready, so results can say how to rebuild)."""
        raise NotImplementedError

    def backbone(self, **kwargs):
        raise NotImplementedError

    def retrain_spec(self, values):
        """{"model": registered model name, "model_kwargs": {...}}: the same architecture through
        ``keras_scse.applications.get_model`` / ``keras-scse train --model ... --model-kwargs ...``."""
        raise NotImplementedError

    def training_kwargs(self, values):
        """What keras_scse.training needs to retrain this configuration: recipe and peak learning rate."""
        return {"recipe": values["optimizer"], "lr": values[f"lr_{values['optimizer']}"]}

    def build(self, hp):
        values = self.values(hp)
        model = self.backbone(**self.model_kwargs(values), input_shape=self.input_shape, classes=self.classes)
        self.compile(model, values)
        return model

    def compile(self, model, values):
        from keras_scse.training import RECIPES, compile_model

        recipe = dict(RECIPES[values["optimizer"]], lr=values[f"lr_{values['optimizer']}"])
        compile_model(model, recipe, self.steps_per_epoch or 1, self.epochs or 1, jit_compile=self.jit_compile)

    # -- budget and training
    def check_budget(self, model):
        """Count ``model``; raise ``OverBudget`` if it exceeds the budget. Returns the cost dict."""
        need_macs = self.count_macs or self.max_macs is not None
        cost = model_cost(model, macs=False)
        over = []
        if self.max_params is not None and cost["params"] > self.max_params:
            over.append(f"{cost['params']:,} parameters > max_params={self.max_params:,.0f}")
        if need_macs and not over:  # params already over: skip the (slow) MAC count
            cost = model_cost(model, macs=True)
            if self.max_macs is not None and cost["macs"] > self.max_macs:
                over.append(f"{cost['macs']:,} MACs > max_macs={self.max_macs:,.0f}")
        self.last_cost = cost
        if over:
            raise OverBudget(
                f"Over budget, rejected before training: {' and '.join(over)} "
                f"(params={cost['params']}, macs={cost['macs']}). Smaller blocks/width/alpha fit the budget; "
                "or raise max_params/max_macs."
            )
        return cost

    def fit(self, hp, model, *args, **kwargs):
        """Check the budget (before any training), then ``model.fit``.

        Returns the metrics of the best epoch (by ``val_accuracy``, else the last) plus ``params``, ``macs``
        (when counted) and ``fit_time_s``, so that KerasTuner stores them with the trial.
        """
        cost = self.check_budget(model)
        started = time.time()
        history = model.fit(*args, **kwargs)
        elapsed = time.time() - started
        logs = history.history
        if not logs:
            raise kt.errors.FailedTrialError("model.fit ran no epoch (is the training data empty?).")
        key = "val_accuracy" if "val_accuracy" in logs else None
        best = max(range(len(logs[key])), key=lambda i: logs[key][i]) if key else len(next(iter(logs.values()))) - 1
        results = {name: float(series[best]) for name, series in logs.items() if len(series) > best}
        results.update(params=float(cost["params"]), fit_time_s=float(elapsed), epochs_run=float(len(logs["loss"])))
        if cost["macs"] is not None:
            results["macs"] = float(cost["macs"])
        return results


class HyperSCSENet(BackboneHyperModel):
    """SqueezeNext / SC-SENet architecture search (``keras_scse.applications.SqueezeNext``).

    Search space (``SCSENET_SPACE``; defaults = SCSENet44)::

        blocks_stage1..3: int 1..16 (defaults 14, 14, 12)   units per stage (32/64/128 x width channels)
        blocks_stage4: int 1..4 (default 2)                  units in the last stage (256 x width channels)
        width: {0.5, 0.75, 1.0, 1.25} (default 0.75)         width multiplier of every layer
        stem: {imagenet, cifar} (default imagenet)           stride-4 7x7+pool stem, or stride-1 3x3 stem
        attention: registered layers + "none" (default scse) attention in every unit ("none": SqueezeNext)
        scse_spatial: {conv, axial}          (default axial) \\
        scse_fusion: {add, max, mul}         (default mul)    | only when attention == "separable_se"
        scse_channel_kernel: {0, 3, 5, 7}    (default 0)      | 0 = the layer's rule (ECA k / 7, 3 on <= 8 px)
        scse_spatial_kernel: {0, 3, 5, 7}    (default 0)     /
        optimizer: {sgd, adamw} (default sgd); lr_sgd 0.01..0.5 log (0.1) | lr_adamw 3e-4..1e-2 log (2e-3)

    The "cifar" stem keeps full resolution: ~14x the MACs of the ImageNet stem at the same blocks/width; pair
    the search with ``max_macs`` when that matters. See ``BackboneHyperModel`` for the arguments.
    """

    SPACE = SCSENET_SPACE
    DEFAULT_NAME = "hyper_scsenet"

    def model_kwargs(self, values):
        blocks = [int(values[f"blocks_stage{i}"]) for i in range(1, 5)]
        attention = None if values["attention"] == "none" else values["attention"]
        kwargs = {"blocks": blocks, "width": float(values["width"]), "stem": values["stem"], "attention": attention}
        if attention == "separable_se":
            kwargs["attention_kwargs"] = {
                "spatial": values["scse_spatial"], "fusion": values["scse_fusion"],
                "channel_kernel": int(values["scse_channel_kernel"]) or None,
                "spatial_kernel": int(values["scse_spatial_kernel"]) or None,
            }
        return kwargs

    def retrain_spec(self, values):
        return {"model": "SCSENet44", "model_kwargs": self.model_kwargs(values)}

    def backbone(self, **kwargs):
        from keras_scse.applications import SqueezeNext

        return SqueezeNext(**kwargs, name="scsenet_tuned" if kwargs.get("attention") else "squeezenext_tuned")


class HyperSCAResNet(BackboneHyperModel):
    """SCA-ResNet search (``keras_scse.applications.resnet``): depth x SCA options.

    Search space (``SCARESNET_SPACE``)::

        depth: {18, 34, 50} (default 18)              18/34: basic blocks, 50: bottleneck blocks
        sca_kernel_size: {3, 5, 7} (default 7)         SCA's k x k cross-dimension conv
        sca_fusion: {mul, mean} (default mul)          y = x*g_h*g_w, or the mean of the gated maps
        optimizer / lr_sgd / lr_adamw                  as HyperSCSENet

    Inputs must be >= 32 px. See ``BackboneHyperModel`` for the arguments.
    """

    SPACE = SCARESNET_SPACE
    DEFAULT_NAME = "hyper_scaresnet"
    DEPTHS = {18: "SCAResNet18", 34: "SCAResNet34", 50: "SCAResNet50"}

    def model_kwargs(self, values):
        return {"model": self.DEPTHS[int(values["depth"])],
                "attention_kwargs": {"kernel_size": int(values["sca_kernel_size"]), "fusion": values["sca_fusion"]}}

    def retrain_spec(self, values):
        kwargs = self.model_kwargs(values)
        return {"model": kwargs.pop("model"), "model_kwargs": kwargs}

    def backbone(self, model, **kwargs):
        from keras_scse import applications

        return applications.get_model(model, **kwargs)


class HyperSCAMobileNetV2(BackboneHyperModel):
    """SCA-MobileNetV2 search (``keras_scse.applications.SCAMobileNetV2``): width x SCA options.

    Search space (``SCAMOBILENETV2_SPACE``)::

        alpha: {0.35, 0.5, 0.75, 1.0, 1.4} (default 1.0)   width multiplier
        sca_kernel_size: {3, 5, 7} (default 3)             SCA's k x k cross-dimension conv
        sca_fusion: {mul, mean} (default mul)
        optimizer / lr_sgd / lr_adamw                      as HyperSCSENet

    Inputs must be >= 32 px. See ``BackboneHyperModel`` for the arguments.
    """

    SPACE = SCAMOBILENETV2_SPACE
    DEFAULT_NAME = "hyper_scamobilenetv2"

    def model_kwargs(self, values):
        return {"alpha": float(values["alpha"]),
                "attention_kwargs": {"kernel_size": int(values["sca_kernel_size"]), "fusion": values["sca_fusion"]}}

    def retrain_spec(self, values):
        return {"model": "SCAMobileNetV2", "model_kwargs": self.model_kwargs(values)}

    def backbone(self, **kwargs):
        from keras_scse.applications import SCAMobileNetV2

        return SCAMobileNetV2(**kwargs)


SCSEHyperModel = BackboneHyperModel  # the base's earlier name, public in keras_scse.tuning

HYPERMODELS = {
    "scsenet": HyperSCSENet,
    "scaresnet": HyperSCAResNet,
    "scamobilenetv2": HyperSCAMobileNetV2,
}


def get_hypermodel(name):
    """The HyperModel class registered under ``name`` (case-insensitive)."""
    key = str(name).lower().replace("-", "").replace("_", "")
    if key not in HYPERMODELS:
        raise ValueError(f"Unknown hypermodel {name!r}. Use one of {sorted(HYPERMODELS)} or a keras_tuner.HyperModel.")
    return HYPERMODELS[key]
