"""The README and docs/*.md: their code blocks run as written, their figures match the committed results, their
relative links resolve, and the README stays a front page."""

import glob
import json
import os
import re

import numpy as np
import pytest
from helpers import committed_seed_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
PAGES = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
README_MAX_LINES = 200  # a front page; the rest lives in docs/


def read(page):
    return open(os.path.join(ROOT, page)).read()


def outside_code(text):
    """(line, in_code) for every line; fences (```) count as code."""
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            yield line, True
            in_code = not in_code
        else:
            yield line, in_code


def python_blocks(page):
    """[(heading, code)] of every ```python block of a page, each under the nearest heading above it."""
    blocks, heading, code = [], None, None
    for line in read(page).splitlines():
        if code is not None:
            if line.startswith("```"):
                blocks.append((heading, "\n".join(code) + "\n"))
                code = None
            else:
                code.append(line)
        elif line.startswith("```python"):
            code = []
        elif re.match(r"#{1,6} ", line):
            heading = line.lstrip("#").strip()
    return blocks


def python_block(page, heading):
    found = [code for title, code in python_blocks(page) if title == heading]
    assert len(found) == 1, f"{page}: expected one python block under '{heading}', found {len(found)}"
    return found[0]


def percent_printed(pattern, out):
    match = re.search(pattern, out)
    assert match, (pattern, out)
    return float(match.group(1))


def check_models(out):
    assert "SCSENet44" in out and "'separable_se'" in out and "(2, 8, 8, 24)" in out, out


def check_pretrained(out):
    from keras_scse.data import FASHION_MNIST_CLASSES

    # 92.4% on all 10,000 test images; the first 512 give the same within sampling error
    assert percent_printed(r"([0-9.]+)% right; first: (.+)", out) >= 85.0
    first = re.search(r"first: (.+)", out).group(1)
    assert first in FASHION_MNIST_CLASSES, first
    assert re.search(r"\[\[\('[a-z/ -]+', 0\.[0-9]+\), \('[a-z/ -]+', 0\.[0-9]+\)\]\]", out), out


def check_zoo(out):
    assert "SCAResNet50" in out and "'sca'" in out, out


def check_own_model(out):
    assert re.search(r"^mynet [0-9]+$", out, re.MULTILINE), out


def check_presets(out):
    assert "SCSENet44/fashion_mnist" in out and "mean_test_accuracy" in out, out


def check_onnx(out):
    assert percent_printed(r"largest difference: ([0-9.e+-]+)", out) <= 1e-4  # to_onnx's own tolerance


def check_litert(out):
    assert percent_printed(r"top-1 agreement with Keras ([0-9.]+)%", out) >= 95.0
    assert percent_printed(r"int8 on 500 test images: ([0-9.]+)% right", out) >= 85.0


def check_finetune(out):
    assert percent_printed(r"test accuracy ([0-9.]+)%", out) >= 50.0  # chance is 10%


def check_explain(out):
    assert re.search(r"^\(2, 32, 32\) 42 \['channel', 'spatial'\] \(2, 8, 8\)$", out, re.MULTILINE), out
    assert re.search(r"^\['grad_cam', 'grad_cam\+\+'\] \(2,\)$", out, re.MULTILINE), out


def block(page, heading, check, *marks):
    return pytest.param(page, heading, check, marks=marks, id=f"{page}: {heading}")


BLOCKS_RUN = [
    block("README.md", "Models and layers", check_models),
    block("README.md", "Use a pretrained model", check_pretrained),
    block("docs/models.md", "Constructors and layers", check_zoo),
    block("docs/models.md", "Your own models and layers", check_own_model),
    block("docs/models.md", "Pretrained weights and presets", check_presets),
    block("docs/export.md", "In Python", check_onnx, pytest.mark.slow),  # test_export covers the same export
    block("docs/export.md", "LiteRT and int8", check_litert, pytest.mark.slow),  # test_litert: the same, smaller
    block("docs/finetuning.md", "In Python", check_finetune, pytest.mark.slow),
    block("docs/explain.md", "In Python", check_explain, pytest.mark.slow),  # test_explain: the same calls
]
BLOCKS_NOT_RUN = {  # (page, heading): why a test does not run it as written
    ("docs/tuning.md", "Search"): "a 10-trial search; tests/test_tuning.py runs tuning.search on tiny budgets",
}


@pytest.fixture
def registries():
    """A block that registers models or layers leaves the registries as it found them."""
    from keras_scse.applications.registry import MODELS
    from keras_scse.layers.registry import REGISTRY

    saved = dict(MODELS), dict(REGISTRY)
    yield
    for registry, before in zip((MODELS, REGISTRY), saved):
        registry.clear()
        registry.update(before)


@pytest.mark.parametrize("page, heading, check", BLOCKS_RUN)
def test_doc_python_block_runs(page, heading, check, tmp_path, monkeypatch, capsys, registries):
    pytest.importorskip("tf2onnx") if check in (check_onnx, check_litert) else None
    if not os.path.exists("/usr/share/datasets/fashion-mnist") and check is check_pretrained:
        pytest.skip("needs Debian's dataset-fashion-mnist")
    code = python_block(page, heading)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{page}:{heading}", "exec"), {})
    check(capsys.readouterr().out)


