"""`trunkguard demo` writes only in a folder of its own and never empties anyone else's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.mirrors.demo import MARKER, DemoFolderError, claim
from tests.gitrepo import git


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its content, to tell that nothing changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def demo(*args):
    return CliRunner().invoke(cli, ["demo", *args])


@pytest.fixture
def work_tree(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    git(folder, "init", "--quiet")
    (folder / "app.py").write_text("print('mine')\n")
    (folder / "thesis.tex").write_text("\\chapter{Five years of work}\n")
    return folder


@pytest.mark.parametrize("where", ["work tree", "current folder", "thesis"])
def test_a_folder_that_is_not_a_demo_is_refused_untouched(tmp_path, work_tree, monkeypatch, where):
    if where == "thesis":
        folder = tmp_path / "thesis"
        folder.mkdir()
        (folder / "thesis.pdf").write_bytes(b"%PDF-1.7 five years")
        path = str(folder)
    elif where == "current folder":
        folder = work_tree
        monkeypatch.chdir(folder)
        path = "."
    else:
        folder, path = work_tree, str(work_tree)
    before = tree(folder)
    result = demo("--path", path, "--json")
    assert result.exit_code == 1
    assert "is not empty and not a trunkguard demo" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    assert tree(folder) == before
    assert sorted(os.listdir(folder.parent)) == sorted(os.listdir(tmp_path))  # nothing beside


def test_a_file_is_refused_untouched(tmp_path):
    thesis = tmp_path / "thesis.pdf"
    thesis.write_bytes(b"%PDF-1.7 five years")
    result = demo("--path", str(thesis), "--json")
    assert result.exit_code == 2 and "is a file" in result.stderr
    assert thesis.read_bytes() == b"%PDF-1.7 five years"


def test_the_demo_keeps_everything_in_its_folder_and_replaces_only_its_own(tmp_path):
    place = tmp_path / "place"
    place.mkdir()
    folder = place / "demo"
    first = demo("--path", str(folder))
    assert first.exit_code == 0, first.output
    assert os.listdir(place) == ["demo"]  # nothing written beside the folder
    assert {MARKER, "repo.git", "demo.db", "report.html"} <= set(os.listdir(folder))
    assert str(folder / "report.html") in first.stdout.replace("\n", "")
    (folder / "notes.txt").write_text("mine")
    (folder / "report.html").write_text("stale")
    again = demo("--path", str(folder))
    assert again.exit_code == 0, again.output
    assert (folder / "notes.txt").read_text() == "mine"  # not the demo's: left alone
    assert "<html" in (folder / "report.html").read_text()
    assert os.listdir(place) == ["demo"]


def test_an_empty_folder_is_used(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    result = demo("--path", str(folder), "--json")
    assert result.exit_code == 0, result.output
    assert (folder / MARKER).is_file() and (folder / "repo.git" / "HEAD").is_file()


def test_a_repository_the_demo_did_not_build_is_refused_even_in_a_demo_folder(tmp_path):
    folder = tmp_path / "d2"
    folder.mkdir()
    (folder / MARKER).write_text("")
    (folder / "repo.git").mkdir()
    (folder / "repo.git" / "important").write_text("precious")
    with pytest.raises(DemoFolderError, match="was not built by trunkguard demo"):
        claim(folder)
    assert (folder / "repo.git" / "important").read_text() == "precious"


def test_the_demo_shows_trunkguard_merge_in_a_clone_of_its_own(tmp_path):
    folder = tmp_path / "demo"
    result = demo("--path", str(folder))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "$ trunkguard merge" in out
    assert "needs you src/billing.py: both sides changed the same lines" in out
    assert "— needs a person (easy: 2 lines in 1 hunk)" in out  # a pair, labelled too
    assert (folder / "work" / ".git" / MARKER).is_file()
    again = demo("--path", str(folder))  # the clone is the demo's: replaced
    assert again.exit_code == 0, again.output


def test_a_work_tree_the_demo_did_not_make_is_refused(tmp_path):
    folder = tmp_path / "d3"
    folder.mkdir()
    (folder / MARKER).write_text("")
    (folder / "work").mkdir()
    (folder / "work" / "thesis.tex").write_text("precious")
    with pytest.raises(DemoFolderError, match="was not made by trunkguard demo"):
        claim(folder)
    assert (folder / "work" / "thesis.tex").read_text() == "precious"
