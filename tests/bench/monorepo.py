"""Generate, deterministically, a bare repository shaped like a busy monorepo (git fast-import)."""

from __future__ import annotations

import bisect
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

GENERATOR_VERSION = 2
DAY = 86400
BENCH_DIR = Path(__file__).resolve().parents[2] / ".bench"  # git-ignored; generated once
END = 1_780_000_000  # the generated history ends here; benchmarks scan "now" = END
PEOPLE = [(f"Dev {n:02d}", f"dev{n:02d}@example.com") for n in range(40)]


@dataclass(frozen=True)
class Shape:
    """How big the generated repository is."""

    trunk_commits: int = 20_000
    files: int = 2_000
    branches: int = 1_000
    years: float = 2.0
    lines_per_file: int = 30
    merge_every: int = 18  # every Nth trunk step lands a one-commit side branch as a merge
    seed: int = 2026

    def directory_name(self) -> str:
        return (
            f"monorepo-v{GENERATOR_VERSION}-{self.trunk_commits}c-{self.files}f-"
            f"{self.branches}b-{self.seed}.git"
        )


@dataclass
class _FileHistory:
    """Each edit of one file on trunk: (trunk step, line index, version), in step order."""

    steps: list[int] = field(default_factory=list)
    edits: list[tuple[int, int]] = field(default_factory=list)


class _Stream:
    def __init__(self, out) -> None:
        self.out = out
        self.mark = 0

    def write(self, text: str) -> None:
        self.out.write(text.encode())

    def data(self, payload: str) -> None:
        raw = payload.encode()
        self.out.write(f"data {len(raw)}\n".encode())
        self.out.write(raw)
        self.out.write(b"\n")

    def commit(
        self,
        ref: str,
        when: int,
        who: tuple[str, str],
        message: str,
        parents: list[int],
        files: dict[str, str],
    ) -> int:
        self.mark += 1
        self.write(f"commit {ref}\nmark :{self.mark}\n")
        self.write(f"author {who[0]} <{who[1]}> {when} +0000\n")
        self.write(f"committer {who[0]} <{who[1]}> {when} +0000\n")
        self.data(message)
        if parents:
            self.write(f"from :{parents[0]}\n")
            for extra in parents[1:]:
                self.write(f"merge :{extra}\n")
        for path, content in files.items():
            self.write(f"M 100644 inline {path}\n")
            self.data(content)
        return self.mark


def generate(shape: Shape, path: Path) -> Path:
    """Write the repository at `path` (a bare repository), with a commit-graph for git."""
    rng = random.Random(shape.seed)
    paths = [f"pkg{n // 100:02d}/mod{n % 100:03d}.py" for n in range(shape.files)]
    history = {p: _FileHistory() for p in paths}

    def content(p: str, step: int, extra: dict[int, str] | None = None) -> str:
        # The file as trunk had it after `step`, with `extra` lines replaced.
        lines = [f"{p}:{k}:v0" for k in range(shape.lines_per_file)]
        h = history[p]
        for line, version in h.edits[: bisect.bisect_right(h.steps, step)]:
            lines[line] = f"{p}:{line}:v{version}"
        for line, text in (extra or {}).items():
            lines[line] = text
        return "\n".join(lines) + "\n"

    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(path)], check=True)
    importer = subprocess.Popen(
        ["git", "-C", str(path), "fast-import", "--quiet", "--done"], stdin=subprocess.PIPE
    )
    assert importer.stdin is not None
    stream = _Stream(importer.stdin)
    start = END - int(shape.years * 365 * DAY)
    step_seconds = (END - start - DAY) // shape.trunk_commits

    initial = {p: content(p, -1) for p in paths}
    head = stream.commit("refs/heads/main", start, PEOPLE[0], "Initial import", [], initial)
    trunk_marks = [head]  # first-parent trunk commit after each step
    trunk_times = [start]
    step = 0
    made = 1
    while made < shape.trunk_commits:
        step += 1
        when = start + made * step_seconds
        who = rng.choice(PEOPLE)
        area = rng.randrange(20)
        changed: dict[str, str] = {}
        for _ in range(rng.choice((1, 1, 2, 3))):
            p = paths[area * (shape.files // 20) + rng.randrange(shape.files // 20)]
            line = rng.randrange(shape.lines_per_file)
            history[p].steps.append(step)
            history[p].edits.append((line, step))
            changed[p] = content(p, step)
        if step % shape.merge_every == 0 and made + 2 <= shape.trunk_commits:
            # A pull request merged with a merge commit: one side commit, then the merge.
            side = stream.commit(
                "refs/heads/main", when - 600, who, f"Side work {step}", [trunk_marks[-5]], changed
            )
            head = stream.commit(
                "refs/heads/main", when, who, f"Merge pull request #{step}", [head, side], changed
            )
            made += 2
        else:
            head = stream.commit("refs/heads/main", when, who, f"Change {step}", [head], changed)
            made += 1
        trunk_marks.append(head)
        trunk_times.append(when)

    for n in range(shape.branches):
        # Forked over the last year, most of them recently, as on a real team.
        age = int(365 * DAY * rng.random() ** 2.5) + 3600
        fork_step = max(0, bisect.bisect_right(trunk_times, END - age) - 1)
        who = rng.choice(PEOPLE)
        area = rng.randrange(20)
        ref = f"refs/heads/b/{n:04d}"
        tip = trunk_marks[fork_step]
        when = trunk_times[fork_step] + 60
        edits: dict[str, dict[int, str]] = {}
        for k in range(rng.randint(1, 8)):
            files: dict[str, str] = {}
            for _ in range(rng.choice((1, 1, 2, 3))):
                p = paths[area * (shape.files // 20) + rng.randrange(shape.files // 20)]
                line = rng.randrange(shape.lines_per_file)
                edits.setdefault(p, {})[line] = f"{p}:{line}:branch {n} commit {k}"
                files[p] = content(p, fork_step, edits[p])
            if rng.random() < 0.1:
                files[f"pkg{area:02d}/new_{n:04d}_{k}.py"] = f"new module {n} {k}\n" * 5
            when = min(END - 60, when + rng.randint(600, int(age / 8) + 600))
            tip = stream.commit(ref, when, who, f"Branch {n} work {k}", [tip], files)
    stream.write("done\n")
    importer.stdin.close()
    if importer.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "-C", str(path), "repack", "-adq"], check=True)
    subprocess.run(["git", "-C", str(path), "commit-graph", "write", "--reachable"], check=True)
    return path


def generated(shape: Shape | None = None) -> Path:
    """The generated repository of `shape` (default: Shape()), built once into .bench/."""
    shape = shape or Shape()
    path = BENCH_DIR / shape.directory_name()
    if not path.exists():
        print(f"generating {path.name} (once; kept in .bench/) ...", flush=True)
        BENCH_DIR.mkdir(exist_ok=True)
        generate(shape, path)
    return path
