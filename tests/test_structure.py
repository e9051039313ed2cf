"""The package's shape, as the design asks: one-way imports without cycles, short functions, thin __init__s."""

import ast
import os
import subprocess
import sys

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_scse")
# Lower layers import nothing from the ones above them (data flows data -> applications -> training -> ...).
MODEL_LAYERS = ("keras_scse.layers", "keras_scse.applications")
ABOVE_MODELS = ("keras_scse.data", "keras_scse.training", "keras_scse.tuning", "keras_scse.export",
                "keras_scse.bench", "keras_scse.cli", "keras_scse.study", "keras_scse.explain")


def modules():
    """{module name: parsed source} of every .py file in keras_scse/."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                name = os.path.relpath(path[:-3], os.path.dirname(PACKAGE)).replace(os.sep, ".")
                name = name.removesuffix(".__init__")
                with open(path) as f:
                    found[name] = (path, ast.parse(f.read()))
    return found


def imported(name, path, tree, known):
    """The package modules ``name`` imports anywhere in its source (inside functions too): ``from a import b``
    counts as importing a.b when that is a module, else a."""
    package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets.update(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names)
    return {t for t in targets if t in known and t != name}


def import_graph():
    found = modules()
    return {name: imported(name, path, tree, found) for name, (path, tree) in found.items()}


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_cycle_hidden_in_a_function():
    tree = ast.parse("def f():\n    from keras_scse.a import x\n")
    graph = {"keras_scse.b": imported("keras_scse.b", "b.py", tree, {"keras_scse.a", "keras_scse.b"}),
             "keras_scse.a": {"keras_scse.b"}}
    assert cycles(graph) == [["keras_scse.a", "keras_scse.b"]]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_layers_and_applications_import_nothing_above_them():
    wrong = {name: sorted(d for d in deps if d.startswith(ABOVE_MODELS))
             for name, deps in import_graph().items() if name.startswith(MODEL_LAYERS)}
    assert {name: deps for name, deps in wrong.items() if deps} == {}


def test_functions_and_init_files_are_short(limit=60):
    long_functions, long_inits = [], []
    for name, (path, tree) in modules().items():
        if path.endswith("__init__.py") and len(open(path).read().splitlines()) > limit:
            long_inits.append(name)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    long_functions.append(f"{name}.{node.name} ({length} lines)")
    assert (long_functions, long_inits) == ([], [])


@pytest.mark.parametrize("markexpr, runs_slow", [
    ("", False), ("slow", True), ("slow and not gpu", True), ("slow or backend", True),
    ("not backend", False), ("backend", False), ("not slow", False)])
def test_only_a_mark_expression_that_asks_for_slow_runs_the_slow_tier(markexpr, runs_slow):
    from conftest import selects_slow

    assert selects_slow(markexpr) is runs_slow


def test_subpackages_load_on_first_attribute_access():
    code = ("import sys, keras_scse as k; assert 'keras_scse.explain' not in sys.modules; "
            "print(callable(k.explain.grad_cam), callable(k.training.train), callable(k.study.run)); k.nothing")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["True", "True", "True"]
    assert "AttributeError: module 'keras_scse' has no attribute 'nothing'" in done.stderr
