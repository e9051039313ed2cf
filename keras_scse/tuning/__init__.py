"""KerasTuner architecture search over keras_scse backbones (needs ``pip install 'keras-scse[tune]'``).

HyperModels with search spaces as data and parameter/MAC budgets (``keras_scse.tuning.hypermodels``), and the
resumable search driver ``search`` (``keras_scse.tuning.driver``; also ``keras-scse tune``). The user guide
(the HyperModels, the results, resuming, distributed chief/worker tuning, every argument of ``search``) is
docs/tuning.md in the repository.
"""

from keras_scse.tuning.driver import (
    SearchResult,
    check_dependencies,
    plot_accuracy_vs_params,
    read_csv,
    search,
)
from keras_scse.tuning.hypermodels import (
    HYPERMODELS,
    OPTIMIZER_SPACE,
    SCAMOBILENETV2_SPACE,
    SCARESNET_SPACE,
    SCSENET_SPACE,
    BackboneHyperModel,
    HyperSCAMobileNetV2,
    HyperSCAResNet,
    HyperSCSENet,
    OverBudget,
    SCSEHyperModel,
    defaults,
    describe,
    get_hypermodel,
    resolve_space,
)

__all__ = [
    "BackboneHyperModel",
    "HYPERMODELS",
    "HyperSCAMobileNetV2",
    "HyperSCAResNet",
    "HyperSCSENet",
    "OPTIMIZER_SPACE",
    "OverBudget",
    "SCAMOBILENETV2_SPACE",
    "SCARESNET_SPACE",
    "SCSENET_SPACE",
    "SCSEHyperModel",
    "SearchResult",
    "check_dependencies",
    "defaults",
    "describe",
    "get_hypermodel",
    "plot_accuracy_vs_params",
    "read_csv",
    "resolve_space",
    "search",
]
