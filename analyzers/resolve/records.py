"""What the resolution engine answers, and what its rules see and say."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from analyzers.resolve.diff3 import Hunk, Lines


@dataclass(frozen=True)
class Resolved:
    """A resolution: the content (None: the path is deleted) and the rule that produced it."""

    content: bytes | None
    rule: str
    rules: tuple[str, ...] = ()  # every rule used, one per hunk, in file order
    spans: tuple[tuple[int, int], ...] = ()  # the resolved hunks' line ranges in content

    @property
    def resolved(self) -> bool:
        return True


@dataclass(frozen=True)
class Grade:
    """How hard a conflict is for a person."""

    level: str  # "easy", "medium", "hard"
    lines: int  # conflicting lines on both sides, in the hunks left
    hunks: int  # conflict hunks left
    overlap: str  # "same lines", "neighbouring lines", "deletion vs edit", "whole file"

    def __str__(self) -> str:
        return f"{self.level}: {self.hunks} hunk(s), {self.lines} line(s), {self.overlap}"


@dataclass(frozen=True)
class NeedsPerson:
    """No rule resolves the path: how hard it is, and why."""

    grade: Grade
    reason: str
    resolved_hunks: int = 0
    refused: tuple[str, ...] = field(default=())  # rules that answered but failed a check

    @property
    def resolved(self) -> bool:
        return False


Outcome = Resolved | NeedsPerson


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """What the engine says of one conflicted path, as JSON (the CLI's and the store's)."""
    if isinstance(outcome, Resolved):
        return {"resolvable": True, "rule": outcome.rule}
    grade = outcome.grade
    return {
        "resolvable": False,
        "reason": outcome.reason,
        "grade": {
            "level": grade.level,
            "lines": grade.lines,
            "hunks": grade.hunks,
            "overlap": grade.overlap,
        },
    }


@dataclass(frozen=True)
class Context:
    path: str
    kind: str
    language: str | None
    added: bool = False  # both sides added the path (no base)


@dataclass(frozen=True)
class Answer:
    """A rule's answer for one hunk: its lines, and the blocks (line ranges within them) that
    must each be whole syntax nodes of the result."""

    lines: Lines
    blocks: tuple[tuple[int, int], ...] = ()
    # what the line checks compare: the lines, or with their whitespace removed ("whitespace"),
    # or with their version numbers blanked ("versions")
    normalize: str = ""


HunkRule = Callable[[Hunk, Context], Answer | None]
