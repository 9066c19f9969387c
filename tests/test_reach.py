"""The pair prefilter: the indexes find exactly the pairs whose landings meet."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers.reach import Reach, meeting_pairs

PATHS = ["a", "a/x", "a/y", "a/b/z", "b", "b/x", "c/d/e", "c/d", "c"]
SIDES = st.lists(
    st.tuples(st.sampled_from(PATHS), st.sampled_from(["add", "edit", "delete"])), max_size=4
)


def reach_of(changes: list[tuple[str, str]]) -> Reach:
    paths = {path for path, _ in changes}
    under = {"/".join(p.split("/")[: i + 1]) for p in paths for i in range(p.count("/"))}

    def dirs(kind: str) -> frozenset[str]:
        return frozenset(
            "/".join(p.split("/")[: i + 1])
            for p, k in changes
            if k == kind
            for i in range(p.count("/"))
        )

    return Reach(frozenset(paths), dirs("add"), dirs("delete"), frozenset(under))


def meets(a: Reach, b: Reach) -> bool:
    """Whether two landings meet, pair by pair: what the indexes must find."""
    return not (
        a.paths.isdisjoint(b.paths)
        and a.adds_under.isdisjoint(b.deletes_under)
        and a.deletes_under.isdisjoint(b.adds_under)
        and a.paths.isdisjoint(b.under)
        and a.under.isdisjoint(b.paths)
    )


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from("pqrstuvw"), SIDES, max_size=8))
def test_the_indexes_find_every_meeting_pair_and_no_other(sides):
    reach = {name: reach_of(changes) for name, changes in sides.items()}
    expected = [(a, b) for a, b in combinations(sorted(reach), 2) if meets(reach[a], reach[b])]
    assert meeting_pairs(reach) == expected


def test_pairs_meet_on_a_path_a_moved_directory_or_a_file_against_a_directory():
    reach = {
        "edit-a": reach_of([("a/x", "edit")]),
        "edit-a-too": reach_of([("a/x", "edit")]),
        "add-to-c": reach_of([("c/d/e", "add")]),
        "delete-c": reach_of([("c/d/e", "delete")]),
        "file-c-d": reach_of([("c/d", "add")]),
        "alone": reach_of([("b/x", "edit")]),
    }
    assert meeting_pairs(reach) == [
        ("add-to-c", "delete-c"),
        ("add-to-c", "file-c-d"),
        ("delete-c", "file-c-d"),
        ("edit-a", "edit-a-too"),
    ]
