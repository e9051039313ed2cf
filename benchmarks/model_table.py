"""The README's model table: every registered model at its default input size (1000 classes).

    PYTHONPATH=. python benchmarks/model_table.py      # writes benchmarks/results/models.{csv,md}

Depth comes from the model's family (keras_scse.bench.model_depth), so a newly registered model needs no edit.
"""

import os

from keras_scse import applications
from keras_scse.bench import model_depth, model_row, write_table

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
COLUMNS = [("model", "model", ""), ("depth", "depth", ".0f"),
           ("attention (layers)", lambda r: f"{r['attention']} ({r['attention_layers']})", ""),
           ("input", "input", ""), ("params (trainable)", lambda r: f"{r['params']:,} ({r['trainable_params']:,})", ""),
           ("MMACs", "MMACs", ","), ("MFLOPs", "MFLOPs", ",")]


def row(name):
    model = applications.get_model(name)
    attention = [layer for layer in model.layers if layer.name.endswith("_attention")]
    counted = model_row(name)
    return {"model": name, "depth": model_depth(name, model),
            "attention": ", ".join(sorted({type(layer).__name__ for layer in attention})) or "none",
            "attention_layers": len(attention), "input": "x".join(str(d) for d in counted["input_shape"]),
            "params": counted["params"], "trainable_params": counted["trainable_params"],
            "MMACs": round(counted["macs"] / 1e6, 2), "MFLOPs": round(counted["flops"] / 1e6, 2)}


if __name__ == "__main__":
    print(write_table([row(name) for name in applications.list_models()], os.path.join(OUT, "models"), COLUMNS))
