"""A study's summary: per variant, test accuracy mean +- std over seeds with the per-seed values, parameters,
MACs and (when measured) the training / inference overhead; written as Markdown next to the results CSV, with an
accuracy-versus-cost plot."""

import csv
import json
import os
import statistics

from keras_scse.study.runner import read_rows


def summarise(study, rows=None):
    """One dict per variant that has results (``rows``, default: the study's CSV), in the spec's order."""
    rows = read_rows(study.results) if rows is None else rows
    overhead = read_overhead(study)
    summary = []
    for variant in study.variants:
        mine = sorted((r for r in rows if r["variant"] == variant.name), key=lambda r: int(r["seed"]))
        if not mine:
            continue
        accuracies = [float(r["test_accuracy"]) for r in mine]
        summary.append({
            "variant": variant.name, "seeds": [int(r["seed"]) for r in mine], "accuracies": accuracies,
            "mean": statistics.mean(accuracies), "std": statistics.stdev(accuracies) if len(mine) > 1 else None,
            "params": int(mine[0]["params"]), "macs": int(mine[0]["macs"]), **overhead.get(variant.name, {}),
        })
    return summary


def read_overhead(study):
    """{variant: {"train_overhead": .., "infer_overhead": ..}} (fractions) from the study's timing CSV: the row of
    the study's model with the variant's attention and options (zero-init does not change a step's cost)."""
    if not study.overhead or not os.path.exists(study.overhead):
        return {}
    with open(study.overhead, newline="") as f:
        timed = {(row.get("layer"), row.get("options")): row for row in csv.DictReader(f)
                 if row.get("model") == study.model}  # tables written before the per-row options: none found
    found = {}
    for variant in study.variants:
        kwargs = variant.model_kwargs
        key = (kwargs.get("attention") or "none", json.dumps(kwargs.get("attention_kwargs", {}), sort_keys=True))
        row = timed.get(key)
        if row and row.get("train_overhead_pct") and row.get("infer_overhead_pct"):
            found[variant.name] = {mode: float(row[f"{mode}_pct"]) / 100 for mode in ("train_overhead",
                                                                                     "infer_overhead")}
    return found


def markdown(summary):
    def signed(value):
        return "" if value is None else f"{100 * value:+.0f}%"

    lines = ["| variant | test accuracy (mean +- std) | per seed | params | MACs | train overhead | infer overhead |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for row in summary:
        spread = f" +- {row['std']:.2%}" if row["std"] is not None else ""
        seeds = ", ".join(f"{seed}: {acc:.2%}" for seed, acc in zip(row["seeds"], row["accuracies"]))
        lines.append(f"| {row['variant']} | {row['mean']:.2%}{spread} | {seeds} | {row['params']:,} | "
                     f"{row['macs']:,} | {signed(row.get('train_overhead'))} | {signed(row.get('infer_overhead'))} |")
    return "\n".join(lines)


def plot(summary, path):
    """Accuracy (mean +- std, each seed a small dot) against training-step overhead (or MACs when not timed).
    The y axis spans the variants within 3 points of the best; one further below sits on the bottom edge as a
    down-pointing marker labelled with its mean, so that it does not squash the others into one line."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    timed = all("train_overhead" in row for row in summary)
    best = max(row["mean"] for row in summary)
    near = [row for row in summary if row["mean"] >= best - 0.03]
    low = min(min(row["accuracies"]) for row in near) * 100 - 0.2
    fig, ax = plt.subplots(figsize=(7, 4.5))
    placed = []
    for row in summary:
        x = 100 * row["train_overhead"] if timed else row["macs"] / 1e6
        y = 100 * row["mean"]
        label = row["variant"]
        if row in near:
            line = ax.errorbar(x, y, yerr=100 * (row["std"] or 0), fmt="o", capsize=3)
            ax.plot([x] * len(row["accuracies"]), [100 * a for a in row["accuracies"]], ".", ms=4, alpha=0.6,
                    color=line[0].get_color())
        else:  # off the scale
            ax.plot(x, low, "v", color="grey")
            y, label = low, f"{label} ({row['mean']:.2%}, below)"
        # a second label at about the same place goes below its point
        below = any(abs(x - px) < 4 and abs(y - py) < 0.1 for px, py in placed)
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, -11 if below else 4), fontsize=8)
        placed.append((x, y))
    ax.set_ylim(bottom=low - 0.1)
    ax.set_xlabel("training-step overhead over no attention (%)" if timed else "multiply-adds (M)")
    ax.set_ylabel("test accuracy (%): mean +- std, dots: seeds")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(study):
    """Write results.md and results.png beside the CSV; return the Markdown table and the overlapping ranges."""
    rows = read_rows(study.results)
    summary = summarise(study, rows)
    if not summary:
        return f"no finished runs in {study.results} yet"
    folder = os.path.dirname(study.results)
    table = markdown(summary)
    overlaps = ""
    pairs = study.overlapping_pairs(rows)
    if pairs:
        tie_break = f"; each gets tie-break seed(s) {list(study.tie_break_seeds)}" if study.tie_break_seeds else ""
        overlaps = (f"\n\nRanges over seeds {list(study.seeds)} that overlap (those seeds cannot order the two"
                    f"{tie_break}): {'; '.join(f'{a} / {b}' for a, b in pairs)}.")  # '; ': names hold commas
    with open(os.path.join(folder, "results.md"), "w") as f:
        f.write(f"# {study.name}\n\n{study.description}\n\nMade by `keras-scse study report` from results.csv.\n\n"
                f"{table}{overlaps}\n")
    plot(summary, os.path.join(folder, "results.png"))
    return table + overlaps
