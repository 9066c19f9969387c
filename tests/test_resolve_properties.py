"""Properties of the engine on generated conflicts."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers.resolve import Resolved, resolve
from analyzers.resolve.diff3 import line_merge
from analyzers.resolve.engine import RULES

PATHS = ["CHANGELOG.md", "requirements.txt", "notes.txt", "m.py", "x.c"]


@st.composite
def apart_edits(draw: st.DrawFn) -> tuple[list[str], list[str], list[str], list[str]]:
    """A base, and two sides that change lines at least two lines apart (git merges those)."""
    size = draw(st.integers(min_value=3, max_value=30))
    base = [f"line {i}" for i in range(size)]
    marks = draw(st.lists(st.sampled_from(["", "o", "t"]), min_size=size, max_size=size))
    last = {"o": -10, "t": -10}
    for i, mark in enumerate(marks):
        other = "t" if mark == "o" else "o"
        if mark and i - last[other] < 2:
            marks[i] = ""
        elif mark:
            last[mark] = i
    ours = [
        f"ours {i}" if m == "o" else line
        for i, (m, line) in enumerate(zip(marks, base, strict=True))
    ]
    theirs = [
        f"theirs {i}" if m == "t" else line
        for i, (m, line) in enumerate(zip(marks, base, strict=True))
    ]
    merged = [
        f"ours {i}" if m == "o" else f"theirs {i}" if m == "t" else line
        for i, (m, line) in enumerate(zip(marks, base, strict=True))
    ]
    return base, ours, theirs, merged


def text(lines: list[str]) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode()


@settings(max_examples=60, deadline=None)
@given(apart_edits(), st.sampled_from(PATHS))
def test_changes_apart_give_git_s_clean_merge(
    edits: tuple[list[str], list[str], list[str], list[str]], path: str
) -> None:
    base, ours, theirs, merged = edits
    outcome = resolve(path, text(base), text(ours), text(theirs), RULES)
    clean, conflicts = line_merge(text(base), text(ours), text(theirs))
    assert conflicts == 0
    assert isinstance(outcome, Resolved)
    assert outcome.content == clean == text(merged)


@st.composite
def any_edits(draw: st.DrawFn) -> tuple[list[str], list[str], list[str]]:
    # the base's lines are unique, so "a line both sides kept" is well defined
    words = st.sampled_from(["a", "b", "import os", "import sys", "", "* entry", "x = 1"])
    base = [f"kept {i}" for i in range(draw(st.integers(0, 12)))]

    def edit(lines: list[str]) -> list[str]:
        lines = list(lines)
        for _ in range(draw(st.integers(0, 3))):
            at = draw(st.integers(0, len(lines)))
            action = draw(st.sampled_from(["insert", "delete", "replace"]))
            if action == "insert" or not lines or at == len(lines):
                lines.insert(at, draw(words))
            elif action == "delete":
                del lines[at]
            else:
                lines[at] = draw(words)
        return lines

    return base, edit(base), edit(base)


@settings(max_examples=150, deadline=None)
@given(any_edits(), st.sampled_from(PATHS))
def test_no_resolution_drops_a_line_both_kept_or_invents_one(
    edits: tuple[list[str], list[str], list[str]], path: str
) -> None:
    base, ours, theirs = (text(lines) for lines in edits)
    outcome = resolve(path, base, ours, theirs, RULES)
    if not isinstance(outcome, Resolved) or outcome.content is None:
        return
    count = [Counter(data.splitlines()) for data in (base, ours, theirs, outcome.content)]
    b, o, t, result = count
    both_kept = {line for line in b if line in o and line in t}
    assert both_kept <= set(result), "dropped a line both sides kept"
    invented = {line for line in result - (o + t) if line.strip()}
    assert not invented, "invented a line neither side added"
    assert resolve(path, base, ours, theirs, RULES) == outcome
