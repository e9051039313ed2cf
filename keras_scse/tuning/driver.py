"""The search driver: data, strategy, tuner, resumable search, and the results a person looks at.

See docs/tuning.md (the user guide) for usage, the results, resuming and distributed tuning.
"""

import csv
import dataclasses
import importlib
import json
import math
import os
import shutil
import time
import warnings

import keras
import keras_tuner as kt

from keras_scse.training import changed_settings, load_split, one_hot, report, strategy_and_jit
from keras_scse.tuning.hypermodels import BackboneHyperModel, OverBudget, get_hypermodel

TUNER_NAMES = ("random", "hyperband", "bayesian")
SIDECAR = "keras_scse_trial.json"  # per trial, written by the process that ran it: status, error, cost, time
RESULT_FILES = ("trials.csv", "best_hyperparameters.json", "accuracy_vs_params.png", "best_model.keras")
UNLIMITED_FAILURES = 10**9  # KerasTuner aborts after N consecutive failures; we report all failures ourselves


# ------------------------------------------------------------------------------------------- environment

def check_dependencies(tuner="random"):
    """Fail early, with the pip command, when a run-time dependency of KerasTuner is missing.

    keras-tuner imports ``tensorboard`` at the start of every trial with the TensorFlow backend, and TF 2.21
    no longer installs it: without it every trial fails and KerasTuner later raises a misleading
    FileNotFoundError. BayesianOptimization also needs scipy and scikit-learn.
    """
    needed = [("tensorboard.plugins.hparams.api", "tensorboard")]
    if tuner == "bayesian":
        needed += [("scipy", "scipy"), ("sklearn", "scikit-learn")]
    missing = []
    for module, package in needed:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise ImportError(
            f"keras-tuner needs {', '.join(missing)} at run time (tuner={tuner!r}) and it is not importable. "
            f"Install it: pip install {' '.join(missing)}   (or: pip install 'keras-scse[tune]')"
        )


