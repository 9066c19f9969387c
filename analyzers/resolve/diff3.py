"""git's own three-way line merge of one path, read back as stable runs and conflict hunks.

The merge is `git merge-file -p --diff3` (the git found by analyzers.git.find_git), so the
hunks are the ones a person sees in a work tree after `git merge` with merge.conflictStyle
diff3. Only its output is parsed here: no hand-written diff3.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass

from analyzers.git import find_git

Lines = tuple[bytes, ...]
CONTEXT = 3
MARKER_SIZE = 41  # longer than any marker a file is likely to hold itself
_OURS, _BASE, _THEIRS, _END = (
    b"<" * MARKER_SIZE,
    b"|" * MARKER_SIZE,
    b"=" * MARKER_SIZE,
    b">" * MARKER_SIZE,
)


class Diff3Error(RuntimeError):
    """git merge-file could not run, or printed what cannot be read back."""


@dataclass(frozen=True)
class Hunk:
    """One conflict: the base's, ours and theirs lines of the region (each with its line end)."""

    base: Lines
    ours: Lines
    theirs: Lines
    before: Lines = ()  # up to CONTEXT merged lines just above the hunk
    after: Lines = ()  # and just below it


Chunk = Lines | Hunk


def split_lines(data: bytes) -> Lines:
    """Lines with their ends kept (b"\\n" or b"\\r\\n"); the last may have none."""
    return tuple(data.splitlines(keepends=True)) if data else ()


def _marker(line: bytes, marker: bytes) -> bool:
    if not line.startswith(marker):
        return False
    rest = line[len(marker) :]
    return rest in (b"", b"\n", b"\r\n") or rest[:1] == b" "


def merge_file_args(marker_size: int) -> list[str]:
    """git merge-file's options for a diff3 merge with the sides named ours, base, theirs."""
    return ["merge-file", "--diff3", f"--marker-size={marker_size}"] + [
        arg for label in ("ours", "base", "theirs") for arg in ("-L", label)
    ]


def line_merge(base: bytes, ours: bytes, theirs: bytes) -> tuple[bytes, int]:
    """Return git's merged text with diff3 markers, and its count of conflicts (0: clean)."""
    git = find_git()
    if git is None:
        raise Diff3Error("no git found on the PATH (git merge-file is needed)")
    with tempfile.TemporaryDirectory(prefix="trunkguard-merge-") as folder:
        names = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = os.path.join(folder, name)
            with open(path, "wb") as file:
                file.write(data)
            names.append(path)
        done = subprocess.run(
            [git.path, *merge_file_args(MARKER_SIZE), "-p", *names],
            capture_output=True,
            env={**os.environ, "LC_ALL": "C"},
        )
    if done.returncode < 0 or done.returncode > 127:
        raise Diff3Error(f"git merge-file failed: {done.stderr.decode(errors='replace')}")
    return done.stdout, done.returncode


def diff3(base: bytes, ours: bytes, theirs: bytes) -> list[Chunk]:
    """git's merge of the three contents as stable runs (merged cleanly) and conflict hunks."""
    merged, _ = line_merge(base, ours, theirs)
    return parse(merged)


def parse(merged: bytes) -> list[Chunk]:
    """Read `git merge-file -p --diff3` output (with MARKER_SIZE markers) back into chunks."""
    chunks: list[Chunk] = []
    stable: list[bytes] = []
    state = "stable"
    sides: dict[str, list[bytes]] = {}
    for line in merged.splitlines(keepends=True):
        if state == "stable" and _marker(line, _OURS):
            if stable:
                chunks.append(tuple(stable))
                stable = []
            sides = {"ours": [], "base": [], "theirs": []}
            state = "ours"
        elif state == "ours" and _marker(line, _BASE):
            state = "base"
        elif state in ("ours", "base") and _marker(line, _THEIRS):
            state = "theirs"
        elif state == "theirs" and _marker(line, _END):
            chunks.append(Hunk(tuple(sides["base"]), tuple(sides["ours"]), tuple(sides["theirs"])))
            state = "stable"
        elif state == "stable":
            stable.append(line)
        else:
            sides[state].append(line)
    if state != "stable":
        raise Diff3Error("git merge-file printed an unterminated conflict")
    if stable:
        chunks.append(tuple(stable))
    return [_with_context(chunks, at) for at in range(len(chunks))]


def _with_context(chunks: list[Chunk], at: int) -> Chunk:
    chunk = chunks[at]
    if not isinstance(chunk, Hunk):
        return chunk
    before = chunks[at - 1] if at > 0 else ()
    after = chunks[at + 1] if at + 1 < len(chunks) else ()
    return Hunk(
        chunk.base,
        chunk.ours,
        chunk.theirs,
        tuple(before[-CONTEXT:]) if not isinstance(before, Hunk) else (),
        tuple(after[:CONTEXT]) if not isinstance(after, Hunk) else (),
    )
