"""Does SCSENet44 look at the object? The pointing game on Fashion-MNIST items pasted into 64 x 64 canvases.

    python benchmarks/pointing_game.py [--smoke]    # fine-tune (resumable, ~1 h on 2 cores), measure; toy sizes

The shipped weights work at 32 px only: ``finetune`` them on 10,000 training images pasted at random (seed 1)
into black 64 x 64 canvases; on 1,000 test canvases (seed 2): the accuracy, and for the correct ones how often
Grad-CAM's maximum (the default layer, and each pyramid level) and each SC-SE spatial gate's lies inside the
28 x 28 box (a random point: 19.1%). Run folder: $KERAS_SCSE_RUNS (~/.cache/keras_scse/runs)/pointing_game;
writes benchmarks/results/pointing_game/results.{json,md}.
"""

import argparse
import os
import statistics

import keras
import numpy as np

from keras_scse.data.sources import fashion_mnist_arrays
from keras_scse.explain import gates_by_size, paste_on_canvas, pointing_game
from keras_scse.study.runner import runs_root
from keras_scse.training.finetune import finetune
from keras_scse.training.report import write_json

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "pointing_game")
FULL = dict(train_images=10_000, test_images=1_000, canvas=64, head_epochs=1, full_epochs=8)
SMOKE = dict(train_images=256, test_images=64, canvas=40, head_epochs=1, full_epochs=1)


def canvases(split, count, canvas, seed):
    images, labels = fashion_mnist_arrays(split)
    chosen = np.random.default_rng(seed).permutation(len(images))[:count]
    pasted, boxes = paste_on_canvas(images[chosen], canvas, seed)
    return pasted, labels[chosen], boxes


def report(result, settings, command):
    lines = [f"Command: `{command}`; {settings}; 2-core x86_64 CPU, TensorFlow backend.", "",
             f"Canvas accuracy: **{result['accuracy']:.2%}** on {settings['test_images']} test canvases; "
             f"pointing game on the {result['correct']} correctly classified ones (a random point: "
             f"{result['chance']:.1%}):", "", "| map | hits inside the box |", "|---|---:|",
             f"| Grad-CAM, default layer | {result['grad_cam']:.1%} |",
             f"| Grad-CAM, within one cell ({result['grad_cam_cell']:g} px) of the box; {result['grad_cam_flat']} "
             f"maps with nothing positive | {result['grad_cam_near']:.1%} |"]
    lines += [f"| Grad-CAM at {key} | {rate:.1%} |" for key, rate in result["grad_cam_layers"].items()]
    lines += [f"| SC-SE spatial gates at {h}x{w} (mean of {len(rates)} layers; min-max {min(rates):.1%}-"
              f"{max(rates):.1%}) | {statistics.mean(rates):.1%} |"
              for (h, w), rates in gates_by_size(result).items()]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    settings = SMOKE if args.smoke else FULL
    run_dir = os.path.join(runs_root(), "pointing_game" + ("_smoke" if args.smoke else ""))
    x, y, _ = canvases("train", settings["train_images"], settings["canvas"], seed=1)
    finetune("SCSENet44", (x, y), run_dir, weights="fashion_mnist", head_epochs=settings["head_epochs"],
             full_epochs=settings["full_epochs"], batch_size=64, channels=1, verbose=2)
    model = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    x, y, boxes = canvases("test", settings["test_images"], settings["canvas"], seed=2)
    result = pointing_game(model, x / np.float32(255), y, boxes, other_layers=["P2", "P3", "P4", "P5"])  # as trained
    command = "python benchmarks/pointing_game.py" + (" --smoke" if args.smoke else "")
    os.makedirs(args.out, exist_ok=True)
    write_json({"settings": settings, "command": command, **result}, os.path.join(args.out, "results.json"))
    text = report(result, settings, command)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    print(text, flush=True)


if __name__ == "__main__":
    main()
