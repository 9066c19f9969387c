"""URLs as they may be shown or stored: credentials masked or split off, never echoed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

# Secrets a query string (or libpq's key=value form) may carry: masked wherever a URL is shown.
_QUERY_SECRET = re.compile(
    r"(?i)(\b(?:password|passwd|pwd|token|access_token|private_token|secret|client_secret"
    r"|api_key|apikey|key|sig|signature|auth)=)[^&#;\s]*"
)
_AUTHORITY_END = re.compile(r"[/?#]")


def mask_url(url: str) -> str:
    """Return `url` with its password masked, parsed or not: whatever lies between '://' and
    the last '@' of the address, and every `password=` value (libpq takes one in the query)."""
    scheme, separator, rest = url.partition("://")
    # A netloc never starts with '/' (sqlite:////path): then there is no userinfo to mask.
    if separator and not rest.startswith("/"):
        userinfo, at, after = rest.rpartition("@")
        if at:
            user, colon, _ = userinfo.partition(":")
            kept = f"{user}:" if colon and not _AUTHORITY_END.search(user) else ""
            url = f"{scheme}://{kept}***@{after}"
    return _QUERY_SECRET.sub(r"\1***", url)


@dataclass(frozen=True)
class SplitURL:
    """A URL as shown (no userinfo) and the credentials it carried, kept out of every repr."""

    shown: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def secrets(self) -> list[str]:
        """Return the credentials, decoded and percent-encoded, to scrub from messages."""
        # A user name may be a token (https://TOKEN@host/...); a short one is only a name.
        user = self.username if len(self.username or "") >= 8 else None
        found = {s for s in (user, self.password) if s}
        return sorted(found | {quote(s, safe="") for s in found}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """Return `text` with every credential of the URL replaced by '***'."""
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return _QUERY_SECRET.sub(r"\1***", text)


def split_url(url: str) -> SplitURL:
    """Split the userinfo off `url` (scheme://user:password@host/path): the display form has
    none; `user@host:path` (scp-like, no secret) and paths stay as they are."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return SplitURL(url)
    end = _AUTHORITY_END.search(rest)
    authority, path = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return SplitURL(url)
    user, colon, password = userinfo.partition(":")
    return SplitURL(f"{scheme}://{host}{path}", unquote(user), unquote(password) if colon else None)


def display_url(url: str) -> str:
    """Return `url` without its userinfo, query secrets or fragment: the form to show, store
    and name things after."""
    shown = split_url(url).shown
    if "://" in shown:  # a URL, not a path: '#' begins a fragment, which git never sends
        shown = shown.partition("#")[0]
    return _QUERY_SECRET.sub(r"\1***", shown)
