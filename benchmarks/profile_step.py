"""Where does a training step's time go? TensorFlow profiler trace of a few steps, summed per layer kind.

    pip install xprof        # TensorBoard's profiler (reads the trace); not a dependency of the package
    PYTHONPATH=. python benchmarks/profile_step.py --model SCSENet44 --batch-size 128

Runs keras_scse.bench.profile: ``--warmup`` untimed training steps, then ``--steps`` profiled ones (the trace
stays in --logdir: open it with ``tensorboard --logdir``). Writes <out>/<tag>_by_kind.csv, <tag>_by_op.csv and
<tag>.md (by layer kind and by op type).
"""

import argparse
import json
import os

from keras_scse.bench import BenchConfig
from keras_scse.bench.profile import op_table, profile, summarise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
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
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "profile"))
    args = p.parse_args()
    tag = args.tag or args.model
    config = BenchConfig(model=args.model, input_size=args.input_size, channels=args.channels, classes=10,
                         batch_size=args.batch_size, model_kwargs=json.loads(args.model_kwargs or "{}"))
    xplane = profile(config, os.path.join(args.logdir, tag), args.warmup, args.steps)
    print(summarise(op_table(xplane), config, args.steps, args.out, tag))


if __name__ == "__main__":
    main()
