"""Where does a training step's time go? TensorFlow profiler trace of a few steps, summed per layer kind.

    pip install xprof        # TensorBoard's profiler (reads the trace); not a dependency of the package
    PYTHONPATH=. python benchmarks/profile_step.py --model SCSENet44 --batch-size 128

Builds the model, batch and training step of keras_scse.bench.speed (the speed tables' own), runs ``--warmup``
untimed training steps, then profiles ``--steps`` steps with ``tf.profiler.experimental``
(the trace is kept in --logdir: open it with ``tensorboard --logdir``). The per-op table (xprof's
"framework_op_stats", host time excluding children) is grouped twice: by op type, and by the kind of Keras
layer the op belongs to (stem / unit convs / BN / ReLU / attention / add / classifier / optimizer), from
the op's name scope. Writes <out>/<model>_by_kind.csv, <model>_by_op.csv and a markdown summary.
"""

import argparse
import csv
import glob
import json
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "benchmarks", "results", "profile")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="SCSENet44")
    p.add_argument("--model-kwargs", default=None, help="JSON constructor options")
    p.add_argument("--tag", default=None, help="name of this profile in the outputs (default: the model)")
    p.add_argument("--input-size", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--logdir", default=os.path.join(ROOT, "runs", "profile"))
    p.add_argument("--out", default=OUT)
    return p.parse_args(argv)


# (kind, pattern on the op's name: Keras layer scopes look like "stage1_unit1_attention_1/"); first match wins.
KINDS = [
    ("idle (no op running)", re.compile(r"^IDLE$")),
    ("optimizer", re.compile(r"SGD|optimizer|AssignVariable|ResourceApply|AssignAdd|AssignSub", re.I)),
    ("attention", re.compile(r"_attention(_\d+)?/")),
    ("stem conv", re.compile(r"stem_conv(_\d+)?/")),
    ("batchnorm", re.compile(r"_bn(_\d+)?/")),
    ("conv (+bias)", re.compile(r"_conv(_\d+)?/")),
    ("relu", re.compile(r"_relu(_\d+)?/|_out(_\d+)?/")),
    ("residual add", re.compile(r"_add(_\d+)?/")),
    ("stem max-pool", re.compile(r"stem_pool")),
    ("classifier + loss", re.compile(r"avg_pool|predictions|global_average|dense|loss|crossentropy|softmax", re.I)),
]


def kind_of(name):
    for kind, pattern in KINDS:
        if pattern.search(name):
            return kind
    return "other"


def profile(args):
    """Trace ``args.steps`` training steps after ``args.warmup`` untimed ones; the newest xplane file's path."""
    import tensorflow as tf

    from keras_scse.bench import BenchConfig, speed

    config = BenchConfig(model=args.model, input_size=args.input_size, channels=args.channels, classes=10,
                         batch_size=args.batch_size, model_kwargs=json.loads(args.model_kwargs or "{}"))
    model, (x, y) = speed.build_model(config), speed.random_batch(config)
    speed.compile_for_timing(model, xla=False)  # the speed tables' step: SGD + momentum, XLA off
    for _ in range(args.warmup):
        model.train_on_batch(x, y)
    logdir = os.path.join(args.logdir, args.tag)
    tf.profiler.experimental.start(logdir)
    for _ in range(args.steps):
        model.train_on_batch(x, y)
    tf.profiler.experimental.stop()
    return sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))[-1]


def op_table(xplane):
    """[(op name, op type, self time us)] from xprof's framework_op_stats of the host (CPU) ops."""
    from xprof.convert import raw_to_tool_data

    data, _ = raw_to_tool_data.xspace_to_tool_data([xplane], "framework_op_stats", {})
    tables = json.loads(data)
    table = tables[0] if isinstance(tables, list) else tables
    columns = [c["id"] for c in table["cols"]]
    rows = []
    for r in table["rows"]:
        values = dict(zip(columns, [c.get("v") if c else None for c in r["c"]]))
        if values.get("host_or_device") not in (None, "Host"):
            continue
        rows.append((values["operation"], values["type"], float(values["total_self_time"])))
    return rows


def summarise(rows, args):
    total = sum(t for _, _, t in rows) or 1.0  # thread time, idle included: shares of the CPU time of a step
    by_kind, by_op = defaultdict(float), defaultdict(float)
    for name, op_type, t in rows:
        by_kind[kind_of(name)] += t
        by_op[op_type] += t
    os.makedirs(args.out, exist_ok=True)
    for label, table in (("by_kind", by_kind), ("by_op", by_op)):
        with open(os.path.join(args.out, f"{args.tag}_{label}.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([label[3:], "self_time_ms_per_step", "share_pct"])
            for key, t in sorted(table.items(), key=lambda kv: -kv[1]):
                w.writerow([key, round(t / 1000 / args.steps, 2), round(100 * t / total, 1)])
    lines = [f"{args.tag}: {args.input_size}x{args.input_size}x{args.channels}, batch {args.batch_size}, "
             f"{args.steps} profiled training steps, {total / 1000 / args.steps:.0f} ms of thread time per step "
             "(all TF threads, idle included).", "",
             "| layer kind | ms / step | share |", "| --- | --- | --- |"]
    lines += [f"| {k} | {t / 1000 / args.steps:.1f} | {100 * t / total:.1f}% |"
              for k, t in sorted(by_kind.items(), key=lambda kv: -kv[1])]
    lines += ["", "| op type (top 12) | ms / step | share |", "| --- | --- | --- |"]
    lines += [f"| {k} | {t / 1000 / args.steps:.1f} | {100 * t / total:.1f}% |"
              for k, t in sorted(by_op.items(), key=lambda kv: -kv[1])[:12]]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, f"{args.tag}.md"), "w") as f:
        f.write(text)
    return text


def main(argv=None):
    args = parse_args(argv)
    args.tag = args.tag or args.model
    xplane = profile(args)
    print(summarise(op_table(xplane), args))


if __name__ == "__main__":
    sys.exit(main())
