"""Nudges: a short comment on a pull request that has gone idle, saying what is at stake."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.text import DAY, humane_duration, listing

MARKER = "<!-- trunkguard:nudge -->"


@dataclass(frozen=True)
class IdlePull:
    """An open pull request with no commit for a while, and what it holds up."""

    number: int
    idle_seconds: int
    behind: int | None  # trunk commits it lacks (None: not scanned)
    conflicting: tuple[int, ...]  # open pull requests the forecast says conflict with it


def nudge_body(pull: IdlePull) -> str:
    """The nudge: how long it has been idle, what landing it first would settle, what to do."""
    days = pull.idle_seconds // DAY
    since = f"{days} days" if days >= 2 else humane_duration(pull.idle_seconds)
    idle = f"No commit for {since}"
    others = pull.conflicting
    if others:
        listed = listing([f"#{n}" for n in others], 5)
        count = len(others)
        verb = "s conflict" if count != 1 else " conflicts"
        stake = (
            f"{count} open pull request{verb} with this one ({listed}): landing it first means "
            f"{'it updates' if count == 1 else 'they update'} once."
        )
    elif pull.behind:
        stake = f"Trunk has moved on by {pull.behind:,} commits since it branched."
    else:
        stake = "Nothing conflicts with it yet: it is a cheap one to land."
    return f"{MARKER}\n{idle}. {stake} Land it, split it, or close it."


def conflicting_pulls(
    number: int,
    pulls_of: dict[str, tuple[int, ...]],
    pairs: Sequence[tuple[str, str, tuple[str, ...]]],
    open_numbers: frozenset[int],
) -> tuple[int, ...]:
    """The open pull requests the forecast's `pairs` (by branch name) put in conflict with
    pull request `number`; `pulls_of` gives each branch's pull requests."""
    found: set[int] = set()
    for a, b, _ in pairs:
        for mine, theirs in ((a, b), (b, a)):
            if number in pulls_of.get(mine, ()):
                found.update(n for n in pulls_of.get(theirs, ()) if n in open_numbers)
    found.discard(number)
    return tuple(sorted(found))
