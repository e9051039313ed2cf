"""What full-integer int8 does to the attention gates of the shipped SCSENet44: every sigmoid gate of the LiteRT
int8 file against the float32 file's, on Fashion-MNIST test images (keras_scse.bench.deploy.gate_errors).

    python benchmarks/int8_gates.py            # ~3 min: two LiteRT conversions, 200 test images

Writes benchmarks/results/export/gates.{md,csv}. SC-SE computes its gates in the order channel (Sigmoid),
height (Sigmoid_1), width (Sigmoid_2) in each of the 42 blocks, traced "plain", tensor names kept.
"""

import argparse
import os
import tempfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "export")
SCSE_GATES = {"Sigmoid": "channel", "Sigmoid_1": "height", "Sigmoid_2": "width"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="test images")
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()

    from keras_scse import applications, data
    from keras_scse.bench import deploy, table
    from keras_scse.export import to_litert

    model = applications.SCSENet44(weights="fashion_mnist", classes=10)
    batches, _ = data.load("fashion_mnist", "test", image_size=32, channels=1, batch_size=args.images,
                           shuffle=False, limit=args.images, pipeline="numpy")
    with tempfile.TemporaryDirectory() as folder:
        floats = to_litert(model, os.path.join(folder, "f32.tflite"), formulation="plain", debug_names=True)["path"]
        ints = to_litert(model, os.path.join(folder, "int8.tflite"), quantize="int8",
                         representative_data="fashion_mnist", formulation="plain", debug_names=True)["path"]
        rows = deploy.gate_errors(floats, ints, batches.images)
    for row in rows:
        row["kind"] = SCSE_GATES.get(row["gate"], row["gate"])
    columns = [("gate", "kind", ""), ("gates", "gates", ""), ("mean abs error", "mean_abs_err", ".4f"),
               ("max abs error", "max_abs_err", ".4f"), ("mean error / gate std", "err_over_std", ".3f"),
               ("float gate min", "min", ".3f"), ("float gate max", "max", ".3f")]
    notes = [f"SCSENet44 (weights='fashion_mnist'), LiteRT int8 (calibrated on 300 training images) vs float32, "
             f"{args.images} Fashion-MNIST test images; int8 sigmoid outputs have a step of 1/256 = 0.0039. "
             "`python benchmarks/int8_gates.py`"]
    print(table.write_table(rows, os.path.join(args.out, "gates"), columns, "SC-SE gates under int8", notes))


if __name__ == "__main__":
    main()
