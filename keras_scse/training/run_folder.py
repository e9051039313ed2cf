"""The run folder: its settings file (a rerun with other settings is refused), its checkpoint's progress,
and its history trimmed to the finished epochs."""

import csv
import json
import os
import shutil

from keras_scse.training import report
from keras_scse.training.config import TrainConfig, config_dict


def finished_epochs(backup_dir):
    """Epochs saved in a BackupAndRestore folder (its training_metadata.json), or None without a checkpoint."""
    meta = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.exists(meta):
        return None
    with open(meta) as f:
        return int(json.load(f)["epoch"])


def trim_history(path, epochs):
    """Keep the rows of the first ``epochs`` epochs: a run killed between writing a row and saving its
    checkpoint repeats that epoch, and must not log it twice."""
    rows = []
    if os.path.exists(path):
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            # a kill while writing can leave a partial last row: keep complete rows of finished epochs only
            rows = [row for row in reader if all(row.get(k) for k in reader.fieldnames)
                    and float(row["epoch"]) < epochs]
            fields = reader.fieldnames
    if not rows:
        if os.path.exists(path):
            os.remove(path)
        return
    with open(path + ".tmp", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(path + ".tmp", path)


def changed_settings(previous, settings, keep=(), defaults=None, canonical=None):
    """{key: (saved value, new value)} of the ``settings`` that differ from ``previous`` (a saved settings
    dict), sorted by key. ``keep``: keys that may change; ``defaults``: values of keys that older files lack;
    ``canonical``: {key: function} that maps a saved value to today's spelling of it."""
    previous = dict(previous)
    defaults = defaults or {}
    for key, spell in (canonical or {}).items():
        if key in previous:
            previous[key] = spell(previous[key])
    return {k: (previous.get(k), settings[k]) for k in sorted(settings)
            if k not in keep and previous.get(k, defaults.get(k)) != settings[k]}


def prepare_run_folder(run_dir, settings, fresh=False, write=True, keep=(), defaults=None, canonical=None):
    """Settle a run folder for ``settings`` (a JSON-able dict): with ``fresh`` (and ``write``) delete it first;
    if it holds a checkpoint (backup/) of a run with other settings, refuse (``keep``, ``defaults``,
    ``canonical``: as ``changed_settings``); with ``write`` save config.json."""
    if fresh and write and os.path.exists(run_dir):
        shutil.rmtree(run_dir)
    saved = os.path.join(run_dir, "config.json")
    if os.path.isdir(os.path.join(run_dir, "backup")) and os.path.exists(saved):
        with open(saved) as f:
            previous = json.load(f)
        changes = changed_settings(previous, settings, keep, defaults, canonical)
        if changes:
            raise ValueError(
                f"{run_dir} holds a run with different settings "
                f"({', '.join(f'{k}: {old!r} -> {new!r}' for k, (old, new) in changes.items())}). "
                "Use --fresh (fresh=True) to overwrite it, or another --run-dir."
            )
    if write:
        os.makedirs(run_dir, exist_ok=True)
        report.write_json(settings, saved)


def prepare_run_dir(config, fresh, resume, write=True):
    """Check config.run_dir against ``config`` (and with ``write``: set it up). Returns (backup folder, epochs
    finished in its checkpoint or None)."""
    backup = os.path.join(config.run_dir, "backup")
    if resume and (fresh or finished_epochs(backup) is None):
        raise FileNotFoundError(f"--resume: no checkpoint in {backup}. Run without --resume to start training.")
    defaults = config_dict(TrainConfig(model=config.model, dataset=config.dataset))
    prepare_run_folder(config.run_dir, config_dict(config), fresh, write, keep=("epochs",), defaults=defaults)
    done = finished_epochs(backup)
    if write:
        trim_history(os.path.join(config.run_dir, "history.csv"), done or 0)
    return backup, done
