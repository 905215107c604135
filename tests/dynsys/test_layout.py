"""The import structure of dynsys: no circles, kernels at the bottom, public names upstairs.

Parses the imports of every module (module level and inside functions), so an import moved
into a function to dodge a circle still counts.
"""

from __future__ import annotations

import ast
import re
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


@pytest.mark.parametrize("package", ["analysis", "benchmarks"])
def test_analysis_and_benchmarks_use_public_dynsys_and_nets_names(package):
    private = ("dynsys._", "nets._")
    for name, path in _modules(package).items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                assert not node.module.startswith(private), (name, node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith(private), (name, alias.name)


def test_the_census_family_imports_downwards():
    # _results <- _common <- _classify <- _resnet; _mlp and _track beside _resnet; the entry
    # point on top
    family = {name: {d for d in deps if d.startswith("dynsys._census")}
              for name, deps in GRAPH.items() if name.startswith("dynsys._census")}
    c = "dynsys._census."
    assert set(family) == {"dynsys._census", *(c + m for m in (
        "_results", "_common", "_classify", "_resnet", "_mlp", "_track"))}
    assert family[c + "_results"] == set()
    assert family[c + "_common"] == {c + "_results"}
    assert family[c + "_classify"] <= {c + "_results", c + "_common"}
    assert family[c + "_resnet"] <= {c + "_results", c + "_common", c + "_classify"}
    assert family[c + "_mlp"] <= {c + "_results", c + "_common"}
    # the track over checkpoints is given the census by the entry point: no engine below it
    assert family[c + "_track"] <= {c + "_results", c + "_common"}
    # the census kernel is the engine's; nothing else of the census reaches into kernels
    assert "dynsys._kernels.census" in GRAPH[c + "_resnet"]


# The logistic is written once for NumPy (dynsys._system.logistic) and once for the kernels
# (dynsys._kernels._common.logistic). The layer-map kernels keep their own: a vectorizable
# exponential in float32 and float64 (see the module's docstring), a different algorithm.
_LOGISTIC_FORMULA = re.compile(r"1\.0 / \(1\.0 \+|one / \(one \+|tanh\(0\.5|"
                               r"^def _?(sigmoid|logistic|sig)\(", re.M)
_LOGISTIC_HOMES = {"dynsys/_activation.py", "dynsys/_kernels/_common.py", "dynsys/_kernels/layers.py"}


@pytest.mark.parametrize("package", ["dynsys", "analysis", "benchmarks"])
def test_the_logistic_is_written_once(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        code = "\n".join(line for line in path.read_text().splitlines()
                         if not line.lstrip().startswith(("#", '"""', "``")))
        found = _LOGISTIC_FORMULA.findall(code)
        if rel in _LOGISTIC_HOMES:
            assert found, rel  # the pattern sees the definitions it guards
        else:
            assert not found, (rel, found)
