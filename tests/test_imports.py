"""Imports point one way: no module of the project imports itself back through others.

The graph holds every import a module makes, at the top, inside a function (a function-level import
only hides a circle) or under `if TYPE_CHECKING:` (an import for annotations alone still ties the two
modules together: each must be read to understand the other). Strawberry's lazy types
(`strawberry.LazyType("Name", "module")`) name a module without importing it and are left out: they
are how a GraphQL type refers to one above it.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("web", "schema", "resolvers", "db", "simulator")
TOP_MODULES = ("server", "settings", "deploydeck")


def _modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in TOP_MODULES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue  # Alembic loads the revision scripts by path, never by import
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(module: str, path: Path, known: set[str]) -> set[str]:
    """The project's modules that `module` imports when it runs."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # `from db import migrate` imports the module, `from db.x import y` db.x
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in names if name in known and name != module}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imported(name, path, set(modules)) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan's algorithm), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(groups)


def test_the_graph_sees_imports_at_the_top_and_inside_functions() -> None:
    # given
    graph = import_graph()
    # then: a top-level import, a package's `from x import module`, and an import in a function
    assert "db.engine" in graph["server"]
    assert "db.migrate" in graph["db.engine"]
    assert "db.engines" in graph["db.migrate"]
    assert len(graph) > 50


def test_the_graph_sees_imports_under_type_checking(tmp_path: Path) -> None:
    # given: a module whose only import of another is for annotations
    path = tmp_path / "a.py"
    path.write_text("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg import b\n")
    # when
    imported = _imported("pkg.a", path, {"pkg.a", "pkg.b"})
    # then
    assert imported == {"pkg.b"}


def test_the_circle_finder_finds_a_circle_through_three_modules() -> None:
    # given
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    # when
    found = circles(graph)
    # then
    assert found == [["a", "b", "c"]]


def test_no_module_imports_itself_back() -> None:
    # when
    found = circles(import_graph())
    # then
    assert found == []
