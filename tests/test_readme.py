"""The README's code blocks run as written."""

import os
import re

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def python_block(heading):
    text = open(README).read()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, f"no python block under '{heading}'"
    return blocks[0]


@pytest.mark.parametrize("heading", [
    "Use a pretrained model",
    "Export to ONNX",
    pytest.param("Fine-tune on your data", marks=pytest.mark.slow),
])
def test_readme_block_runs(heading, tmp_path, monkeypatch, capsys):
    pytest.importorskip("tf2onnx") if "ONNX" in heading else None
    if not os.path.exists("/usr/share/datasets/fashion-mnist") and "pretrained" in heading:
        pytest.skip("needs Debian's dataset-fashion-mnist")
    monkeypatch.chdir(tmp_path)
    exec(compile(python_block(heading), f"README:{heading}", "exec"), {})
    assert capsys.readouterr().out.strip()


def committed(*parts):
    import json

    return json.load(open(os.path.join(os.path.dirname(README), "benchmarks", "results", *parts)))


def percent(value):
    return f"{100 * value:.2f}%"


def test_readme_figures_match_the_committed_results():
    """README numbers are copied from committed outputs: they must not drift from them."""
    text = open(README).read()
    run = committed("scsenet44_fashion_mnist", "metrics.json")
    row = next(line for line in text.splitlines() if line.startswith("| SCSENet44 (32x32x1, 10 classes) |"))
    cells = [c.strip(" *") for c in row.strip("|").split("|")]
    assert cells[1] == f"{run['params']:,}" and cells[2] == str(run["epochs"])
    assert cells[4] == percent(run["best_val_accuracy"]) and cells[5] == percent(run["accuracy"])
    digits = committed("finetune_digits", "results.json")
    for tag, label in (("pretrained", "Fashion-MNIST-pretrained SCSENet44"), ("scratch", "same model from scratch")):
        line = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
        assert f"| {100 * digits[tag]['test_accuracy']:.1f}% |" in line, (tag, line)
