"""The "Resolve conflicts" button end to end: the check run offers it, a pressed button
(check_run.requested_action) pushes one merge commit over git's smart HTTP, and every refused
case says why and pushes nothing (a fake GitHub over real HTTP, as tests/test_app_end_to_end)."""

from __future__ import annotations

import json
import subprocess

import pygit2
import pytest

from bot.github.records import RepositoryInfo
from bot.mirrors.fetch import _Pushing, push_commit
from bot.service.jobs.resolve import _fork_url
from tests.fakegithub import FakeGitHub, Fault, Pull
from tests.gitrepo import GitRepo
from tests.test_app_end_to_end import INSTALLATION, REPO, WEBHOOKS, pull_request_event

BRANCH = "fix/align"
REPO_ID = 1000  # the fake numbers its repositories from 1000: acme/app is made first
FORK = "eve/app"  # eve's fork of acme/app
OPT_IN = "resolve:\n  offer: true\n"
WRITE = {"checks": "write", "pull_requests": "write", "issues": "write",
         "contents": "write", "metadata": "read"}  # fmt: skip


def _git_push(source, target, branch: str) -> None:
    subprocess.run(["git", "-C", str(source), "push", "--quiet", str(target), branch], check=True)


def lines(*items: str) -> str:
    return "".join(f"{item}\n" for item in items)


def build(github: FakeGitHub, config: str = OPT_IN, pull: Pull | None = None) -> str:
    """acme/app with #5, which conflicts with main in one file where git's own line merge
    (diff3) is clean while merge-ort's histogram alignment is not: the engine's `line-merge`
    resolves it. #5's branch is in acme/app, or in `pull.fork` when given: a fork made
    before main moved, which the branch is pushed to (and GitHub copies to
    refs/pull/5/head). Return the pull request's head."""
    path = github.add_repository(REPO, INSTALLATION, "main")
    assert github.repository_ids[REPO] == REPO_ID  # as pressed() says
    t = GitRepo(path.parent / "build.git")
    base = t.commit({"f.txt": lines("a", "b", "{", "b"), "README": "app\n"}, days_ago=3,
                    branch="main")  # fmt: skip
    fork = pull.fork if pull is not None else None
    if fork is not None:
        t.git("push", "--quiet", str(path), "main")
        github.add_fork(fork, REPO)
    trunk = {"f.txt": lines("a", "a", "b"), ".github/trunkguard.yml": config}
    t.commit(trunk, days_ago=1, parents=[base], branch="main")
    head = t.commit({"f.txt": lines("a", "b", "{", "b", "z", "b")}, days_ago=0.5,
                    parents=[base], branch=BRANCH)  # fmt: skip
    if fork is None:
        t.ref("refs/pull/5/head", head)
        t.git("push", "--quiet", str(path), "+refs/*:refs/*")
    else:
        t.git("push", "--quiet", str(path), "main")
        t.git("push", "--quiet", str(github.root / f"{fork}.git"), BRANCH)
    github.add_pull(REPO, pull or Pull(5, "ada", BRANCH, "main"))
    return str(head)


def pressed(head: str, number: int | None = 5) -> dict:
    """check_run requested_action for the button on `head`'s run (the recorded check_run
    delivery's shape, with GitHub's documented requested_action object). The run lists pull
    request `number`; None: none, as GitHub lists no pull request from a fork there."""
    payload = json.loads((WEBHOOKS / "check_run/rerequested.json").read_text())
    payload["action"] = "requested_action"
    payload["requested_action"] = {"identifier": "resolve"}
    payload["installation"] = {"id": INSTALLATION}
    payload["repository"].update(full_name=REPO, id=REPO_ID)
    payload["check_run"]["head_sha"] = head
    listed = {"number": number, "id": number, "url": f"https://api.github.com/x/{number}",
              "base": {"ref": "main", "repo": {"id": REPO_ID}}}  # fmt: skip
    payload["check_run"]["pull_requests"] = [] if number is None else [listed]
    return payload


