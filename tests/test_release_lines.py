"""Release lines apart from feature work, and work measured against the line it is based on:
checked against git's own counts."""

from __future__ import annotations

import json
import subprocess

import pygit2
import pytest
from click.testing import CliRunner

from analyzers.refs import PullHeads, PullRule, inventory, is_bare
from analyzers.survey import survey
from bot.cli.main import cli
from bot.policy import ConfigError, default_config, load_config
from bot.report.markdown import report_markdown
from bot.report.weekly import build_report
from bot.review.evaluation import PullRequest, exemption
from bot.service.scanning import LineChoice, branch_rule, choose_branches
from tests.gitrepo import DAY, NOW, lines
from tests.test_report import constructed

NOW_ISO = "2026-05-28T20:26:40Z"
DEFAULT = default_config().branches.rule()


@pytest.mark.parametrize(
    "name",
    [
        "release/1.2",
        "releases/2026-05",
        "release-1.4",
        "release1.5.3",
        "stable",
        "stable-2.17",
        "stable/2.2.x",
        "7-1-stable",
        "8-0-sec",
        "maint",
        "maint-1.x",
        "maintenance/v3",
        "v1.9",
        "v0.12-alpha",
        "2.x",
        "2.7",
    ],
)
def test_the_default_rule_knows_common_release_line_names(make_repo, name):
    t = make_repo()
    base = t.commit({"a.txt": "a\n"}, days_ago=30, branch="main")
    t.commit({"b.txt": "b\n"}, days_ago=20, parents=[base], branch=name)
    found = inventory(t.repo, pulls=PullRule(PullHeads.NONE), lines=DEFAULT)
    assert [b.name for b in found.release_lines] == [name]
    assert found.branches == ()


@pytest.mark.parametrize(
    "name",
    ["release-notes-env-credentials", "doc-yamlencode-stable", "20240919", "feature/v2-api"],
)
def test_feature_work_that_only_looks_like_a_release_stays_feature_work(make_repo, name):
    t = make_repo()
    base = t.commit({"a.txt": "a\n"}, days_ago=30, branch="main")
    t.commit({"b.txt": "b\n"}, days_ago=20, parents=[base], branch=name)
    found = inventory(t.repo, pulls=PullRule(PullHeads.NONE), lines=DEFAULT)
    assert [b.name for b in found.branches] == [name]
    assert found.release_lines == ()


def test_a_branch_whose_head_carries_a_version_tag_is_a_release_line(make_repo):
    t = make_repo()
    base = t.commit({"a.txt": "a\n"}, days_ago=30, branch="main")
    cut = t.commit({"b.txt": "b\n"}, days_ago=20, parents=[base], branch="lts")
    t.repo.references.create("refs/tags/v3.1.4", cut)
    other = t.commit({"c.txt": "c\n"}, days_ago=20, parents=[base], branch="feature/x")
    t.repo.references.create("refs/tags/nightly", other)  # not a version
    found = inventory(t.repo, pulls=PullRule(PullHeads.NONE), lines=DEFAULT)
    assert [b.name for b in found.release_lines] == ["lts"]
    assert [b.name for b in found.branches] == ["feature/x"]


def test_ignored_branches_are_left_out_and_counted(make_repo):
    t = make_repo()
    base = t.commit({"a.txt": "a\n"}, days_ago=30, branch="main")
    t.commit({"index.html": "site\n"}, days_ago=20, parents=[], branch="gh-pages")
    t.commit({"b.txt": "b\n"}, days_ago=20, parents=[base], branch="feature/x")
    found = inventory(t.repo, pulls=PullRule(PullHeads.NONE), lines=DEFAULT)
    assert [b.name for b in found.branches] == ["feature/x"]
    assert found.ignored == 1


@pytest.fixture
def backports(make_repo):
    """main; stable-1 cut 40 days ago with two fixes; a backport pull request on stable-1, one
    merged into it, and feature work on main."""
    t = make_repo()
    root = t.commit({"a.txt": lines(10)}, days_ago=60)
    cut = t.commit({"a.txt": lines(11)}, days_ago=40, parents=[root])
    trunk = cut
    for n in range(5):
        trunk = t.commit({"t.txt": f"{n}\n"}, days_ago=30 - n, parents=[trunk])
    t.ref("refs/heads/main", trunk)
    fix1 = t.commit({"f.txt": "fix 1\n"}, days_ago=20, parents=[cut])
    fix2 = t.commit({"g.txt": "fix 2\n"}, days_ago=10, parents=[fix1], branch="stable-1")
    t.ref("refs/pull/7/head", fix1)  # merged into stable-1: its head is on the line
    backport = t.commit({"h.txt": "backport\n"}, days_ago=2, parents=[fix2])
    t.ref("refs/pull/9/head", backport)
    t.commit({"i.txt": "feature\n"}, days_ago=3, parents=[trunk], branch="feature/x")
    return t


def count(t, spec: str) -> int:
    return int(t.git("rev-list", "--count", spec).strip())


