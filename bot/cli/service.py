"""The service's processes: the webhook server, the scheduler and the Celery worker.

They log what they do at INFO; the web, GitHub and queue libraries load when one starts.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

import click

from bot import logs

if TYPE_CHECKING:
    from bot.service.settings import AppCredentials, Settings


def listenable(host: str, port: int, taken: str) -> None:
    """Refuse, before anything starts, a port this process cannot listen on; `taken` says
    what to do when another process has it."""
    import errno
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        socket.create_server((host, port), family=family).close()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            where = "" if host == "0.0.0.0" else f" on {host}"
            raise click.ClickException(f"port {port}{where} is in use {taken}") from None
        reason = error.strerror or str(error)
        raise click.ClickException(f"cannot listen on {host} port {port}: {reason}") from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--no-scheduler",
    is_flag=True,
    help="Serve webhooks only (another process runs `trunkguard scheduler`).",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1),
    default=100,
    show_default=True,
    help="Connections open at once; more are answered 503 and closed.",
)
@click.option(
    "--read-timeout",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    help="Seconds a client has to send a request's headers, and again its body.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Serve Prometheus metrics on this port instead of /metrics (0: on /metrics).",
)
def serve(
    host: str,
    port: int,
    no_scheduler: bool,
    max_connections: int,
    read_timeout: float,
    metrics_port: int,
) -> None:
    """Run the GitHub App: webhooks in, check runs and comments out.

    Settings come from TRUNKGUARD_* environment variables (see the README); start-up fails
    with one line per missing or bad setting. With no App credentials yet, the server offers
    a setup page that registers the App on GitHub from its manifest and keeps its key and
    secret in a file only this user can read (restart afterwards). Deliveries are verified,
    recorded and queued: to jobs run in this process, or, with TRUNKGUARD_BROKER_URL, to
    Celery workers (`trunkguard worker`). GET /healthz answers load balancers, GET /metrics
    Prometheus (or --metrics-port: a port of its own, kept off the webhook port). The
    scheduler runs here too
    unless --no-scheduler (run one per deployment). Bodies over 25 MB (GitHub's cap) are
    refused with 413; a client gets --read-timeout seconds for a request's headers and again
    for its body; refused requests are logged one line per reason every 10 s.

    \b
    Examples:
      trunkguard serve                      # first run: open http://127.0.0.1:8000/
      TRUNKGUARD_APP_ID=1234 TRUNKGUARD_PRIVATE_KEY_PATH=key.pem \\
        TRUNKGUARD_WEBHOOK_SECRET=... trunkguard serve --host 0.0.0.0 --port 8080
      TRUNKGUARD_BROKER_URL=redis://redis.internal:6379/0 \\
        TRUNKGUARD_DATABASE_URL=postgresql://trunkguard@db/trunkguard \\
        trunkguard serve --no-scheduler
    """
    from bot.service.limits import Limits, run
    from bot.service.metrics import watch_queue
    from bot.service.runtime import start
    from bot.service.scheduler import Scheduler
    from bot.service.server import create_app, create_setup_app
    from bot.service.settings import app_credentials, load_settings

    listenable(host, port, "(another trunkguard serve?): --port N")
    if metrics_port:
        listenable(host, metrics_port, "(--metrics-port N, or 0 to serve metrics on /metrics)")
    logs.adjust(level=logging.INFO)
    limits = Limits(max_connections=max_connections, read_timeout=read_timeout)
    settings = load_settings(os.environ)
    credentials = app_credentials(settings)
    if credentials is None:
        from bot.github.registration import webhook_warning

        click.echo(
            f"trunkguard: no GitHub App yet: open http://{host}:{port}/ to register it "
            "(or set TRUNKGUARD_APP_ID, TRUNKGUARD_PRIVATE_KEY_PATH, TRUNKGUARD_WEBHOOK_SECRET)",
            err=True,
        )
        hook = f"{settings.public_url or f'http://{host}:{port}'}/webhook"
        warning = webhook_warning(hook)
        if warning:
            click.echo(
                f"trunkguard: warning: the webhook address {hook}: {warning} "
                "(set TRUNKGUARD_PUBLIC_URL)",
                err=True,
            )
        setup = create_setup_app(
            settings.github_api_url, settings.public_url, settings.credentials_file
        )
        run(setup, host, port, limits)
        return
    runtime = start(settings, credentials)
    watch_queue(runtime.jobs.depth)
    scheduler = None if no_scheduler else Scheduler(runtime.store, runtime.jobs).start()
    if metrics_port:
        from prometheus_client import start_http_server

        from bot.service.metrics import REGISTRY

        start_http_server(metrics_port, addr=host, registry=REGISTRY)
    secret = credentials.webhook_secret.encode()
    server = create_app(secret, runtime.store, runtime.jobs, limits, serve_metrics=not metrics_port)
    try:
        run(server, host, port, limits)
    finally:
        if scheduler is not None:
            scheduler.shutdown()
        runtime.close()


def _app_credentials(settings: Settings) -> AppCredentials:
    """The App's credentials, or a one-line error saying how to give them."""
    from bot.service.settings import app_credentials

    credentials = app_credentials(settings)
    if credentials is None:
        raise click.ClickException(
            "no GitHub App credentials: set TRUNKGUARD_APP_ID, TRUNKGUARD_PRIVATE_KEY_PATH "
            "and TRUNKGUARD_WEBHOOK_SECRET, or register the App with `trunkguard serve`"
        )
    return credentials


@click.command(name="scheduler")
def scheduler_command() -> None:
    """Run the scheduler alone, without the webhook server: the nightly scan of every
    installed repository and each repository's weekly report, run in this process.

    `trunkguard serve` runs the same scheduler; run this instead where webhooks are served
    elsewhere. Jobs and their times are kept in the store: a restart loses and repeats
    nothing. Settings as for `serve` (TRUNKGUARD_* variables).

    \b
    Example:
      TRUNKGUARD_APP_ID=1234 TRUNKGUARD_PRIVATE_KEY_PATH=key.pem \\
        TRUNKGUARD_WEBHOOK_SECRET=... trunkguard scheduler
    """
    import threading

    from bot.service.runtime import start
    from bot.service.scheduler import Scheduler
    from bot.service.settings import load_settings

    settings = load_settings(os.environ, app=True)
    credentials = _app_credentials(settings)
    logs.adjust(level=logging.INFO)
    runtime = start(settings, credentials)
    scheduler = Scheduler(runtime.store, runtime.jobs).start()
    click.echo("trunkguard: scheduler running; Ctrl-C stops it", err=True)
    try:
        threading.Event().wait()  # until Ctrl-C: "interrupted", status 130, as every command
    finally:
        scheduler.shutdown()
        runtime.close()


@click.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=9101,
    show_default=True,
    help="Serve Prometheus metrics on this port (0: none).",
)
@click.option("--name", default=None, help="This worker's name (default: celery's, host based).")
def worker(metrics_port: int, name: str | None) -> None:
    """Run a Celery worker: take jobs from the broker and run them, one at a time.

    Needs TRUNKGUARD_BROKER_URL (Redis) and the App's settings as for `serve`, with a
    store all processes share (TRUNKGUARD_DATABASE_URL, PostgreSQL). Start as many as the
    work needs, on as many machines; each keeps its mirrors in TRUNKGUARD_MIRROR_DIR. A job
    is acknowledged once run: a worker killed mid-job has it redone by another after
    TRUNKGUARD_VISIBILITY_TIMEOUT seconds (300). Jobs that keep failing are listed by
    `trunkguard jobs failed`.

    \b
    Examples:
      TRUNKGUARD_BROKER_URL=redis://127.0.0.1:6379/0 \\
        TRUNKGUARD_DATABASE_URL=postgresql://trunkguard@127.0.0.1/trunkguard trunkguard worker
      trunkguard worker --metrics-port 9102 --name second@%h   # a second on the same machine
    """
    from bot.service.runtime import services_for
    from bot.service.settings import load_settings
    from bot.service.workers import celery_app, serve_jobs

    settings = load_settings(os.environ, broker=True, app=True)
    assert settings.broker_url is not None  # load_settings(broker=True) saw to it
    credentials = _app_credentials(settings)
    if metrics_port:
        # prometheus_client listens on every address
        listenable("0.0.0.0", metrics_port, "(another worker?): --metrics-port N, or 0 for none")
    logs.adjust(level=logging.INFO)
    store, services = services_for(settings, credentials)
    app = celery_app(settings.broker_url, settings.visibility_timeout)
    queue = serve_jobs(app, services)
    if metrics_port:
        from prometheus_client import start_http_server

        from bot.service.metrics import REGISTRY, watch_queue

        watch_queue(queue.depth)
        start_http_server(metrics_port, registry=REGISTRY)
    argv = ["worker", "--pool=solo", "--loglevel=INFO", "--without-heartbeat"]
    argv += ["--without-gossip", "--without-mingle", "-Q", "trunkguard"]
    if name:
        argv += ["--hostname", name]
    from celery.signals import worker_shutting_down

    stopped_by: list[str] = []
    # Celery stops on Ctrl-C by itself: it is then said and ended like any command's.
    worker_shutting_down.connect(lambda sig, **_: stopped_by.append(sig), weak=False)
    try:
        app.worker_main(argv)
    finally:
        store.close()
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__  # celery leaves them its logger's
    if "SIGINT" in stopped_by:
        raise KeyboardInterrupt


COMMANDS = (serve, scheduler_command, worker)