def fake_head(github: FakeGitHub, full_name: str = REPO) -> str:
    repo = pygit2.Repository(str(github.root / f"{full_name}.git"))
    return str(repo.references[f"refs/heads/{BRANCH}"].target)


def said_resolved(github: FakeGitHub, head: str, pushed: str) -> None:
    """The pressed commit's run says what was pushed; the new head was checked like any other
    (the conflict gone: success, no button); the comment says who resolved it."""
    said = [r for r in github.check_runs if r["head_sha"] == head][-1]
    assert said["output"]["title"] == f"Resolved by trunkguard in {pushed[:10]}"
    [new] = [r for r in github.check_runs if r["head_sha"] == pushed]
    assert new["conclusion"] == "success" and "actions" not in new
    [comment] = github.comments.values()
    assert f"resolved by trunkguard in `{pushed[:10]}`" in comment["body"]


def refs(github: FakeGitHub, full_name: str) -> dict[str, str]:
    """Every reference of the fake's `full_name` and its target."""
    repo = pygit2.Repository(str(github.root / f"{full_name}.git"))
    return {name: str(repo.references[name].target) for name in repo.references}


def test_the_button_is_offered_pressed_and_pushes_one_merge_commit(served, github):
    github.permissions[INSTALLATION] = WRITE
    head = build(github)

    served.deliver("pull_request", pull_request_event("opened", 5, BRANCH, head), "d-1")

    assert github.invalid == []  # the actions validated against GitHub's OpenAPI description
    [run] = github.check_runs
    assert run["conclusion"] == "neutral"  # only a machine's conflict: a warning at most
    assert run["output"]["title"] == "Conflicts with main on 1 file that trunkguard can resolve"
    assert run["actions"] == [
        {
            "label": "Resolve conflicts",
            "description": "Merge the base in, resolving 1 file",
            "identifier": "resolve",
        }
    ]
    [comment] = github.comments.values()
    assert "— trunkguard can resolve this (line-merge)" in comment["body"]

    status, _ = served.deliver("check_run", pressed(head), "d-2")

    assert status == 202 and github.invalid == []
    assert github.git_pushes == [REPO]
    pushed = fake_head(github)
    repo = pygit2.Repository(str(github.root / f"{REPO}.git"))
    merge = repo[pygit2.Oid(hex=pushed)].peel(pygit2.Commit)
    main = repo.references["refs/heads/main"].target
    assert [str(p) for p in merge.parent_ids] == [head, str(main)]  # never a force-push
    assert merge.tree["f.txt"].data == b"a\na\nb\nz\nb\n"  # both sides' changes, git's diff3
    assert merge.author.name == "trunkguard-test[bot]"
    assert "- f.txt: line-merge" in merge.message and "Resolved-by: trunkguard" in merge.message
    # The new head was checked like any other: the conflict is gone.
    said_resolved(github, head, pushed)

    # The same delivery again (GitHub's "Redeliver"): nothing is pushed twice.
    served.deliver("check_run", pressed(head), "d-2")
    assert github.git_pushes == [REPO]


def test_without_contents_write_the_button_is_not_offered_and_a_press_pushes_nothing(
    served, github
):
    head = build(github)  # the App's least privilege: contents read
    served.deliver("pull_request", pull_request_event("opened", 5, BRANCH, head), "d-1")
    [run] = github.check_runs
    assert run["conclusion"] == "neutral" and "actions" not in run

    served.deliver("check_run", pressed(head), "d-2")

    assert github.git_pushes == [] and fake_head(github) == head
    said = github.check_runs[-1]["output"]
    assert (
        said["title"]
        == "Not resolved: the App may not push (it needs the `contents: write` permission)"
    )


