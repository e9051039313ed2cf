"""The shipped SCSENet44 (Fashion-MNIST weights) as deployed files: Keras float32, ONNX float32 and int8, LiteRT
float32, float16 and int8, on all 10,000 Fashion-MNIST test images (32 x 32 grey), with file size and
single-image latency on this machine (keras_scse.bench.deploy: formats interleaved, median of --passes runs).

    python benchmarks/export_table.py                 # ~10 min on 2 cores (the conversions are most of it)
    python benchmarks/export_table.py --limit 500 --passes 20 --out /tmp/export   # a quick try

int8 files are calibrated on the first 300 Fashion-MNIST training images. Writes
benchmarks/results/export/{table.md,table.csv}; the exported files go to a temporary folder.
"""

import argparse
import os
import platform
import tempfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "export")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="test images (default: all 10,000)")
    parser.add_argument("--passes", type=int, default=300, help="single-image latency runs per format")
    parser.add_argument("--calibration-size", type=int, default=300)
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()

    import ai_edge_litert
    import keras
    import onnxruntime
    import tensorflow as tf

    from keras_scse import applications, data
    from keras_scse.bench import deploy

    model = applications.SCSENet44(weights="fashion_mnist", classes=10)
    batches, _ = data.load("fashion_mnist", "test", image_size=32, channels=1, batch_size=10_000, shuffle=False,
                           limit=args.limit, pipeline="numpy")
    x, y = batches.images, batches.labels
    with tempfile.TemporaryDirectory() as folder:
        rows = deploy.deploy_table(model, x, y, folder, calibration_size=args.calibration_size,
                                   passes=args.passes)
    versions = (f"TensorFlow {tf.__version__}, Keras {keras.__version__}, onnxruntime {onnxruntime.__version__}, "
                f"ai-edge-litert {getattr(ai_edge_litert, '__version__', '?')}")
    notes = [f"SCSENet44 (weights='fashion_mnist'), {len(y):,} Fashion-MNIST test images; int8 calibrated on the "
             f"first {args.calibration_size} training images. Latency: one image, {args.passes} runs per format, "
             f"formats interleaved, on {os.cpu_count()} cores of {platform.machine()} ({versions}). "
             "`python benchmarks/export_table.py`"]
    print(deploy.write_deploy_table(rows, os.path.join(args.out, "table"), "SCSENet44 deployed", notes))


if __name__ == "__main__":
    main()
