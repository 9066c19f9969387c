"""The "Resolve conflicts" button, pressed: the base merged into the pull request's branch with
the engine's resolutions, pushed as one merge commit, or the reason nothing was pushed."""

from __future__ import annotations

import logging

import pygit2

from bot.github.records import RepositoryInfo
from bot.markup import code, prose
from bot.mirrors.fetch import BRANCH_MOVED, push_commit
from bot.review.evaluation import Evaluation
from bot.review.findings import Conclusion
from bot.review.mirror import fetch_under_lock
from bot.review.publish import post_check_run
from bot.review.resolution import PUSHED, is_release_line, resolution_merge
from bot.service.job import Follow, Job, Services, job
from bot.service.jobs.repository import repository_config

logger = logging.getLogger(__name__)


def _said(title: str, summary: str) -> Evaluation:
    return Evaluation(Conclusion.NEUTRAL, title, summary, (), ())


@job
def resolve_pull(
    services: Services,
    installation: int,
    repository: str,
    head_sha: str,
    numbers: list[int] | None = None,
) -> Follow:
    """Merge a pull request's base into its branch, each conflict resolved by the engine, and
    push one merge commit, when the head is still `head_sha` (the commit whose check run
    offered the button). Never forced; never into a fork that does not allow maintainers'
    edits; never without the repository's opt-in and the App's contents: write. Each refusal
    is said in a check run on that commit, and nothing is pushed."""
    client = services.client(installation)
    pulls = client.open_pulls(repository)
    # GitHub lists a fork's pull request in no check run: then it is found by its head. Two
    # open pull requests with one head (anyone can open a copy from a fork of their own) leave
    # no way to tell whose button it was: nothing is pushed.
    candidates = [p for p in pulls if (p.number in numbers if numbers else p.head_sha == head_sha)]
    if not candidates:
        logger.info("resolve pressed on a commit no open pull request has: %s", repository)
        return []
    sharing = [p for p in pulls if p.head_sha == head_sha]
    if len(candidates) > 1 or len(sharing) > 1:
        listed = ", ".join(f"#{p.number}" for p in (sharing if len(sharing) > 1 else candidates))
        shared = f"several open pull requests have this commit as their head ({listed})"
        said = _said(f"Not resolved: {shared}", f"Nothing was pushed: {shared}.")
        post_check_run(client, repository, head_sha, said)
        return []
    [pull] = candidates
    where = {"installation": installation, "repository": repository, "number": pull.number}
    if pull.head_sha != head_sha:
        post_check_run(
            client,
            repository,
            head_sha,
            _said(
                "Not resolved: the pull request moved on",
                f"Its head is now `{pull.head_sha[:10]}`, which is checked again; press the "
                "button there if it still offers it. Nothing was pushed.",
            ),
        )
        return [Job("evaluate_pull", where)]
    info = client.repository(repository)
    repo = fetch_under_lock(services.store, services.mirror_dir, client, repository, info)
    config = repository_config(repo, info.default_branch, repository)
    target = client.pull_target(repository, pull.number)
    # A fork is told by repository id, its URL from the names the API gives now (a repository
    # renamed since the delivery keeps its id).
    clone_url = info.clone_url if target.fork is None else _fork_url(info, target.fork)
    refusal: str | None = None
    if not config.resolve.offer:
        refusal = "this repository has not opted in (resolve.offer in .github/trunkguard.yml)"
    elif not client.can_push():
        refusal = "the App may not push (it needs the `contents: write` permission)"
    elif target.head_sha != head_sha:
        refusal = "the pull request moved on"
    elif target.fork == "":
        refusal = "the branch's fork is deleted"
    elif target.fork is not None and not target.maintainer_can_modify:
        refusal = "the branch is in a fork that does not allow edits by maintainers"
    elif target.fork is None and target.head_ref == info.default_branch:
        refusal = "the branch is the repository's default branch, which trunkguard never pushes to"
    elif target.fork is None and is_release_line(target.head_ref, config):
        refusal = "the branch is a release line, which trunkguard never pushes to"
    elif clone_url is None:
        refusal = "the fork's address cannot be told from the repository's"
    if refusal is not None or clone_url is None:
        said = _said(f"Not resolved: {refusal}", f"Nothing was pushed: {refusal}.")
        post_check_run(client, repository, head_sha, said)
        moved = target.head_sha != head_sha  # its new head is checked again
        return [Job("evaluate_pull", where)] if moved else []
    base = repo.references.get(f"refs/heads/{pull.base_ref}")
    if base is None:
        said = _said("Not resolved: the base branch is gone", "Nothing was pushed.")
        post_check_run(client, repository, head_sha, said)
        return []
    login = client.login()
    author = pygit2.Signature(login, f"{login}@users.noreply.github.com", services.now(), 0)
    rules = config.resolve.trusted
    merged = resolution_merge(repo, head_sha, str(base.target), pull.base_ref, author, rules)
    if merged.commit is None:
        at = f" ({code(merged.path)})" if merged.path else ""
        said = _said(
            f"Not resolved: {merged.problem}", f"Nothing was pushed: {merged.problem}{at}."
        )
        post_check_run(client, repository, head_sha, said)
        return [Job("evaluate_pull", where)]
    problem = push_commit(repo, clone_url, client.token(), merged.commit, target.head_ref)
    if problem is not None:
        moved = problem.startswith(BRANCH_MOVED)  # its new head is checked again
        title = f"Not resolved: {BRANCH_MOVED}" if moved else "Not resolved: the push was refused"
        said = _said(title, f"Nothing was pushed: {prose(problem)}")
        post_check_run(client, repository, head_sha, said)
        return [Job("evaluate_pull", where)] if moved else []
    repo.references.create(PUSHED + merged.commit, merged.commit, force=True)
    paths = "\n".join(f"- {code(path)}: {rule}" for path, rule in merged.resolved)
    post_check_run(
        client,
        repository,
        head_sha,
        _said(
            f"Resolved by trunkguard in {merged.commit[:10]}",
            f"trunkguard merged {code(pull.base_ref)} into this branch and pushed "
            f"`{merged.commit}`; the new head is checked as any other.\n\n{paths}",
        ),
    )
    logger.info("resolved and pushed", extra={"repository": repository, "pull": pull.number})
    return [Job("evaluate_pull", where)]


def _fork_url(info: RepositoryInfo, fork: str) -> str | None:
    """The fork's clone URL on the same host as the base repository's; None when there is no
    fork (GitHub's `head.repo` is null once it is deleted) or the base's URL does not end in
    its name, rather than a URL that is still the base's."""
    suffix = f"/{info.full_name}.git"
    if not fork or not info.clone_url.endswith(suffix):
        return None
    return info.clone_url.removesuffix(suffix) + f"/{fork}.git"
