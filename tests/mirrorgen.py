"""A generated GitHub mirror: thousands of `refs/pull/N/head`, most of them long closed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from bot.mirrors.writer import Person, RepoWriter
from tests.gitrepo import DAY, NOW

PEOPLE = [Person(f"Dev {n:02d}", f"dev{n:02d}@example.com") for n in range(12)]
RECENT = 20  # pull requests opened in the last 20 days; every other one is older than 60


@dataclass
class Mirror:
    """What the generator made, so that tests can read the expected answers off it."""

    path: Path
    repo: pygit2.Repository
    merged: list[int] = field(default_factory=list)  # merge commit on trunk: head in trunk
    squashed_old: list[int] = field(default_factory=list)  # content on trunk, head is not
    squashed_recent: list[int] = field(default_factory=list)
    closed_old: list[int] = field(default_factory=list)  # never merged, no commit for months
    open_recent: list[int] = field(default_factory=list)
    branch_of: dict[int, str] = field(default_factory=dict)  # same-repository pull requests
    reopened: tuple[int, int] = (0, 0)  # (old number, new number) sharing one head

    @property
    def pulls(self) -> int:
        """How many `refs/pull/N/head` refs the mirror holds."""
        return sum(
            map(
                len,
                (
                    self.merged,
                    self.squashed_old,
                    self.squashed_recent,
                    self.closed_old,
                    self.open_recent,
                ),
            )
        )


def _kind(number: int, total: int) -> str:
    if number > total - RECENT:
        k = number - (total - RECENT)  # 1..20
        return "merged" if k <= 6 else "squashed" if k <= 9 else "open"
    k = number % 20
    return "merged" if k < 12 else "squashed" if k < 17 else "closed"


def build_mirror(path: Path, pulls: int = 2000) -> Mirror:
    """Write a bare mirror whose trunk landed `pulls` pull requests' worth of history."""
    repo = pygit2.init_repository(str(path), bare=True, initial_head="main")
    writer = RepoWriter(repo)
    mirror = Mirror(path, repo)
    start = NOW - 700 * DAY
    old_span = 640 * DAY
    tip = writer.commit({"README.md": "mirror\n"}, when=start, author=PEOPLE[0])
    heads: dict[int, pygit2.Oid] = {}
    for number in range(1, pulls + 1):
        kind = _kind(number, pulls)
        recent = number > pulls - RECENT
        if recent:
            created = NOW - (RECENT - (number - (pulls - RECENT))) * DAY - DAY // 2
        else:
            created = start + DAY + (number * old_span) // pulls
        person = PEOPLE[number % len(PEOPLE)]
        files = {f"pr/{number // 100}/{number}.txt": f"pull request {number}\n"}
        head = writer.commit(files, when=created, parents=[tip], author=person)
        if kind == "merged":
            tip = writer.commit({}, when=created + DAY // 8, parents=[tip, head], message="Merge")
            mirror.merged.append(number)
        elif kind == "squashed":
            tip = writer.commit(files, when=created + DAY // 8, parents=[tip], author=person)
            (mirror.squashed_recent if recent else mirror.squashed_old).append(number)
        elif kind == "closed":
            mirror.closed_old.append(number)
        else:
            mirror.open_recent.append(number)
        heads[number] = head
    writer.repo.references.create("refs/heads/main", tip)

    # Same-repository pull requests: their branch is still there, at the same commit.
    for number in mirror.open_recent[:4]:
        mirror.branch_of[number] = f"feature/pr-{number}"
    for number in mirror.merged[:2]:
        mirror.branch_of[number] = f"old/merged-{number}"
    for number, name in mirror.branch_of.items():
        repo.references.create(f"refs/heads/{name}", heads[number])
    # A pull request closed and opened again under a new number, with the same head.
    old, new = mirror.open_recent[-2], mirror.open_recent[-1]
    heads[new] = heads[old]
    mirror.reopened = (old, new)
    lines = [f"{heads[n]} refs/pull/{n}/head" for n in sorted(heads)]
    lines += [f"{tip} refs/pull/{n}/merge" for n in mirror.open_recent]
    # Written as packed refs, as a fetch of tens of thousands of refs leaves them.
    with open(path / "packed-refs", "w") as out:
        out.write("# pack-refs with: peeled fully-peeled sorted \n")
        out.write("".join(f"{line}\n" for line in sorted(lines, key=lambda x: x.split()[1])))
    return mirror
