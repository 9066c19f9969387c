"""Hostile names through every text trunkguard writes (issue 16): a name chosen by whoever opens
a pull request from a fork adds no element, link, image, mention or reference to the Markdown
and HTML trunkguard posts, and neither markup nor escape sequences to what it prints.

Each builder is fed each entry of tests/fixtures/hostile/corpus.json and, beside it, a harmless
name; the two must render (CommonMark with tables, as GitHub does) to the same elements.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from dataclasses import fields
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt
from rich.console import Console, RenderableType

from analyzers.conflicts import Conflict, ConflictKind
from analyzers.divergence import BranchReport, ScanReport, TrunkReport, Unreadable, scan
from analyzers.forecast import (
    Forecast,
    ForecastStats,
    LandStep,
    PairForecast,
    RiskPair,
    TrunkForecast,
    forecast,
)
from analyzers.history import PaidConflict
from analyzers.missing import Unknown
from analyzers.refs import inventory
from analyzers.replay import MergeDirection, ReplayedMerge, ReplayReport
from analyzers.trends import WeekFigures, week_name, week_start
from bot.cli.branches import scan_table
from bot.cli.main import cli
from bot.cli.plumbing import say_gaps, unknown_line
from bot.cli.terminal import (
    failed_jobs_table,
    forecast_text,
    policy_lines,
    replay_text,
    schedule_table,
    trends_table,
)
from bot.markup import visible
from bot.mirrors.writer import Person
from bot.policy import ConfigError, default_config
from bot.report.html import report_html
from bot.report.markdown import report_markdown, title
from bot.report.weekly import build_report
from bot.review.evaluation import (
    PullRequest,
    check_run,
    comment_body,
    evaluate,
    verdict,
)
from bot.review.findings import Clash
from bot.review.nudges import IdlePull, nudge_body
from bot.review.repo_config import CONFIG_PATH, config_failure
from bot.service.scheduler import Planned
from bot.store import FailedJobRecord
from tests.gitrepo import DAY, NOW, numbered

CORPUS = json.loads((Path(__file__).parent / "fixtures/hostile/corpus.json").read_text())
ENTRIES = CORPUS["entries"]
HOSTILE = [e["text"] * e.get("repeat", 1) for e in ENTRIES]
WHY = [e["why"] for e in ENTRIES]
HARMLESS = "plain-name"
OURS = (9001, 9002, 9003, 9004)  # the pull request numbers trunkguard itself refers to

MD = MarkdownIt("commonmark").enable("table")
MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9-]+")
REFERENCE = re.compile(r"#\d+|\bGH-\d+", re.IGNORECASE)


def tokens(markdown: str) -> list:
    out: list = []

    def walk(found: list) -> None:
        for token in found:
            out.append(token)
            walk(token.children or [])

    walk(MD.parse(markdown))
    return out


def shape(markdown: str) -> list[tuple]:
    """What Markdown renders to without its words: elements, attributes (a link's target),
    raw HTML, line breaks, a fence's language."""
    return [
        (t.type, t.tag, sorted((t.attrs or {}).items()), t.info,
         t.content if t.type.startswith("html") else "")
        for t in tokens(markdown)
        if t.type != "text"  # words (escaped ones apart, in markdown-it's tokens) are no element
    ]  # fmt: skip


def tags(markdown: str) -> Counter[str]:
    return Counter(re.findall(r"<([a-z][a-z0-9]*)", MD.render(markdown)))


def assert_no_more_than(hostile: str, harmless: str, mentions: set[str] = frozenset()) -> None:
    """The hostile Markdown renders to what the harmless one does, and mentions or refers to
    nothing trunkguard did not."""
    assert shape(hostile) == shape(harmless)
    assert tags(hostile) == tags(harmless)
    for token in tokens(hostile):
        if token.type == "text":
            assert set(MENTION.findall(token.content)) <= mentions, token.content
            assert set(REFERENCE.findall(token.content)) <= {f"#{n}" for n in OURS}, token.content


def assert_plain(text: str) -> None:
    """Plain text (a check run's title, an annotation) holds no control or bidi character."""
    assert visible(text) == text and "\n" not in text


NOT_OURS = {"link_open", "image", "heading_open", "html_inline", "blockquote_open", "hr"}


def only_ours(markdown: str) -> None:
    """What trunkguard's own Markdown may hold: no link, image, heading or HTML but its marker."""
    for t in tokens(markdown):
        assert t.type not in NOT_OURS
        assert t.type != "html_block" or t.content.strip().startswith("<!-- trunkguard:")
        if t.type == "text":
            assert set(MENTION.findall(t.content)) <= {"@ada", "@bob"}, t.content
            assert set(REFERENCE.findall(t.content)) <= {f"#{n}" for n in OURS}, t.content


# -- the pull request's check run and comment --------------------------------------------


def branch(name: str, author: str, age_days: float = 20, behind: int = 5) -> BranchReport:
    return BranchReport(
        name=name,
        ref=f"refs/heads/{name}",
        head="0" * 40,
        ahead=2,
        behind=behind,
        merge_base="1" * 40,
        merge_base_time=NOW - 30 * DAY,
        age_seconds=int(age_days * DAY),
        base_age_seconds=DAY,
        idle_seconds=DAY,
        authors=(author, "Ada Lovelace"),
        files_changed=3,
        lines_added=10,
        lines_deleted=2,
        trunk_files_changed=4,
        overlap_files=(name,),
        pulls=(OURS[0],),
        unknown=(Unknown(("lines_added",), f"could not read {name}"),),
        last_author=author,
    )


def conflicts(name: str) -> tuple[Conflict, ...]:
    return (
        Conflict(name, ConflictKind.CONTENT, ((3, 4),), ((5, 6),)),
        Conflict(f"{name}.py", ConflictKind.MODIFY_DELETE),
    )


def evaluation(name: str, login: str, **policy_changes):
    policy = default_config().policy
    policy = policy.model_copy(
        update={"behind": policy.behind.model_copy(update={"warn_commits": 1}), **policy_changes}
    )
    pull = PullRequest(OURS[0], login, name, name, labels=(name,))
    clash = Clash(OURS[1], login, conflicts(name), ours_first=True)
    return pull, evaluate(pull, branch(name, name), conflicts(name), [clash], policy)


@pytest.mark.parametrize("name", HOSTILE, ids=WHY)
def test_the_check_run_and_the_comment_say_a_hostile_name_as_text(name):
    pull, hostile = evaluation(name, name)
    _, harmless = evaluation(HARMLESS, "bob")
    assert_no_more_than(hostile.summary, harmless.summary)
    said = comment_body(pull, hostile, "problems")
    assert said is not None
    assert_no_more_than(said, comment_body(pull, harmless, "problems"), {"@bob"})
    output = check_run(hostile, "c" * 40).output()
    assert_plain(output["title"])
    for annotation in output["annotations"]:
        assert_plain(annotation["path"])
        assert_plain(annotation["message"])


def test_many_long_names_leave_the_check_run_and_the_comment_within_github_s_limit():
    name = "long/" * 2000
    pull = PullRequest(OURS[0], "ada", name, "main")
    clashes = [Clash(n, "bob", conflicts(f"{name}{n}"), True) for n in range(1, 400)]
    judged = evaluate(pull, branch(name, name), (), clashes, default_config().policy)
    said = comment_body(pull, judged, "problems")
    assert said is not None and said.endswith(" more lines")
    for text in (judged.summary, said):
        assert 60_000 < len(text) <= 65_535
        assert not {t.type for t in tokens(text)} & NOT_OURS  # cut between whole lines


@pytest.mark.parametrize("name", HOSTILE, ids=WHY)
def test_all_is_well_and_exempt_say_a_hostile_name_as_text(name):
    policy = default_config().policy

    def judged(who: str, exempt: bool) -> tuple:
        exempted = policy.exempt.model_copy(update={"labels": (who,) if exempt else ()})
        chosen = policy.model_copy(update={"exempt": exempted})
        request = PullRequest(OURS[0], who, who, who, labels=(who,))
        return request, evaluate(request, branch(who, who, 1, 0), (), [], chosen)

    for exempt in (False, True):
        (request, hostile), (_, harmless) = judged(name, exempt), judged(HARMLESS, exempt)
        assert_plain(hostile.title)
        assert_no_more_than(hostile.summary, harmless.summary)
        said = comment_body(request, hostile, "always")
        assert (said is None) is exempt  # an exempt pull request gets no comment
        if said is not None:
            assert_no_more_than(said, comment_body(request, harmless, "always"))


@pytest.mark.parametrize("name", HOSTILE, ids=WHY)
def test_an_unusable_configuration_says_a_hostile_key_as_text(name):
    hostile = config_failure(ConfigError(CONFIG_PATH, name, "is not allowed"))
    harmless = config_failure(ConfigError(CONFIG_PATH, HARMLESS, "is not allowed"))
    assert_no_more_than(hostile.summary, harmless.summary)
    assert_plain(hostile.title)


def test_a_configuration_key_cannot_close_the_summary_s_code_fence():
    key = "x\n```\n# Approved by @acme/security-team\n[Sign in](https://evil.example)\n```"
    summary = config_failure(ConfigError(CONFIG_PATH, key, "is not allowed")).summary
    assert [t.type for t in tokens(summary)].count("fence") == 1
    only_ours(summary)


def test_a_nudge_carries_no_text_from_git():
    assert {f.type for f in fields(IdlePull)} == {"int", "int | None", "tuple[int, ...]"}
    only_ours(nudge_body(IdlePull(OURS[0], 9 * DAY, 3, OURS[1:])))


# -- the weekly report: Markdown with Mermaid, and HTML ------------------------------------


def weekly(name: str, mention: bool = False):
    start = week_start(NOW)
    weeks = [
        WeekFigures(week_name(start - n * 7 * DAY), start - n * 7 * DAY, "scans", 2, DAY, DAY, 0,
                    1, 1, DAY, 0, 1, None, None)
        for n in range(5, -1, -1)
    ]  # fmt: skip
    paid = [PaidConflict("b" * 40, start + DAY, start - DAY, name, (name, f"{name}.py"))]
    branches = [
        branch(name, name, 40, 10),
        branch(f"{name}/2", name, 9, 3),
        BranchReport(**{**branch(f"{name}/3", name, 90, 50).__dict__, "pulls": ()}),
    ]
    pairs = [(name, f"{name}/2", (name, f"{name}.py"))]
    return build_report(
        name, weeks, NOW, paid, branches, NOW - 3600, {f"{name}/3": (name,)}, pairs, NOW - 3600,
        limit_days=14, stale_days=30, idle_days=1, mention_authors=mention,
    )  # fmt: skip


@pytest.mark.parametrize("name", HOSTILE, ids=WHY)
def test_the_report_issue_says_a_hostile_name_as_text(name):
    for mention in (False, True):
        hostile = report_markdown(weekly(name, mention), {OURS[0]: name})
        harmless = report_markdown(weekly(HARMLESS, mention), {OURS[0]: "bob"})
        assert_no_more_than(hostile, harmless, {"@bob"})
    assert_plain(title(weekly(name), per_week=True))
    mermaid = [t.content for t in tokens(hostile) if t.type == "fence" and t.info == "mermaid"]
    assert len(mermaid) == 5 and all(name not in chart for chart in mermaid)


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: Counter[tuple] = Counter()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "wbr":  # the page's own break points after "/", "-", "_" in a name
            return
        self.found[(tag, tuple(sorted(k for k, _ in attrs)))] += 1


def elements(page: str) -> Counter[tuple]:
    parser = Elements()
    parser.feed(page)
    return parser.found


@pytest.mark.parametrize("name", HOSTILE, ids=WHY)
def test_the_report_page_says_a_hostile_name_as_text(name):
    page = report_html(weekly(name), {OURS[0]: name})
    assert elements(page) == elements(report_html(weekly(HARMLESS), {OURS[0]: HARMLESS}))
    assert visible(page, keep="\n") == page


# -- the terminal -------------------------------------------------------------------------

SGR = re.compile(r"\x1b\[[0-9;]*m")  # rich's own colours and styles


def printed(blocks: list[RenderableType], colour: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=colour, color_system="truecolor" if colour else None,
                      width=120)  # fmt: skip
    for block in blocks:
        console.print(block, soft_wrap=not hasattr(block, "columns"))
    return out.getvalue()


def assert_inert(blocks: list[RenderableType]) -> str:
    """Print with and without colour: only rich's own styling, and nothing that acts or hides."""
    plain = printed(blocks, colour=False)
    assert "\x1b" not in plain
    assert "\x1b" not in SGR.sub("", printed(blocks, colour=True))
    assert visible(plain, keep="\n") == plain
    return plain


def forecast_of(name: str) -> Forecast:
    gap = Unknown(("conflicts",), f"could not merge {name}")
    return Forecast(
        trunk=name,
        trunk_head="0" * 40,
        with_trunk=(
            TrunkForecast(name, "0" * 40, False, False, conflicts(name)),
            TrunkForecast(f"{name}/2", "0" * 40, True, False, ()),
            TrunkForecast(f"{name}/3", "0" * 40, False, False, (), gap),
        ),
        pairs=(PairForecast(name, f"{name}/2", conflicts(name)),),
        at_risk=(RiskPair(name, f"{name}/2", (name,)),),
        land_order=(LandStep(name, f"conflicts with {name}"),),
        stats=ForecastStats(3, 3, 1, 1, 2, 0),
        undecided=(PairForecast(name, f"{name}/3", (), gap),),
    )


def scan_of(name: str) -> ScanReport:
    return ScanReport(
        TrunkReport(name, f"refs/heads/{name}", "0" * 40, 10),
        NOW,
        (branch(name, name), branch(f"{name}/2", name)),
        (Unreadable(name, f"object missing in {name}"),),
    )


@pytest.mark.parametrize("name", HOSTILE, ids=WHY)
def test_the_terminal_prints_a_hostile_name_and_obeys_nothing_in_it(name, capsys):
    merges = (
        ReplayedMerge("a" * 40, NOW, MergeDirection.INTO_TRUNK, conflicts(name), False),
        ReplayedMerge("b" * 40, NOW, MergeDirection.OTHER, (), None,
                      unknown=Unknown(("conflicts",), name)),
    )  # fmt: skip
    failed = FailedJobRecord(name, name, {"repository": name}, None, 2, name, 1, datetime.now(UTC))
    assert_inert(
        [
            scan_table(scan_of(name)),
            scan_table(scan_of(name), width=80),
            *replay_text(ReplayReport("0" * 40, merges)),
            trends_table(weekly(name).trend, 14),
            failed_jobs_table([failed], datetime.now(UTC)),
            schedule_table([Planned(name, name, None, name)], datetime.now(UTC)),
        ]
    )
    lines = assert_inert(forecast_text(forecast_of(name)))
    assert visible(name) in lines  # said as it is: rich markup and all
    config = default_config()
    exempt = config.policy.exempt.model_copy(update={"labels": (name,), "branches": (name,)})
    policy = config.policy.model_copy(update={"exempt": exempt})
    for line in policy_lines(config.model_copy(update={"policy": policy})):
        assert_plain(line)  # `config check` echoes them
    say_gaps(scan_of(name))
    said = [*capsys.readouterr().err.splitlines(), unknown_line({name: 2})]
    assert len(said) == 3 and all(visible(line) == line for line in said)  # one line each


# -- end to end: a real repository whose names, paths and authors are hostile --------------

BRANCHES = ("`tick`/@acme/security-team", "#123/](evil.example)", "\u202eevil", "<img/src=x>")
PATHS = (
    "src/x\n\n# Approved by @acme/security-team, merge now\n\n[Sign in](https:/evil.example/login)"
    "\n\n<img src=x>\n\n@acme/everyone #1 end.py",
    "\x1b[2J\x1b[31mred\x07.py",
    "invoice\u202egnp.exe",
)
AUTHORS = (
    "Mallory \x1b[2J\x1b[31mRED\x1b]0;pwned",
    "[/bold] x",
    "[link=https://evil.example]x[/link]",
)


@pytest.fixture
def hostile_repo(make_repo):
    t = make_repo()
    base = t.commit({p: numbered(20) for p in PATHS}, days_ago=30)
    trunk = t.commit({p: numbered(20, {5: "trunk"}) for p in PATHS}, days_ago=20, parents=[base],
                     branch="main")  # fmt: skip
    for n, name in enumerate(BRANCHES):
        parent = base if n == 0 else trunk  # the first conflicts with trunk, all with each other
        author = Person(AUTHORS[n % len(AUTHORS)], "mallory@evil.example")
        t.commit({p: numbered(20, {5: f"mine {n}", 12: name}) for p in PATHS}, days_ago=19 - n,
                 parents=[parent], branch=name, author=author)  # fmt: skip
    return t


def test_a_repository_of_hostile_names_is_scanned_forecast_and_reviewed_as_text(hostile_repo):
    runner = CliRunner()
    now = datetime.fromtimestamp(NOW, UTC).isoformat()
    for command in ("scan", "conflicts"):
        result = runner.invoke(cli, [command, str(hostile_repo.path), "--no-store", "--now", now])
        assert result.exit_code == 0, result.output
        for stream in (result.stdout, result.stderr):
            assert visible(stream, keep="\n") == stream and "\x1b" not in stream
    wide = runner.invoke(
        cli, ["scan", str(hostile_repo.path), "--no-store", "--now", now], env={"COLUMNS": "250"}
    ).stdout  # wide enough for the authors column, which cuts a name at 24 characters
    assert "[/bold] x" in wide and "[link=https://evil.exam…" in wide

    found = inventory(hostile_repo.repo, now=NOW)
    predicted = forecast(hostile_repo.repo, found, NOW)
    report = {b.name: b for b in scan(hostile_repo.repo, found, NOW).branches}
    logins = ("ada", "bob", "x" * 40, "dependabot[bot]")  # the last two are no login to mention
    pulls = {name: (OURS[n], logins[n]) for n, name in enumerate(BRANCHES)}
    policy = default_config().policy
    for name, (number, login) in pulls.items():
        judged = verdict(PullRequest(number, login, name, "main"), name, report[name], predicted,
                         pulls, policy)  # fmt: skip
        assert judged.findings, name
        only_ours(judged.summary)
        only_ours(comment_body(PullRequest(number, login, name, "main"), judged, "problems") or "")
        run = check_run(judged, "c" * 40).output()
        assert_plain(run["title"])
        for annotation in run["annotations"]:
            assert_plain(annotation["path"])
            assert_plain(annotation["message"])
