"""Does SCSENet44 look at the object? The pointing game on Fashion-MNIST items pasted into 64 x 64 canvases.

    python benchmarks/pointing_game.py [--smoke] [--head-epochs N] [--full-epochs N] [--seed N] [--pastes K]
                                       [--lr RATE]
                                       [--blank-canvas | --misses]

The shipped weights work at 32 px only: ``finetune`` them on 10,000 training images pasted at random (seed 1)
into black 64 x 64 canvases; on 1,000 test canvases (seed 2): the accuracy, and for the correct ones how often
the maximum of Grad-CAM and of Grad-CAM++ (the default layer, and each pyramid level) and of each SC-SE spatial
gate lies inside the 28 x 28 box (a random point: 19.1%); then both methods' sanity check; where Grad-CAM
peaks on an empty canvas; and which cells the default-layer Grad-CAM maxima, and its misses, lie on. The fine-tune
resumes if interrupted. Run folder: $KERAS_SCSE_RUNS (~/.cache/keras_scse/runs)/pointing_game[_<budget>]; writes
benchmarks/results/pointing_game[/<budget>]/: results.{json,md}, blank_canvas.md, misses.{json,md} and
history.csv.
"""

import argparse
import os
import shutil
import statistics

import keras
import numpy as np

from keras_scse.applications.features import map_sizes
from keras_scse.data.sources import fashion_mnist_arrays
from keras_scse.explain import (
    gates_by_size,
    maxima_by_edge,
    paste_on_canvas,
    peak_cells,
    pointing_game,
    pointing_hits,
    sanity_check,
)
from keras_scse.explain.gradcam import METHODS, choose_layer, heat_maps
from keras_scse.study.runner import runs_root
from keras_scse.training.finetune import finetune
from keras_scse.training.report import write_json

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "pointing_game")
FULL = dict(train_images=10_000, test_images=1_000, canvas=64, head_epochs=1, full_epochs=8, seed=0, pastes=1,
            lr=None, sanity_images=200)
SMOKE = dict(train_images=256, test_images=64, canvas=40, head_epochs=1, full_epochs=1, seed=0, pastes=1,
             lr=None, sanity_images=16)
# the fine-tune's settings; one not at its default names the run and results folders
BUDGET = ("head_epochs", "full_epochs", "seed", "pastes", "lr")


def canvases(split, count, canvas, seed, pastes=1):
    """``count`` images of ``split`` chosen and pasted with ``seed``; with ``pastes`` > 1, each image again at
    other places (seeds seed + 100, seed + 200, ...): the same items, ``pastes`` times the canvases."""
    images, labels = fashion_mnist_arrays(split)
    chosen = np.random.default_rng(seed).permutation(len(images))[:count]
    copies = [paste_on_canvas(images[chosen], canvas, seed + 100 * copy) for copy in range(pastes)]
    return (np.concatenate([pasted for pasted, _ in copies]), np.tile(labels[chosen], pastes),
            np.concatenate([boxes for _, boxes in copies]))


