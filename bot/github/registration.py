"""Registering the App from its manifest, the way Probot apps do: a setup page posts the
manifest to GitHub, GitHub sends back a code, the code is exchanged for the App's id, key and
webhook secret, which are kept in a file only its owner can read."""

from __future__ import annotations

import html
import ipaddress
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from bot.errors import TrunkguardError
from config import app_manifest

TIMEOUT = 20  # seconds for the code exchange
# GitHub's rule for user and organisation names: 1 to 39 letters, digits or hyphens, no hyphen
# at either end.
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?")


class RegistrationError(TrunkguardError):
    """The App could not be registered; the line says why."""


class WrongOwner(RegistrationError):
    """GitHub registered the App under another account than the one asked for."""


def is_login(name: str) -> bool:
    """Tell whether `name` can be a GitHub user or organisation name."""
    return _LOGIN.fullmatch(name) is not None


@dataclass(frozen=True)
class Credentials:
    """What GitHub hands back for a registered App (the key and secret never printed)."""

    app_id: int
    slug: str
    private_key: str
    webhook_secret: str
    html_url: str
    owner: str = ""  # the login of the account GitHub registered the App under
    owner_type: str = ""  # "User" or "Organization"

    def __repr__(self) -> str:
        return f"Credentials(app_id={self.app_id}, slug={self.slug!r})"


def manifest_for(url: str | None, with_resolve: bool = False) -> dict[str, Any]:
    """Return the App manifest, its URLs filled in from the server's public address;
    `with_resolve`: contents write, to push the merge commits of "Resolve conflicts"."""
    manifest: dict[str, Any] = json.loads(json.dumps(app_manifest()))  # a copy to fill in
    if with_resolve:
        manifest["default_permissions"]["contents"] = "write"
    if url is not None:
        if not url.startswith(("https://", "http://")):
            raise RegistrationError(f"'{url}' is not an http(s) URL")
        base = url.rstrip("/")
        manifest["url"] = base
        manifest["hook_attributes"]["url"] = f"{base}/webhook"
        manifest["redirect_url"] = f"{base}/setup/done"
    return manifest


def web_url(api_url: str) -> str:
    """GitHub's web address for an API address: github.com, or a GitHub Enterprise Server."""
    if api_url.rstrip("/") == "https://api.github.com":
        return "https://github.com"
    return api_url.rstrip("/").removesuffix("/api/v3")


def new_state() -> str:
    """A one-time value that ties GitHub's redirect back to this setup page."""
    return secrets.token_urlsafe(24)


def webhook_warning(url: str) -> str | None:
    """Say why GitHub.com cannot deliver webhooks to `url`, or not safely; None if it can."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    cannot = "GitHub.com cannot reach it"
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this machine: {cannot}"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if "." not in host:
            return f"{host} is not a public host name: {cannot}"
    else:
        if address.is_loopback:
            return f"{host} is a loopback address: {cannot}"
        if not address.is_global:
            return f"{host} is not a public address: {cannot}"
    if parts.scheme != "https":
        return "it is plain http: GitHub would send every delivery unencrypted"
    return None


def setup_page(
    manifest: dict[str, Any], github_web: str, state: str, organisation: str, resolve: bool = False
) -> str:
    """The setup page: one button that registers the App on GitHub from its manifest, the
    webhook address it gives GitHub, and a warning when GitHub cannot reach that address."""
    target = (
        f"{github_web}/organizations/{quote(organisation, safe='')}/settings/apps/new"
        if organisation
        else f"{github_web}/settings/apps/new"
    )
    hook = str(manifest["hook_attributes"]["url"])
    problem = webhook_warning(hook)
    warning = (
        f"""<p role="alert" style="border: 2px solid #b00; padding: 0.5em"><strong>Warning:
