"""Benchmarks as a library: cost counts (params, MACs, FLOPs) and speed/memory measurements.

``keras-scse bench`` is the command-line front end; benchmarks/ holds the scripts that make the tables in
docs/speed.md.
"""

from keras_scse.bench.counts import count_flops, count_params, model_row
from keras_scse.bench.speed import FIELDS, BenchConfig, measure, run

__all__ = ["BenchConfig", "FIELDS", "count_flops", "count_params", "measure", "model_row", "run"]