def blank_canvas(model, canvas):
    """Grad-CAM (default layer) of an all-black canvas for each class, at the layer's cells: where does the map
    peak when there is no object? Markdown: per class, the peak cell and the share of the map on the outer ring of
    cells (the canvas border, where 'same' zero padding meets a background whose features are not zero)."""
    x = np.zeros((1, canvas, canvas, 1), "float32")
    layer = choose_layer(model, None, x.shape[1:])
    cells = map_sizes(model, x.shape[1:], [layer])[layer.name]
    ring = np.ones(cells, bool)
    ring[1:-1, 1:-1] = False
    classes = model.output.shape[-1]
    maps = heat_maps(model, np.repeat(x, classes, 0), class_index=list(range(classes)), methods=("grad_cam",))
    step = canvas // cells[0]
    lines = [f"Grad-CAM of an all-black {canvas} x {canvas} canvas at its default layer ({layer.name}, "
             f"{cells[0]} x {cells[1]} cells; the outer ring is {ring.mean():.0%} of them); the model predicts "
             f"class {int(model.predict(x, verbose=0).argmax())} for it.", "",
             "| class | peak cell (row, column) | on the outer ring | share of the map on the ring |",
             "|---:|---|---|---:|"]
    for index, heat in enumerate(maps["grad_cam"]):
        cell_map = heat[step // 2::step, step // 2::step]  # each cell's centre pixel
        if cell_map.max() <= 0:
            lines.append(f"| {index} | none: nothing positive | | |")
            continue
        peak = np.unravel_index(cell_map.argmax(), cells)
        share = cell_map[ring].sum() / cell_map.sum()
        lines.append(f"| {index} | {tuple(int(i) for i in peak)} | {'yes' if ring[peak] else 'no'} | {share:.0%} |")
    return "\n".join(lines) + "\n"


def misses(model, x, y, boxes, command, batch_size=50):
    """Which cells the default-layer Grad-CAM maxima of the correctly classified canvases lie on, and how many of
    them miss the box (``maxima_by_edge``); for the misses on the top row or left column, how many items come
    within one cell of that edge. Returns (json dict, markdown)."""
    layer = choose_layer(model, None, x.shape[1:])
    cells = map_sizes(model, x.shape[1:], [layer])[layer.name][0]
    canvas, cell = x.shape[1], x.shape[1] / cells
    right = np.flatnonzero(model.predict(x, batch_size=batch_size, verbose=0).argmax(-1) == y)
    maps = np.concatenate([heat_maps(model, x[right[i:i + batch_size]], methods=("grad_cam",))["grad_cam"]
                           for i in range(0, len(right), batch_size)])
    edges = maxima_by_edge(maps, boxes[right], canvas, cells)
    row, col = peak_cells(maps, canvas, cells)
    top, left = boxes[right, 0], boxes[right, 1]
    missed = ~pointing_hits(maps, boxes[right], canvas) & (maps.max(axis=(1, 2)) > 0)
    on_first = missed & ((row == 0) | (col == 0))
    near = on_first & (((row == 0) & (top <= cell)) | ((col == 0) & (left <= cell)))
    data = {"command": command, "layer": layer.name, "cells": cells, "correct": int(len(right)),
            "misses": int(missed.sum()), "edges": edges, "first_edge_misses_item_within_one_cell": int(near.sum())}
    lines = [f"Command: `{command}`. Grad-CAM at its default layer ({layer.name}, {cells} x {cells} cells of "
             f"{cell:g} px) on the {len(right)} correctly classified test canvases: the cell each map's maximum "
             f"lies on, and how many of those maxima miss the 28 x 28 box ({int(missed.sum())} misses in all).", "",
             "| the maximum's cell | maxima | misses |", "|---|---:|---:|"]
    lines += [f"| {edge} | {counts['maxima']} | {counts['misses']} |" for edge, counts in edges.items()]
    lines += ["", f"Of the {int(on_first.sum())} misses on the top row or left column, {int(near.sum())} are of items "
              f"that come within one cell ({cell:g} px) of that edge of the canvas."]
    return data, "\n".join(lines) + "\n"


def report(result, settings, command):
    lines = [f"Command: `{command}`; {settings}; 2-core x86_64 CPU, TensorFlow backend.", "",
             f"Canvas accuracy: **{result['accuracy']:.2%}** on {settings['test_images']} test canvases; "
             f"pointing game on the {result['correct']} correctly classified ones (a random point: "
             f"{result['chance']:.1%}):", "", "| map | hits inside the box |", "|---|---:|"]
    for method, rates in result["cams"].items():
        name = METHODS[method]
        lines += [f"| {name}, default layer | {rates['default']:.1%} |",
                  f"| {name}, within one cell ({result['cell']:g} px) of the box; {rates['flat']} maps with "
                  f"nothing positive | {rates['near']:.1%} |"]
        lines += [f"| {name} at {key} | {rate:.1%} |" for key, rate in rates["layers"].items()]
    lines += [f"| SC-SE spatial gates at {h}x{w} (mean of {len(rates)} layers; min-max {min(rates):.1%}-"
              f"{max(rates):.1%}) | {statistics.mean(rates):.1%} |"
              for (h, w), rates in gates_by_size(result).items()]
    lines += ["", f"Sanity check (Adebayo et al. 2018) on the first {settings['sanity_images']} test canvases: the "
              "mean rank correlation of each method's maps before and after re-initialising the top stage "
              "(`explain.top_layers`: stage 4, the last conv, the head) for the fine-tuned model's predicted "
              "classes; near 0: the maps depend on what the top learned.", "",
              "| map | rank correlation |", "|---|---:|"]
    lines += [f"| {METHODS[method]} | {rho:.2f} |" for method, rho in result["sanity"].items()]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--head-epochs", type=int, help="the fine-tune's head-only epochs (default 1; another "
                        "budget gets its own run folder and results/pointing_game/head_epochs_<n>.../)")
    parser.add_argument("--full-epochs", type=int, help="the fine-tune's full-model epochs (default 8; another "
                        "budget gets its own run folder and results/pointing_game/...full_epochs_<n>/)")
    parser.add_argument("--seed", type=int, help="the fine-tune's seed (default 0): its new head's "
                        "initial weights, its train/validation carve, shuffling and augmentation; the canvases stay "
                        "the same. Another seed gets its own run folder and results/pointing_game/...seed_<n>/")
    parser.add_argument("--pastes", type=int, help="paste each training image K times at different places "
                        "(default 1): an epoch then sees every item K times, each at a new place, as if re-pasted "
                        "every pass. The validation split is carved from the canvases, so it shares items with "
                        "training (nothing is selected on it; the test canvases are other images)")
    parser.add_argument("--lr", type=float, help="the fine-tune's full-stage peak learning rate (default: the "
                        "adamw recipe's at batch 64, 1e-3; the head stage trains at 10x). Another rate gets its own "
                        "run folder and results/pointing_game/...lr_<rate>/")
    parser.add_argument("--blank-canvas", action="store_true", help="only (re)write blank_canvas.md, the "
                        "finished fine-tune's Grad-CAM of an empty canvas (seconds)")
    parser.add_argument("--misses", action="store_true", help="only (re)write misses.{json,md}: which cells "
                        "the finished fine-tune's default-layer Grad-CAM maxima and misses lie on (a minute or two)")
    parser.add_argument("--out", help="results folder (default: benchmarks/results/pointing_game[/<budget>]; "
                        "with --smoke, the run folder's results/)")
    args = parser.parse_args()
    settings = dict(SMOKE if args.smoke else FULL)
    # e.g. head_epochs_3_full_epochs_0 (BUDGET's order)
    changed = [key for key in BUDGET
               if getattr(args, key) is not None and getattr(args, key) != settings[key]]
    settings.update({key: getattr(args, key) for key in changed})
    budget = "_".join(f"{key}_{settings[key]}" for key in changed)
    run_dir = os.path.join(runs_root(), "pointing_game" + ("_smoke" if args.smoke else "") +
                           (f"_{budget}" if budget else ""))
    # a smoke run's results stay in its run folder, away from the committed ones
    out = args.out or (os.path.join(run_dir, "results") if args.smoke else os.path.join(OUT, budget))
    x, y, _ = canvases("train", settings["train_images"], settings["canvas"], seed=1, pastes=settings["pastes"])
    finetune("SCSENet44", (x, y), run_dir, weights="fashion_mnist", head_epochs=settings["head_epochs"],
             full_epochs=settings["full_epochs"], batch_size=64, lr=settings["lr"], channels=1, seed=settings["seed"],
             verbose=2)
    model = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "blank_canvas.md"), "w") as f:
        f.write(blank_canvas(model, settings["canvas"]))
    if args.blank_canvas:
        return
    x, y, boxes = canvases("test", settings["test_images"], settings["canvas"], seed=2)
    x = x / np.float32(255)  # as trained
    command = " ".join(["python benchmarks/pointing_game.py"] + (["--smoke"] if args.smoke else []) +
                       [f"--{key.replace('_', '-')} {settings[key]}" for key in changed])
    data, text = misses(model, x, y, boxes, command + " --misses")
    write_json(data, os.path.join(out, "misses.json"))
    with open(os.path.join(out, "misses.md"), "w") as f:
        f.write(text)
    if args.misses:
        print(text, flush=True)
        return
    result = pointing_game(model, x, y, boxes, other_layers=["P2", "P3", "P4", "P5"])
    rho = sanity_check(model, x[:settings["sanity_images"]])
    result["sanity"] = {method: float(np.mean(values)) for method, values in rho.items()}
    shutil.copy(os.path.join(run_dir, "history.csv"), out)  # the fine-tune's epochs
    write_json({"settings": settings, "command": command, **result}, os.path.join(out, "results.json"))
    text = report(result, settings, command)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)
    print(text, flush=True)


if __name__ == "__main__":
    main()