def test_a_backport_is_measured_against_its_release_line_as_git_counts(backports):
    t = backports
    found = choose_branches(t.repo, NOW, pulls=PullRule(PullHeads.ALL))
    assert dict(found.bases) == {"pull/9": "stable-1"}
    report = survey(t.repo, found, NOW)
    by_name = {b.name: b for b in report.branches}
    assert set(by_name) == {"feature/x", "pull/9"}
    pull = by_name["pull/9"]
    assert pull.base == "stable-1" and by_name["feature/x"].base is None
    assert pull.ahead == count(t, "stable-1..refs/pull/9/head") == 1
    assert pull.behind == count(t, "refs/pull/9/head..stable-1") == 0
    assert pull.age_seconds == 2 * DAY and pull.files_changed == 1
    [line] = report.release_lines
    assert (line.name, line.based) == ("stable-1", ("pull/9",))
    assert line.ahead == count(t, "main..stable-1") == 2
    assert line.behind == count(t, "stable-1..main") == 5
    assert line.last_commit_time == NOW - 10 * DAY
    assert line.branched_time == NOW - 40 * DAY


def test_a_pull_request_head_a_release_line_already_holds_is_merged(backports):
    found = choose_branches(backports.repo, NOW, pulls=PullRule(PullHeads.ALL))
    assert "pull/7" not in {b.name for b in found.branches}
    assert found.pulls_left_out.in_line == 1
    # Where GitHub's list says it is open, it stays (with nothing of its own against the line).
    listed = PullRule(PullHeads.ALL, open_numbers=frozenset({7, 9}))
    found = choose_branches(backports.repo, NOW, pulls=listed)
    assert {b.name for b in found.branches} == {"feature/x", "pull/7", "pull/9"}


def test_the_forecast_leaves_out_work_on_release_lines(backports):
    found = choose_branches(backports.repo, NOW, pulls=PullRule(PullHeads.ALL))
    assert [b.name for b in found.on_trunk().branches] == ["feature/x"]


def test_no_release_lines_makes_every_branch_feature_work(backports):
    none = LineChoice(none=True)
    found = choose_branches(backports.repo, NOW, none, pulls=PullRule(PullHeads.ALL))
    assert found.release_lines == () and not found.bases
    assert {b.name for b in found.branches} == {"feature/x", "pull/7", "pull/9", "stable-1"}


def test_the_repository_configuration_on_trunk_chooses_the_release_lines(make_repo):
    t = make_repo()
    config = "branches:\n  release: ['prod']\n  tagged: false\n"
    base = t.commit({".github/trunkguard.yml": config}, days_ago=30, branch="main")
    t.commit({"b.txt": "b\n"}, days_ago=20, parents=[base], branch="prod")
    t.commit({"c.txt": "c\n"}, days_ago=20, parents=[base], branch="stable-2")
    found = choose_branches(t.repo, NOW, pulls=PullRule(PullHeads.NONE))
    assert [b.name for b in found.release_lines] == ["prod"]
    assert [b.name for b in found.branches] == ["stable-2"]
    # The command line has the last word.
    chosen = LineChoice(release=("stable-*",))
    found = choose_branches(t.repo, NOW, chosen, pulls=PullRule(PullHeads.NONE))
    assert [b.name for b in found.release_lines] == ["stable-2"]


def test_an_unusable_configuration_on_trunk_is_said_and_the_defaults_apply(make_repo):
    t = make_repo()
    head = t.commit({".github/trunkguard.yml": "branches: [oops\n"}, days_ago=3, branch="main")
    said: list[str] = []
    rule = branch_rule(t.repo, head, warn=said.append)
    assert rule == DEFAULT
    [line] = said
    assert line.startswith(".github/trunkguard.yml on trunk is ignored (not valid YAML")


def test_a_bad_glob_in_the_configuration_is_refused():
    with pytest.raises(ConfigError) as raised:
        load_config("branches:\n  release: ['stable-[']\n")
    assert raised.value.key == "branches.release"