def test_a_fork_that_allows_maintainers_edits_gets_the_merge_commit_on_its_branch(served, github):
    github.permissions[INSTALLATION] = WRITE
    head = build(github, pull=Pull(5, "eve", BRANCH, "main", fork=FORK,
                                   maintainer_can_modify=True))  # fmt: skip
    base_refs = refs(github, REPO)
    assert f"refs/heads/{BRANCH}" not in base_refs  # the branch is the fork's only
    assert base_refs["refs/pull/5/head"] == head == fake_head(github, FORK)

    served.deliver("pull_request", pull_request_event("opened", 5, BRANCH, head), "d-1")

    [run] = github.check_runs
    assert run["conclusion"] == "neutral"
    assert run["actions"][0]["identifier"] == "resolve"

    # GitHub lists no pull request from a fork in a check run: found by its head commit.
    status, _ = served.deliver("check_run", pressed(head, number=None), "d-2")

    assert status == 202 and github.invalid == []
    assert github.git_pushes == [FORK] and github.git_denied == []
    pushed = fake_head(github, FORK)
    fork = pygit2.Repository(str(github.root / f"{FORK}.git"))
    merge = fork[pygit2.Oid(hex=pushed)].peel(pygit2.Commit)
    main = base_refs["refs/heads/main"]
    assert [str(p) for p in merge.parent_ids] == [head, main]  # the old head, then the base
    assert merge.tree["f.txt"].data == b"a\na\nb\nz\nb\n"  # resolved by line-merge
    assert merge.author.name == "trunkguard-test[bot]"
    assert "- f.txt: line-merge" in merge.message
    # The base repository's branches are untouched; GitHub's pull ref followed the fork.
    assert refs(github, REPO) == {**base_refs, "refs/pull/5/head": pushed}
    said_resolved(github, head, pushed)

    served.deliver("check_run", pressed(head, number=None), "d-2")  # redelivered
    assert github.git_pushes == [FORK]


def test_a_fork_that_does_not_allow_maintainers_edits_is_not_offered_the_button(served, github):
    github.permissions[INSTALLATION] = WRITE
    head = build(github, pull=Pull(5, "eve", BRANCH, "main", fork=FORK))  # edits off

    served.deliver("pull_request", pull_request_event("opened", 5, BRANCH, head), "d-1")

    [run] = github.check_runs
    assert run["output"]["title"] == "Conflicts with main on 1 file that trunkguard can resolve"
    assert "actions" not in run  # pressing it could only be refused
    [comment] = github.comments.values()
    assert "— trunkguard can resolve this (line-merge)" in comment["body"]
    assert github.git_pushes == [] and github.git_denied == []


def test_a_fork_asked_about_in_vain_leaves_the_button_off_and_the_review_goes_on(served, github):
    github.permissions[INSTALLATION] = WRITE
    head = build(github, pull=Pull(5, "eve", BRANCH, "main", fork=FORK,
                                   maintainer_can_modify=True))  # fmt: skip
    github.faults.append(Fault("GET", r"/pulls/5$", 404, body={"message": "Not Found"}))

    served.deliver("pull_request", pull_request_event("opened", 5, BRANCH, head), "d-1")

    [run] = github.check_runs  # reviewed all the same, without the button
    assert run["conclusion"] == "neutral" and "actions" not in run
    assert [p for m, p, _ in github.requests if m == "GET" and p.endswith("/pulls/5")]


def test_a_deleted_fork_is_offered_no_button_and_a_press_pushes_nothing(served, github):
    github.permissions[INSTALLATION] = WRITE
    gone = Pull(5, "eve", BRANCH, "main", fork=FORK, maintainer_can_modify=True)
    head = build(github, pull=gone)
    gone.fork_deleted = True  # GitHub's head.repo is null from now on

    served.deliver("pull_request", pull_request_event("opened", 5, BRANCH, head), "d-1")
    [run] = github.check_runs
    assert "actions" not in run
    served.deliver("check_run", pressed(head, number=None), "d-2")

    assert github.git_pushes == [] and github.git_denied == []
    said = github.check_runs[-1]["output"]
    assert said["title"] == "Not resolved: the branch's fork is deleted"


