"""The one timing method of every sweep: warm all rows up first, then time them round-robin over passes.

Anchors: timm's benchmark.py (untimed warm-up, then timed steps, samples/s from the step time) and the
formulations table of this package, where rows timed one after another on the shared 2-core machine drifted
+-20% (the same floor took 275 to 439 ms a training step in three runs of one afternoon). Round-robin spreads
such drifts over every row alike: pass p times row 1, row 2, ... row n, then pass p + 1 starts again at row 1.
Each row reports the median of its passes and their spread, so a reader sees how far to trust a difference.
"""

import statistics

from keras_scse.bench.speed import timed_steps


def round_robin(steps, passes, steps_per_pass, warmup=1, settle=1):
    """Seconds per call of each function in ``steps``, one sample per pass: a list (one per step) of lists.

    ``warmup`` untimed calls of every function come first (tracing, compilation, allocator warm-up: all rows ready
    before any is timed; 0 when the caller has already called each); each pass then calls every function in turn,
    ``settle`` untimed calls (the other rows have just evicted its data from the caches) and ``steps_per_pass``
    timed ones (their mean).
    """
    if passes < 1 or steps_per_pass < 1 or warmup < 0 or settle < 0:
        raise ValueError(f"round_robin needs passes, steps_per_pass >= 1 and warmup, settle >= 0; received "
                         f"passes={passes}, steps_per_pass={steps_per_pass}, warmup={warmup}, settle={settle}.")
    for step in steps:
        for _ in range(warmup):
            step()
    samples = [[] for _ in steps]
    for _ in range(passes):
        for step, times in zip(steps, samples):
            times.append(timed_steps(step, steps_per_pass, repeats=1, warmup=settle))
    return samples


def spread(samples):
    """Median, min, max, quartiles and interquartile range of a row's samples (the IQR is 0 for a single
    sample)."""
    if not samples:
        raise ValueError("spread() needs at least one sample.")
    ordered = sorted(samples)
    q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive") if len(ordered) > 1 else ordered * 3
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1], "q1": q1, "q3": q3,
            "iqr": q3 - q1}
