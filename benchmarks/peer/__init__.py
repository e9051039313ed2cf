"""PyTorch twins of the Keras models, for speed comparisons (benchmarks only; needs the `peer` extra)."""
