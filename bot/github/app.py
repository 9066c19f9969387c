"""The App's authentication: JWTs signed with its private key, installation tokens cached
until shortly before they expire, one client per installation (or one client for a token)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from github import Auth, GithubRetry

from bot.github.client import GitHubClient, connect, github_calls


def token_client(api_url: str, token: str, retry: GithubRetry | None = None) -> GitHubClient:
    """A client with one token: a GitHub Actions GITHUB_TOKEN, for `pr-check`."""
    return GitHubClient(connect(api_url, Auth.Token(token), retry), lambda: token)


class GitHubApp:
    """The App: signs JWTs with its private key, and hands out one client per installation,
    each caching its installation token until shortly before it expires."""

    def __init__(
        self, app_id: int, private_key: str, api_url: str, retry: GithubRetry | None = None
    ) -> None:
        self._auth = Auth.AppAuth(app_id, private_key)
        self._api_url = api_url
        self._retry = retry
        self._clients: dict[int, GitHubClient] = {}
        self._lock = threading.Lock()

    def installation(self, installation_id: int) -> GitHubClient:
        """Return the client for one installation of the App."""
        with self._lock:
            client = self._clients.get(installation_id)
            if client is None:
                auth = self._auth.get_installation_auth(installation_id)
                github = connect(self._api_url, auth, self._retry)
                with github_calls(f"installation {installation_id}"):
                    auth.token  # noqa: B018  fetched now, so that a refusal names the installation
                # Github() gave `auth` its requester; its token property fetches and caches.
                client = GitHubClient(github, lambda: auth.token)
                self._clients[installation_id] = client
            return client

    def forget(self, installation_ids: Sequence[int]) -> None:
        """Drop the cached clients (and tokens) of uninstalled installations."""
        with self._lock:
            for installation_id in installation_ids:
                self._clients.pop(installation_id, None)