def role():
    """"chief" (runs the oracle, waits), "worker" (runs trials) or "standalone", from KerasTuner's env vars."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "standalone"
    for var in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        if var not in os.environ:
            raise RuntimeError(f"KERASTUNER_ORACLE_IP is set but {var} is not. Distributed tuning needs "
                               "KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT on every process.")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


# ------------------------------------------------------------------------------------------- tuners

class _Recording:
    """Tuner mixin: per-trial seed, and a sidecar JSON per trial (status, error, params, MACs, time).

    The sidecar exists because KerasTuner's gRPC protocol drops a trial's error message on its way from a
    worker to the chief; with a shared directory the chief reads the workers' sidecars.
    """

    search_seed = 0

    def on_trial_begin(self, trial):
        self._trial_started = time.time()
        try:
            offset = int(trial.trial_id)
        except (TypeError, ValueError):
            offset = 0
        keras.utils.set_random_seed(self.search_seed + offset)  # a trial's init does not depend on who runs it
        if isinstance(self.hypermodel, BackboneHyperModel):
            self.hypermodel.last_cost = None
        super().on_trial_begin(trial)

    def on_trial_end(self, trial):
        cost = getattr(self.hypermodel, "last_cost", None) or {}
        record = {"trial_id": trial.trial_id, "status": trial.status, "tuner_id": self.tuner_id,
                  "error": error_line(trial.message), "params": cost.get("params"), "macs": cost.get("macs"),
                  "time_s": round(time.time() - getattr(self, "_trial_started", time.time()), 1)}
        report.write_json(record, os.path.join(self.get_trial_dir(trial.trial_id), SIDECAR), default=str)
        super().on_trial_end(trial)


class RandomSearch(_Recording, kt.RandomSearch):
    pass


class Hyperband(_Recording, kt.Hyperband):
    pass


class BayesianOptimization(_Recording, kt.BayesianOptimization):
    pass


def make_tuner(name, hypermodel, max_trials, epochs, seed, directory, project_name, overwrite=False,
               distribution_strategy=None, executions_per_trial=1, hyperband_factor=3,
               max_consecutive_failures=None, objective="val_accuracy"):
    """One of our recording tuners. Hyperband ignores ``max_trials``: its trial count follows from
    ``max_epochs=epochs`` and ``factor``."""
    if name not in TUNER_NAMES:
        raise ValueError(f"Unknown tuner {name!r}. Use one of {list(TUNER_NAMES)}.")
    common = dict(
        hypermodel=hypermodel, objective=kt.Objective(objective, direction="max"),
        seed=seed + 1,  # KerasTuner treats seed 0 as "no seed"
        max_consecutive_failed_trials=max_consecutive_failures or UNLIMITED_FAILURES,
        directory=directory, project_name=project_name, overwrite=overwrite,
        distribution_strategy=distribution_strategy, executions_per_trial=executions_per_trial,
    )
    if name == "random":
        tuner = RandomSearch(max_trials=max_trials, **common)
    elif name == "bayesian":
        tuner = BayesianOptimization(max_trials=max_trials, **common)
    else:
        tuner = Hyperband(max_epochs=epochs, factor=hyperband_factor, **common)
    tuner.search_seed = seed
    return tuner


# ------------------------------------------------------------------------------------------- results

@dataclasses.dataclass
class SearchResult:
    """What ``search`` returns. On a distributed worker only ``role``, ``project_dir`` and ``wall_time_s``."""

    role: str
    project_dir: str
    wall_time_s: float
    rows: list = dataclasses.field(default_factory=list)
    best: dict = None
    files: dict = dataclasses.field(default_factory=dict)

    def summary(self):
        if self.role == "worker":
            return f"== worker finished ({self.wall_time_s:.0f} s); the chief writes the results in {self.project_dir}"
        counts = {}
        for row in self.rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        best = self.best
        lines = [
            f"== search in {self.project_dir}: {len(self.rows)} trials "
            f"({', '.join(f'{n} {s.lower()}' for s, n in sorted(counts.items()))}), {self.wall_time_s:.0f} s",
            f"   best: trial {best['trial_id']}, val_accuracy {best['val_accuracy']:.4f}, "
            f"{_fmt_int(best['params'])} params, {_fmt_int(best['macs'])} MACs",
            f"   values: {json.dumps(best['values'])}",
            f"   retrain: {best['retrain_command']}",
            f"   files: {', '.join(sorted(self.files))}",
        ]
        return "\n".join(lines)


def _fmt_int(value):
    return "?" if value is None or value == "" else f"{int(value):,}"


def error_line(message):
    """The exception line of a traceback string ("OverBudget: Over budget, ..."), or None."""
    if not message:
        return None
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    if not lines:
        return None
    last = lines[-1]
    head, sep, rest = last.partition(": ")
    if sep and "." in head and " " not in head:  # "pkg.module.Error: msg" -> "Error: msg"
        last = f"{head.rsplit('.', 1)[-1]}: {rest}"
    return last


def _sort_key(trial_id):
    try:
        return (0, int(trial_id))
    except ValueError:
        return (1, str(trial_id))


def collect_rows(tuner, hypermodel):
    """One row per trial (sorted by id): id, status, val_accuracy, params, MACs, time, hp values, error."""
    rows = []
    names = list(hypermodel.space)
    for trial_id in sorted(tuner.oracle.trials, key=_sort_key):
        trial = tuner.oracle.trials[trial_id]
        side = report.read_json(os.path.join(tuner.project_dir, f"trial_{trial_id}", SIDECAR)) or {}

        def metric(name, metrics=trial.metrics):  # bound now: called within this iteration only
            return metrics.get_best_value(name) if metrics.exists(name) else None

        error = side.get("error") or error_line(trial.message)
        status = trial.status
        if status in ("RUNNING", "IDLE"):  # interrupted (report_only on an unfinished search)
            status, error = "INCOMPLETE", "did not finish; it runs again when the search continues"
        elif status != "COMPLETED" and error and error.startswith(OverBudget.__name__):
            status = "REJECTED"
        elif status != "COMPLETED" and not error:
            error = "failed (no message: see the log of the process that ran it)"
        params = side.get("params") if side.get("params") is not None else metric("params")
        macs = side.get("macs") if side.get("macs") is not None else metric("macs")
        row = {
            "trial_id": trial_id,
            "status": status,
            "val_accuracy": float(trial.score) if status == "COMPLETED" and trial.score is not None else None,
            "params": int(params) if params is not None else None,
            "macs": int(macs) if macs is not None else None,
            "time_s": side.get("time_s") if side.get("time_s") is not None else metric("fit_time_s"),
            "epochs_run": int(metric("epochs_run")) if metric("epochs_run") is not None else None,
        }
        values = trial.hyperparameters.values
        for name in names + sorted(k for k in values if k not in names):
            row[name] = values.get(name) if trial.hyperparameters.is_active(name) or name not in names else None
        row["error"] = error if status != "COMPLETED" else None
        rows.append(row)
    return rows


def write_csv(rows, path):
    fields = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def read_csv(path):
    """trials.csv back as a list of dicts of strings (as written)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot_accuracy_vs_params(rows, path, max_params=None, reference=None, title=None):
    """Scatter of validation accuracy against parameters (log x): trained trials, the best one starred,
    rejected ones as crosses on the floor, the budget as a dashed line, and an optional ``reference`` point
    ``{"label", "params", "val_accuracy"}`` (e.g. the default configuration trained the same way)."""
    plt = report.pyplot()
    done = [r for r in rows if r["status"] == "COMPLETED" and r["params"]]
    rejected = [r for r in rows if r["status"] == "REJECTED" and r["params"]]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    accs = [r["val_accuracy"] for r in done] + ([reference["val_accuracy"]] if reference else [])
    floor = (min(accs) - 0.05) if accs else 0.0
    if done:
        ax.scatter([r["params"] for r in done], [r["val_accuracy"] for r in done], c="tab:blue", label="trained trial")
        for r in done:
            ax.annotate(str(r["trial_id"]), (r["params"], r["val_accuracy"]), textcoords="offset points",
                        xytext=(4, 3), fontsize=7)
        best = max(done, key=lambda r: r["val_accuracy"])
        ax.scatter([best["params"]], [best["val_accuracy"]], marker="*", s=250, c="tab:orange", zorder=3,
                   label=f"best (trial {best['trial_id']})")
    if rejected:
        ax.scatter([r["params"] for r in rejected], [floor] * len(rejected), marker="x", c="tab:red",
                   label="rejected (over budget)")
    if reference:
        ax.scatter([reference["params"]], [reference["val_accuracy"]], marker="D", s=70, c="tab:green", zorder=3,
                   label=reference.get("label", "reference"))
    if max_params:
        ax.axvline(max_params, ls="--", c="gray", label=f"max_params {max_params:,.0f}")
    ax.set_xscale("log")
    ax.set_xlabel("parameters (total)")
    ax.set_ylabel("best validation accuracy")
    ax.set_title(title or "architecture search: accuracy vs parameters")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    report.save_figure(fig, path, dpi=120)