def test_a_press_on_a_head_two_pull_requests_share_pushes_nothing(served, github):
    # eve opens #9 from her own fork with the same head as #5 (allowed edits both): the
    # press names no pull request, so whose branch it was for cannot be told.
    github.permissions[INSTALLATION] = WRITE
    head = build(github, pull=Pull(5, "vic", BRANCH, "main", fork=FORK,
                                   maintainer_can_modify=True))  # fmt: skip
    other = "mallory/app"
    github.add_fork(other, REPO)
    t = pygit2.Repository(str(github.root / f"{FORK}.git"))
    t.references.create("refs/heads/copy", pygit2.Oid(hex=head))
    _git_push(github.root / f"{FORK}.git", github.root / f"{other}.git", "copy")
    github.add_pull(REPO, Pull(9, "mallory", "copy", "main", fork=other,
                               maintainer_can_modify=True))  # fmt: skip
    before = {name: refs(github, name) for name in (REPO, FORK, other)}

    served.deliver("pull_request", pull_request_event("opened", 5, BRANCH, head), "d-1")
    [run] = github.check_runs
    assert "actions" not in run  # a press could not tell the two apart: no button
    served.deliver("check_run", pressed(head, number=None), "d-2")
    served.deliver("check_run", pressed(head, number=5), "d-3")  # named: refused all the same

    assert github.git_pushes == []
    assert {name: refs(github, name) for name in (REPO, FORK, other)} == before
    said = github.check_runs[-1]["output"]
    assert said["title"] == (
        "Not resolved: several open pull requests have this commit as their head (#5, #9)"
    )


@pytest.mark.parametrize(
    ("head_branch", "base_branch", "why"),
    [
        # From main into a release line: merging the line into main and pushing moves trunk.
        ("main", "release/1.2", "the repository's default branch, which trunkguard never "
                                "pushes to"),
        # A release line merged forward: main merged into the line would pollute it.
        ("release/1.2", "main", "a release line, which trunkguard never pushes to"),
    ],
)  # fmt: skip
def test_trunk_and_release_lines_are_never_pushed_to(served, github, head_branch, base_branch, why):
    github.permissions[INSTALLATION] = WRITE
    path = github.add_repository(REPO, INSTALLATION, "main")
    t = GitRepo(path.parent / "build.git")
    config = {".github/trunkguard.yml": OPT_IN}
    base = t.commit({"f.txt": lines("a", "b", "{", "b"), **config}, days_ago=3, branch="main")
    t.commit({"f.txt": lines("a", "a", "b"), **config}, days_ago=1, parents=[base],
             branch=base_branch)  # fmt: skip
    head = t.commit({"f.txt": lines("a", "b", "{", "b", "z", "b"), **config}, days_ago=0.5,
                    parents=[base], branch=head_branch)  # fmt: skip
    t.ref("refs/pull/5/head", head)
    t.git("push", "--quiet", str(path), "+refs/*:refs/*")
    github.add_pull(REPO, Pull(5, "ada", head_branch, base_branch))
    before = refs(github, REPO)

    served.deliver("pull_request", pull_request_event("opened", 5, head_branch, str(head)), "d-1")
    [run] = github.check_runs
    assert "actions" not in run
    served.deliver("check_run", pressed(str(head)), "d-2")

    assert github.git_pushes == [] and refs(github, REPO) == before
    assert github.check_runs[-1]["output"]["title"] == f"Not resolved: the branch is {why}"


def test_the_fake_serves_a_fork_to_the_app_only_where_maintainers_may_edit(github):
    # What the tests above rely on, as GitHub does it: an installation's token reaches a fork
    # only through a pull request that allows edits by maintainers, and only its branch.
    github.permissions[INSTALLATION] = WRITE
    pull = Pull(5, "eve", BRANCH, "main", fork=FORK)
    head = pygit2.Oid(hex=build(github, pull=pull))
    github.tokens["ghs_by_hand"] = INSTALLATION
    local = pygit2.Repository(str(github.root / "acme" / "build.git"))  # build()'s repository
    who = pygit2.Signature("eve", "eve@example.com", 0, 0)
    tree = local[head].peel(pygit2.Commit).tree.id
    child = str(local.create_commit(None, who, who, "next", tree, [head]))
    url = github.clone_url(FORK)

    assert push_commit(local, url, "ghs_by_hand", child, BRANCH) is not None
    assert github.git_denied == [FORK] and fake_head(github, FORK) == str(head)
    pull.maintainer_can_modify = True
    # (not push_commit, which would not push a branch that is not at the commit's parent)
    remote = local.remotes.create_anonymous(url)
    with pytest.raises(pygit2.GitError):
        remote.push([f"{child}:refs/heads/elsewhere"], callbacks=_Pushing("x", "ghs_by_hand", {}))
    assert github.git_denied == [FORK, FORK] and "refs/heads/elsewhere" not in refs(github, FORK)
    assert push_commit(local, url, "ghs_by_hand", child, BRANCH) is None
    assert github.git_pushes == [FORK] and fake_head(github, FORK) == child
    assert refs(github, REPO)["refs/pull/5/head"] == child


