"""Corner-case histories of the kinds git's own merge tests are made of (git's t/t64*).

Each builder writes one small repository: a trunk `main` and branches (several with "/" in
their names, as git labels a file it moves aside `path~feature_x`). tests/test_merge_corpus.py
merges every ordered pair of them, as trunk and branch, through the forecast, and compares
with `git merge-tree --write-tree` on the same two names. `python -m tests.corpus.scenarios
DIR` writes them all into DIR to look at with git.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from bot.mirrors.writer import EXECUTABLE
from tests.gitrepo import SYMLINK, Gitlink, GitRepo, numbered


def text(label: str, n: int = 30, changes: dict[int, str] | None = None) -> str:
    """A file of `n` distinct lines (distinct per label: rename detection pairs by content)."""
    out = [f"{label} line {k}" for k in range(1, n + 1)]
    for k, line in (changes or {}).items():
        out[k - 1] = line
    return "\n".join(out) + "\n"


def sha(n: int) -> Gitlink:
    """A submodule commit id (never in this repository)."""
    return Gitlink(f"{n:040x}")


def renames_under_edits(t: GitRepo) -> None:
    """A file moved on one side, edited on the other: the commonest refactor there is."""
    base = t.commit(
        {"pkg/core.py": text("core"), "pkg/util.py": text("util"), "README": text("readme", 5)},
        days_ago=10,
        branch="main",
    )
    t.commit(
        {"pkg/core.py": None, "lib/core.py": text("core", changes={2: "trunk 2"})},
        days_ago=5,
        parents=[base],
        branch="main",
    )
    t.commit(
        {"pkg/core.py": text("core", changes={20: "edit 20"})},
        days_ago=4,
        parents=[base],
        branch="feature/edit-far",
    )
    t.commit(
        {"pkg/core.py": text("core", changes={2: "edit 2"})},
        days_ago=4,
        parents=[base],
        branch="feature/edit-near",
    )
    t.commit(
        {"pkg/util.py": None, "util/util.py": text("util", changes={9: "b 9"})},
        days_ago=3,
        parents=[base],
        branch="move-util",
    )
    t.commit(
        {"pkg/util.py": text("util", changes={9: "c 9"}), "README": text("readme", 6)},
        days_ago=3,
        parents=[base],
        branch="edit-util",
    )
    t.commit({"pkg/core.py": None}, days_ago=2, parents=[base], branch="delete-core")


def renames_in_a_busy_trunk(t: GitRepo) -> None:
    """A file moved (and edited) on a trunk that also added and deleted hundreds of files:
    past libgit2's rename limit (1000 candidates), not past git's."""
    old = {f"gone/g{n}.txt": text(f"gone {n}", 3) for n in range(1010)}
    base = t.commit({"pkg/core.py": text("core"), **old}, days_ago=10, branch="main")
    busy: dict[str, str | None] = {p: None for p in old}
    busy.update({f"added/n{n}.txt": text(f"added {n}", 3) for n in range(1010)})
    busy.update({"pkg/core.py": None, "lib/core.py": text("core", changes={1: "trunk 1"})})
    t.commit(busy, days_ago=5, parents=[base], branch="main")
    t.commit(
        {"pkg/core.py": text("core", changes={20: "edit 20"})},
        days_ago=4,
        parents=[base],
        branch="feature/edit-far",
    )
    t.commit(
        {"pkg/core.py": text("core", changes={1: "edit 1"})},
        days_ago=4,
        parents=[base],
        branch="feature/edit-near",
    )


def directory_renames(t: GitRepo) -> None:
    """A directory moved on one side; the other adds to it, edits in it, moves it elsewhere."""
    files = {f"src/a{n}.c": text(f"a{n}") for n in range(4)}
    base = t.commit({**files, "other/x.c": text("x")}, days_ago=10, branch="main")
    moved = {p: None for p in files}
    moved.update({p.replace("src/", "lib/"): c for p, c in files.items()})
    t.commit(moved, days_ago=5, parents=[base], branch="main")
    t.commit({"src/new.c": text("new")}, days_ago=4, parents=[base], branch="add-in-src")
    t.commit({"src/deep/new.c": text("deep")}, days_ago=4, parents=[base], branch="add-deep")
    t.commit(
        {"src/a1.c": text("a1", changes={3: "edit"})},
        days_ago=4,
        parents=[base],
        branch="edit-in-src",
    )
    elsewhere = {p: None for p in files}
    elsewhere.update({p.replace("src/", "code/"): c for p, c in files.items()})
    t.commit(elsewhere, days_ago=3, parents=[base], branch="dir/move-elsewhere")
    t.commit({"lib/a0.c": text("lib a0")}, days_ago=3, parents=[base], branch="add-lib-a0")
    half = {
        "src/a0.c": None,
        "src/a1.c": None,
        "half/a0.c": files["src/a0.c"],
        "half/a1.c": files["src/a1.c"],
    }
    t.commit(half, days_ago=2, parents=[base], branch="move-half")


def rename_rename_and_delete(t: GitRepo) -> None:
    """rename/rename (one file, two names; two files, one name) and rename/delete."""
    base = t.commit(
        {"a.txt": text("a"), "b.txt": text("b"), "c.txt": text("c")}, days_ago=10, branch="main"
    )
    t.commit({"a.txt": None, "a-main.txt": text("a")}, days_ago=5, parents=[base], branch="main")
    t.commit(
        {"a.txt": None, "a-side.txt": text("a")},
        days_ago=4,
        parents=[base],
        branch="rename/other-name",
    )
    t.commit({"a.txt": None}, days_ago=4, parents=[base], branch="delete-a")
    t.commit(
        {"b.txt": None, "a-main.txt": text("b")}, days_ago=3, parents=[base], branch="two-to-one"
    )
    t.commit(
        {"a.txt": None, "a-main.txt": text("a", changes={5: "x"})},
        days_ago=3,
        parents=[base],
        branch="same-rename-edited",
    )
    t.commit({"c.txt": None, "sub/c.txt": text("c")}, days_ago=2, parents=[base], branch="rename-c")


def file_directory(t: GitRepo) -> None:
    """A file on one side where the other has a directory, both ways, and on both branches."""
    base = t.commit(
        {"conf": text("conf"), "docs/index.md": text("index"), "keep": "k\n"},
        days_ago=10,
        branch="main",
    )
    t.commit(
        {"conf": text("conf", changes={1: "trunk"})}, days_ago=5, parents=[base], branch="main"
    )
    t.commit(
        {"conf": None, "conf/app.yml": text("app")},
        days_ago=4,
        parents=[base],
        branch="feature/conf-dir",
    )
    t.commit(
        {"docs/index.md": None, "docs": text("docs file")},
        days_ago=4,
        parents=[base],
        branch="docs-file",
    )
    t.commit(
        {"docs/index.md": None, "docs": text("docs file", changes={2: "other"})},
        days_ago=3,
        parents=[base],
        branch="docs-file-too",
    )
    t.commit(
        {"docs/index.md": text("index", changes={3: "edit"})},
        days_ago=3,
        parents=[base],
        branch="edit-docs",
    )
    t.commit({"keep": None, "keep/inner": "k\n"}, days_ago=2, parents=[base], branch="keep-dir")


def submodules(t: GitRepo) -> None:
    """Submodule pointers moved on both sides, deleted, turned into a directory or a file."""
    base = t.commit(
        {"vendor/lib": sha(1), "app.py": text("app"), "ext": sha(7)}, days_ago=10, branch="main"
    )
    t.commit({"vendor/lib": sha(2)}, days_ago=5, parents=[base], branch="main")
    t.commit({"vendor/lib": sha(3)}, days_ago=4, parents=[base], branch="bump/other")
    t.commit(
        {"vendor/lib": sha(2), "app.py": text("app", changes={1: "x"})},
        days_ago=4,
        parents=[base],
        branch="bump-same",
    )
    t.commit({"vendor/lib": None}, days_ago=3, parents=[base], branch="drop-submodule")
    t.commit(
        {"vendor/lib": None, "vendor/lib/src.c": text("vendored")},
        days_ago=3,
        parents=[base],
        branch="vendor/in-tree",
    )
    t.commit({"vendor/lib": text("now a file")}, days_ago=3, parents=[base], branch="lib-file")
    t.commit({"ext": sha(8)}, days_ago=2, parents=[base], branch="bump-ext")
    t.commit({"ext": sha(9), "new-sub": sha(10)}, days_ago=2, parents=[base], branch="bump-ext-too")
    t.commit(
        {"app.py": None, "app.py/inner": text("inner")},
        days_ago=2,
        parents=[base],
        branch="app-dir",
    )
    t.commit(
        {"new-sub": text("not a submodule")}, days_ago=1, parents=[base], branch="new-sub-file"
    )


def identical_copies(t: GitRepo) -> None:
    """Several files with the same content: which one moved is a guess."""
    same = text("same")
    base = t.commit(
        {"one.txt": same, "two.txt": same, "dir/three.txt": same, "other.txt": text("other")},
        days_ago=10,
        branch="main",
    )
    t.commit({"one.txt": None, "moved/one.txt": same}, days_ago=5, parents=[base], branch="main")
    t.commit(
        {"two.txt": text("same", changes={4: "edit two"})},
        days_ago=4,
        parents=[base],
        branch="edit-two",
    )
    t.commit(
        {"one.txt": text("same", changes={4: "edit one"})},
        days_ago=4,
        parents=[base],
        branch="edit-one",
    )
    t.commit(
        {"one.txt": None, "two.txt": None, "renamed.txt": same},
        days_ago=3,
        parents=[base],
        branch="two-gone-one-new",
    )
    t.commit(
        {"two.txt": None, "moved/two.txt": same}, days_ago=3, parents=[base], branch="copy/move-two"
    )
    t.commit(
        {"one.txt": None, "a/one.txt": same, "b/one.txt": same},
        days_ago=2,
        parents=[base],
        branch="one-to-two",
    )
    t.commit(
        {"copy.txt": same, "one.txt": text("same", changes={1: "x"})},
        days_ago=2,
        parents=[base],
        branch="add-copy",
    )
    t.commit(
        {"dir/three.txt": None, "moved/three.txt": same},
        days_ago=1,
        parents=[base],
        branch="move-three",
    )


def criss_cross(t: GitRepo) -> None:
    """Two merge bases that conflict with each other: git's virtual base holds the conflict."""
    base = t.commit({"f.txt": numbered(20), "g.txt": text("g")}, days_ago=10, branch="main")
    a = t.commit({"f.txt": numbered(20, {5: "A"})}, days_ago=9, parents=[base])
    b = t.commit({"f.txt": numbered(20, {5: "B"})}, days_ago=9, parents=[base])
    # Each merges the other, resolving the conflict its own way.
    a2 = t.commit({"f.txt": numbered(20, {5: "A wins"})}, days_ago=8, parents=[a, b])
    b2 = t.commit({"f.txt": numbered(20, {5: "B wins"})}, days_ago=8, parents=[b, a])
    t.commit({"g.txt": text("g", changes={1: "main"})}, days_ago=7, parents=[a2], branch="main")
    t.commit(
        {"g.txt": text("g", changes={20: "side"})}, days_ago=7, parents=[b2], branch="cross/side"
    )
    t.commit(
        {"f.txt": numbered(20, {5: "A wins", 15: "far"})},
        days_ago=6,
        parents=[a2, b2],
        branch="both-resolved",
    )
    t.commit({"h.txt": text("h")}, days_ago=6, parents=[b2], branch="cross/clean-add")
    c = t.commit(
        {"f.txt": None, "moved/f.txt": numbered(20, {5: "B wins"})}, days_ago=5, parents=[b2]
    )
    t.commit({}, days_ago=4, parents=[c], branch="cross/renamed")


