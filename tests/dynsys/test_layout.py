"""The import structure of dynsys: no circles, kernels at the bottom, public names upstairs.

Parses the imports of every module (module level and inside functions), so an import moved
into a function to dodge a circle still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _modules(package: str) -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known) -> set[str]:
    """The modules of `known` that `name` (at `path`) imports, by absolute name."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = base + ("." + node.module if node.module else "")
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        for cand in candidates:
            # the deepest known module that the import names (a package or a file in it)
            while cand and cand not in known:
                cand = cand.rpartition(".")[0]
            if cand and cand != name:
                found.add(cand)
    return found


DYNSYS = _modules("dynsys")
GRAPH = {name: _imports(name, path, DYNSYS) for name, path in DYNSYS.items()}


def test_no_module_of_dynsys_imports_around_a_circle():
    # a package's __init__ importing its files is no circle; a file importing its package
    # back (``from . import x`` in a file of the package) is
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(u):
        state[u] = 1
        path.append(u)
        for v in sorted(GRAPH[u]):
            if state.get(v) == 1:
                pytest.fail("import circle: " + " -> ".join(path[path.index(v):] + [v]))
            if v not in state:
                visit(v)
        path.pop()
        state[u] = 2

    for name in GRAPH:
        if name not in state:
            visit(name)


def test_kernels_import_only_kernels_and_only_the_shared_ones():
    shared = {"dynsys._kernels", "dynsys._kernels._common", "dynsys._kernels._linalg"}
    for name, deps in GRAPH.items():
        if not name.startswith("dynsys._kernels"):
            continue
        assert all(d.startswith("dynsys._kernels") for d in deps), (name, deps)
        if name not in shared:
            assert deps <= shared, (name, deps - shared)  # no kernel imports another's
    assert GRAPH["dynsys._kernels._linalg"] == set()


FAMILY_PRIVATE = ("dynsys._fixed_points", "dynsys._kernels", "dynsys._stability",
                  "dynsys._threads", "dynsys._incremental", "dynsys._distributed",
                  "dynsys._ensembles", "dynsys._local", "dynsys._fixed_points_exact")


@pytest.mark.parametrize("package", ["analysis", "benchmarks"])
def test_analysis_and_benchmarks_use_public_fixed_point_names(package):
    for name, path in _modules(package).items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                assert not node.module.startswith(FAMILY_PRIVATE), (name, node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith(FAMILY_PRIVATE), (name, alias.name)
