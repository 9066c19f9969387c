"""Fit a table of names to a terminal's width: which columns stay, how wide names may be."""

from __future__ import annotations

EXPLAINED = {
    "age": "age: since the first own commit",
    "base": "base: age of the trunk snapshot it started from",
    "overlap": "overlap: files changed on both sides",
}
# Columns in the order shown, and the order in which a narrow terminal drops them.
SCAN_COLUMNS = ("branch", "age", "ahead", "behind", "base", "idle", "files", "+/-", "overlap")
_SCAN_DROPPED_FIRST = ("+/-", "base", "overlap", "authors", "files", "idle", "behind")
_SHORTEST_NAME = 24  # names shorter than this are worth more than the least useful columns


def fitted(
    cells: list[dict[str, str]], columns: list[str], width: int
) -> tuple[list[str], list[str], int]:
    """Choose the columns that fit `width` with the branch names; return them, those dropped,
    and the width names get (shortened in the middle beyond it)."""

    def natural(column: str) -> int:
        return max([len(column), *(len(c[column]) for c in cells)])

    shown, dropped = list(columns), []
    for candidate in (None, *_SCAN_DROPPED_FIRST):
        if candidate is not None and candidate in shown:
            shown.remove(candidate)
            dropped.append(candidate)
        # Each column takes its text, a space either side and a (blank) rule: n + 1 rules.
        others = sum(natural(c) + 3 for c in shown if c != "branch")
        room = width - others - 4
        if room >= min(natural("branch"), _SHORTEST_NAME):
            break
    return shown, dropped, max(1, min(room, natural("branch")))
