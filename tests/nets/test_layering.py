"""nets modules import each other without a cycle; the config and the atomic writer are leaves."""

import ast
from pathlib import Path

import pytest

NETS = Path(__file__).resolve().parents[2] / "nets"


def _nets_imports(path: Path) -> set[str]:
    """The nets modules `path` imports anywhere (module level or inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from .x import y / from . import x
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
            elif node.level == 0 and node.module and node.module.split(".")[0] == "nets":
                parts = node.module.split(".")
                if len(parts) > 1:
                    found.add(parts[1])
                else:
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "nets" and len(parts) > 1:
                    found.add(parts[1])
    modules = {p.stem for p in NETS.glob("*.py")} - {"__init__"}
    return found & modules


def _graph() -> dict[str, set[str]]:
    return {p.stem: _nets_imports(p) for p in NETS.glob("*.py") if p.stem != "__init__"}


def _cycle(graph):
    """A cycle as a list of modules, or None (depth-first search with colours)."""
    colour, stack = {}, []

    def visit(node):
        colour[node] = "grey"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt) == "grey":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in colour:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = "black"
        return None

    for node in sorted(graph):
        if node not in colour:
            found = visit(node)
            if found:
                return found
    return None


def test_the_import_graph_sees_the_modules_and_their_edges():
    graph = _graph()
    assert {"config", "atomic", "models", "checkpoint", "export", "train", "depth"} <= set(graph)
    assert "config" in graph["checkpoint"] and "models" in graph["export"]
    assert "train" in graph["sweep"]


def test_nets_modules_import_each_other_without_a_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("leaf", ["config", "atomic"])
def test_leaf_modules_import_no_nets_module(leaf):
    assert _graph()[leaf] == set()


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_atomic_writer_imports_nothing_of_the_project():
    """analysis and nets both use it: it must not pull in either (or dynsys)."""
    tree = ast.parse((NETS / "atomic.py").read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            roots.add(node.module.split(".")[0])
    assert not roots & {"nets", "analysis", "dynsys", "torch"}