def best_record(hypermodel, row, hypermodel_name):
    """best_hyperparameters.json: the best row's values, its cost, and how to rebuild/retrain it."""
    values = {k: row[k] for k in hypermodel.space if row.get(k) is not None}
    extras = {k: v for k, v in row.items() if k.startswith("tuner/") and v is not None}
    model_kwargs = hypermodel.model_kwargs(values)
    retrain = hypermodel.retrain_spec(values)
    training = hypermodel.training_kwargs(values)
    command = (f"keras-scse train --model {retrain['model']} --model-kwargs '{json.dumps(retrain['model_kwargs'])}' "
               f"--recipe {training['recipe']} --lr {training['lr']:.4g}")
    return {
        "hypermodel": hypermodel_name,
        "trial_id": row["trial_id"],
        "val_accuracy": row["val_accuracy"],
        "params": row["params"],
        "macs": row["macs"],
        "values": values,
        **({"tuner_values": extras} if extras else {}),
        "model_kwargs": model_kwargs,
        "training": training,
        "retrain_command": command,
    }


def write_results(tuner, hypermodel, hypermodel_name, save_best_model=True, started=None):
    """trials.csv, best_hyperparameters.json, accuracy_vs_params.png, best_model.keras in the project dir.

    Raises RuntimeError listing every trial's error when no trial completed (instead of KerasTuner's
    misleading FileNotFoundError from ``get_best_models``)."""
    project_dir = tuner.project_dir
    rows = collect_rows(tuner, hypermodel)
    files = {"trials.csv": os.path.join(project_dir, "trials.csv")}
    write_csv(rows, files["trials.csv"])
    done = [r for r in rows if r["status"] == "COMPLETED" and r["val_accuracy"] is not None]
    if not done:
        listing = "\n".join(f"  trial {r['trial_id']} ({r['status']}): {r['error']}" for r in rows) or "  (none)"
        raise RuntimeError(
            f"No trial of the search in {project_dir} completed, so there is no best model. "
            f"{len(rows)} trial(s):\n{listing}\nOver-budget trials: raise max_params/max_macs or shrink the space "
            "(space_overrides/fixed). Other errors: fix them, then run again with overwrite=True (--overwrite)."
        )
    best_row = max(done, key=lambda r: r["val_accuracy"])
    best = best_record(hypermodel, best_row, hypermodel_name)
    files["best_hyperparameters.json"] = os.path.join(project_dir, "best_hyperparameters.json")
    report.write_json(best, files["best_hyperparameters.json"], default=str)
    files["accuracy_vs_params.png"] = os.path.join(project_dir, "accuracy_vs_params.png")
    plot_accuracy_vs_params(rows, files["accuracy_vs_params.png"], max_params=hypermodel.max_params,
                            title=f"{hypermodel_name}: {len(done)} trained of {len(rows)} trials")
    if save_best_model:
        path = os.path.join(project_dir, "best_model.keras")
        try:
            best_trial = tuner.oracle.trials[best_row["trial_id"]]
            with warnings.catch_warnings():  # the checkpoint's optimizer state is not needed (weights only)
                warnings.filterwarnings("ignore", message=".*Skipping variable loading for optimizer.*")
                model = tuner.load_model(best_trial)
            if model.optimizer is not None and not model.optimizer.built:
                # a fresh optimizer state, so that loading the file does not warn about missing variables
                model.optimizer.build(model.trainable_variables)
            model.save(path)
            files["best_model.keras"] = path
        except (OSError, FileNotFoundError, ValueError) as e:
            warnings.warn(
                f"Could not retrieve the best trial's weights ({e}); best_model.keras not written. In distributed "
                "tuning the chief needs the workers' trial folders: use a shared --directory.", stacklevel=2)
    wall = time.time() - started if started else 0.0
    return SearchResult(role="chief" if role() == "chief" else "standalone", project_dir=project_dir,
                        wall_time_s=wall, rows=rows, best=best, files=files)