@pytest.mark.parametrize(
    ("case", "title"),
    [
        ("not opted in", "Not resolved: this repository has not opted in (resolve.offer in "
                         ".github/trunkguard.yml)"),
        ("fork", "Not resolved: the branch is in a fork that does not allow edits by maintainers"),
        ("protected", "Not resolved: the push was refused"),
        ("moved", "Not resolved: the pull request moved on"),
    ],
)  # fmt: skip
def test_each_refused_press_says_why_and_pushes_nothing(served, github, case, title):
    github.permissions[INSTALLATION] = WRITE
    # A fork whose pull request does not allow edits by maintainers (GitHub's default off).
    fork = Pull(5, "eve", BRANCH, "main", fork=FORK) if case == "fork" else None
    head = build(github, "" if case == "not opted in" else OPT_IN, fork)
    if case == "protected":
        github.protect(REPO, BRANCH)
    pressed_on = head
    if case == "moved":
        pressed_on = "1" * 40  # a commit the pull request no longer has as its head
    served_repos = [REPO, FORK] if case == "fork" else [REPO]
    before = {name: refs(github, name) for name in served_repos}

    served.deliver("check_run", pressed(pressed_on, None if case == "fork" else 5), "d-9")

    assert github.git_pushes == ([REPO] if case == "protected" else [])  # tried, refused
    assert github.git_denied == []  # nor tried where it may not push
    assert {name: refs(github, name) for name in served_repos} == before
    assert fake_head(github, FORK if case == "fork" else REPO) == head
    said = next(r for r in reversed(github.check_runs) if r["head_sha"] == pressed_on)
    assert said["output"]["title"] == title
    assert said["conclusion"] == "neutral"
    if case == "protected":
        assert (
            "Protected branch" in said["output"]["summary"]
            or "declined" in said["output"]["summary"]
        )


def test_a_rule_the_repository_trusts_resolves_its_conflicts_through_the_button(served, github):
    # `versions` does not ship; a repository that measured it on its own history opts in.
    github.permissions[INSTALLATION] = WRITE
    path = github.add_repository(REPO, INSTALLATION, "main")
    t = GitRepo(path.parent / "build.git")
    base = t.commit({"gradle.properties": "version=1.4.0\n"}, days_ago=3)
    trusted = "resolve:\n  offer: true\n  rules: [versions]\n"
    t.commit({"gradle.properties": "version=1.5.0\n", ".github/trunkguard.yml": trusted},
             days_ago=1, parents=[base], branch="main")  # fmt: skip
    head = str(t.commit({"gradle.properties": "version=1.6.0\n"}, days_ago=0.5, parents=[base],
                        branch=BRANCH))  # fmt: skip
    t.ref("refs/pull/5/head", pygit2.Oid(hex=head))
    t.git("push", "--quiet", str(path), "+refs/*:refs/*")
    github.add_pull(REPO, Pull(5, "ada", BRANCH, "main"))

    served.deliver("pull_request", pull_request_event("opened", 5, BRANCH, head), "d-1")
    [run] = github.check_runs
    assert run["conclusion"] == "neutral" and run["actions"][0]["identifier"] == "resolve"
    served.deliver("check_run", pressed(head), "d-2")

    repo = pygit2.Repository(str(github.root / f"{REPO}.git"))
    merge = repo[repo.references[f"refs/heads/{BRANCH}"].target].peel(pygit2.Commit)
    assert merge.tree["gradle.properties"].data == b"version=1.6.0\n"  # the higher version
    assert "- gradle.properties: versions" in merge.message


