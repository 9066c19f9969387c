"""GitHub's REST API through PyGithub: the calls trunkguard makes, taking and giving plain
records, and their failures said in one line (rate limits as a time to wait, so a job is
retried, not failed)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
from github import Auth, Github, GithubException, GithubIntegration, GithubRetry
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededExceedsMaxWait,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.GithubObject import NonCompletableGithubObject, NotSet
from github.PaginatedList import PaginatedList
from urllib3.response import BaseHTTPResponse

from bot.errors import TrunkguardError, Unavailable
from bot.github.records import CheckRun, OpenPull, PullTarget, RepositoryInfo, ShownRun

MAX_INLINE_WAIT = 60.0  # seconds a request may wait for a rate limit; longer: retry the job later
RETRIES = 4  # per request, for 5xx and short rate limits, with exponential backoff
TIMEOUT = 20  # seconds per request
PER_PAGE = 100  # GitHub's largest page: 200 open pull requests are two requests
ACTIONS_LOGIN = "github-actions[bot]"  # who writes with a GitHub Actions GITHUB_TOKEN


class GitHubError(TrunkguardError):
    """A GitHub call that failed, said in one line without credentials."""


class GitHubUnavailable(GitHubError, Unavailable):
    """GitHub failed in a way that may pass (5xx, no answer): the job is worth retrying."""

    def __init__(self, message: str, retry_after: float = 60.0) -> None:
        super().__init__(message, retry_after)


class RateLimited(GitHubUnavailable):
    """GitHub's rate limit is spent until `retry_after` seconds from now."""


class NotFound(GitHubError):
    """The repository, pull request or installation is gone, or the App cannot see it."""


class _Listed(NonCompletableGithubObject):
    """An item of a REST list, kept as the JSON GitHub sent (nothing parsed)."""

    def _initAttributes(self) -> None:
        pass

    def _useAttributes(self, attributes: dict[str, Any]) -> None:
        pass


class _Retry(GithubRetry):
    """GithubRetry, but a Retry-After longer than MAX_INLINE_WAIT is not slept through in a
    request: it is raised, and the job is retried after it instead."""

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        wait = super().get_retry_after(response)
        if wait is not None and wait > self.max_rate_limit_wait_or_inline:
            raise RateLimitExceededExceedsMaxWait(
                response.status, {"message": "Retry-After"}, dict(response.headers), wait=wait
            )
        return wait

    @property
    def max_rate_limit_wait_or_inline(self) -> float:
        return self.max_rate_limit_wait if self.max_rate_limit_wait is not None else MAX_INLINE_WAIT


def retry_policy(max_wait: float = MAX_INLINE_WAIT, backoff: float = 1.0) -> GithubRetry:
    """How requests are retried: 5xx and 429 with backoff, rate limits up to `max_wait`."""
    return _Retry(
        total=RETRIES,
        backoff_factor=backoff,
        max_rate_limit_wait=max_wait,
        secondary_rate_wait=min(60.0, max_wait),
        status_forcelist=[429, *range(500, 600)],
    )


def _wait_from(headers: Any) -> float:
    """How long a rate-limited response asks us to wait, in seconds."""
    headers = {str(k).lower(): v for k, v in dict(headers or {}).items()}
    if str(headers.get("retry-after", "")).isdigit():
        return float(headers["retry-after"])
    reset = str(headers.get("x-ratelimit-reset", ""))
    if reset.isdigit():
        return max(1.0, int(reset) - time.time() + 1)
    return 60.0


def _message(error: GithubException) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    return str(data.get("message") or error.data or "no message")


