"""Links from the report to the repository on GitHub, built by us: https only, names quoted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

# owner/name as GitHub allows them: letters, digits, "-" (owner), also "." and "_" (name).
OWNER_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
REMOTE = re.compile(
    r"(?:https://|ssh://git@|git@|git://)github\.com[:/]"
    r"(?P<repo>[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}?)(?:\.git)?/?"
)
SHA = re.compile(r"[0-9a-f]{7,64}")


@dataclass(frozen=True)
class GitHubHome:
    """A repository on github.com: its owner/name and the addresses of what the report names."""

    owner_name: str

    @property
    def url(self) -> str:
        """The repository's page."""
        return f"https://github.com/{quote(self.owner_name, safe='/')}"

    def branch(self, name: str) -> str:
        """A branch's tree."""
        return f"{self.url}/tree/{quote(name, safe='/')}"

    def pull(self, number: int) -> str:
        """A pull request's page."""
        return f"{self.url}/pull/{int(number)}"

    def commit(self, sha: str) -> str | None:
        """A commit's page; None for anything but a hexadecimal id."""
        return f"{self.url}/commit/{sha}" if SHA.fullmatch(sha) else None


def github_home(name: str | None, remote_url: str | None) -> GitHubHome | None:
    """The repository on github.com fetched from `remote_url`, or named `name` (owner/name; None
    for a local path) when there is no remote: a remote elsewhere (GHES, GitLab) links nowhere."""
    if remote_url is not None:
        found = REMOTE.fullmatch(remote_url)
        if found is None or found["repo"].split("/")[1] in (".", ".."):
            return None
        return GitHubHome(found["repo"])
    if name and OWNER_NAME.fullmatch(name) and name.split("/")[1] not in (".", ".."):
        return GitHubHome(name)
    return None
