"""A GitHub mirror's pull request heads: the plausibly open ones count, and say what was left."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from analyzers.divergence import scan
from analyzers.forecast import forecast
from analyzers.refs import PullHeads, PullRule, inventory
from bot.cli.main import cli
from tests.gitrepo import NOW, assert_matches_git
from tests.mirrorgen import build_mirror

NOW_ISO = "2026-05-28T20:26:40Z"


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    return build_mirror(tmp_path_factory.mktemp("mirror") / "app.git")


def test_default_keeps_branches_and_plausibly_open_pull_requests(mirror):
    found = inventory(mirror.repo, now=NOW)
    entries = {b.name: b for b in found.branches}
    old, new = mirror.reopened
    expected = {mirror.branch_of[n] for n in mirror.branch_of}
    expected |= {f"pull/{n}" for n in mirror.open_recent if n not in mirror.branch_of}
    expected -= {f"pull/{old}"}  # one head, two numbers: shown once, under the newest
    assert set(entries) == expected
    # A same-repository pull request is its branch, with its number; never a second entry.
    for number in mirror.open_recent[:4]:
        assert entries[mirror.branch_of[number]].pulls == (number,)
    assert entries[f"pull/{new}"].pulls == (new, old)
    left = found.pulls_left_out
    assert found.pulls_seen == mirror.pulls
    assert left.in_trunk == len(mirror.merged) + len(mirror.squashed_recent)
    assert left.inactive == len(mirror.squashed_old) + len(mirror.closed_old)
    assert left.not_open == 0


def test_the_open_list_decides_when_it_is_known(mirror):
    open_numbers = frozenset([*mirror.open_recent[3:6], mirror.closed_old[0]])
    found = inventory(mirror.repo, now=NOW, pulls=PullRule(open_numbers=open_numbers))
    names = {b.name for b in found.branches}
    numbers = {n for b in found.branches for n in b.pulls}
    assert numbers == open_numbers
    assert f"pull/{mirror.closed_old[0]}" in names
    assert mirror.branch_of[mirror.open_recent[3]] in names
    # Branches stay whatever the list says; only pull request heads are chosen by it.
    assert mirror.branch_of[mirror.open_recent[0]] in names
    assert found.pulls_left_out.not_open == mirror.pulls - len(open_numbers)
    assert found.index is None  # the list needs no walk of trunk


def test_none_keeps_only_branches(mirror):
    found = inventory(mirror.repo, now=NOW, pulls=PullRule(PullHeads.NONE))
    assert {b.name for b in found.branches} == set(mirror.branch_of.values())
    assert all(not b.pulls for b in found.branches)
    assert found.pulls_left_out.total == mirror.pulls


def test_all_heads_equal_git(mirror):
    found = inventory(mirror.repo, now=NOW, pulls=PullRule(PullHeads.ALL))
    distinct_heads = mirror.pulls - 1  # the reopened pull request shares its head
    folded = len(mirror.branch_of)
    assert len(found.branches) == distinct_heads  # branches absorbed their pull requests
    assert sum(1 for b in found.branches if b.is_pull) == distinct_heads - folded
    report = scan(mirror.repo, found, NOW, workers=2)
    merged = {mirror.branch_of.get(n, f"pull/{n}") for n in mirror.merged}
    assert {b.name for b in report.branches if b.integrated} == merged
    sample = random.Random(7).sample(list(report.branches), 40)
    assert_matches_git(mirror.path, type(report)(report.trunk, report.now, tuple(sample)))


def test_a_branch_and_its_pull_request_are_never_paired(mirror):
    result = forecast(mirror.repo, inventory(mirror.repo, now=NOW), NOW)
    names = [x.branch for x in result.with_trunk]
    assert len(names) == len(set(names))
    for number in mirror.branch_of:
        assert f"pull/{number}" not in names
    assert result.stats.active == len(mirror.open_recent) - 1


def test_cli_says_what_was_left_out_and_how_to_include_it(mirror):
    result = CliRunner().invoke(
        cli, ["scan", str(mirror.path), "--now", NOW_ISO, "--json", "--no-store"]
    )
    assert result.exit_code == 0, result.output
    left = len(mirror.merged) + len(mirror.squashed_recent)
    stale = len(mirror.squashed_old) + len(mirror.closed_old)
    assert result.stderr.strip() == (
        f"trunkguard: {left + stale:,} of {mirror.pulls:,} pull request heads left out "
        f"({left:,} already in trunk, {stale:,} with no commit in 30 days); "
        "--pulls all includes them"
    )
    doc = json.loads(result.stdout)
    branch = mirror.branch_of[mirror.open_recent[0]]
    entry = next(b for b in doc["branches"] if b["name"] == branch)
    assert entry["pull_requests"] == [mirror.open_recent[0]]


def test_cli_open_pulls_from_a_file(mirror, tmp_path):
    listing = tmp_path / "open.txt"
    listing.write_text(f"#{mirror.open_recent[5]}\n{mirror.open_recent[6]}\n")
    result = CliRunner().invoke(
        cli,
        ["scan", str(mirror.path), "--open-pulls", f"@{listing}", "--json", "--no-store"],
    )
    assert result.exit_code == 0, result.output
    names = {b["name"] for b in json.loads(result.stdout)["branches"]}
    pulls = {n for n in names if n.startswith("pull/")}
    assert pulls == {f"pull/{mirror.open_recent[5]}", f"pull/{mirror.open_recent[6]}"}
    assert "not in the list of open pull requests" in result.stderr


@pytest.mark.parametrize("value", ["12,x", "@/nonexistent/open.txt"])
def test_bad_open_pulls_is_one_line(mirror, value):
    result = CliRunner().invoke(cli, ["scan", str(mirror.path), "--open-pulls", value])
    assert result.exit_code == 2
    assert "--open-pulls" in result.output and "Traceback" not in result.output