@contextmanager
def github_calls(what: str) -> Iterator[None]:
    """Turn PyGithub's and requests' exceptions into trunkguard's, each in one line."""
    try:
        yield
    except RateLimitExceededExceedsMaxWait as error:
        wait = error.wait or _wait_from(error.headers)
        raise RateLimited(f"{what}: rate limited for {wait:.0f} s", wait) from None
    except RateLimitExceededException as error:
        wait = _wait_from(error.headers)
        raise RateLimited(f"{what}: rate limited for {wait:.0f} s", wait) from None
    except BadCredentialsException as error:
        raise GitHubError(f"{what}: GitHub refused the credentials ({_message(error)})") from None
    except UnknownObjectException:
        raise NotFound(f"{what}: not found (gone, or not visible to the App)") from None
    except GithubException as error:
        if error.status >= 500 or error.status == 429:
            raise GitHubUnavailable(f"{what}: GitHub answered {error.status}") from None
        if error.status == 403 and "rate limit" in _message(error).lower():
            wait = _wait_from(error.headers)
            raise RateLimited(f"{what}: rate limited for {wait:.0f} s", wait) from None
        raise GitHubError(f"{what}: GitHub answered {error.status}: {_message(error)}") from None
    except requests.RequestException as error:
        reason = type(error).__name__
        raise GitHubUnavailable(f"{what}: no answer from GitHub ({reason})") from None