# ------------------------------------------------------------------------------------------- driver

def search(hypermodel="scsenet", dataset="fashion_mnist", tuner="random", max_trials=10, epochs=3,
           directory="runs/tune", project_name=None, image_size=None, channels=None, limit=None, val_limit=None,
           batch_size=128, max_params=None, max_macs=None, seed=0, overwrite=False, augment=False,
           val_fraction=0.1, patience=3, space_overrides=None, fixed=None, count_macs=True, jit_compile="auto",
           cpu_devices=None, executions_per_trial=1, hyperband_factor=3, max_consecutive_failures=None,
           data_dir=None, tensorboard=True, save_best_model=True, report_only=False, verbose=1):
    """Architecture search over a keras_scse HyperModel; resumable; writes results in the project folder.

    Args (each in more detail in docs/tuning.md, with the results, resuming and distributed tuning):
        hypermodel: "scsenet" (``HyperSCSENet``), "scaresnet", "scamobilenetv2", or a ``BackboneHyperModel`` subclass.
        dataset, image_size, channels, limit, val_limit, batch_size, augment, val_fraction, seed, data_dir: data,
            as ``keras_scse.data.load`` (``limit``, ``val_limit``: first N training, validation images).
        tuner, max_trials, epochs, patience: "random", "hyperband" (``epochs`` = max_epochs, ``max_trials``
            unused) or "bayesian"; trials in all (over-budget and failed ones count; a rerun continues up to it);
            epochs per trial (at most: EarlyStopping on val_accuracy after ``patience`` epochs without progress).
        directory, project_name, overwrite: results in directory/project_name (default "<hypermodel>_<dataset>");
            overwrite=True starts over, the default continues the search there.
        max_params, max_macs, space_overrides, fixed, count_macs: budget (over-budget configurations are rejected
            before training), shrink/pin the space (``resolve_space``), count every trial's MACs.
        jit_compile, cpu_devices: keras_scse.training's XLA policy and strategy selection.
        executions_per_trial, hyperband_factor, max_consecutive_failures: KerasTuner options (None: never stop).
        tensorboard, save_best_model, report_only, verbose: TensorBoard logs; save best_model.keras; run no
            trial, only (re)write the results of the trials there; Keras verbosity.

    Returns a ``SearchResult`` (trials.csv's rows, the best record, file paths; a distributed worker's has no
    rows). Raises ImportError (tensorboard, or scipy/scikit-learn for "bayesian", missing), RuntimeError (no
    trial completed; lists each trial's error), ValueError (bad arguments, or another search in the folder).
    """
    started = time.time()
    tuner_name, hm_class, hm_name = _check_arguments(hypermodel, tuner, max_trials, epochs)
    this_role = role()
    project_name, project_dir = _project(directory, project_name, hm_name, dataset)
    strategy, jit, distribution = _strategy(cpu_devices, jit_compile, batch_size)
    keras.utils.set_random_seed(seed)
    settings = dict(image_size=image_size, channels=channels, limit=limit, val_limit=val_limit,
                    batch_size=batch_size, augment=augment, val_fraction=val_fraction, seed=seed)
    (train_ds, info), (val_ds, val_info) = _load_data(dataset, data_dir, **settings)
    model = hm_class(input_shape=info.image_shape, classes=info.num_classes, space_overrides=space_overrides,
                     fixed=fixed, max_params=max_params, max_macs=max_macs, count_macs=count_macs,
                     steps_per_epoch=math.ceil(info.num_examples / batch_size), epochs=epochs, jit_compile=jit)
    if this_role != "worker":  # only the chief may delete the (shared) project folder
        _start_project(project_dir, overwrite, dict(
            hypermodel=hm_name, dataset=_dataset_label(dataset), tuner=tuner_name, **settings, max_params=max_params,
            max_macs=max_macs, space=model.space, executions_per_trial=executions_per_trial))
    kt_tuner = make_tuner(tuner_name, model, max_trials=int(max_trials), epochs=int(epochs), seed=seed,
                          directory=directory, project_name=project_name, overwrite=False,
                          distribution_strategy=distribution, executions_per_trial=executions_per_trial,
                          hyperband_factor=hyperband_factor, max_consecutive_failures=max_consecutive_failures)
    if this_role == "worker" and report_only:
        raise ValueError("report_only=True is for the chief or a standalone process, not a worker.")
    if this_role != "worker":
        _announce(kt_tuner, hm_name, tuner_name, info, val_info, max_params, max_macs, strategy, jit, project_dir)
    if not report_only:
        _run_trials(kt_tuner, train_ds, val_ds, info.num_classes, epochs, patience, tensorboard, project_dir, verbose)
    if this_role == "worker":
        return SearchResult(role="worker", project_dir=project_dir, wall_time_s=time.time() - started)
    result = write_results(kt_tuner, model, hm_name, save_best_model=save_best_model, started=started)
    print(result.summary())
    return result


