"""The README's model table: every registered model at its default input size.

Usage: python benchmarks/model_table.py   (writes benchmarks/results/models.csv and models.md)
"""

import csv
import os

from keras_scse import applications
from keras_scse.bench import model_row

OUT = os.path.join(os.path.dirname(__file__), "results")
FAMILY_DEPTH = {"SqueezeNext23": 23, "SqueezeNext23v5": 23, "SqueezeNext44": 44, "SCSENet23": 23, "SCSENet44": 44,
                "SCAResNet18": 18, "SCAResNet34": 34, "SCAResNet50": 50, "SCAResNet101": 101, "SCAResNet152": 152,
                "SCAMobileNetV2": 53}


def attention_of(name):
    model = applications.get_model(name)
    kinds = sorted({type(layer).__name__ for layer in model.layers if layer.name.endswith("_attention")})
    return ", ".join(kinds) or "none", sum(layer.name.endswith("_attention") for layer in model.layers)


def main():
    rows = []
    for name in applications.list_models():
        row = model_row(name)
        kind, count = attention_of(name)
        rows.append({"model": name, "depth": FAMILY_DEPTH[name], "attention": kind, "attention_layers": count,
                     "input": "x".join(str(d) for d in row["input_shape"]), "params": row["params"],
                     "trainable_params": row["trainable_params"], "MMACs": round(row["macs"] / 1e6, 2),
                     "MFLOPs": round(row["flops"] / 1e6, 2)})
        print(rows[-1], flush=True)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "models.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| model | depth | attention (layers) | input | params (trainable) | MMACs | MFLOPs |",
             "|---|---:|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['depth']} | {r['attention']} ({r['attention_layers']}) | {r['input']} | "
                     f"{r['params']:,} ({r['trainable_params']:,}) | {r['MMACs']:,} | {r['MFLOPs']:,} |")
    with open(os.path.join(OUT, "models.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