def test_a_changelog_conflict_is_resolved_with_both_entries_where_the_repository_trusts_it(
    served, github
):
    # The issue's own case: a pull request that conflicts with main only in CHANGELOG.md, both
    # sides having added an entry at the top. `changelog` does not ship (31 % as committed on
    # real history: which entry goes on top is each project's choice), so the repository
    # trusts it in its config.
    github.permissions[INSTALLATION] = WRITE
    path = github.add_repository(REPO, INSTALLATION, "main")
    t = GitRepo(path.parent / "build.git")
    log = "# Changelog\n\n## Unreleased\n\n* Older entry\n"
    base = t.commit({"CHANGELOG.md": log, "app.py": "x = 1\n"}, days_ago=3)
    trusted = "resolve:\n  offer: true\n  rules: [changelog]\n"
    on_main = log.replace("* Older", "* Faster start-up (#7)\n* Older")
    t.commit({"CHANGELOG.md": on_main, ".github/trunkguard.yml": trusted}, days_ago=1,
             parents=[base], branch="main")  # fmt: skip
    mine = log.replace("* Older", "* Billing export (#5)\n* Older")
    head = str(t.commit({"CHANGELOG.md": mine, "app.py": "x = 2\n"}, days_ago=0.5,
                        parents=[base], branch=BRANCH))  # fmt: skip
    t.ref("refs/pull/5/head", pygit2.Oid(hex=head))
    t.git("push", "--quiet", str(path), "+refs/*:refs/*")
    github.add_pull(REPO, Pull(5, "ada", BRANCH, "main"))

    served.deliver("pull_request", pull_request_event("opened", 5, BRANCH, head), "d-1")

    [run] = github.check_runs
    assert run["conclusion"] == "neutral"  # a machine's conflict: a warning, never a failure
    assert run["actions"][0]["description"] == "Merge the base in, resolving 1 file"
    [comment] = github.comments.values()
    assert "`CHANGELOG.md`" in comment["body"]
    assert "— trunkguard can resolve this (changelog)" in comment["body"]

    served.deliver("check_run", pressed(head), "d-2")

    assert github.git_pushes == [REPO]
    pushed = fake_head(github)
    repo = pygit2.Repository(str(github.root / f"{REPO}.git"))
    merge = repo[pygit2.Oid(hex=pushed)].peel(pygit2.Commit)
    assert [str(p) for p in merge.parent_ids] == [
        head,
        str(repo.references["refs/heads/main"].target),
    ]
    # Both entries, the pull request's (landing now) above main's (landed before).
    assert merge.tree["CHANGELOG.md"].data.decode() == log.replace(
        "* Older", "* Billing export (#5)\n* Faster start-up (#7)\n* Older"
    )
    assert merge.tree["app.py"].data == b"x = 2\n"
    assert "- CHANGELOG.md: changelog" in merge.message
    [new] = [r for r in github.check_runs if r["head_sha"] == pushed]
    assert new["conclusion"] == "success" and "actions" not in new
    [comment] = github.comments.values()
    assert f"resolved by trunkguard in `{pushed[:10]}`" in comment["body"]


@pytest.mark.parametrize(
    ("clone_url", "fork", "expected"),
    [
        ("https://github.com/acme/app.git", "eve/app", "https://github.com/eve/app.git"),
        ("https://ghe.example/git/acme/app.git", "eve/fork", "https://ghe.example/git/eve/fork.git"),
        ("https://github.com/acme/app.git", "", None),  # head.repo is null: the fork is gone
        ("https://github.com/acme/renamed.git", "eve/app", None),  # not the base's own URL
    ],
)  # fmt: skip
def test_a_forks_url_is_the_base_repositorys_with_the_forks_name_or_none(clone_url, fork, expected):
    # None rather than the base's own URL, where the fork's branch name would be pushed to.
    assert _fork_url(RepositoryInfo(REPO, clone_url, "main"), fork) == expected
