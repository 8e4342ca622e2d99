"""Case-insensitive name matching with one definition of "same letters": Python's str.casefold.

Databases disagree on case: SQLite's lower() folds ASCII only, PostgreSQL's follows the
collation (ASCII only under "C", which names use; simple per-letter mapping otherwise, so
"straße" never meets "STRASSE"). So each name is folded here on insert and stored beside it;
SQL and the fleet snapshot both match the folded needle against that stored value.
"""

from typing import Any

from sqlalchemy import ColumnElement


def fold(text: str) -> str:
    return text.casefold()


def contains(folded_column: Any, needle: str) -> ColumnElement[bool]:
    """Rows whose folded name holds the folded needle; LIKE's % and _ (and the escape
    character) in the needle are escaped, so they match only themselves."""
    # Both sides are folded and casefold never yields an uppercase ASCII letter, so SQLite's
    # ASCII-insensitive LIKE compares exactly what Python's `in` does.
    return folded_column.contains(fold(needle), autoescape=True)  # type: ignore[no-any-return]