class GitHubClient:
    """The calls trunkguard makes, as one installation (or one Actions token) may make them."""

    def __init__(
        self,
        github: Github,
        token: Any,
        login: Callable[[], str],
        permissions: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self._github = github
        self._token = token  # a callable giving a token valid for a while yet
        self._login = login  # a callable giving the login of the account we write as
        self._permissions = permissions  # what the installation may do (none known: {})

    def login(self) -> str:
        """Return the login of the account this client writes as (the App's `slug[bot]`)."""
        return self._login()

    def can_push(self) -> bool:
        """Whether the installation may push to repositories (contents: write)."""
        return self._permissions().get("contents") == "write"

    def token(self) -> str:
        """Return an access token for git over HTTPS (cached until shortly before it expires)."""
        with github_calls("installation token"):
            return str(self._token())

    def repository(self, full_name: str) -> RepositoryInfo:
        """Return where to clone `full_name` from, and its default branch."""
        with github_calls(full_name):
            repo = self._github.get_repo(full_name)
            return RepositoryInfo(repo.full_name, repo.clone_url, repo.default_branch)

    def open_pulls(self, full_name: str) -> list[OpenPull]:
        """Return the repository's open pull requests."""
        with github_calls(f"{full_name} pull requests"):
            repo = self._github.get_repo(full_name)
            # The JSON as listed, not PyGithub's PullRequest objects: building those for 200
            # open pull requests costs more than GitHub takes to list them.
            listed = PaginatedList(
                _Listed, self._github.requester, f"{repo.url}/pulls", {"state": "open"}
            )
            return [OpenPull.from_json(p.raw_data) for p in listed]

    def pull_target(self, full_name: str, number: int) -> PullTarget:
        """Return where pull request `number`'s head lives (a fork's, maybe) and may be pushed."""
        with github_calls(f"{full_name}#{number}"):
            repo = self._github.get_repo(full_name)
            return PullTarget.from_json(repo.get_pull(number).raw_data)

    def latest_check_run(self, full_name: str, head_sha: str, name: str) -> ShownRun | None:
        """Return our newest check run called `name` on `head_sha`, if any: what GitHub shows
        for the commit. Another App's run of the same name is not ours to update."""
        login = self.login()
        with github_calls(f"{full_name} check runs"):
            commit = self._github.get_repo(full_name).get_commit(head_sha)
            for run in commit.get_check_runs(check_name=name, filter="all"):
                if run.app is None or f"{run.app.slug}[bot]" != login:
                    continue
                shown = run.output.annotations_count if run.output else 0
                return ShownRun(int(run.id), run.external_id, int(shown or 0))
        return None

    def create_check_run(self, full_name: str, run: CheckRun) -> int:
        """Post a completed check run; return its id."""
        with github_calls(f"{full_name} check run"):
            created = self._github.get_repo(full_name).create_check_run(
                run.name,
                run.head_sha,
                status="completed",
                conclusion=run.conclusion,
                output=run.output(),
                external_id=run.external_id or NotSet,
                actions=run.actions_json() or NotSet,
            )
            return int(created.id)

    def update_check_run(self, full_name: str, run_id: int, run: CheckRun) -> None:
        """Replace what check run `run_id` says (its conclusion, output and external id)."""
        with github_calls(f"{full_name} check run {run_id}"):
            self._github.get_repo(full_name).get_check_run(run_id).edit(
                status="completed",
                conclusion=run.conclusion,
                output=run.output(),
                external_id=run.external_id or NotSet,
                actions=run.actions_json(),
            )

    def find_comment(self, full_name: str, number: int, marker: str) -> tuple[int, str] | None:
        """Return the first comment on pull request `number` that this client's account wrote
        with `marker` in it: id and body. Anyone can copy the marker; theirs is never ours."""
        login = self.login()
        with github_calls(f"{full_name}#{number} comments"):
            repo = self._github.get_repo(full_name)
            listed = PaginatedList(
                _Listed, self._github.requester, f"{repo.url}/issues/{number}/comments", None
            )
            for comment in listed:
                data = comment.raw_data
                if written_by(data, login) and marker in str(data.get("body") or ""):
                    return int(data["id"]), str(data["body"])
        return None

    def create_comment(self, full_name: str, number: int, body: str) -> int:
        """Comment on pull request `number`; return the comment's id."""
        with github_calls(f"{full_name}#{number} comment"):
            issue = self._github.get_repo(full_name).get_issue(number)
            return int(issue.create_comment(body).id)

    def edit_comment(self, full_name: str, number: int, comment_id: int, body: str) -> None:
        """Replace the text of a comment on pull request `number`."""
        with github_calls(f"{full_name} comment {comment_id}"):
            issue = self._github.get_repo(full_name).get_issue(number)
            issue.get_comment(comment_id).edit(body)

    def delete_comment(self, full_name: str, number: int, comment_id: int) -> None:
        """Delete a comment on pull request `number` (already gone is fine)."""
        try:
            with github_calls(f"{full_name} comment {comment_id}"):
                issue = self._github.get_repo(full_name).get_issue(number)
                issue.get_comment(comment_id).delete()
        except NotFound:
            pass

    def create_issue(self, full_name: str, title: str, body: str, label: str) -> int:
        """Open an issue with one label (GitHub creates the label if it is new); return its
        number."""
        with github_calls(f"{full_name} issue"):
            issue = self._github.get_repo(full_name).create_issue(
                title=title, body=body, labels=[label]
            )
            return int(issue.number)

    def edit_issue(self, full_name: str, number: int, title: str, body: str) -> None:
        """Replace an issue's title and text, and open it again if someone closed it."""
        with github_calls(f"{full_name}#{number}"):
            issue = self._github.get_repo(full_name).get_issue(number)
            issue.edit(title=title, body=body, state="open")


def written_by(comment: dict[str, Any], login: str) -> bool:
    """Tell whether a comment's JSON says the Bot account `login` wrote it."""
    # By author, not by `performed_via_github_app`: GitHub sets that as well on what a person
    # writes through the App with a user access token. A login ending in [bot] belongs to a
    # Bot account, a name no person can register.
    user = comment.get("user") or {}  # null for a deleted account ("ghost")
    return bool(user.get("login") == login and user.get("type") == "Bot")


def app_login(api_url: str, auth: Auth.AppAuth, retry: GithubRetry | None) -> str:
    """Return the login the App writes as: its slug and [bot] (GET /app with its JWT)."""
    integration = GithubIntegration(
        auth=auth, base_url=api_url, retry=retry or retry_policy(), timeout=TIMEOUT
    )
    with github_calls("the App"):
        return f"{integration.get_app().slug}[bot]"


def installation_permissions(
    api_url: str, auth: Auth.AppAuth, installation_id: int, retry: GithubRetry | None
) -> dict[str, str]:
    """Return what an installation of the App may do (GET /app/installations/{id}, JWT)."""
    integration = GithubIntegration(
        auth=auth, base_url=api_url, retry=retry or retry_policy(), timeout=TIMEOUT
    )
    with github_calls(f"installation {installation_id}"):
        granted = integration.get_app_installation(installation_id).permissions or {}
    return {str(k): str(v) for k, v in granted.items()}


def connect(api_url: str, auth: Auth.Auth, retry: GithubRetry | None) -> Github:
    """Return PyGithub's entry point for `api_url`, with trunkguard's retries and paging."""
    return Github(
        auth=auth,
        base_url=api_url,
        retry=retry or retry_policy(),
        timeout=TIMEOUT,
        per_page=PER_PAGE,
        lazy=True,  # objects are fetched when read: an edit is one request, not two
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
