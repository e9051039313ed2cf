"""Cost of each attention layer on ResNet-50 and MobileNetV2 (224x224, 1000 classes), next to published anchors.

    PYTHONPATH=. python benchmarks/overhead_table.py      # writes benchmarks/results/overhead.{csv,md}

Counts come from keras_scse.bench (MACs = multiply-accumulates of convs and dense layers, what papers call
"FLOPs"; FLOPs = 2*MACs + element-wise/pooling ops). Attention placement is our reconstruction (ResNet: every
block before the add; MobileNetV2: only the 10 blocks with a skip add).
"""

import argparse
import os

from keras_scse.applications import SCAMobileNetV2, SCAResNet50
from keras_scse.bench import count_flops, count_params, write_table

BACKBONES = {"ResNet-50": SCAResNet50, "MobileNetV2": SCAMobileNetV2}
# an attention name, or (name, options) for a non-default option: SCA's pooling before the attention study
ATTENTIONS = (None, "se", "eca", "cbam", "sca", ("sca", {"pool": "avgmax"}), "separable_se")
# reference.md 1.3 (ECA / Triplet Attention / CBAM papers' tables): params, GFLOPs, ImageNet top-1 error.
ANCHORS = [("ResNet-50", "25.56M", "3.86", "24.56"), ("SE-ResNet-50", "28.09M", "3.86", "23.14"),
           ("CBAM-ResNet-50", "28.09M", "3.86", "22.66"), ("ECA-ResNet-50", "24.37M", "3.86", "22.52"),
           ("Triplet-ResNet-50 (k=7)", "25.56M", "4.17", "22.52"), ("MobileNetV2 + ECA", "3.34M", "0.32", "27.44"),
           ("MobileNetV2 + Triplet (k=3)", "3.51M", "0.32", "27.38")]
COLUMNS = [("backbone", "backbone", ""), ("attention", "attention", ""), ("params", "params", ",.0f"),
           ("trainable", "trainable", ",.0f"), ("extra params", "extra_params", ",.0f"),
           ("extra %", "extra_params_pct", ".3f"), ("GMACs", "gmacs", ".3f"),
           ("extra MACs %", "extra_gmacs_pct", ".3f"), ("GFLOPs", "gflops", ".3f")]
NOTES = [
    "Made by `PYTHONPATH=. python benchmarks/overhead_table.py`. Params include BatchNorm moving statistics "
    "(Keras `count_params`); MACs are multiply-accumulates of convs/dense (papers' \"FLOPs\"); FLOPs = 2 x MACs + "
    "element-wise and pooling ops. Attention placement is a reconstruction: every ResNet block before the residual "
    "add; MobileNetV2 only in the 10 blocks with a skip add. Default layer options (SE/CBAM ratio 16, ECA adaptive "
    "kernel, SCA k=7 on ResNet and k=3 on MobileNetV2, pool=avg).",
    "",
    "Published anchors (not measured here; reference.md 1.3): their GFLOPs are MACs and their params PyTorch "
    "trainable parameters (compare with `trainable`; keras.applications' ResNet-50 has a bias in every conv, "
    "+26,560 over PyTorch's 25,557,032). The SCA paper gives only error deltas (-2.08 points on ResNet, -1.02 on "
    "MobileNetV2).", "", "| model | params | GFLOPs | ImageNet top-1 error % |", "| --- | ---: | ---: | ---: |",
    *(f"| {m} | {p} | {g} | {e} |" for m, p, g, e in ANCHORS), "", "Measured here:"]


def rows(size):
    table = []
    for backbone, constructor in BACKBONES.items():
        base = None
        for attention in ATTENTIONS:
            name, options = attention if isinstance(attention, tuple) else (attention, None)
            model = constructor(attention=name, attention_kwargs=options, input_shape=(size, size, 3))
            params, flops = count_params(model), count_flops(model)
            base = base or (params["total"], flops["macs"])
            label = " ".join([name or "none", *(f"{key}={value}" for key, value in (options or {}).items())])
            table.append({"backbone": backbone, "attention": label, "params": params["total"],
                          "trainable": params["trainable"], "extra_params": params["total"] - base[0],
                          "extra_params_pct": round(100 * (params["total"] / base[0] - 1), 3),
                          "gmacs": round(flops["macs"] / 1e9, 4),
                          "extra_gmacs_pct": round(100 * (flops["macs"] / base[1] - 1), 3),
                          "gflops": round(flops["flops"] / 1e9, 4)})
            print(table[-1], flush=True)
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = parser.parse_args()
    print(write_table(rows(args.size), os.path.join(args.out, "overhead"), COLUMNS,
                      title=f"Attention overhead at {args.size}x{args.size}, 1000 classes", notes=NOTES))
