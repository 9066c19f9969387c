"""Installation jobs: the repositories an App installation covers are noted (and scanned), or
forgotten (and their mirrors deleted)."""

from __future__ import annotations

import logging

from bot.mirrors.fetch import app_mirror_path, remove_mirror
from bot.service.job import Follow, Job, Services, job

logger = logging.getLogger(__name__)


@job
def register_repositories(services: Services, installation: int, added: list[str]) -> Follow:
    """An App installation now covers these repositories: note them, then scan each."""
    services.store.register_installation(installation, added)
    if services.github is None:
        return []  # no App credentials: nothing can be fetched
    arguments = [{"installation": installation, "repository": name} for name in added]
    return [Job("scan_repository", a) for a in arguments]


@job
def forget_repositories(services: Services, installation: int, removed: list[str] | None) -> Follow:
    """An App installation no longer covers these repositories (None: any of them): unlink
    them (their figures stay) and delete their mirrors."""
    names = removed if removed is not None else services.store.repositories_of(installation)
    services.store.forget_installation(installation, removed)
    for name in names:
        try:
            remove_mirror(app_mirror_path(services.mirror_dir, name))
        except Exception:  # a bad name in a payload must not keep the others' mirrors
            logger.warning("mirror not removed", extra={"repository": name})
    return []
