"""The command line every benchmarks/ entry point shares: pick sweeps, filter rows, run, write the tables.

An entry point declares its sweeps as data and calls ``main(sweeps, out=...)``; options:
  --sweeps NAME ...   which sweeps (default: all)
  --only TEXT ...     rows whose label contains one of the texts (the floors, attention None, always stay):
                      round-robin keeps every row of a backend in memory, so big sweeps run in groups
  --out DIR           where NAME.csv / NAME.md go (default: the committed results folder)
  --passes, --steps   override the sweep's timing
  --smoke             a tiny version (1-unit stages, batch 2, <= 32 px, 2 passes of 1 step) to try the code
  --report-only       rewrite the tables (and plots) from the CSVs already there
"""

import argparse
import dataclasses
import os
import platform
import sys
import time

from keras_scse.bench import table
from keras_scse.bench.depth import family_row
from keras_scse.bench.runner import run_sweep


def smoke(sweep):
    """The same sweep at toy sizes: every code path in minutes, numbers meaningless."""
    rows = []
    for row in sweep.rows:
        _, variant = family_row(row.model)
        tiny = {"blocks": (1, 1, 1, 1)} if variant and "blocks" in variant else {}
        rows.append(dataclasses.replace(row, batch_size=2, input_size=min(row.input_size, 32),
                                        model_kwargs={**row.model_kwargs, **tiny}))
    return dataclasses.replace(sweep, rows=rows, passes=2, steps=1, warmup=1, settle=0, memory=False)


def select(sweep, args):
    rows = [row for row in sweep.rows
            if not args.only or row.attention is None or any(text in row.label for text in args.only)]
    changes = {name: getattr(args, name) for name in ("passes", "steps") if getattr(args, name)}
    sweep = dataclasses.replace(sweep, rows=rows, **changes)
    return smoke(sweep) if args.smoke else sweep


def notes(results):
    """Who made the table and where: the command, the machine, the timing method."""
    first = results[0] if results else {}
    return [f"Command: `{first.get('command', '?')}`; {first.get('date', '?')}, {first.get('machine', '?')}, "
            f"device {first.get('device', 'unknown')}; synthetic data.",
            f"Timing: every row traced first, then {first.get('passes', '?')} round-robin passes of "
            f"{first.get('steps', '?')} steps (keras_scse.bench.timing); ms/step = the median pass (min-max of "
            "the passes); overhead = median step time over the same network's without attention."]


def default_report(name, results, out):
    text = table.write_table(results, os.path.join(out, name), table.TIMING_COLUMNS, notes=notes(results))
    print(text, flush=True)


def parse_args(sweeps, out, argv):
    parser = argparse.ArgumentParser(description=(sys.modules["__main__"].__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sweeps", nargs="+", default=list(sweeps), choices=list(sweeps))
    parser.add_argument("--only", nargs="+", default=[], metavar="TEXT")
    parser.add_argument("--out", default=out)
    parser.add_argument("--passes", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--report-only", action="store_true")
    return parser.parse_args(argv)


def main(sweeps, out, report=default_report, argv=None):
    """Run the chosen sweeps of ``sweeps`` ({name: Sweep}) and write each one's tables with ``report(name,
    results, out)`` (results are dicts; read back from NAME.csv with --report-only)."""
    args = parse_args(sweeps, out, argv)
    os.makedirs(args.out, exist_ok=True)
    for name in args.sweeps:
        if args.report_only:
            results = table.read_csv(os.path.join(args.out, f"{name}.csv"))
        else:
            results = table.add_overhead(run_sweep(select(sweeps[name], args)))
            stamp = {"command": "python " + " ".join(sys.argv), "date": time.strftime("%Y-%m-%d"),
                     "machine": f"{platform.machine()}, {os.cpu_count()} CPU threads"}
            results = [{**result, **stamp} for result in results]  # in the CSV: --report-only keeps them
        report(name, results, args.out)