</strong>{html.escape(problem)}. Set TRUNKGUARD_PUBLIC_URL to the https address GitHub reaches
this server at, and restart.</p>"""
        if problem
        else ""
    )
    contents = "contents: write" if resolve else "contents: read"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trunkguard setup</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto">
<h1>Register trunkguard on GitHub</h1>
<p>trunkguard has no GitHub App credentials yet. The button below registers a private GitHub
App from trunkguard's manifest (checks, pull requests and issues: write; {contents}; metadata:
read). GitHub then sends you back here, and the App's id, private key and webhook secret are
kept in a file only this server's user can read.</p>
<p>GitHub will send webhooks to <code>{html.escape(hook)}</code>.</p>
{warning}
<form method="get">
<input type="hidden" name="organization" value="{html.escape(organisation)}">
<label><input type="checkbox" name="resolve" value="1"{" checked" if resolve else ""}>
Offer the "Resolve conflicts" button: trunkguard may push a merge commit to a pull request's
branch when a machine can resolve all its conflicts (asks for contents: write)</label>
<button type="submit">Update</button>
</form>
<form action="{html.escape(target)}?state={quote(state, safe="")}" method="post">
<input type="hidden" name="manifest" value="{html.escape(json.dumps(manifest))}">
<button type="submit">Register the GitHub App</button>
</form>
<p>For an organisation, open this page as <code>/?organization=NAME</code>.</p>
</body></html>"""


def exchange_code(api_url: str, code: str) -> Credentials:
    """Trade the code GitHub sent back for the new App's credentials
    (POST /app-manifests/{code}/conversions)."""
    if not code.replace("-", "").replace("_", "").isalnum():
        raise RegistrationError("the code GitHub sent back is malformed")
    try:
        answer = requests.post(
            f"{api_url.rstrip('/')}/app-manifests/{code}/conversions",
            headers={"Accept": "application/vnd.github+json"},
            timeout=TIMEOUT,
        )
    except requests.RequestException as error:
        raise RegistrationError(f"no answer from GitHub ({type(error).__name__})") from None
    if answer.status_code != 201:
        raise RegistrationError(
            f"GitHub refused the code ({answer.status_code}); codes last an hour and work once"
        )
    try:
        data = answer.json()
        owner = data.get("owner") or {}
        return Credentials(
            int(data["id"]),
            str(data["slug"]),
            str(data["pem"]),
            str(data["webhook_secret"]),
            str(data["html_url"]),
            str(owner.get("login") or ""),
            str(owner.get("type") or ""),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise RegistrationError("GitHub's answer lacks the App's credentials") from None


def check_owner(credentials: Credentials, organisation: str) -> None:
    """Refuse an App registered under another account than the organisation asked for (or,
    when none was, under an organisation rather than the user's own account)."""
    if organisation:
        if credentials.owner.lower() != organisation.lower():
            raise WrongOwner(
                f"GitHub registered the App under {credentials.owner or 'no account'}, not the "
                f"organisation {organisation}: its credentials are not kept (delete it on "
                "GitHub)"
            )
    elif credentials.owner_type != "User":
        raise WrongOwner(
            f"GitHub registered the App under {credentials.owner or 'no account'}, which is "
            "not a user's own account: its credentials are not kept (delete it on GitHub)"
        )


def save_credentials(path: Path, credentials: Credentials) -> None:
    """Write the credentials to `path`, readable by its owner only, replacing it whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(
            {
                "app_id": credentials.app_id,
                "slug": credentials.slug,
                "private_key": credentials.private_key,
                "webhook_secret": credentials.webhook_secret,
                "html_url": credentials.html_url,
                "owner": credentials.owner,
                "owner_type": credentials.owner_type,
            },
            file,
        )
    os.chmod(partial, 0o600)
    os.replace(partial, path)


def load_credentials(path: Path) -> Credentials | None:
    """Read credentials saved by the setup page; None if there are none."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Credentials(
            int(data["app_id"]),
            str(data["slug"]),
            str(data["private_key"]),
            str(data["webhook_secret"]),
            str(data["html_url"]),
            str(data.get("owner", "")),
            str(data.get("owner_type", "")),
        )
    except (ValueError, KeyError, TypeError, AttributeError, OSError):
        raise RegistrationError(
            f"{path}: not a credentials file written by the setup page"
        ) from None