def test_every_doc_python_block_is_run_or_excused():
    run = {(p.values[0], p.values[1]) for p in BLOCKS_RUN}
    found = {(page, heading) for page in PAGES for heading, _ in python_blocks(page)}
    assert found - run - set(BLOCKS_NOT_RUN) == set(), "python blocks no test runs: add them to BLOCKS_RUN"
    assert (run | set(BLOCKS_NOT_RUN)) - found == set(), "BLOCKS_RUN/BLOCKS_NOT_RUN name blocks that are gone"


def test_readme_is_a_front_page():
    lines = read("README.md").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail to docs/ (limit {README_MAX_LINES})"


def test_readme_says_what_a_new_user_trips_over():
    """Issue #28's reader found neither: how a saved model loads elsewhere, and what the exit codes mean."""
    text = " ".join(read("README.md").split())
    assert "load with `keras.saving.load_model` once `keras_scse` is imported" in text
    assert "Exit status: 0 done; 2 the input was wrong" in text


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_resolve(page):
    broken = []
    for line, in_code in outside_code(read(page)):
        for target in ([] if in_code else LINK.findall(re.sub(r"`[^`]*`", "", line))):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a URL (http:, mailto:) or an anchor in the same page
            path = os.path.normpath(os.path.join(ROOT, os.path.dirname(page), target.split("#")[0]))
            if not os.path.exists(path):
                broken.append(target)
    assert not broken, f"{page}: links to missing files: {broken}"


def committed(*parts):
    return json.load(open(os.path.join(ROOT, "benchmarks", "results", *parts)))


def percent(value):
    return f"{100 * value:.2f}%"


def test_results_figures_match_the_committed_results():
    """docs/results.md and the README's summary copy numbers from committed outputs: they must not drift."""
    text = read("docs/results.md")
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
    mean_accuracy = np.mean([r["accuracy"] for r in runs])
    if mean:
        cells = [c.strip(" *") for c in mean[0].strip("|").split("|")]
        assert cells[5] == percent(np.mean([r["best_val_accuracy"] for r in runs]))
        assert cells[6] == percent(mean_accuracy) and mean_accuracy >= 0.92  # issue 13's bar for the shipped model
    digits = committed("finetune_digits", "results.json")
    for tag, label in (("pretrained", "Fashion-MNIST-pretrained SCSENet44"), ("scratch", "same model from scratch")):
        line = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
        assert f"| {100 * digits[tag]['test_accuracy']:.1f}% |" in line, (tag, line)

    summary = read("README.md").split("\n## Results\n", 1)[1].split("\n## ", 1)[0]
    shipped = by_seed[0]  # SCSENet44(weights="fashion_mnist") is seed 0's checkpoint
    assert f"**{percent(mean_accuracy)}** mean test accuracy over {len(runs)} seeds" in summary, summary
    assert f"with {shipped['params']:,} parameters" in summary and f"score {percent(shipped['accuracy'])}" in summary
    assert (f"{100 * digits['pretrained']['test_accuracy']:.1f}% test accuracy from the" in summary
            and f"vs {100 * digits['scratch']['test_accuracy']:.1f}% from scratch" in summary), summary


def test_ablation_figures_match_the_committed_table():
    """docs/results.md copies benchmarks/results/ablation/ablation.md's table; the README quotes five of its rows."""
    committed_rows = [line for line in open(os.path.join(ROOT, "benchmarks", "results", "ablation", "ablation.md"))
                      .read().splitlines() if line.startswith("| ") and not line.startswith("| attention |")]
    docs = read("docs/results.md").splitlines()
    assert committed_rows and all(row in docs for row in committed_rows)
    accuracy = {cells[0]: cells[2] for cells in ([c.strip() for c in row.strip("|").split("|")]
                                                 for row in committed_rows)}
    summary = read("README.md").split("\n## Results\n", 1)[1].split("\n## ", 1)[0]
    for name, label in (("sc-se axial/mul", "SC-SE `axial/mul`"), ("cbam", "CBAM"), ("eca", "ECA"), ("se", "SE"),
                        ("none", "no attention")):
        assert re.search(rf"{re.escape(label)}\s+{re.escape(accuracy[name])}%", summary), (name, accuracy[name])


