"""What a pull request's predicted conflicts say in its check and comment: the findings, each
conflict labelled from the resolution engine (a machine resolves it, or it needs you)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from analyzers.conflicts import Conflict
from analyzers.resolve.records import NeedsPerson, Outcome, Resolved
from bot.markup import code, mention, prose, visible
from bot.policy import Policy
from bot.text import clash_place, listing

MOST_PATHS = 10  # paths named per conflicting pull request; the rest are counted


class Conclusion(StrEnum):
    """A check run's conclusion, as GitHub names it."""

    SUCCESS = "success"
    NEUTRAL = "neutral"  # a warning: shown, never blocking
    FAILURE = "failure"


@dataclass(frozen=True)
class Clash:
    """Another open pull request this one will conflict with once either of them lands."""

    number: int
    author: str
    conflicts: tuple[Conflict, ...]
    ours_first: bool  # whether this pull request's lines are the conflicts' "ours" side
    labels: Mapping[str, Outcome] = field(default_factory=dict)  # the engine's, by path


@dataclass(frozen=True)
class Finding:
    """One thing to act on, at the level the policy gives it: a short title and the detail, as
    Markdown, the title as plain text when it differs (a check run's title is plain text), and
    what it is about without its figures (`about`; the text when empty)."""

    conclusion: Conclusion
    title: str
    detail: str = ""
    plain_title: str = ""
    about: str = ""

    @property
    def identity(self) -> str:
        """What makes this finding the same verdict again: its level and what it is about, not
        its figures (a branch one day older or one commit further behind)."""
        return f"{self.conclusion}:{self.about or self.text}"

    @property
    def text(self) -> str:
        """The title and the detail in one line of Markdown."""
        return f"{self.title}: {self.detail}" if self.detail else self.title

    @property
    def heading(self) -> str:
        """The title as plain text."""
        return self.plain_title or self.title


@dataclass(frozen=True)
class Annotation:
    """A line range of the pull request's head that a finding is about."""

    path: str
    start_line: int
    end_line: int
    level: str  # GitHub's annotation_level: "warning" or "failure"
    message: str


def _level(setting: str) -> Conclusion | None:
    return {"fail": Conclusion.FAILURE, "warn": Conclusion.NEUTRAL}.get(setting)


def _place(path: str, kind: str, ranges: tuple[tuple[int, int], ...]) -> str:
    """A conflicted path in Markdown, with its lines, or what clashed there."""
    shown, clash = clash_place(path, kind)
    return code(shown) + (f" ({clash})" if clash else _lines(ranges))


def _lines(ranges: tuple[tuple[int, int], ...]) -> str:
    shown = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in ranges)
    return f" (lines {shown})" if shown else ""


def _about(other: str, sides: Sequence[tuple[str, tuple[tuple[int, int], ...]]]) -> str:
    """What a conflict finding is about: the other side, and the paths and lines it points at
    (the check run's annotations follow them)."""
    return f"conflicts with {other}: " + "; ".join(f"{path} {ranges}" for path, ranges in sides)


def _annotation(path: str, start: int, end: int, level: Conclusion, message: str) -> Annotation:
    kind = "failure" if level is Conclusion.FAILURE else "warning"
    return Annotation(visible(path), start, end, kind, message)


def _labelled(place: str, outcome: Outcome | None) -> str:
    """A conflicted place with what the engine says of it, in Markdown."""
    if isinstance(outcome, Resolved):
        return f"{place} — trunkguard can resolve this ({prose(outcome.rule)})"
    if isinstance(outcome, NeedsPerson):
        return f"{place} — needs you ({prose(outcome.reason)})"
    return place


def _machine_only(conflicts: Sequence[Conflict], labels: Mapping[str, Outcome]) -> bool:
    return bool(conflicts) and all(isinstance(labels.get(c.path), Resolved) for c in conflicts)


def _resolvable_level(policy: Policy, level: Conclusion | None) -> Conclusion | None:
    """A conflict only a machine needs: a warning whatever the policy says, or nothing."""
    if level is None or policy.conflicts.resolvable == "off":
        return None
    return Conclusion.NEUTRAL


def trunk_findings(
    base: str, conflicts: Sequence[Conflict], labels: Mapping[str, Outcome], policy: Policy
) -> tuple[list[Finding], list[Annotation]]:
    """The findings on conflicts with the base branch (`labels`: the engine's, by path): those
    a machine resolves apart, a warning at most (policy.conflicts.resolvable)."""
    findings: list[Finding] = []
    annotations: list[Annotation] = []
    level = _level(policy.conflicts.with_trunk)
    machine = [c for c in conflicts if isinstance(labels.get(c.path), Resolved)]
    people = [c for c in conflicts if c not in machine]
    for group, at, which in (
        (people, level, ""),
        (machine, _resolvable_level(policy, level), " that trunkguard can resolve"),
    ):
        if not group or at is None:
            continue
        places = [
            _labelled(_place(c.path, c.kind, c.theirs_ranges), labels.get(c.path)) for c in group
        ]
        count = len(group)
        said = f"Conflicts with {{}} on {count} file{'s' if count != 1 else ''}{which}"
        findings.append(
            Finding(
                at,
                said.format(prose(base)),
                listing(places, 3),
                said.format(visible(base)),
                _about("trunk", [(c.path, c.theirs_ranges) for c in group]),
            )
        )
        for c in group:
            for start, end in c.theirs_ranges:  # the branch's side of a merge into trunk
                annotations.append(
                    _annotation(c.path, start, end, at, f"Conflicts with {visible(base)}")
                )
    return findings, annotations


def clash_findings(
    clashes: Sequence[Clash], policy: Policy
) -> tuple[list[Finding], list[Annotation]]:
    """The findings on conflicts with other open pull requests: a clash whose every conflict
    a machine resolves is a warning at most (policy.conflicts.resolvable)."""
    findings: list[Finding] = []
    annotations: list[Annotation] = []
    level = _level(policy.conflicts.between_pulls)
    for clash in sorted(clashes, key=lambda c: c.number):
        machine = _machine_only(clash.conflicts, clash.labels)
        at = _resolvable_level(policy, level) if machine else level
        if at is None:
            continue
        sides = [
            (c.path, c.ours_ranges if clash.ours_first else c.theirs_ranges)
            for c in clash.conflicts
        ]
        places = [
            _labelled(_place(c.path, c.kind, ranges), clash.labels.get(c.path))
            for c, (_, ranges) in zip(clash.conflicts, sides, strict=True)
        ]
        said = "Will conflict with #{} by {} once either lands"
        said += " (trunkguard can resolve it)" if machine else ""
        findings.append(
            Finding(
                at,
                said.format(clash.number, mention(clash.author)),
                listing(places, MOST_PATHS),
                said.format(clash.number, "@" + visible(clash.author)),
                _about(f"#{clash.number}", sides),
            )
        )
        for path, ranges in sides:
            for start, end in ranges:
                annotations.append(
                    _annotation(path, start, end, at, f"Conflicts with #{clash.number}")
                )
    return findings, annotations
