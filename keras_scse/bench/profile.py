"""Where does a training step's time go? A TensorFlow profiler trace of a few steps, summed per layer kind.

The model, batch and step are the speed tables' own (``keras_scse.bench.speed``: SGD + momentum, XLA off). The
per-op table (xprof's "framework_op_stats", host time excluding children) is grouped twice: by op type, and by
the kind of Keras layer the op belongs to (stem / unit convs / BN / ReLU / attention / add / classifier /
optimizer), from the op's name scope. Needs xprof (``pip install xprof``), not a dependency of the package.
"""

import csv
import glob
import json
import os
import re
from collections import defaultdict

from keras_scse.bench import speed

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


def profile(config, logdir, warmup=3, steps=5):
    """Trace ``steps`` training steps of ``config`` (a BenchConfig) after ``warmup`` untimed ones, into
    ``logdir``; the newest xplane file's path."""
    import tensorflow as tf

    model, (x, y) = speed.build_model(config), speed.random_batch(config)
    speed.compile_for_timing(model, xla=False)  # the speed tables' step: SGD + momentum, XLA off
    for _ in range(warmup):
        model.train_on_batch(x, y)
    tf.profiler.experimental.start(logdir)
    for _ in range(steps):
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


def summarise(rows, config, steps, out, tag):
    """Self time per step by layer kind and by op type: <out>/<tag>_by_kind.csv, _by_op.csv, <tag>.md."""
    total = sum(t for _, _, t in rows) or 1.0  # thread time, idle included: shares of the CPU time of a step
    by_kind, by_op = defaultdict(float), defaultdict(float)
    for name, op_type, t in rows:
        by_kind[kind_of(name)] += t
        by_op[op_type] += t
    os.makedirs(out, exist_ok=True)
    for label, table in (("by_kind", by_kind), ("by_op", by_op)):
        with open(os.path.join(out, f"{tag}_{label}.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([label[3:], "self_time_ms_per_step", "share_pct"])
            for key, t in sorted(table.items(), key=lambda kv: -kv[1]):
                w.writerow([key, round(t / 1000 / steps, 2), round(100 * t / total, 1)])
    lines = [f"{tag}: {config.input_size}x{config.input_size}x{config.channels}, batch {config.batch_size}, "
             f"{steps} profiled training steps, {total / 1000 / steps:.0f} ms of thread time per step "
             "(all TF threads, idle included).", "",
             "| layer kind | ms / step | share |", "| --- | --- | --- |"]
    lines += [f"| {k} | {t / 1000 / steps:.1f} | {100 * t / total:.1f}% |"
              for k, t in sorted(by_kind.items(), key=lambda kv: -kv[1])]
    lines += ["", "| op type (top 12) | ms / step | share |", "| --- | --- | --- |"]
    lines += [f"| {k} | {t / 1000 / steps:.1f} | {100 * t / total:.1f}% |"
              for k, t in sorted(by_op.items(), key=lambda kv: -kv[1])[:12]]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, f"{tag}.md"), "w") as f:
        f.write(text)
    return text
