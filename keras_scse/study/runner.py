"""Run a study's trainings one after another and keep its results CSV.

Run folders live outside the work tree, so that they outlast a checkout: ``$KERAS_SCSE_RUNS`` (default
``~/.cache/keras_scse/runs``), then ``<study name>/<variant slug>-seed<N>``. A run killed at any point continues
from its last finished epoch the next time ``run`` reaches it; a finished run (metrics.json) adds its row to the
CSV once. Each run folder holds a lock while a process trains it, so several processes can share one study
(benchmarks/run_attention_study.sh starts ``STUDY_JOBS`` of them).
"""

import csv
import json
import os
import statistics
import subprocess
import time

import keras

from keras_scse.training.run_folder import finished_epochs

FIELDS = ["variant", "seed", "test_accuracy", "best_val_accuracy", "epochs", "params", "macs", "train_s",
          "backend", "device", "commit", "command"]
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def runs_root():
    return os.path.expanduser(os.environ.get("KERAS_SCSE_RUNS") or "~/.cache/keras_scse/runs")


def run_dir(study, variant, seed):
    return os.path.join(runs_root(), study.name, f"{variant.slug}-seed{seed}")


def read_rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def epoch_seconds(folder):
    """{epoch: seconds} from the run's clock (the last time of an epoch repeated after a kill)."""
    path = os.path.join(folder, "epoch_times.csv")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return {int(epoch): float(seconds) for epoch, seconds in csv.reader(f)}


class EpochClock(keras.callbacks.Callback):
    """Appends ``epoch,seconds`` to epoch_times.csv after every epoch: what the status estimate is made of."""

    def __init__(self, folder):
        super().__init__()
        self.path = os.path.join(folder, "epoch_times.csv")

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        with open(self.path, "a") as f:
            f.write(f"{epoch},{time.time() - self.started:.1f}\n")


def code_commit():
    """HEAD of the checkout the package runs from, '+dirty' when keras_scse/ has uncommitted changes."""
    try:
        git = ["git", "-C", os.path.dirname(PACKAGE)]
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run([*git, "status", "--porcelain", "--", PACKAGE], capture_output=True, text=True)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def device_name():
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "CPU"
    return f"{model} x{os.cpu_count()}"


def command_for(spec_path, variant, seed):
    return f"keras-scse study run {os.path.relpath(spec_path)} --variant {variant.slug} --seed {seed}"


def state(study, variant, seed, rows):
    """'done' (row in the CSV), 'finished' (metrics.json, no row yet), 'running', 'partial' or 'todo'."""
    folder = run_dir(study, variant, seed)
    if any(row["variant"] == variant.name and int(row["seed"]) == seed for row in rows):
        return "done"
    if os.path.exists(os.path.join(folder, "metrics.json")):
        return "finished"
    if lock_holder(folder):
        return "running"
    return "partial" if finished_epochs(os.path.join(folder, "backup")) else "todo"


