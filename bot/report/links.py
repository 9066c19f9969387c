"""Links from the report to the repository on GitHub, built by us: https only, names quoted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

# owner/name as GitHub allows them: letters, digits, "-" (owner), also "." and "_" (name).
OWNER_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
REMOTE = (
    r"(?:https://|ssh://git@|git@|git://){host}[:/]"
    r"(?P<repo>[A-Za-z0-9][A-Za-z0-9-]{{0,38}}/[A-Za-z0-9._-]{{1,100}}?)(?:\.git)?/?"
)
HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::[0-9]{1,5})?")
LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")
SHA = re.compile(r"[0-9a-f]{7,64}")
GITHUB = "github.com"


@dataclass(frozen=True)
class GitHubHome:
    """A repository on github.com (or a GitHub Enterprise Server host): its owner/name and the
    addresses of what the report names."""

    owner_name: str
    host: str = GITHUB

    @property
    def url(self) -> str:
        """The repository's page."""
        return f"https://{self.host}/{quote(self.owner_name, safe='/')}"

    def person(self, login: str) -> str | None:
        """A GitHub user's page; None for anything but a login GitHub allows."""
        if not LOGIN.fullmatch(login) or login.endswith("[bot]"):
            return None
        return f"https://{self.host}/{login}"

    def branch(self, name: str) -> str:
        """A branch's tree."""
        return f"{self.url}/tree/{quote(name, safe='/')}"

    def pull(self, number: int) -> str:
        """A pull request's page."""
        return f"{self.url}/pull/{int(number)}"

    def commit(self, sha: str) -> str | None:
        """A commit's page; None for anything but a hexadecimal id."""
        return f"{self.url}/commit/{sha}" if SHA.fullmatch(sha) else None


def github_home(
    name: str | None, remote_url: str | None, hosts: tuple[str, ...] = (GITHUB,)
) -> GitHubHome | None:
    """The repository on GitHub fetched from `remote_url`, or named `name` (owner/name; None
    for a local path) when there is no remote. `hosts` are the GitHub hosts (github.com, a
    GitHub Enterprise Server's): a remote elsewhere (GitLab, a file path) links nowhere."""
    known = tuple(h.lower() for h in hosts if HOST.fullmatch(h))
    if remote_url is not None:
        for host in known:
            found = re.fullmatch(REMOTE.format(host=re.escape(host)), remote_url, re.IGNORECASE)
            if found is not None and found["repo"].split("/")[1] not in (".", ".."):
                return GitHubHome(found["repo"], host)
        return None
    if known and name and OWNER_NAME.fullmatch(name) and name.split("/")[1] not in (".", ".."):
        return GitHubHome(name, known[0])
    return None


def web_host(url: str) -> str | None:
    """The GitHub host a clone or API address is on: github.com for api.github.com, the
    server's name for GitHub Enterprise Server (https://ghe.example.com/api/v3)."""
    host = urlsplit(url).hostname if "://" in url else None
    if host is None or not HOST.fullmatch(host):
        return None
    return GITHUB if host == "api.github.com" else host