def test_a_bare_mirror_without_core_bare_is_bare_as_git_says(make_repo):
    t = make_repo()
    head = t.commit({"a.txt": "a\n"}, days_ago=3, branch="main")
    branch = t.commit({"b.txt": "b\n"}, days_ago=2, parents=[head], branch="release1.5.3")
    stray = t.commit({"c.txt": "c\n"}, days_ago=1, parents=[head])
    t.ref("refs/remotes/origin/release1.5.3", stray)
    t.git("config", "--unset", "core.bare")
    repo = pygit2.Repository(str(t.path))
    told = subprocess.run(
        ["git", "-C", str(t.path), "rev-parse", "--is-bare-repository"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert told == "true" and is_bare(repo)
    found = inventory(repo, pulls=PullRule(PullHeads.NONE))
    assert [(b.name, b.target) for b in found.branches] == [("release1.5.3", branch)]


def test_a_clone_with_a_work_tree_is_not_bare(make_repo):
    t = make_repo(bare=False)
    t.commit({"a.txt": "a\n"}, days_ago=3, branch="main")
    assert not is_bare(pygit2.Repository(str(t.path)))


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_scan_shows_release_lines_apart_and_the_base_of_a_backport(backports):
    path = str(backports.path)
    result = run("scan", path, "--now", NOW_ISO, "--no-store", "--pulls", "all")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("2 branches: 0 over the 14-day limit; oldest: feature/x (3 days, ")
    assert "; 1 release line apart" in out.splitlines()[0]
    assert "pull/9 on stable-1" in out
    words = " ".join(out.split())  # the captions wrap at the terminal's width
    assert "on X: based on release line X (inferred), and measured against it" in words
    assert "1 release line, apart from feature work" in out
    assert "stable-1" in out and "pull/9" in out
    doc = json.loads(
        run("scan", path, "--now", NOW_ISO, "--no-store", "--pulls", "all", "--json").stdout
    )
    by_name = {b["name"]: b for b in doc["branches"]}
    assert by_name["pull/9"]["base"] == "stable-1" and by_name["feature/x"]["base"] is None
    [line] = doc["release_lines"]
    assert (line["name"], line["ahead"], line["behind"], line["based_on_it"]) == (
        "stable-1",
        2,
        5,
        ["pull/9"],
    )
    assert line["last_commit_at"] == "2026-05-18T20:26:40Z"


def test_conflicts_says_what_it_leaves_to_the_release_lines(backports):
    result = run("conflicts", str(backports.path), "--now", NOW_ISO, "--no-store", "--pulls", "all")
    assert result.exit_code == 0, result.output
    assert (
        "trunkguard: 1 branch based on a release line left out of the forecast (scan measures "
        "them against their line)"
    ) in result.stderr.splitlines()
    assert result.stdout.startswith("1 branch: 0 conflict with trunk")


def test_release_line_options_make_a_run_exploratory(backports):
    result = run("scan", str(backports.path), "--no-release-lines", "--db", "sqlite://")
    assert result.exit_code == 0, result.output
    assert "not stored: --release/--ignore/--no-release-lines choose the release lines" in (
        result.stderr
    )
    assert "stable-1" in result.stdout and "release line" not in result.stdout


def test_a_pull_request_from_a_release_line_is_exempt():
    policy = default_config().policy
    pull = PullRequest(1, "ada", "release/2.0", "main", False, ())
    said = exemption(pull, policy, DEFAULT.release)
    assert said == "Release line (matches 'release/*'): not held to feature work's limits"
    assert (
        exemption(PullRequest(2, "ada", "feature/x", "main", False, ()), policy, DEFAULT.release)
        is None
    )


def test_the_weekly_report_lists_release_lines_apart(backports):
    everything = PullRule(PullHeads.ALL)
    found = choose_branches(backports.repo, NOW, pulls=everything)
    scanned = survey(backports.repo, found, NOW)
    # A scan stored before release lines were told apart lists stable-1 among the branches.
    unsorted = choose_branches(backports.repo, NOW, LineChoice(none=True), pulls=everything)
    stored = survey(backports.repo, unsorted, NOW).branches
    assert "stable-1" in {b.name for b in stored}
    report = build_report(
        "acme/app",
        constructed().trend,
        NOW,
        (),
        stored,
        NOW,
        {},
        (),
        None,
        limit_days=14,
        stale_days=30,
        idle_days=6,
        release_lines=scanned.release_lines,
    )
    assert "stable-1" not in {b.name for b in report.oldest}
    text = report_markdown(report)
    assert "### Release lines" in text
    assert "| `stable-1` | 10 days ago | 5 | 2 | `pull/9` |" in text


def test_trunk_work_that_merged_a_release_line_in_stays_on_trunk(backports):
    t = backports
    trunk = t.repo.references["refs/heads/main"].target
    line = t.repo.references["refs/heads/stable-1"].target
    # Forward-porting the line's fixes: trunk's newest commit, the line merged in, one more.
    merged = t.commit({"f.txt": "fix 1\n", "g.txt": "fix 2\n"}, days_ago=1, parents=[trunk, line])
    t.commit({"j.txt": "more\n"}, days_ago=0.5, parents=[merged], branch="forward-port")
    found = choose_branches(t.repo, NOW, pulls=PullRule(PullHeads.NONE))
    assert "forward-port" not in found.bases
    # Against trunk it has 4 commits of its own (2 fixes, the merge, one more); against the
    # line, the merge, one more and the 5 trunk commits since the line was cut: git agrees.
    assert count(t, "main..forward-port") == 4 < count(t, "stable-1..forward-port") == 7


def test_a_cherry_picked_backport_is_as_old_as_its_pick_not_its_original(backports):
    t = backports
    line = t.repo.references["refs/heads/stable-1"].target
    # Cherry-picked today from a trunk commit written a year ago: git keeps the author time.
    picked = t.commit({"k.txt": "fix\n"}, days_ago=365, committed_days_ago=1, parents=[line])
    t.ref("refs/pull/11/head", picked)
    found = choose_branches(t.repo, NOW, pulls=PullRule(PullHeads.ALL))
    by_name = {b.name: b for b in survey(t.repo, found, NOW).branches}
    assert by_name["pull/11"].base == "stable-1"
    assert by_name["pull/11"].age_seconds == 1 * DAY
