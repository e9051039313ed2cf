"""The command line every benchmarks/ entry point shares: pick sweeps, filter rows, run, write the tables.

An entry point declares its sweeps as data and calls ``main(sweeps, out=...)``; options:
  --sweeps NAME ...   which sweeps (default: all)
  --only TEXT ...     rows whose label contains one of the texts (the floors, attention None, always stay):
                      round-robin keeps every row of a backend in memory, so big sweeps run in groups; the
                      group's rows replace the same rows of NAME.csv, the others stay
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
    rows = {}
    for row in sweep.rows:
        _, variant = family_row(row.model)
        tiny = {"blocks": (1, 1, 1, 1)} if variant and "blocks" in variant else {}
        row = dataclasses.replace(row, batch_size=min(row.batch_size, 4), input_size=min(row.input_size, 32),
                                  model_kwargs={**row.model_kwargs, **tiny})
        rows.setdefault(row.key(), row)  # rows that differed only in size may now be the same
    rows = list(rows.values())
    return dataclasses.replace(sweep, rows=rows, passes=2, steps=1, warmup=1, settle=0, memory=False)


def select(sweep, args):
    rows = [row for row in sweep.rows
            if not args.only or row.attention is None or any(text in row.label for text in args.only)]
    changes = {name: getattr(args, name) for name in ("passes", "steps") if getattr(args, name)}
    sweep = dataclasses.replace(sweep, rows=rows, **changes)
    return smoke(sweep) if args.smoke else sweep


def stamp(results):
    """Each result with the command, date and machine that made it (in the CSV: --report-only keeps them)."""
    made = {"command": "python " + " ".join(sys.argv), "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU threads"}
    return [{**result, **made} for result in results]


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


IDENTITY = ("model", "model_kwargs", "attention", "options", "formulation", "backend", "keras_backend", "xla",
            "input_size", "batch_size")


def merge(old, new):
    """The table after a partial run (--only): ``new`` rows replace the same rows of ``old``, the rest stay
    (with the overhead over their own run's floor)."""
    def key(row):
        return tuple(str(row.get(field)) for field in IDENTITY)

    fresh = {key(row): row for row in new}
    kept = [fresh.pop(key(row), row) for row in old]
    return kept + list(fresh.values())


def main(sweeps, out, report=default_report, argv=None, before=None):
    """Run the chosen sweeps of ``sweeps`` ({name: Sweep}) and write each one's tables with ``report(name,
    results, out)`` (results are dicts; read back from NAME.csv with --report-only); ``before(sweep)`` runs
    first (e.g. to fill a compilation cache)."""
    args = parse_args(sweeps, out, argv)
    os.makedirs(args.out, exist_ok=True)
    for name in args.sweeps:
        if args.report_only:  # the overhead again: tables written before its spread existed get it too
            results = table.add_overhead(table.read_csv(os.path.join(args.out, f"{name}.csv")))
        else:
            sweep = select(sweeps[name], args)
            if before:
                before(sweep)
            results = table.add_overhead(run_sweep(sweep))
            results = stamp(results)
            if args.only:
                results = merge(table.read_csv(os.path.join(args.out, f"{name}.csv")), results)
        report(name, results, args.out)
