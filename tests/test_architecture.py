"""The layout is a contract: read from the source, not from memory.

The engine imports nothing from the presentation layer, the CLI or Streamlit; no two
modules import each other, even lazily; no module reaches into another's private names.
The Python front end, `gradscope` (notebooks and test suites), sits on top as `cli` does:
no project module imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("engine", "presentation", "cli", "ui", "gradscope")
ENTRY_POINT = "engine.__main__"  # `python -m engine` hands over to the cli package


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {
        module_name(path): path for layer in LAYERS for path in sorted((ROOT / layer).rglob("*.py"))
    }


def imports_of(name: str, path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(module, names) for every import in the file, at any depth (lazy ones too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((base, tuple(alias.name for alias in node.names)))
    return found


def internal_edges() -> dict[str, set[str]]:
    """Which project modules each project module imports (a `from pkg import mod` counts as mod)."""
    known = modules()
    edges = {}
    for name, path in known.items():
        targets = set()
        for module, names in imports_of(name, path):
            submodules = {f"{module}.{n}" for n in names if f"{module}.{n}" in known}
            targets |= submodules or ({module} if module in known else set())
        edges[name] = targets - {name}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same graph one level up: engine.gradcheck -> engine.network, and so on."""

    def package(name: str) -> str:
        parts = name.split(".")
        return ".".join(parts[:2]) if parts[0] == "engine" else parts[0]

    graph: dict[str, set[str]] = {}
    for source, targets in edges.items():
        graph.setdefault(package(source), set()).update(
            package(t) for t in targets if package(t) != package(source)
        )
    return graph


def test_no_two_modules_import_each_other_even_lazily():
    assert find_cycle(internal_edges()) is None


def test_engine_modules_import_no_presentation_cli_or_streamlit():
    forbidden = ("presentation", "cli", "ui", "pages", "gradscope", "streamlit", "plotly")
    offenders = [
        f"{name} imports {module}"
        for name, path in modules().items()
        if name.startswith("engine") and name != ENTRY_POINT
        for module, _ in imports_of(name, path)
        if module.split(".")[0] in forbidden
    ]
    assert offenders == []


def test_presentation_cli_and_gradscope_import_no_streamlit():
    offenders = [
        f"{name} imports {module}"
        for name, path in modules().items()
        if name.startswith(("presentation", "cli", "gradscope"))
        for module, _ in imports_of(name, path)
        if module.split(".")[0] in ("streamlit", "ui", "pages")
    ]
    assert offenders == []


def test_no_module_imports_another_modules_private_names():
    offenders = [
        f"{name}: from {module} import {n}"
        for name, path in modules().items()
        for module, names in imports_of(name, path)
        for n in names
        if n.startswith("_") and not n.startswith("__") and module.split(".")[0] in LAYERS
    ]
    assert offenders == []


def test_no_project_module_imports_the_python_front_end():
    """`gradscope` is for notebooks and test suites: no project module depends on it."""
    offenders = [
        f"{name} imports {module}"
        for name, path in modules().items()
        if not name.startswith("gradscope")
        for module, _ in imports_of(name, path)
        if module.split(".")[0] == "gradscope"
    ]
    assert offenders == []


@pytest.mark.parametrize("package", LAYERS)
def test_every_project_package_is_a_package(package):
    for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]:
        if folder.name != "__pycache__" and any(folder.glob("*.py")):
            assert (folder / "__init__.py").exists(), folder


def test_engine_subpackages_depend_on_each_other_in_one_direction():
    """network <- gradcheck <- bugs <- scenario; runners use them but nothing uses runners
    except the scenario's runs and the entry points."""
    graph = package_edges(internal_edges())
    engine_graph = {
        source: {t for t in targets if t.startswith("engine.")}
        for source, targets in graph.items()
        if source.startswith("engine.") and source != ENTRY_POINT
    }
    assert find_cycle(engine_graph) is None, engine_graph
    assert engine_graph.get("engine.network", set()) == set()


def test_the_public_api_is_engine_all_and_every_name_in_it_exists():
    import engine

    assert sorted(engine.__all__) == sorted(set(engine.__all__))
    assert all(hasattr(engine, name) for name in engine.__all__)


@pytest.mark.parametrize(
    "package", sorted(p.parent.name for p in (ROOT / "engine").glob("*/__init__.py"))
)
def test_every_engine_subpackage_says_it_is_internal(package):
    """As jax/_src does: what is not in engine.__all__ may change, and each folder says so."""
    docstring = ast.get_docstring(
        ast.parse((ROOT / "engine" / package / "__init__.py").read_text())
    )
    assert docstring and "Internal" in docstring and "engine.__all__" in docstring
