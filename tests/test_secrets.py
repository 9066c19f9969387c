"""Credentials in URLs: git gets them through a callback; nothing stores or shows them."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.urls import display_url, mask_url, split_url
from tests.gitrepo import GitRepo, lines

INSTALLATION = 5
TOKEN = "ghs_s3cretTokenOnlyGitMaySee"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://tg:hunter2@db/tg", "postgresql://tg:***@db/tg"),
        ("redis://:hunter2@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("postgresql://tg:hun@ter2@db/tg", "postgresql://tg:***@db/tg"),
        ("postgresql://tg:hun/ter2@db:x/tg", "postgresql://tg:***@db:x/tg"),  # unparseable
        ("postgresql://hunter2token@db/tg", "postgresql://***@db/tg"),
        ("postgresql://db/tg?sslmode=require&password=hunter2", "postgresql://db/tg?sslmode=require&password=***"),
        ("postgresql:///tg?host=/run&PASSWORD=hunter2&x=1", "postgresql:///tg?host=/run&PASSWORD=***&x=1"),
        ("host=db password=hunter2 dbname=tg", "host=db password=*** dbname=tg"),
        ("sqlite:////home/me/@work/tg.db", "sqlite:////home/me/@work/tg.db"),
        ("sqlite:///tg.db", "sqlite:///tg.db"),
    ],
)  # fmt: skip
def test_mask_url_hides_every_password_parsed_or_not(url, masked):
    assert mask_url(url) == masked
    assert "hunter2" not in mask_url(url)


def test_split_url_keeps_the_credentials_out_of_the_display_form():
    split = split_url("http://x-access-token:ghs%2Fabc@host:8080/org/app.git?x=1")
    assert split.shown == "http://host:8080/org/app.git?x=1"
    assert (split.username, split.password) == ("x-access-token", "ghs/abc")
    assert "ghs" not in repr(split)
    assert split.scrub("refused ghs/abc and ghs%2Fabc") == "refused *** and ***"
    assert display_url("git@github.com:org/app.git") == "git@github.com:org/app.git"
    assert display_url("/srv/git/app.git") == "/srv/git/app.git"
    assert display_url("https://TOKEN0123456@host/org/app") == "https://host/org/app"
    assert split_url("ssh://git@host/org/app").scrub("git error") == "git error"  # a mere name


@pytest.fixture
def served(tmp_path, github):
    """acme/app on the fake GitHub, fetched over smart HTTP by holders of TOKEN only."""
    path = github.add_repository("acme/app", INSTALLATION, "main")
    builder = GitRepo(tmp_path / "build.git")
    base = builder.commit({"a.txt": lines(3)}, days_ago=9, branch="main")
    builder.commit({"a.txt": lines(4)}, days_ago=2, parents=[base], branch="feature/x")
    builder.git("push", "--quiet", str(path), "+refs/*:refs/*")
    github.tokens[TOKEN] = INSTALLATION
    return github.clone_url("acme/app")


def with_token(url: str, token: str = TOKEN) -> str:
    return url.replace("http://", f"http://x-access-token:{token}@")


def everything_under(folder) -> bytes:
    found = [str(p).encode() for p in folder.rglob("*")]
    found += [p.read_bytes() for p in folder.rglob("*") if p.is_file()]
    return b"\n".join(found)


def test_a_scan_of_a_url_with_a_token_uses_it_and_never_keeps_or_shows_it(served, tmp_path):
    cache, db = tmp_path / "cache", tmp_path / "store"
    db.mkdir()
    url = with_token(served)
    runner = CliRunner()
    args = ["--cache-dir", str(cache), "--db", f"sqlite:///{db / 'tg.db'}"]
    assert runner.invoke(cli, ["scan", served, "--json", *args]).exit_code == 1  # needs TOKEN
    scanned = runner.invoke(cli, ["scan", url, "--json", *args])
    assert scanned.exit_code == 0, scanned.output
    document = json.loads(scanned.stdout)
    assert document["repository"] == served
    assert [b["name"] for b in document["branches"]] == ["feature/x"]
    table = runner.invoke(cli, ["scan", url, *args])
    assert table.exit_code == 0, table.output
    report = runner.invoke(cli, ["report", url, "--format", "markdown", *args])
    assert report.exit_code == 0, report.output
    # (a word joiner after the scheme: GitHub would link a bare URL in the issue)
    assert f"## trunkguard weekly report: {served}, " in report.stdout.replace("\u2060", "")

    for result in (scanned, table, report):
        assert TOKEN not in result.stdout and TOKEN not in result.stderr
        assert "x-access-token" not in result.output
    assert TOKEN.encode() not in everything_under(db)  # the database, its journal and WAL
    assert TOKEN.encode() not in everything_under(cache)  # the mirror's files and folder
    [mirror] = (cache / "mirrors").iterdir()
    config = (mirror / "config").read_text()
    assert re.search(rf"url = {re.escape(served)}\n", config)


def test_a_fetch_refused_says_so_without_the_token(served, tmp_path, github):
    refused = "ghs_refusedTokenNeverShown"
    github.tokens[refused] = INSTALLATION
    github.refused_tokens.add(refused)
    result = CliRunner().invoke(
        cli, ["scan", with_token(served, refused), "--cache-dir", str(tmp_path / "c"), "--json"]
    )
    assert result.exit_code == 1 and result.stdout == ""
    [line] = result.output.splitlines()
    assert line.startswith(f"Error: {served}: cannot fetch: ") and refused not in line
    assert not (tmp_path / "c" / "mirrors").exists() or not any(
        (tmp_path / "c" / "mirrors").iterdir()
    )


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://tg:hun/ter2@127.0.0.1:x/tg", "'postgresql://tg:***@127.0.0.1:x/tg' is not"),
        ("postgresql://tg:hunter2@127.0.0.1:1/tg", "postgresql://tg:***@127.0.0.1:1/tg"),
        ("postgresql://tg@127.0.0.1:1/tg?password=hunter2", "127.0.0.1:1/tg?password=***"),
        ("mysql://tg:hunter2@127.0.0.1:1/tg", "unsupported database 'mysql'"),
    ],
)  # fmt: skip
def test_a_database_url_is_shown_with_its_password_masked(url, said):
    result = CliRunner().invoke(cli, ["db", "current", "--db", url])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "hunter2" not in result.output and "ter2" not in result.output
    assert len(result.output.splitlines()) == 1 and said in result.output


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:p@host:1/org/app.git?token=SECRET#FRAG", "http://host:1/org/app.git?token=***"),
        (
            "https://host/app.git?access_token=SECRET&x=1",
            "https://host/app.git?access_token=***&x=1",
        ),
        ("https://host/app.git", "https://host/app.git"),
        ("/home/me/repo#1", "/home/me/repo#1"),  # a path: '#' is part of the name
    ],
)
def test_the_display_form_has_no_query_secret_or_fragment(url, shown):
    assert display_url(url) == shown
    assert "SECRET" not in split_url(url).scrub(f"fatal: unable to access '{url}'")
