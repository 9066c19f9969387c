"""Durations and documents people and machines read."""

from __future__ import annotations

import pytest

from bot.text import (
    clash_place,
    humane_duration,
    iso_time,
    line_ranges,
    listing,
    natural_key,
    plural,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "under a minute"),
        (59, "under a minute"),
        (60, "1 minute"),
        (119, "1 minute"),
        (7200, "2 hours"),
        (36 * 3600, "36 hours"),
        (9 * 86400, "9 days"),
        (13 * 86400, "13 days"),
        (14 * 86400, "2 weeks"),
        (45 * 86400, "6 weeks"),
        (60 * 86400, "8 weeks"),
        (61 * 86400, "2 months"),
        (70 * 86400, "2 months"),
        (729 * 86400, "23 months"),  # one unit per magnitude: never "24 months"
        (730 * 86400, "2 years"),
        (800 * 86400, "2 years"),
    ],
)
def test_humane_duration(seconds, text):
    assert humane_duration(seconds) == text


def test_humane_durations_never_read_larger_for_a_shorter_time():
    # Each unit takes over only at 2: the count before it never reaches the next unit's size.
    order = {"minute": 0, "hour": 1, "day": 2, "week": 3, "month": 4, "year": 5}
    seen = []
    for days in range(1, 4000):
        count, unit = humane_duration(days * 86400).split()
        seen.append((order[unit.rstrip("s")], int(count)))
    assert seen == sorted(seen)


def test_iso_time():
    assert iso_time(1_780_000_000) == "2026-05-28T20:26:40Z"
    assert iso_time(None) is None


@pytest.mark.parametrize(
    ("items", "most", "text"),
    [
        ([], 3, ""),
        (["a"], 3, "a"),
        (["a", "b", "c"], 3, "a, b, c"),
        (["a", "b", "c", "d", "e"], 3, "a, b, c and 2 more"),
        (["#1", "#2"], 1, "#1 and 1 more"),
    ],
)
def test_listing_names_the_first_and_counts_the_rest(items, most, text):
    assert listing(items, most) == text


def test_plural_says_one_in_the_singular():
    assert plural(1, "commit") == "1 commit"
    assert plural(0, "commit") == "0 commits"
    assert plural(2, "branch", "branches") == "2 branches"
    assert plural(1200, "pair") == "1,200 pairs"


@pytest.mark.parametrize(
    ("ranges", "text"),
    [
        (((1, 3), (6, 6), (8, 10)), "1-3, 6, 8-10"),
        (((0, 0),), "1"),  # an insertion before the first line
        (((0, 2), (8, 10), (3, 3), (9, 12)), "1-3, 8-12"),
        ((), ""),
    ],
)
def test_line_ranges_are_joined_one_way_and_never_show_line_0(ranges, text):
    assert line_ranges(ranges) == text


def test_names_sort_naturally():
    names = ["stable-2.10", "stable-2.2", "stable-2.9", "main"]
    assert sorted(names, key=natural_key) == ["main", "stable-2.2", "stable-2.9", "stable-2.10"]


@pytest.mark.parametrize(
    ("path", "kind", "shown"),
    [
        (
            "bin/ansible-doc~feature_x",
            "file/directory",
            ("bin/ansible-doc", "file on one side, directory on the other"),
        ),
        ("docs~main", "file/directory", ("docs", "file on one side, directory on the other")),
        ("a~b/c", "file/directory", ("a~b/c", "file on one side, directory on the other")),
        ("notes~", "file/directory", ("notes~", "file on one side, directory on the other")),
        ("src/a~1.py", "content", ("src/a~1.py", None)),
    ],
)
def test_a_placeholder_of_git_is_shown_as_the_path_it_stands_for(path, kind, shown):
    assert clash_place(path, kind) == shown
