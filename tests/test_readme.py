"""The README's code blocks run as written."""

import os
import re

import numpy as np
import pytest
from helpers import committed_seed_runs

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def python_block(heading):
    text = open(README).read()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, f"no python block under '{heading}'"
    return blocks[0]


def percent_printed(pattern, out):
    match = re.search(pattern, out)
    assert match, (pattern, out)
    return float(match.group(1))


def check_pretrained(out):
    from keras_scse.data import FASHION_MNIST_CLASSES

    # 92.4% on all 10,000 test images; the first 512 give the same within sampling error
    assert percent_printed(r"([0-9.]+)% right; first: (.+)", out) >= 85.0
    first = re.search(r"first: (.+)", out).group(1)
    assert first in FASHION_MNIST_CLASSES, first
    assert re.search(r"\[\[\('[a-z/ -]+', 0\.[0-9]+\), \('[a-z/ -]+', 0\.[0-9]+\)\]\]", out), out


def check_onnx(out):
    assert percent_printed(r"largest difference: ([0-9.e+-]+)", out) <= 1e-4  # to_onnx's own tolerance


def check_finetune(out):
    assert percent_printed(r"test accuracy ([0-9.]+)%", out) >= 50.0  # chance is 10%


@pytest.mark.parametrize("heading, check", [
    ("Use a pretrained model", check_pretrained),
    pytest.param("Export to ONNX", check_onnx, marks=pytest.mark.slow),  # test_export covers the same export
    pytest.param("Fine-tune on your data", check_finetune, marks=pytest.mark.slow),
])
def test_readme_block_runs(heading, check, tmp_path, monkeypatch, capsys):
    pytest.importorskip("tf2onnx") if "ONNX" in heading else None
    if not os.path.exists("/usr/share/datasets/fashion-mnist") and "pretrained" in heading:
        pytest.skip("needs Debian's dataset-fashion-mnist")
    monkeypatch.chdir(tmp_path)
    exec(compile(python_block(heading), f"README:{heading}", "exec"), {})
    check(capsys.readouterr().out)


def committed(*parts):
    import json

    return json.load(open(os.path.join(os.path.dirname(README), "benchmarks", "results", *parts)))


def percent(value):
    return f"{100 * value:.2f}%"


def test_readme_figures_match_the_committed_results():
    """README numbers are copied from committed outputs: they must not drift from them."""
    text = open(README).read()
    rows = [[c.strip(" *") for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| SCSENet44 (32x32x1, 10 classes) |")]
    by_seed = committed_seed_runs()
    seeds, runs = list(by_seed), list(by_seed.values())
    assert len(rows) == len(runs) >= 1
    for seed, cells, run in zip(seeds, rows, runs):
        assert cells[1] == f"{run['params']:,}" and cells[2] == str(run["epochs"]) and cells[3] == str(seed)
        assert cells[4] == f"{run['wall_time_s']:,.0f} s"
        assert cells[5] == percent(run["best_val_accuracy"]) and cells[6] == percent(run["accuracy"])
    mean = [line for line in text.splitlines() if line.startswith(f"| mean of the {len(runs)} seeds |")]
    assert len(mean) == (len(runs) > 1)
    if mean:
        cells = [c.strip(" *") for c in mean[0].strip("|").split("|")]
        assert cells[5] == percent(np.mean([r["best_val_accuracy"] for r in runs]))
        mean_accuracy = np.mean([r["accuracy"] for r in runs])
        assert cells[6] == percent(mean_accuracy) and mean_accuracy >= 0.92  # issue 13's bar for the shipped model
    digits = committed("finetune_digits", "results.json")
    for tag, label in (("pretrained", "Fashion-MNIST-pretrained SCSENet44"), ("scratch", "same model from scratch")):
        line = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
        assert f"| {100 * digits[tag]['test_accuracy']:.1f}% |" in line, (tag, line)
