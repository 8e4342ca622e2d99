"""The simulator is pure numpy and the standard library: it imports nothing of the project."""

import ast
import sys
from pathlib import Path

SIMULATOR = Path(__file__).resolve().parents[1] / "simulator"


def test_simulator_imports_only_numpy_and_the_standard_library() -> None:
    # given
    allowed = set(sys.stdlib_module_names) | {"numpy"}
    # when
    imported = {
        (path.name, name.split(".")[0])
        for path in SIMULATOR.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.level == 0
            else []
        )
    }
    # then
    assert imported, "no imports found: is the path right?"
    assert {(module, top) for module, top in imported if top not in allowed} == set()
