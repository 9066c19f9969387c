"""The App's authentication: JWTs signed with its private key, installation tokens cached
until shortly before they expire, one client per installation (or one client for a token)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from cachetools import cachedmethod
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from github import Auth, GithubRetry

from bot.errors import TrunkguardError
from bot.github.client import (
    ACTIONS_LOGIN,
    GitHubClient,
    app_login,
    connect,
    github_calls,
    installation_permissions,
)

PERMISSIONS_SECONDS = 300  # how long an installation's permissions are taken as known


class InvalidKey(TrunkguardError):
    """The App's private key cannot sign its JWTs."""


def key_problem(pem: str) -> str | None:
    """Say why `pem` cannot be the App's private key (GitHub's are PEM RSA keys), or None."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # garbage, or with a passphrase
        return "not a PEM private key without a passphrase (GitHub's .pem file)"
    if not isinstance(key, RSAPrivateKey):
        return "not an RSA private key (GitHub Apps sign with RSA)"
    return None


def token_client(
    api_url: str, token: str, retry: GithubRetry | None = None, login: str = ACTIONS_LOGIN
) -> GitHubClient:
    """A client with one token: a GitHub Actions GITHUB_TOKEN, for `pr-check`."""
    return GitHubClient(connect(api_url, Auth.Token(token), retry), lambda: token, lambda: login)


class GitHubApp:
    """The App: signs JWTs with its private key, and hands out one client per installation,
    each caching its installation token until shortly before it expires."""

    def __init__(
        self, app_id: int, private_key: str, api_url: str, retry: GithubRetry | None = None
    ) -> None:
        problem = key_problem(private_key)
        if problem:
            raise InvalidKey(f"the App's private key: {problem}")
        self._auth = Auth.AppAuth(app_id, private_key)
        self._api_url = api_url
        self._retry = retry
        self._clients: dict[int, GitHubClient] = {}
        self._logins: dict[Any, str] = {}
        self._permissions: dict[int, tuple[float, dict[str, str]]] = {}
        self._lock = threading.Lock()

    @cachedmethod(lambda self: self._logins, lock=lambda self: self._lock)
    def login(self) -> str:
        """Return the login the App writes as, asked of GitHub once."""
        return app_login(self._api_url, self._auth, self._retry)

    def permissions(self, installation_id: int) -> dict[str, str]:
        """Return what an installation may do, asked of GitHub at most every few minutes (an
        owner who accepts new permissions is heard within PERMISSIONS_SECONDS)."""
        now = time.monotonic()
        with self._lock:
            asked = self._permissions.get(installation_id)
        if asked is None or now - asked[0] > PERMISSIONS_SECONDS:
            granted = installation_permissions(
                self._api_url, self._auth, installation_id, self._retry
            )
            asked = (now, granted)
            with self._lock:
                self._permissions[installation_id] = asked
        return asked[1]

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
                client = GitHubClient(
                    github,
                    lambda: auth.token,
                    self.login,
                    lambda: self.permissions(installation_id),
                )
                self._clients[installation_id] = client
            return client

    def forget(self, installation_ids: Sequence[int]) -> None:
        """Drop the cached clients (and tokens) of uninstalled installations."""
        with self._lock:
            for installation_id in installation_ids:
                self._clients.pop(installation_id, None)
                self._permissions.pop(installation_id, None)
