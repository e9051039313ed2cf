"""Keras vs a PyTorch twin of the same network, on this machine, in one run: training and inference images/s.

    pip install -e '.[peer]'      # torch==2.13.0 (CPU build)
    PYTHONPATH=. .venv/bin/python benchmarks/peer_compare.py              # SqueezeNext44 + SCSENet44, 32x32, batch 128

Before timing, the twin's trainable parameter count is asserted equal to the Keras model's (and the tests in
tests/test_peer.py show both compute the same function with copied weights). Both sides use the protocol of
keras_scse.bench.speed (synthetic inputs, untimed warm-up, median of timed blocks) and all CPU cores; a training
step is forward + cross-entropy + backward + Nesterov-SGD update on both. The Keras rows run in fresh processes
(keras_scse.bench.run), PyTorch in this one after them, so the two never share the CPU.
Writes benchmarks/results/peer/peer.csv (one row per backend) and peer.md (the table with Keras / PyTorch ratios).
"""

import argparse
import csv
import os
import platform
import sys
from importlib.metadata import version

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.peer import torch_squeezenext  # noqa: E402
from keras_scse.bench import BenchConfig, run  # noqa: E402
from keras_scse.bench.speed import timed_steps  # noqa: E402

OUT = os.path.join(ROOT, "benchmarks", "results", "peer")
FIELDS = ["model", "backend", "xla", "input_size", "batch_size", "trainable_params", "train_img_s", "infer_img_s"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["SqueezeNext44", "SCSENet44"])
    p.add_argument("--input-size", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--xla", choices=("off", "on", "both"), default="both")
    p.add_argument("--out", default=OUT)
    return p.parse_args(argv)


def torch_row(name, args):
    import numpy as np
    import torch

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    model = torch_squeezenext.build_twin(name, classes=args.classes, in_channels=args.channels,
                                         input_size=args.input_size)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((args.batch_size, args.channels, args.input_size, args.input_size),
                                             dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, args.classes, size=args.batch_size))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    def infer_step():
        with torch.inference_mode():
            model(x)

    model.train()
    train_s = timed_steps(train_step, args.steps, args.repeats, args.warmup)
    model.eval()
    infer_s = timed_steps(infer_step, args.steps, args.repeats, args.warmup)
    return {"model": name, "backend": f"pytorch {torch.__version__} eager", "xla": False,
            "input_size": args.input_size, "batch_size": args.batch_size,
            "trainable_params": torch_squeezenext.count_params(model),
            "train_img_s": round(args.batch_size / train_s, 1), "infer_img_s": round(args.batch_size / infer_s, 1)}


def keras_rows(name, args):
    common = dict(model=name, input_size=args.input_size, channels=args.channels, classes=args.classes,
                  batch_size=args.batch_size, steps=args.steps, repeats=args.repeats, warmup=args.warmup)
    xla = {"off": [False], "on": [True], "both": [False, True]}[args.xla]
    configs = [BenchConfig(xla=flag, **common) for flag in xla]
    configs.append(BenchConfig(backend="onnxruntime", train=False, **common))
    rows = run(configs, on_row=lambda r: print(r, flush=True))
    for row in rows:
        if row["backend"] == "keras":
            row["backend"] = f"keras {version('keras')}"
    return rows


def markdown(rows, args):
    lines = [f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU threads; input "
             f"{args.input_size}x{args.input_size}x{args.channels}, batch {args.batch_size}; images/s "
             f"(median of {args.repeats} blocks of {args.steps} steps after {args.warmup} warm-up steps).", "",
             "| model | backend | XLA | trainable params | train img/s | infer img/s | train ratio | infer ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in args.models:
        mine = [r for r in rows if r["model"] == name]
        peer = next(r for r in mine if r["backend"].startswith("pytorch"))
        for r in mine:
            ratio = {m: (f"{r[m] / peer[m]:.2f}" if r[m] else "-") for m in ("train_img_s", "infer_img_s")}
            lines.append(f"| {name} | {r['backend']} | {'on' if r['xla'] else 'off'} | {r['trainable_params']:,} | "
                         f"{r['train_img_s'] or '-'} | {r['infer_img_s']} | {ratio['train_img_s']} | "
                         f"{ratio['infer_img_s']} |")
    lines += ["", "Ratios are this row / the PyTorch row of the same model (> 1: faster than PyTorch)."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name in args.models:
        mine = keras_rows(name, args)
        peer = torch_row(name, args)
        print(peer, flush=True)
        keras_params = mine[0]["trainable_params"]
        assert peer["trainable_params"] == keras_params, (
            f"{name}: the PyTorch twin has {peer['trainable_params']:,} trainable parameters, Keras {keras_params:,}")
        rows += mine + [peer]
    with open(os.path.join(args.out, "peer.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    text = markdown(rows, args)
    with open(os.path.join(args.out, "peer.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
