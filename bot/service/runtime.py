"""What `serve`, `scheduler` and `worker` start alike: the store, GitHub as the App, the
services jobs run with, and where jobs go (in this process, or Celery's broker)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import TrunkguardError
from bot.github.app import GitHubApp
from bot.service.job import Services
from bot.service.settings import AppCredentials, Settings
from bot.store import Store, database_url
from bot.urls import mask_url

if TYPE_CHECKING:
    from bot.service.queue import InProcessQueue
    from bot.service.workers import CeleryQueue


@dataclass
class Runtime:
    """An App process's store, services and job queue; close() lets them go."""

    store: Store
    services: Services
    jobs: InProcessQueue | CeleryQueue

    def close(self) -> None:
        """Stop the in-process queue (if it is that) and close the store."""
        close = getattr(self.jobs, "close", None)
        if close is not None:
            close()
        self.store.close()


SPREAD = 20  # pull requests per job when trunk moves and workers share the reviews


def services_for(settings: Settings, credentials: AppCredentials) -> tuple[Store, Services]:
    """Open the store (checking its schema) and GitHub as the App; with a broker, the reviews
    a push to trunk asks for are spread over jobs that many workers can take."""
    store = Store(database_url(settings.database_url)).ready()
    app = GitHubApp(credentials.app_id, credentials.private_key, settings.github_api_url)
    return store, Services(
        store,
        app.installation,
        settings.mirror_dir,
        report_dir=settings.report_dir,
        spread=SPREAD if settings.broker_url else 0,
    )


def start(settings: Settings, credentials: AppCredentials) -> Runtime:
    """The runtime of a server or scheduler: jobs to Celery when TRUNKGUARD_BROKER_URL is
    set (its workers run them), else to a queue run on a thread of this process."""
    store, services = services_for(settings, credentials)
    if settings.broker_url is None:
        from bot.service.queue import InProcessQueue

        return Runtime(store, services, InProcessQueue(services))
    from bot.service.workers import CeleryQueue, celery_app

    app = celery_app(settings.broker_url, settings.visibility_timeout)
    queue = CeleryQueue(app)
    try:
        queue.depth()
    except Exception as error:
        store.close()
        raise TrunkguardError(f"the broker {mask_url(settings.broker_url)}: {error}") from None
    return Runtime(store, services, queue)
