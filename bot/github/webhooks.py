"""GitHub webhook deliveries: is this one really from GitHub, and what is it about."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def signature(secret: bytes, body: bytes) -> str:
    """Return the X-Hub-Signature-256 header GitHub sends for `body` signed with `secret`."""
    return _PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Tell whether `header` is GitHub's signature of `body` with `secret`.

    Compared in constant time (hmac.compare_digest), so that timing tells an attacker nothing
    about how much of a forged signature was right. A missing or malformed header is False.
    """
    if not header or not header.startswith(_PREFIX):
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())
