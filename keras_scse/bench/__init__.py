"""Benchmarks as a library: cost counts, sweeps declared as data, one round-robin timing method, one table writer.

* ``counts``: parameters, MACs, FLOPs; ``depth``: a registered model's depth, derived;
* ``speed``: one configuration's speed and memory (``keras-scse bench``: each row in a fresh process);
* ``sweep``: ``Row`` / ``Sweep`` / ``grid``, rows over model x attention x options x formulation x backend;
* ``timing``: ``round_robin`` (all rows warmed up, then timed in turn over passes) and ``spread``;
* ``runner``: ``run_sweep`` (one process per Keras backend); ``table``: CSV + Markdown (+ PNG) writer;
* ``deploy``: one model as deployed files (Keras, ONNX, LiteRT; float and int8): accuracy, size, latency, gates;
* ``entry``: the shared command line of the scripts in benchmarks/ (their tables are in docs/speed.md).
"""

from keras_scse.bench.counts import count_flops, count_params, model_row
from keras_scse.bench.depth import model_depth
from keras_scse.bench.runner import run_sweep
from keras_scse.bench.speed import FIELDS, BenchConfig, measure, run
from keras_scse.bench.sweep import DEFAULT, Row, Sweep, grid
from keras_scse.bench.table import add_overhead, write_plot, write_table
from keras_scse.bench.timing import round_robin, spread

__all__ = [
           "DEFAULT",
           "FIELDS",
           "BenchConfig",
           "Row",
           "Sweep",
           "add_overhead",
           "count_flops",
           "count_params",
           "grid",
           "measure",
           "model_depth",
           "model_row",
           "round_robin",
           "run",
           "run_sweep",
           "spread",
           "write_plot",
           "write_table",
]
