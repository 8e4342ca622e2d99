"""The simulator is pure numpy and the standard library: of the project it imports only the leaf
`domain.py` (plain enums), which imports nothing but the standard library."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIMULATOR = ROOT / "simulator"


def _imports(paths: list[Path]) -> set[tuple[str, str]]:
    """(file name, top-level module) of every absolute import in `paths`."""
    return {
        (path.name, name.split(".")[0])
        for path in paths
        for node in ast.walk(ast.parse(path.read_text()))
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.level == 0
            else []
        )
    }


def test_simulator_imports_only_numpy_the_standard_library_and_domain() -> None:
    # given
    allowed = set(sys.stdlib_module_names) | {"numpy", "domain"}
    # when
    imported = _imports(list(SIMULATOR.glob("*.py")))
    # then
    assert imported, "no imports found: is the path right?"
    assert {(module, top) for module, top in imported if top not in allowed} == set()


def test_domain_imports_only_the_standard_library() -> None:
    # when
    imported = _imports([ROOT / "domain.py"])
    # then
    assert imported, "no imports found: is the path right?"
    assert {top for _, top in imported} - set(sys.stdlib_module_names) == set()