def test_attention_study_table_and_figures_come_from_the_results_csv():
    """The README and docs/results.md hold the table `keras-scse study report` makes from results.csv (so a new row
    in the CSV fails this test until they are regenerated) and its plot, and every accuracy the README quotes is a
    row of it."""
    import sys

    from keras_scse import study

    summarise = sys.modules["keras_scse.study.report"].summarise
    markdown = sys.modules["keras_scse.study.report"].markdown
    table = markdown(summarise(study.load(os.path.join(ROOT, "benchmarks/results/attention_study/spec.json"))))
    assert table in read("docs/results.md") and table in read("README.md")
    for page, prefix in (("README.md", ""), ("docs/results.md", "../")):
        assert f"]({prefix}benchmarks/results/attention_study/results.png)" in read(page), page
    means = {row.split("|")[1].strip(): row.split("|")[2].strip() for row in table.splitlines()[2:]}
    summary = read("README.md").split("\n## Results\n", 1)[1].split("\n## ", 1)[0]
    for variant, label in (("none", "from"), ("none+zero-init", "to"), ("sc-se", "SC-SE reaches"), ("se", "SE"),
                           ("sca", "`pool=\"avgmax\"`)"), ("sca avg-pool", "`pool=\"avg\"`)"), ("eca", "ECA"),
                           ("cbam", "CBAM"), ("scse (Roy)", "scSE")):
        assert re.search(rf"{re.escape(label)}\s+{re.escape(means[variant])}", summary), (variant, means[variant])


def first_table(path):
    """The first Markdown table (header and separator included) of a committed results file, as lines."""
    lines = open(os.path.join(ROOT, path)).read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def test_speed_tables_and_figures_come_from_the_committed_round_robin_tables():
    """docs/speed.md copies the round-robin overhead and scaling tables and the profile; the README's speed
    figures are cells of the overhead table."""
    speed = read("docs/speed.md")
    for path in ("benchmarks/results/speed/overhead.md", "benchmarks/results/speed/scaling.md",
                 "benchmarks/results/profile/SCSENet44.md"):
        assert "\n".join(first_table(path)) in speed, path
    cells = {}
    for row in first_table("benchmarks/results/speed/overhead.md")[2:]:
        network, _, attention, *_, train_overhead, _, infer_overhead = [c.strip() for c in row.strip("|").split("|")]
        cells[(network.split()[0], attention)] = train_overhead
    summary = read("README.md").split("\n## Results\n", 1)[1].split("\n## ", 1)[0]
    for key, label in (((("SqueezeNext44", "separable_se")), "SC-SE adds"), (("SqueezeNext44", "se"), "SE"),
                       (("SCAResNet50", "sca pool=avgmax"), 'pool="avgmax"`'),
                       (("SCAResNet50", "sca pool=avg"), 'pool="avg"`')):
        assert re.search(rf"{re.escape(label)}\s+{re.escape(cells[key])}", summary), (key, cells[key])


def test_deployment_figures_come_from_the_committed_export_table():
    rows = {cells[0]: cells for cells in ([c.strip() for c in row.strip("|").split("|")]
                                          for row in first_table("benchmarks/results/export/table.md")[2:])}
    summary = " ".join(read("README.md").split("\n## Results\n", 1)[1].split("\n## ", 1)[0].split())
    int8, keras, onnx_int8 = rows["LiteRT int8"], rows["Keras float32"], rows["ONNX int8"]
    expected = (f"LiteRT int8 {int8[1]}% against {keras[1]}% in Keras, {int8[2]} MB ({int8[3]} of LiteRT float32), "
                f"{int8[4]} ms per image")
    assert expected in summary and f"ONNX int8 {onnx_int8[1]}%" in summary, summary


POINTING_PAGES = ("benchmarks/results/pointing_game/README.md", "docs/explain.md")


def linked_rows(page, name):
    """(cells, the linked run's <name>.json) for each table row of ``page`` whose first cell links a <name>.md."""
    for line in read(page).splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        link = re.search(rf"\]\(([^)]*{name}\.md)\)", cells[0]) if line.startswith("| ") else None
        if link:
            folder = os.path.join(ROOT, os.path.dirname(page), os.path.dirname(link.group(1)))
            yield cells, json.load(open(os.path.join(folder, f"{name}.json")))


@pytest.mark.parametrize("page", POINTING_PAGES)
def test_pointing_game_tables_come_from_the_committed_results(page):
    """Each row of the pointing-game tables links its results.md; its figures are that run's results.json: canvas
    accuracy, Grad-CAM in the box, within one cell, Grad-CAM++, then (where the table has them) the sanity check."""
    rows = list(linked_rows(page, "results"))
    for cells, result in rows:
        cams = result["cams"]
        expected = [f"{result['accuracy']:.2%}", f"{cams['grad_cam']['default']:.1%}",
                    f"{cams['grad_cam']['near']:.1%}", f"{cams['grad_cam++']['default']:.1%}",
                    f"{result['sanity']['grad_cam']:.2f}", f"{result['sanity']['grad_cam++']:.2f}"]
        assert cells[1:] == expected[:len(cells) - 1], (page, cells[0])
    assert len(rows) >= 6, page


def test_pointing_game_misses_table_comes_from_the_committed_misses():
    """Each row of the misses table links its misses.md; its figures are that run's misses.json: all misses, then
    maxima / misses for each edge, then the top/left misses of items within one cell of that edge."""
    rows = list(linked_rows(POINTING_PAGES[0], "misses"))
    for cells, data in rows:
        expected = ([str(data["misses"])] + [f"{edge['maxima']} / {edge['misses']}" for edge in data["edges"].values()]
                    + [str(data["first_edge_misses_item_within_one_cell"])])
        assert cells[1:] == expected, cells[0]
    assert len(rows) >= 6
