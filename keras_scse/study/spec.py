"""A study declared as data: a JSON file, read into ``Study``."""

import dataclasses
import json
import os
import re

from keras_scse.training.config import TrainConfig

# TrainConfig fields a study may not set: each run gets its own folder and seed, and its model is the variant's.
PER_RUN = {"run_dir", "seed", "model", "model_kwargs"}


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    model_kwargs: dict

    @property
    def slug(self):
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


@dataclasses.dataclass(frozen=True)
class Study:
    """``name`` also names the run folders' parent; ``results`` is the CSV path (relative to the spec file);
    ``recipe`` holds TrainConfig fields shared by every run (dataset, epochs, batch_size, ...); ``overhead``
    (optional, relative to the spec file) a keras_scse.bench timing CSV with rows of ``model``, whose
    overheads the report quotes for the variant of the same attention and options."""

    name: str
    model: str
    variants: tuple
    seeds: tuple
    recipe: dict
    results: str
    description: str = ""
    overhead: str = ""
    tie_break_seeds: tuple = ()

    def runs(self, rows=()):
        """(variant, seed) in the order they run: every variant's first seed before any second seed, then the
        tie-break seeds of the variants that the results ``rows`` (dicts as in the CSV) leave undecided."""
        undecided = self.undecided(rows)
        return ([(variant, seed) for seed in self.seeds for variant in self.variants] +
                [(variant, seed) for seed in self.tie_break_seeds for variant in self.variants
                 if variant.name in undecided])

    def undecided(self, rows):
        """Names of the variants in ``overlapping_pairs(rows)``: those that need the tie-break seeds."""
        return {name for pair in self.overlapping_pairs(rows) for name in pair}

    def overlapping_pairs(self, rows):
        """Pairs of variants (in the spec's order) whose ranges of test accuracies over ``seeds`` (min to max)
        overlap: those seeds cannot order the two. Only variants with every one of ``seeds`` count, and only
        those seeds, so that a tie-break seed's result never adds more runs."""
        ranges = {}
        for variant in self.variants:
            accuracies = [float(row["test_accuracy"]) for row in rows
                          if row["variant"] == variant.name and int(row["seed"]) in self.seeds]
            if len(accuracies) == len(self.seeds):
                ranges[variant.name] = (min(accuracies), max(accuracies))
        names = list(ranges)
        return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
                if ranges[a][0] <= ranges[b][1] and ranges[b][0] <= ranges[a][1]]

    def variant(self, name):
        for variant in self.variants:
            if name in (variant.name, variant.slug):
                return variant
        raise ValueError(f"Unknown variant {name!r} in study {self.name!r}; its variants are "
                         f"{[v.name for v in self.variants]}.")

    def config(self, variant, seed, run_dir):
        return TrainConfig(**self.recipe, model=self.model, model_kwargs=dict(variant.model_kwargs), seed=seed,
                           run_dir=run_dir)


def load(path):
    """Read a study spec (JSON). Errors name the file and the field."""
    with open(path) as f:
        try:
            raw = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    required = ("name", "model", "variants", "seeds", "recipe", "results")
    missing = [key for key in required if key not in raw]
    if missing:
        raise ValueError(f"{path} lacks {missing}; a study spec needs {list(required)}.")
    bad = sorted(set(raw["recipe"]) - (fields - PER_RUN))
    if bad:
        raise ValueError(f"{path}: recipe keys {bad} are not TrainConfig fields a study may set; use some of "
                         f"{sorted(fields - PER_RUN)}.")
    variants = tuple(Variant(v["name"], dict(v.get("model_kwargs", {}))) for v in raw["variants"])
    slugs = [v.slug for v in variants]
    if len(set(slugs)) != len(slugs):
        raise ValueError(f"{path}: two variants share a folder name: {slugs}.")
    folder = os.path.dirname(os.path.abspath(path))
    overhead = os.path.join(folder, raw["overhead"]) if raw.get("overhead") else ""
    seeds = tuple(int(s) for s in raw["seeds"])
    tie_break = tuple(int(s) for s in raw.get("tie_break_seeds", ()))
    if set(seeds) & set(tie_break):
        raise ValueError(f"{path}: tie_break_seeds {sorted(set(seeds) & set(tie_break))} are also in seeds; "
                         "tie-break seeds are extra ones, run only where the others leave two variants unordered.")
    return Study(raw["name"], raw["model"], variants, seeds, dict(raw["recipe"]), os.path.join(folder, raw["results"]),
                 raw.get("description", ""), overhead, tie_break)
