"""``keras-scse bench``: costs, memory and throughput of a registered model on synthetic inputs."""

import json

from keras_scse.cli.common import (
    add_model_kwargs,
    library_defaults,
    model_name,
    non_negative_int,
    on_off,
    positive_int,
)


def cmd_bench(args):
    import csv

    from keras_scse import applications
    from keras_scse.bench import FIELDS, BenchConfig, run

    if args.model not in applications.list_models():
        raise ValueError(f"Unknown model {args.model!r}; see `keras-scse models`.")
    common = dict(model=args.model, channels=args.channels, classes=args.classes, steps=args.steps,
                  repeats=args.repeats, warmup=args.warmup, model_kwargs=args.model_kwargs)
    configs = []
    for size in args.input_size:
        for batch in args.batch_size:
            configs += [BenchConfig(input_size=size, batch_size=batch, xla=xla, train=not args.inference_only,
                                    **common) for xla in args.xla]
            if args.onnx:
                configs.append(BenchConfig(input_size=size, batch_size=batch, backend="onnxruntime", train=False,
                                           **common))
    out = open(args.output, "w", newline="") if args.output else None
    writer = csv.DictWriter(out, FIELDS) if out and args.output.endswith(".csv") else None
    if writer:
        writer.writeheader()

    def show(row):
        print(json.dumps(row) if args.json else
              f"{row['backend']:<12} xla={str(row['xla']):<5} {row['input_size']:>4}px batch {row['batch_size']:>4}: "
              f"train {row['train_img_s'] or '-':>8} img/s  infer {row['infer_img_s'] or '-':>8} img/s  "
              f"peak {row['peak_rss_mb']:,.0f} MB  ({row['params']:,} params, {row['macs']:,} MACs/image)",
              flush=True)
        if writer:
            writer.writerow(row)
        elif out:
            out.write(json.dumps(row) + "\n")
        if out:
            out.flush()  # a long sweep keeps its finished rows if it is stopped

    try:
        run(configs, isolate=not args.in_process, on_row=show)
    finally:
        if out:
            out.close()
    return 0


def add_bench(sub):
    from keras_scse.bench import BenchConfig

    defaults = library_defaults(BenchConfig)
    be = sub.add_parser(
        "bench", help="parameters, MACs, peak memory, training/inference throughput (XLA on/off, ONNX Runtime)",
        description="Benchmark a registered model on synthetic inputs: images/s for training steps (forward, "
                    "backward, SGD update) and inference, median of --repeats timed blocks of --steps steps after "
                    "--warmup untimed steps; each configuration runs in a fresh process so peak memory is its own. "
                    "MACs are multiply-accumulates per image (what papers call FLOPs).")
    be.add_argument("--model", type=model_name, help="registered model name")
    be.add_argument("--input-size", type=positive_int, nargs="+", default=[defaults["input_size"]],
                    help="one or more sizes (SIZE x SIZE)")
    be.add_argument("--batch-size", type=positive_int, nargs="+", default=[defaults["batch_size"]],
                    help="one or more batch sizes")
    be.add_argument("--channels", type=positive_int, help="input channels")
    be.add_argument("--classes", type=positive_int, help="classifier outputs")
    be.add_argument("--xla", type=on_off, nargs="+", default=[defaults["xla"]], metavar="{off,on}",
                    help="XLA off (default), on, or both: --xla off on")
    be.add_argument("--onnx", action="store_true", help="also time ONNX Runtime inference of the tf2onnx export")
    be.add_argument("--inference-only", action="store_true", help="time inference only")
    be.add_argument("--steps", type=positive_int, help="steps per timed block")
    be.add_argument("--repeats", type=positive_int, help="timed blocks (the median is reported)")
    be.add_argument("--warmup", type=non_negative_int, help="untimed steps first (tracing, compilation)")
    add_model_kwargs(be)
    be.add_argument("--json", action="store_true", help="print rows as JSON lines instead of a table")
    be.add_argument("--output", help="also write the rows to this file: CSV if it ends in .csv, else JSON lines")
    be.add_argument("--in-process", action="store_true", help="measure in this process (faster; memory is shared)")
    scalar = {key: defaults[key] for key in ("model", "channels", "classes", "steps", "repeats", "warmup",
                                             "model_kwargs")}
    be.set_defaults(**scalar, func=cmd_bench)