def symlinks_and_modes(t: GitRepo) -> None:
    """Symlinks retargeted, turned into files; executable bits set against edits."""
    base = t.commit(
        {"link": ("target-a", SYMLINK), "run.sh": text("run"), "tool.sh": text("tool")},
        days_ago=10,
        branch="main",
    )
    t.commit(
        {"link": ("target-b", SYMLINK), "run.sh": (text("run"), EXECUTABLE)},
        days_ago=5,
        parents=[base],
        branch="main",
    )
    t.commit({"link": ("target-c", SYMLINK)}, days_ago=4, parents=[base], branch="link/other")
    t.commit({"link": ("target-b", SYMLINK)}, days_ago=4, parents=[base], branch="link-same")
    t.commit({"link": text("a file now")}, days_ago=3, parents=[base], branch="link-file")
    t.commit(
        {"run.sh": text("run", changes={3: "edit"})}, days_ago=3, parents=[base], branch="edit-run"
    )
    t.commit(
        {"run.sh": (text("run", changes={3: "edit"}), EXECUTABLE)},
        days_ago=3,
        parents=[base],
        branch="edit-run-exec",
    )
    t.commit(
        {"tool.sh": (text("tool"), EXECUTABLE)}, days_ago=2, parents=[base], branch="mode/tool"
    )
    t.commit({"tool.sh": None}, days_ago=2, parents=[base], branch="delete-tool")
    t.commit({"tool.sh": ("run.sh", SYMLINK)}, days_ago=1, parents=[base], branch="tool-link")


