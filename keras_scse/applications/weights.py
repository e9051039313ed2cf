"""Pretrained-weight resolution.

``weights`` may be None (random init), a path to a ``.weights.h5`` file, or a registered name from
``PRETRAINED`` (filled as checkpoints are published).
"""

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class WeightsEntry:
    model: str
    path: str
    classes: int
    input_shape: tuple
    name: str = "local"


PRETRAINED = {}  # (model name, weights name) -> WeightsEntry


def resolve(model_name, weights):
    """None, or the WeightsEntry to load; raises ValueError for anything else."""
    if weights is None:
        return None
    if isinstance(weights, str) and (model_name, weights) in PRETRAINED:
        return PRETRAINED[(model_name, weights)]
    if isinstance(weights, (str, os.PathLike)) and os.path.exists(weights):
        return WeightsEntry(model=model_name, path=os.fspath(weights), classes=None, input_shape=(None, None, 3))
    known = sorted(w for (m, w) in PRETRAINED if m == model_name)
    raise ValueError(
        "The `weights` argument should be either `None` (random initialization), "
        f"one of {known} (pretrained for {model_name}), or the path to an existing weights file to be loaded. "
        f"Received: weights={weights!r}"
    )


def load_into(model, entry, include_top=True):
    """Load a weights file; a local file holds the full model as the user saved it."""
    model.load_weights(entry.path)