def lock_holder(folder):
    """The pid training this folder now, or None (a lock left by a killed process does not count)."""
    try:
        with open(os.path.join(folder, "study.lock")) as f:
            pid = int(f.read().strip() or 0)
        if pid <= 0:  # os.kill(0, ...) would ask about our own process group
            return None
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def take_lock(folder):
    """Claim a run folder for this process: True, or False when another live process holds it. The lock file
    appears whole and only once (a hard link of a file holding the pid), so two processes picking the same run at
    the same moment cannot both have it."""
    path = os.path.join(folder, "study.lock")
    if os.path.exists(path) and lock_holder(folder) is None:
        os.remove(path)  # left by a killed process
    mine = f"{path}.{os.getpid()}"
    with open(mine, "w") as f:
        f.write(str(os.getpid()))
    try:
        os.link(mine, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.remove(mine)


def status(study):
    """What is done, what is left and how long it will take, as text."""
    rows = read_rows(study.results)
    planned = study.runs(rows)
    per_variant, every = {}, []
    for variant, seed in planned:
        seconds = list(epoch_seconds(run_dir(study, variant, seed)).values())
        per_variant.setdefault(variant.name, []).extend(seconds)
        every.extend(seconds)
    lines, left_s, unknown = [f"study {study.name}: {study.model}, {study.recipe.get('epochs')} epochs, runs in "
                              f"{os.path.join(runs_root(), study.name)}"], 0.0, 0
    counts = {}
    for variant, seed in planned:
        now = state(study, variant, seed, rows)
        counts[now] = counts.get(now, 0) + 1
        detail = ""
        if now == "done":
            row = next(r for r in rows if r["variant"] == variant.name and int(r["seed"]) == seed)
            detail = f"test accuracy {float(row['test_accuracy']):.2%}"
        else:
            done = finished_epochs(os.path.join(run_dir(study, variant, seed), "backup")) or 0
            left = 0 if now == "finished" else study.recipe["epochs"] - done
            typical = per_variant[variant.name] or every
            if left and typical:
                left_s += left * statistics.median(typical)
            unknown += bool(left and not typical)
            detail = f"{done}/{study.recipe['epochs']} epochs"
        if seed in study.tie_break_seeds:
            detail += " (tie-break: its range overlaps another variant's)"
        lines.append(f"  {variant.name:<24} seed {seed}  {now:<8}  {detail}")
    if left_s:
        eta = f"about {left_s / 3600:.1f} h of training left on this machine"
        parallel = counts.get("running", 0)
        if parallel > 1:  # the runs' own epoch times, so runs side by side share the hours
            eta += f" ({parallel} runs train at once: about {left_s / parallel / 3600:.1f} h on the clock)"
    else:
        eta = "nothing timed yet" if unknown else "no training left"
    if unknown and left_s:
        eta += f" (+ {unknown} run(s) not yet timed)"
    lines.append("  " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + f"; {eta}")
    return "\n".join(lines)


def record(study, spec_path, variant, seed):
    """Append a finished run's row to the study CSV (once)."""
    from keras_scse import bench

    folder = run_dir(study, variant, seed)
    with open(os.path.join(folder, "metrics.json")) as f:
        metrics = json.load(f)
    origin = read_json(os.path.join(folder, "study_run.json"))
    model = keras.saving.load_model(os.path.join(folder, "last.keras"), compile=False)
    times = epoch_seconds(folder)
    row = {
        "variant": variant.name, "seed": seed, "test_accuracy": round(metrics["accuracy"], 4),
        "best_val_accuracy": round(metrics["best_val_accuracy"], 4), "epochs": metrics["epochs"],
        "params": metrics["params"], "macs": bench.count_flops(model)["macs"],
        "train_s": round(sum(times.values()) if len(times) >= metrics["epochs"] else metrics["wall_time_s"]),
        "backend": origin.get("backend", keras.backend.backend()), "device": origin.get("device", device_name()),
        "commit": origin.get("commit", code_commit()), "command": origin.get("command", "")
        or command_for(spec_path, variant, seed),
    }
    append_row(study.results, row)
    return row


def append_row(path, row):
    """Add one row to a results CSV, with the header when the file is new."""
    new = not os.path.exists(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def read_json(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def run(study, spec_path, variants=None, seeds=None, max_runs=None, verbose=2):
    """Train the study's runs that are not done, in order (filtered by ``variants`` / ``seeds``), at most
    ``max_runs``; record each finished one; then the tie-break seeds the results call for. Returns the rows
    recorded."""
    from keras_scse.training import train

    chosen = {study.variant(name).name for name in variants} if variants else None
    recorded = []
    while max_runs is None or len(recorded) < max_runs:
        rows = read_rows(study.results)  # afresh each time: a finished run may call for tie-break seeds
        wanted = [(variant, seed) for variant, seed in study.runs(rows)
                  if (not chosen or variant.name in chosen) and (not seeds or seed in seeds)]
        todo = [(variant, seed, now) for variant, seed in wanted
                if (now := state(study, variant, seed, rows)) not in ("done", "running")]
        if not todo:
            break
        variant, seed, now = todo[0]
        folder = run_dir(study, variant, seed)
        if now != "finished":
            os.makedirs(folder, exist_ok=True)
            if not take_lock(folder):
                continue  # another process took it a moment ago: it is 'running' now, pick again
            if not os.path.exists(os.path.join(folder, "study_run.json")):
                with open(os.path.join(folder, "study_run.json"), "w") as f:
                    json.dump({"commit": code_commit(), "command": command_for(spec_path, variant, seed),
                               "backend": keras.backend.backend(), "device": device_name()}, f, indent=1)
            try:
                print(f"[keras-scse] study {study.name}: {variant.name}, seed {seed} -> {folder}", flush=True)
                train(study.config(variant, seed, folder), verbose=verbose, callbacks=[EpochClock(folder)])
            finally:
                os.remove(os.path.join(folder, "study.lock"))
        recorded.append(record(study, spec_path, variant, seed))
        print(f"[keras-scse] recorded {variant.name} seed {seed}: test accuracy "
              f"{recorded[-1]['test_accuracy']:.2%} -> {study.results}", flush=True)
    return recorded
