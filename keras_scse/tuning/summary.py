"""The report of a small architecture search against the default configuration on the same budget
(benchmarks/tune_scsenet.py writes it; the search itself is ``keras_scse.tuning.search``)."""

import json
import os


def number(v, spec=",d"):
    return "" if v is None else format(v, spec)


def write_markdown(args, found, default, best_test, default_test, n_test, wall, search_time, default_time, command,
                   out):
    """results.md of a search compared with the default configuration trained on the same budget."""
    b, d = found.best, default.best
    rows = found.rows
    counts = {s: sum(r["status"] == s for r in rows) for s in ("COMPLETED", "REJECTED", "FAILED", "INCOMPLETE")}
    lines = [
        "# HyperSCSENet random search on Fashion-MNIST (small budget)",
        "",
        f"Command: `{command.strip()}`  ",
        f"Wall time: {wall / 60:.1f} min in total (search {search_time / 60:.1f} min, default configuration "
        f"{default_time / 60:.1f} min, test evaluation the rest), 2-core CPU shared with other jobs, `nice -n 15`.",
        "",
        f"Setup: {args.limit} training and {args.val_limit} validation images (carved from Fashion-MNIST's training "
        f"split, disjoint), resized to {args.image_size}x{args.image_size}x1; {args.epochs} epochs per trial "
        f"(EarlyStopping patience 3), batch {args.batch_size}, recipe schedule (1 warm-up epoch, cosine decay), "
        f"{args.trials} random-search trials, seed {args.seed}"
        + (f", pinned in the search: `{args.fixed}`" if args.fixed else "")
        + f". Budget: max_params {args.max_params:,.0f}, "
        f"max_macs {args.max_macs:,.0f} (over-budget configurations are rejected before training and count as trials). "
        f"Test accuracy on the first {n_test} test images.",
        "",
        f"Trials: {counts['COMPLETED']} trained, {counts['REJECTED']} rejected over budget, {counts['FAILED']} failed"
        + (f", {counts['INCOMPLETE']} interrupted (the run was stopped for time; see below)" if counts["INCOMPLETE"]
           else "") + ".",
        "",
        "| | val accuracy | test accuracy | params | MACs |",
        "| --- | --- | --- | --- | --- |",
        f"| best of search (trial {b['trial_id']}) | {b['val_accuracy']:.4f} | {best_test:.4f} | {number(b['params'])} "
        f"| {number(b['macs'])} |",
        f"| SCSENet44 default, same budget | {d['val_accuracy']:.4f} | {default_test:.4f} | {number(d['params'])} "
        f"| {number(d['macs'])} |",
        "",
        f"Best configuration: `{json.dumps(b['values'])}`",
        "",
        f"Retrain it: `{b['retrain_command']}`",
        "",
        "## All trials",
        "",
        *trials_table(rows),
    ]
    lines += [
        "",
        "## Reading it",
        "",
        f"- One run per configuration, {args.epochs} epochs on {args.limit:,} images: differences of a few points "
        f"are within the noise of seeds and of the {args.val_limit:,}-image validation set (one standard error is "
        f"about {100 * (0.16 / args.val_limit) ** 0.5:.1f} points at 80% accuracy). The best trial was selected on "
        "validation accuracy, so its validation number is optimistic; the test accuracy is the fairer comparison.",
        f"- A {args.epochs}-epoch budget ranks configurations by how fast they learn, not by the accuracy they would "
        "reach with a full schedule. The run demonstrates the search machinery and the budget filter; it is not "
        "evidence about which attention layer or layout is better.",
        "",
        "Files: trials.csv (every trial: status, hyperparameters, params, MACs, time, error), "
        "best_hyperparameters.json, accuracy_vs_params.png (the default configuration as a green diamond), "
        "default_trial.csv (the default configuration's run).",
    ]
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def trials_table(rows):
    """Markdown lines of a table with every trial of an SCSENet search: status, accuracy, cost, hyperparameters."""
    header = ["trial", "status", "val acc", "params", "MACs", "time s", "attention", "blocks", "width", "stem",
              "optimizer", "lr"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for r in rows:
        lr = r.get(f"lr_{r.get('optimizer')}")
        blocks = "/".join(str(r.get(f"blocks_stage{i}")) for i in range(1, 5))
        acc = "" if r["val_accuracy"] is None else f"{r['val_accuracy']:.4f}"
        lines.append(f"| {r['trial_id']} | {r['status']} | {acc} | {number(r['params'])} | {number(r['macs'])} | "
                     f"{r['time_s'] if r['time_s'] is not None else ''} | {r['attention']} | {blocks} | {r['width']} | "
                     f"{r['stem']} | {r['optimizer']} | {'' if lr is None else f'{lr:.3g}'} |")
    return lines
