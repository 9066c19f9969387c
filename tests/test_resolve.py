"""The resolution engine: each rule on real and small triples, the refusals, the checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzers.resolve import NeedsPerson, Resolved, resolve
from analyzers.resolve.diff3 import Hunk, diff3, parse
from analyzers.resolve.engine import RULES, keeps_lines
from analyzers.resolve.history import AGREES, ORDER, compare

FIXTURES = Path(__file__).parent / "fixtures" / "resolve"


def read(name: str) -> dict[str, bytes]:
    folder = FIXTURES / name
    return {part: (folder / part).read_bytes() for part in ("base", "ours", "theirs", "committed")}


def lines(*items: str) -> bytes:
    return "".join(f"{item}\n" for item in items).encode()


# -- real triples ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("changelog-rails-activesupport", "activesupport/CHANGELOG.md"),
        ("changelog-rails-activerecord", "activerecord/CHANGELOG.md"),
    ],
)
def test_real_changelog_conflicts_resolve_as_committed(name: str, path: str) -> None:
    files = read(name)
    outcome = resolve(path, files["base"], files["ours"], files["theirs"], RULES)
    assert isinstance(outcome, Resolved)
    assert outcome.rule == "changelog"
    assert outcome.content == files["committed"]


def test_a_changelog_whose_person_put_theirs_first_differs_only_in_order() -> None:
    # The known miss of the changelog rule: which entry goes on top is the person's choice.
    files = read("differs-order-rails-changelog")
    outcome = resolve(
        "activerecord/CHANGELOG.md", files["base"], files["ours"], files["theirs"], RULES
    )
    assert isinstance(outcome, Resolved)
    assert compare(outcome.content, files["committed"]) == ORDER


@pytest.mark.parametrize(
    ("name", "path"),
    [
        # both sides rewrote the same import lines; the person wrote new ones
        ("refused-imports-edited-ansible", "lib/ansible/module_utils/eos.py"),
        # both sides deleted imports, theirs more than ours; the person kept one theirs deleted
        ("refused-deleted-more-jenkins", "core/src/main/java/hudson/Util.java"),
    ],
)
def test_real_conflicts_that_must_be_refused(name: str, path: str) -> None:
    files = read(name)
    outcome = resolve(path, files["base"], files["ours"], files["theirs"], RULES)
    assert isinstance(outcome, NeedsPerson)
    assert outcome.grade.hunks == 1 and outcome.grade.overlap == "same lines"


def test_every_fixture_names_its_source() -> None:
    folders = [folder for folder in FIXTURES.iterdir() if folder.is_dir()]
    assert folders
    for folder in folders:
        source = (folder / "SOURCE").read_text()
        assert "repository: https://github.com/" in source
        assert "merge: " in source and "path: " in source


# -- git's diff3 -------------------------------------------------------------------------------


def test_diff3_reads_git_merge_file_hunks_with_their_base() -> None:
    chunks = diff3(lines("a", "b", "c"), lines("a", "B1", "c"), lines("a", "B2", "c"))
    hunks = [chunk for chunk in chunks if isinstance(chunk, Hunk)]
    assert len(hunks) == 1
    assert (hunks[0].base, hunks[0].ours, hunks[0].theirs) == ((b"b\n",), (b"B1\n",), (b"B2\n",))
    assert hunks[0].before == (b"a\n",) and hunks[0].after == (b"c\n",)


def test_diff3_keeps_a_files_own_short_markers_as_text() -> None:
    text = lines("<<<<<<< mine", "x", "=======", "y", ">>>>>>> theirs")
    assert parse(text) == [tuple(text.splitlines(keepends=True))]


# -- whole-file cases --------------------------------------------------------------------------


def test_same_content_on_both_sides_is_the_same_change() -> None:
    outcome = resolve("a.txt", b"x\n", b"y\n", b"y\n")
    assert outcome == Resolved(b"y\n", "same-change", ("same-change",))


def test_both_sides_deleting_is_the_same_change() -> None:
    outcome = resolve("a.txt", b"x\n", None, None)
    assert isinstance(outcome, Resolved) and outcome.content is None


def test_modify_delete_needs_a_person() -> None:
    outcome = resolve("a.py", b"x = 1\n", None, b"x = 2\n")
    assert isinstance(outcome, NeedsPerson)
    assert outcome.grade.overlap == "whole file"
    assert "deleted" in outcome.reason


def test_binary_needs_a_person() -> None:
    outcome = resolve("a.bin", b"\0a", b"\0b", b"\0c")
    assert isinstance(outcome, NeedsPerson) and "binary" in outcome.reason


def test_a_clean_line_merge_is_git_s_own() -> None:
    base = lines("a", "b", "c", "d", "e")
    outcome = resolve("a.txt", base, lines("A", "b", "c", "d", "e"), lines("a", "b", "c", "d", "E"))
    assert outcome == Resolved(lines("A", "b", "c", "d", "E"), "line-merge", ("line-merge",))


def test_a_last_line_without_newline_stays_so() -> None:
    outcome = resolve("a.txt", b"a\nb\nc", b"A\nb\nc", b"a\nb\nC")
    assert isinstance(outcome, Resolved) and outcome.content == b"A\nb\nC"


# -- per rule ----------------------------------------------------------------------------------


def test_whitespace_takes_the_side_that_changed_whitespace_on_purpose() -> None:
    # both made the same change to `x`; ours also reindented `y`, which theirs left as it was
    base = lines("def f():", "  x = 1", "  y = 2", "  return x + y")
    ours = lines("def f():", "  x = 3", "    y = 2", "  return x + y")
    theirs = lines("def f():", "  x = 3", "  y = 2", "  return x + y")
    merged = lines("def f():", "  x = 3", "    y = 2", "  return x + y")
    outcome = resolve("f.txt", base, ours, theirs, RULES)
    assert isinstance(outcome, Resolved) and outcome.rule == "whitespace"
    assert outcome.content == merged


def test_whitespace_takes_the_side_with_the_added_blank_line() -> None:
    base = lines("a", "final b", "c")
    ours = lines("a", "b", "c")
    theirs = lines("a", "", "b", "c")
    outcome = resolve("f.txt", base, ours, theirs, RULES)
    assert isinstance(outcome, Resolved) and outcome.rule == "whitespace"
    assert outcome.content == theirs


def test_whitespace_both_respaced_apart_is_refused() -> None:
    base = lines("a", "return 1", "c")
    ours = lines("a", "return  2", "c")
    theirs = lines("a", "return 2 ", "c")
    assert isinstance(resolve("f.txt", base, ours, theirs, RULES), NeedsPerson)


def test_superset_takes_the_side_that_holds_the_other_s_change() -> None:
    base = lines("a", "z")
    ours = lines("a", "b", "c", "z")
    theirs = lines("a", "b", "z")
    outcome = resolve("notes.txt", base, ours, theirs, RULES)
    assert isinstance(outcome, Resolved) and outcome.rule == "superset"
    assert outcome.content == ours


def test_changelog_keeps_both_entries_ours_first_with_the_separator() -> None:
    base = lines("# Changelog", "", "* old entry")
    ours = lines("# Changelog", "", "* ours entry", "", "* old entry")
    theirs = lines("# Changelog", "", "* theirs entry", "", "* old entry")
    outcome = resolve("CHANGELOG.md", base, ours, theirs, RULES)
    assert isinstance(outcome, Resolved) and outcome.rule == "changelog"
    assert outcome.content == lines(
        "# Changelog", "", "* ours entry", "", "* theirs entry", "", "* old entry"
    )


def test_changelog_rule_needs_a_changelog() -> None:
    base = lines("# Notes", "", "* old entry")
    ours = lines("# Notes", "", "* ours entry", "", "* old entry")
    theirs = lines("# Notes", "", "* theirs entry", "", "* old entry")
    outcome = resolve("docs/notes.md", base, ours, theirs, RULES)
    assert isinstance(outcome, NeedsPerson)


def test_changelog_entries_that_replace_lines_are_refused() -> None:
    base = lines("# Changelog", "## Unreleased", "* old")
    ours = lines("# Changelog", "## 1.1", "* ours")
    theirs = lines("# Changelog", "## 1.2", "* theirs")
    outcome = resolve("CHANGELOG.md", base, ours, theirs, RULES)
    assert isinstance(outcome, NeedsPerson)
    assert outcome.grade.overlap == "same lines"


def test_sorted_line_list_is_merged_as_a_sorted_union() -> None:
    base = lines("alpha", "delta")
    ours = lines("alpha", "beta", "delta")
    theirs = lines("alpha", "charlie", "delta")
    outcome = resolve("requirements.txt", base, ours, theirs, RULES)
    assert isinstance(outcome, Resolved) and outcome.rule == "line-list"
    assert outcome.content == lines("alpha", "beta", "charlie", "delta")


def test_line_list_both_changing_one_line_is_refused() -> None:
    base = lines("alpha==1", "beta==1")
    ours = lines("alpha==2", "beta==1")
    theirs = lines("alpha==3", "beta==1")
    assert isinstance(resolve("requirements.txt", base, ours, theirs, RULES), NeedsPerson)


def test_unsorted_line_list_insertions_are_refused() -> None:
    # which of two insertions goes first is a person's guess where the list is not sorted
    base = lines("zeta", "alpha")
    ours = lines("zeta", "mu", "alpha")
    theirs = lines("zeta", "beta", "alpha")
    assert isinstance(resolve(".gitignore", base, ours, theirs, RULES), NeedsPerson)


def test_sorted_imports_are_merged() -> None:
    base = lines('#include "a.h"', '#include "d.h"', "", "int x;")
    ours = lines('#include "a.h"', '#include "b.h"', '#include "d.h"', "", "int x;")
    theirs = lines('#include "a.h"', '#include "c.h"', '#include "d.h"', "", "int x;")
    outcome = resolve("x.c", base, ours, theirs, RULES)
    assert isinstance(outcome, Resolved) and outcome.rule == "imports"
    assert outcome.content == lines(
        '#include "a.h"', '#include "b.h"', '#include "c.h"', '#include "d.h"', "", "int x;"
    )


def test_changed_import_lines_are_refused() -> None:
    base = lines("from a import b, c", "import os")
    ours = lines("from a import b, d", "import os")
    theirs = lines("from a import b, e", "import os")
    assert isinstance(resolve("m.py", base, ours, theirs, RULES), NeedsPerson)


PY_BASE = lines("class A:", "    def f(self):", "        return 1", "")
PY_OURS = lines(
    "class A:",
    "    def f(self):",
    "        return 1",
    "",
    "    def g(self):",
    "        return 2",
    "",
)
PY_THEIRS = lines(
    "class A:",
    "    def f(self):",
    "        return 1",
    "",
    "    def h(self):",
    "        return 3",
    "",
)


def test_syntax_keeps_two_new_methods() -> None:
    outcome = resolve("a.py", PY_BASE, PY_OURS, PY_THEIRS, ("syntax",))
    assert isinstance(outcome, Resolved) and outcome.rule == "syntax"
    assert b"def g" in (outcome.content or b"") and b"def h" in (outcome.content or b"")


def test_syntax_refuses_the_same_method_defined_twice() -> None:
    theirs = PY_THEIRS.replace(b"def h", b"def g")
    outcome = resolve("a.py", PY_BASE, PY_OURS, theirs, ("syntax",))
    assert isinstance(outcome, NeedsPerson)
    assert "twice" in outcome.reason


def test_syntax_refuses_what_does_not_parse() -> None:
    ours = lines("x = [", "    1,")
    theirs = lines("x = [", "    2,")
    outcome = resolve("a.py", lines("x = ["), ours + b"]\n", theirs + b"]\n", ("syntax",))
    assert isinstance(outcome, NeedsPerson)


def test_neighbouring_changes_in_code_are_both_applied_when_asked() -> None:
    base = lines("a = 1", "b = 2", "c = 3")
    ours = lines("a = 10", "b = 2", "c = 3")
    theirs = lines("a = 1", "b = 20", "c = 3")
    outcome = resolve("m.py", base, ours, theirs, ("neighbouring",))
    assert isinstance(outcome, Resolved)
    assert outcome.content == lines("a = 10", "b = 20", "c = 3")


def test_rules_not_shipped_are_not_used_by_default() -> None:
    from analyzers.resolve.engine import SHIPPED

    base = lines("a = 1", "b = 2", "c = 3")
    ours = lines("a = 10", "b = 2", "c = 3")
    theirs = lines("a = 1", "b = 20", "c = 3")
    outcome = resolve("m.py", base, ours, theirs)
    assert ("neighbouring" in SHIPPED) == isinstance(outcome, Resolved)


# -- grades and checks ---------------------------------------------------------------------------


def test_grade_counts_lines_and_hunks() -> None:
    base = lines("a", "b", "c", "d", "e", "f", "g")
    ours = lines("a", "B1", "c", "d", "e", "F1", "g")
    theirs = lines("a", "B2", "c", "d", "e", "F2", "g")
    outcome = resolve("x.txt", base, ours, theirs)
    assert isinstance(outcome, NeedsPerson)
    assert (outcome.grade.hunks, outcome.grade.lines) == (2, 4)
    assert outcome.grade.overlap == "same lines"
    assert outcome.grade.level == "medium"


def test_deletion_against_edit_is_graded_so() -> None:
    base = lines("a", "b", "c")
    outcome = resolve("x.txt", base, lines("a", "c"), lines("a", "B", "c"))
    assert isinstance(outcome, NeedsPerson)
    assert outcome.grade.overlap == "deletion vs edit"


def test_the_line_check_refuses_a_dropped_or_invented_line() -> None:
    from analyzers.resolve.records import Answer

    hunk = Hunk((b"k\n",), (b"k\n", b"o\n"), (b"k\n", b"t\n"))
    assert keeps_lines(hunk, Answer((b"k\n", b"o\n", b"t\n")))
    assert not keeps_lines(hunk, Answer((b"k\n", b"o\n")))  # drops theirs' line
    assert not keeps_lines(hunk, Answer((b"o\n", b"t\n")))  # drops a line both kept
    assert not keeps_lines(hunk, Answer((b"k\n", b"o\n", b"t\n", b"x\n")))  # invents one


def test_resolution_is_the_same_every_run() -> None:
    files = read("changelog-rails-activesupport")
    triple = (files["base"], files["ours"], files["theirs"])
    first = resolve("activesupport/CHANGELOG.md", *triple, RULES)
    assert first == resolve("activesupport/CHANGELOG.md", *triple, RULES)


def test_rules_below_95_percent_on_history_do_not_ship() -> None:
    from analyzers.resolve.engine import SHIPPED

    assert SHIPPED == ("same-change", "line-merge")
    files = read("changelog-rails-activesupport")
    outcome = resolve("activesupport/CHANGELOG.md", files["base"], files["ours"], files["theirs"])
    assert isinstance(outcome, NeedsPerson)


def test_compare_tells_whitespace_and_order_apart() -> None:
    assert compare(b"a\nb\n", b"a\nb\n") == AGREES
    assert compare(b"a \nb\n", b"a\nb\n") == "whitespace"
    assert compare(b"b\na\n", b"a\nb\n") == ORDER
    assert compare(b"a\n", b"c\n") == "differs"


def test_versions_take_the_higher_side() -> None:
    # both sides raised the same part (the minor): the higher one is kept
    base, ours, theirs = b"DEF_VER=v2.44.0\n", b"DEF_VER=v2.46.0\n", b"DEF_VER=v2.45.0\n"
    outcome = resolve("GIT-VERSION-GEN", base, ours, theirs, RULES)
    assert isinstance(outcome, Resolved) and outcome.rule == "versions"
    assert outcome.content == ours
    outcome = resolve("GIT-VERSION-GEN", base, theirs, ours, RULES)
    assert isinstance(outcome, Resolved) and outcome.content == ours


@pytest.mark.parametrize(
    ("name", "path", "written"),
    [
        # git 2.45.2: 2.44.2 merged into 2.45.1, and the person wrote the new number
        ("differs-versions-git-version-gen", "GIT-VERSION-GEN", b"DEF_VER=v2.45.2"),
        # hibernate 7.2.14 -> 7.3.4 (ours) and 7.2.16 (theirs): the person wrote 7.3.6
        (
            "differs-versions-both-bumped-spring",
            "framework-platform/framework-platform.gradle",
            b"hibernate-core:7.3.6.Final",
        ),
    ],
)
def test_versions_leave_to_a_person_a_maintenance_line_merged_into_a_newer_one(
    name: str, path: str, written: bytes
) -> None:
    # the sides raised different parts (2.45.1 and 2.44.2): the person often writes a number
    # neither side has, and nothing in the lines says when
    files = read(name)
    outcome = resolve(path, files["base"], files["ours"], files["theirs"], RULES)
    assert isinstance(outcome, NeedsPerson)
    assert written in files["committed"] and written not in files["ours"] + files["theirs"]


def test_versions_of_different_shapes_are_refused() -> None:
    base, ours, theirs = b"java=8.0.345-x\n", b"java=17.0.4.1-x\n", b"java=8.0.352\n"
    assert isinstance(resolve(".sdkmanrc", base, ours, theirs, RULES), NeedsPerson)