def lines(*items: str) -> str:
    """A file of the given lines."""
    return "".join(f"{item}\n" for item in items)


def edits_aligned_differently(t: GitRepo) -> None:
    """Edits close together in files of repeated lines (braces): libgit2's diff pairs the lines
    otherwise than git's histogram diff, so one calls clean what the other calls a conflict.

    Both triples were found by a random search of small files against `git merge-tree`.
    """
    base = t.commit(
        {
            "brace.go": lines("}", "b", "{", "{", "}", "{"),
            "list.go": lines("c", "a", "a", "}", "}"),
        },
        days_ago=10,
        branch="main",
    )
    t.commit(
        {
            "brace.go": lines("}", "b", "{", "{", "}"),
            "list.go": lines("c", "a", "}", "{", "}", "a", "a"),
        },
        days_ago=5,
        parents=[base],
        branch="main",
    )
    # libgit2: clean; git: a conflict.
    t.commit({"brace.go": lines("}", "{", "}")}, days_ago=4, parents=[base], branch="feature/brace")
    # libgit2: a conflict; git: clean.
    t.commit({"list.go": lines("c", "a", "a")}, days_ago=4, parents=[base], branch="feature/list")


SCENARIOS: dict[str, Callable[[GitRepo], None]] = {
    f.__name__: f
    for f in (
        renames_under_edits,
        renames_in_a_busy_trunk,
        directory_renames,
        rename_rename_and_delete,
        file_directory,
        submodules,
        identical_copies,
        criss_cross,
        symlinks_and_modes,
        edits_aligned_differently,
    )
}


def build(name: str, path: Path) -> GitRepo:
    """Write scenario `name` into a new bare repository at `path`."""
    t = GitRepo(path)
    SCENARIOS[name](t)
    return t


if __name__ == "__main__":
    into = Path(sys.argv[1])
    for scenario in SCENARIOS:
        build(scenario, into / f"{scenario}.git")
        print(into / f"{scenario}.git")
