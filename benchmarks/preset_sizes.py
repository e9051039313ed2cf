"""The shipped SCSENet44 weights at other input sizes (the model card's figures), ~5 min:
`PYTHONPATH=. python benchmarks/preset_sizes.py` -> results/preset_sizes/table.{md,csv}."""

from keras_scse.bench.sizes import write_size_table

if __name__ == "__main__":
    print(write_size_table("SCSENet44/fashion_mnist", (32, 40, 48, 64, 96), "benchmarks/results/preset_sizes/table",
                           "PYTHONPATH=. python benchmarks/preset_sizes.py"))
