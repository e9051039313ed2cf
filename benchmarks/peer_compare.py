"""Keras vs a PyTorch twin of the same network, on this machine, in one run: training and inference images/s.

    pip install -e '.[peer]'      # torch==2.13.0 (CPU build)
    PYTHONPATH=. python benchmarks/peer_compare.py              # SqueezeNext44 + SCSENet44, 32x32, batch 128

Before timing, the twin's trainable parameter count is asserted equal to the Keras model's (tests/test_peer.py
shows both compute the same function with copied weights). Rows per model: Keras (TensorFlow) with XLA off and
on, ONNX Runtime inference of its export, PyTorch eager; all traced first, then timed round-robin in this one
process (keras_scse.bench.timing), so every backend sees the same machine drift. A training step is forward +
cross-entropy + backward + Nesterov-SGD update on both. Writes benchmarks/results/peer/peer.{csv,md}.
"""

import argparse
import os

from keras_scse.bench import Sweep, entry, grid, runner, table, timing

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "peer")
COLUMNS = [("model", "model", ""), ("backend", "backend", ""), ("XLA", "xla", ""),
           ("trainable params", "trainable_params", ",.0f"), ("train img/s", "train_img_s", ",.1f"),
           ("infer img/s", "infer_img_s", ",.1f"), ("train ratio", "train_ratio", ".2f"),
           ("infer ratio", "infer_ratio", ".2f")]


def torch_steps(name, batch, size=32, classes=10):
    """(trainable params, {mode: step}) of the PyTorch twin, on the same kind of synthetic batch."""
    import torch

    from keras_scse.peer import torch_squeezenext

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    model = torch_squeezenext.build_twin(name, classes=classes, in_channels=3, input_size=size)
    x, y = torch.randn(batch, 3, size, size), torch.randint(0, classes, (batch,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)

    def train():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    def infer():
        model.eval()
        with torch.inference_mode():
            model(x)
    return torch_squeezenext.count_params(model), {"train": train, "infer": infer}


def measure(sweep):
    """Keras rows of ``sweep`` and a PyTorch row per model, traced, then timed round-robin together."""
    import keras
    import torch

    results, calls = [], []
    for row in sweep.rows:
        model, steps = runner.prepare(row, ("infer",) if row.backend == "onnxruntime" else ("train", "infer"))
        backend = row.backend if row.backend == "onnxruntime" else f"keras {keras.__version__}"
        results.append({**runner.describe(row, model, sweep), "backend": backend})
        calls += [(len(results) - 1, mode, step) for mode, step in steps.items()]
        if row.backend == "onnxruntime":  # the last row of a model: its twin next
            params, steps = torch_steps(row.model, row.batch_size)
            assert params == results[-1]["trainable_params"], f"{row.model}: twin {params:,} vs Keras parameters"
            results.append({**results[-1], "backend": f"pytorch {torch.__version__} eager", "xla": False})
            calls += [(len(results) - 1, mode, step) for mode, step in steps.items()]
    samples = timing.round_robin([step for _, _, step in calls], sweep.passes, sweep.steps, sweep.warmup,
                                 sweep.settle)
    for (index, mode, _), seconds in zip(calls, samples):
        results[index].update(runner.timed_fields(mode, seconds, results[index]["batch_size"]))
    return results


def ratios(results):
    """Each row's images/s over its model's PyTorch row (> 1: faster than PyTorch)."""
    for row in results:
        peer = next(r for r in results if r["model"] == row["model"] and r["backend"].startswith("pytorch"))
        for mode in ("train", "infer"):
            mine, theirs = table.number(row.get(f"{mode}_img_s")), table.number(peer[f"{mode}_img_s"])
            row[f"{mode}_ratio"] = round(mine / theirs, 2) if mine else None
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["SqueezeNext44", "SCSENet44"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    rows = [row for name in args.models for xla, backend in ((False, "keras"), (True, "keras"), (False, "onnxruntime"))
            for row in grid([name], xla=xla, backend=backend, batch_size=args.batch_size)]
    sweep = Sweep("peer", rows, modes=("infer",))  # as validated: ONNX rows infer only; measure() trains the others
    results = ratios(entry.stamp(measure(sweep)))
    print(table.write_table(results, os.path.join(args.out, "peer"), COLUMNS, notes=entry.notes(results)))