def _check_arguments(hypermodel, tuner, max_trials, epochs):
    """(tuner name, HyperModel class, its name), or ValueError; ImportError for a missing dependency."""
    tuner_name = str(tuner).lower()
    if tuner_name not in TUNER_NAMES:
        raise ValueError(f"Unknown tuner {tuner!r}. Use one of {list(TUNER_NAMES)}.")
    if isinstance(hypermodel, type) and issubclass(hypermodel, BackboneHyperModel):
        hm_class, hm_name = hypermodel, hypermodel.__name__
    else:
        hm_class, hm_name = get_hypermodel(hypermodel), str(hypermodel).lower()
    if not int(max_trials) >= 1 or not int(epochs) >= 1:
        raise ValueError(f"max_trials and epochs must be >= 1; received max_trials={max_trials}, epochs={epochs}.")
    check_dependencies(tuner_name)
    return tuner_name, hm_class, hm_name


def _project(directory, project_name, hm_name, dataset):
    """(project name, project folder); the default name is "<hypermodel>_<dataset>"."""
    dataset_name = dataset if isinstance(dataset, (str, os.PathLike)) else "arrays"
    project_name = project_name or f"{hm_name}_{os.path.basename(os.path.normpath(str(dataset_name)))}"
    return project_name, os.path.join(directory, project_name)


