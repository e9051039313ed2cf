"""The one table writer of every benchmark: rows (dicts) to CSV + Markdown, optionally a PNG (matplotlib).

The CSV keeps every field of every row (the raw record); the Markdown shows the chosen ``columns``, under a
title and notes that name the command and the machine, so a committed table says how to make it again.
"""

import csv
import json
import os

from keras_scse.bench import timing

MODES = ("train", "infer")
NETWORK_FIELDS = ("model", "model_kwargs", "input_size", "channels", "batch_size", "backend", "keras_backend", "xla")

# Columns of a timing sweep's Markdown: (header, field or function of the row, format spec).
TIMING_COLUMNS = [
    ("network", lambda r: f"{r['model']} {r['input_size']} px, batch {r['batch_size']}", ""),
    ("backend", lambda r: f"{r['keras_backend']}{' + XLA' if str(r['xla']) == 'True' else ''}"
     if r["backend"] == "keras" else r["backend"], ""),
    ("attention", "attention", ""), ("formulation", "formulation", ""), ("params", "params", ",.0f"),
    ("train ms/step (min-max)", lambda r: spread_cell(r, "train"), ""),
    ("train overhead (per-pass IQR)", lambda r: overhead_cell(r, "train"), ""),
    ("infer ms/step (min-max)", lambda r: spread_cell(r, "infer"), ""),
    ("infer overhead (per-pass IQR)", lambda r: overhead_cell(r, "infer"), ""),
]


def number(value):
    """A float from a row's value (CSV cells are strings), None where there is none."""
    if value in (None, "", "None", "-"):
        return None
    return float(value)


def cell(value, fmt=""):
    """One Markdown cell: '-' for a missing value; a number through ``fmt`` (a format spec, or a "{...}"
    template such as "{:+.0f}%"); text, or a value without ``fmt``, as it is."""
    parsed = number_or_text(value)
    if parsed is None:
        return "-"
    if not fmt or isinstance(parsed, str):
        return str(value)
    return fmt.format(parsed) if "{" in fmt else format(parsed, fmt)


def number_or_text(value):
    try:
        return number(value)
    except (TypeError, ValueError):
        return value


def spread_cell(row, mode):
    """'median (min-max)' of a mode's step time, or '-' when the row did not time that mode."""
    if number(row.get(f"{mode}_step_ms")) is None:
        return "-"
    return f"{number(row[f'{mode}_step_ms']):.1f} ({number(row[f'{mode}_ms_min']):.1f}-" \
           f"{number(row[f'{mode}_ms_max']):.1f})"


def add_overhead(rows, modes=MODES):
    """``{mode}_overhead_pct``: the step time over the floor's - 1, in %, where the floor is the row of the
    same network (``NETWORK_FIELDS``) with ``layer`` "none"; rows without a floor get None. With pass times, the
    median of the pass-by-pass ratios (a pass of each row and of the floor see the same machine state), and
    their quartiles as ``{mode}_overhead_q1_pct`` / ``_q3_pct`` (quartiles: one disturbed pass of a 2-core
    machine makes the extremes meaningless); without, the ratio of the median step times."""
    def network(row):
        return json.dumps([str(row.get(field)) for field in NETWORK_FIELDS])

    floors = {network(row): row for row in rows if row.get("layer") == "none"}
    for row in rows:
        floor = floors.get(network(row))
        for mode in modes:
            mine = number(row.get(f"{mode}_step_ms"))
            base = number(floor.get(f"{mode}_step_ms")) if floor else None
            ratios = pass_ratios(row.get(f"{mode}_ms_per_pass"), floor and floor.get(f"{mode}_ms_per_pass"))
            stats = timing.spread(ratios) if ratios else {"median": mine / base if mine and base else None}
            for name in ("median", "q1", "q3"):
                field = f"{mode}_overhead_pct" if name == "median" else f"{mode}_overhead_{name}_pct"
                row[field] = round(100 * (stats[name] - 1), 1) if stats.get(name) is not None else None
    return rows


def pass_ratios(mine, floor):
    """Pass-by-pass ratios of two rows' "ms ms ..." pass times; [] when either is missing or they differ in
    length."""
    mine, floor = (str(times or "").split() for times in (mine, floor))
    if not mine or len(mine) != len(floor):
        return []
    return [float(a) / float(b) for a, b in zip(mine, floor)]


def overhead_cell(row, mode):
    """'+31% (+25..+38)': the median overhead and the quartiles of its pass-by-pass ratios; '-' without a
    floor."""
    median = number(row.get(f"{mode}_overhead_pct"))
    if median is None:
        return "-"
    low, high = number(row.get(f"{mode}_overhead_q1_pct")), number(row.get(f"{mode}_overhead_q3_pct"))
    return f"{median:+.0f}%" + (f" ({low:+.0f}..{high:+.0f})" if low is not None and high is not None else "")


def read_csv(path):
    """The rows of a CSV this module wrote (values as strings), [] if there is none yet."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_csv(rows, path):
    fields = list(dict.fromkeys(field for row in rows for field in row))  # every field, first-seen order
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)


def markdown(rows, columns, title="", notes=()):
    """A Markdown table of ``rows``; ``columns``: (header, field or function of a row, format spec)."""
    lines = [f"# {title}", ""] if title else []
    lines += [*notes, ""] if notes else []
    lines.append("| " + " | ".join(header for header, _, _ in columns) + " |")
    lines.append("|" + "|".join("---:" if fmt else "---" for _, _, fmt in columns) + "|")
    for row in rows:
        values = [(get(row) if callable(get) else row.get(get), fmt) for _, get, fmt in columns]
        lines.append("| " + " | ".join(cell(value, fmt) for value, fmt in values) + " |")
    return "\n".join(lines) + "\n"


def write_table(rows, stem, columns, title="", notes=()):
    """``stem``.csv (every field) and ``stem``.md (``columns``); returns the Markdown text."""
    os.makedirs(os.path.dirname(os.path.abspath(stem)), exist_ok=True)
    write_csv(rows, f"{stem}.csv")
    text = markdown(rows, columns, title, notes)
    with open(f"{stem}.md", "w") as f:
        f.write(text)
    return text


def write_plot(path, panels, title=""):
    """A PNG of side-by-side panels. Each panel: dict(x=labels or numbers, series={name: values}, kind="bar" or
    "line", xlabel, ylabel, log=False, ref=None (a dashed horizontal line, e.g. the floor + 10%))."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on benchmark machines
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if not panel["x"]:  # e.g. a partial run: say so instead of failing on an empty log axis
            ax.set_title("no rows")
            continue
        count = len(panel["series"])
        for i, (name, values) in enumerate(panel["series"].items()):
            if panel.get("kind", "bar") == "bar":
                positions = [p + (i - (count - 1) / 2) * 0.8 / count for p in range(len(panel["x"]))]
                ax.bar(positions, values, width=0.8 / count, label=name)
                ax.set_xticks(range(len(panel["x"])), panel["x"], rotation=30, ha="right", fontsize=8)
            else:
                ax.plot(panel["x"], values, "o-", label=name)
        if panel.get("ref") is not None:
            ax.axhline(panel["ref"], ls="--", color="red", lw=1)
        if panel.get("log"):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
        ax.set_xlabel(panel.get("xlabel", ""))
        ax.set_ylabel(panel.get("ylabel", ""))
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
