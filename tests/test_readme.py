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