def _dataset_label(dataset):
    """The dataset as search_config.json records it: its name or path, or "arrays(<images' shape>)"."""
    dataset_name = dataset if isinstance(dataset, (str, os.PathLike)) else "arrays"
    return str(dataset_name) if dataset_name != "arrays" else f"arrays{tuple(getattr(dataset[0], 'shape', ()))}"


def _strategy(cpu_devices, jit_compile, batch_size):
    """(tf.distribute strategy, resolved jit_compile, the strategy to hand KerasTuner or None when single)."""
    strategy, jit = strategy_and_jit(cpu_devices, jit_compile, batch_size)
    multi = strategy.num_replicas_in_sync > 1 or os.environ.get("TF_CONFIG")
    return strategy, jit, strategy if multi else None


def _load_data(dataset, data_dir, image_size, channels, limit, val_limit, batch_size, augment, val_fraction, seed):
    """((train pipeline, its DataInfo), (validation pipeline, its DataInfo)), read as training reads them;
    the train split keeps a partial last batch (steps_per_epoch counts it)."""
    common = dict(image_size=image_size, channels=channels, seed=seed, val_fraction=val_fraction, data_dir=data_dir)
    return (load_split(dataset, "train", batch_size, augment=augment, limit=limit, **common),
            load_split(dataset, "validation", batch_size, limit=val_limit, **common))


def _start_project(project_dir, overwrite, config):
    """Delete the project folder when ``overwrite``; then check the folder's search_config.json against
    ``config`` (training's run-folder rule; max_trials and epochs may change) and write it."""
    if overwrite and os.path.exists(project_dir):
        shutil.rmtree(project_dir)
    path = os.path.join(project_dir, "search_config.json")
    saved = report.read_json(path)
    current = json.loads(json.dumps(config, default=str))
    changed = list(changed_settings(saved, current, keep=("max_trials", "epochs"))) if saved is not None else []
    if changed:
        raise ValueError(
            f"{project_dir} holds a search with different settings ({changed}). To continue it, use the "
            "same settings (only max_trials/epochs may change); otherwise pass overwrite=True (--overwrite) "
            "or another project_name/directory."
        )
    os.makedirs(project_dir, exist_ok=True)
    report.write_json(current, path, default=str)


def _announce(kt_tuner, hm_name, tuner_name, info, val_info, max_params, max_macs, strategy, jit, project_dir):
    """One line saying what the search runs on, how far it is, and where the results go."""
    remaining = kt_tuner.remaining_trials if tuner_name != "hyperband" else None
    print(f"[keras-scse] tune {hm_name} ({tuner_name}) on {info.name}: {info.num_examples} train / "
          f"{val_info.num_examples} validation images {info.image_shape}, {info.num_classes} classes; "
          f"{len(kt_tuner.oracle.trials)} trial(s) done, "
          f"{'?' if remaining is None else remaining} to go; budget max_params={max_params}, "
          f"max_macs={max_macs}; {strategy.num_replicas_in_sync} replica(s), jit_compile={jit}; "
          f"role {role()}; results in {project_dir}")


def _run_trials(kt_tuner, train_ds, val_ds, num_classes, epochs, patience, tensorboard, project_dir, verbose):
    """KerasTuner's search on one-hot labels, with EarlyStopping (and TensorBoard logs)."""
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=patience)]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(project_dir, "tensorboard"), write_graph=False))
    kt_tuner.search(one_hot(train_ds, num_classes), validation_data=one_hot(val_ds, num_classes),
                    epochs=int(epochs), callbacks=callbacks, verbose=verbose)
