"""The webhook server: verify, record, queue; the work itself runs as jobs."""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from bot.errors import TrunkguardError
from bot.github.registration import (
    Credentials,
    RegistrationError,
    exchange_code,
    manifest_for,
    new_state,
    save_credentials,
    setup_page,
    web_url,
)
from bot.github.webhooks import SIGNATURE_HEADER, verify_signature
from bot.service import metrics
from bot.service.job import Job, JobQueue
from bot.service.routing import jobs_for
from bot.store import Store

logger = logging.getLogger(__name__)
INTAKE_THREADS = 2  # deliveries recorded at once: more only contend for the GIL and the store


def _answer(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def create_app(secret: bytes, store: Store, jobs: JobQueue) -> FastAPI:
    """Build the server: POST /webhook for GitHub, GET /healthz for load balancers."""
    intake = ThreadPoolExecutor(INTAKE_THREADS, thread_name_prefix="trunkguard-intake")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        intake.shutdown(wait=True)  # deliveries in hand are recorded and queued first

    app = FastAPI(
        title="trunkguard", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    def metrics_page() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        event = request.headers.get("X-GitHub-Event")
        # The store and the broker block (a database failing over can take seconds to
        # refuse): on the intake's threads, so that the event loop keeps answering.
        answer = await asyncio.get_running_loop().run_in_executor(
            intake,
            receive,
            body,
            event,
            request.headers.get("X-GitHub-Delivery"),
            request.headers.get(SIGNATURE_HEADER),
        )
        outcome = "queued" if answer.status_code == 202 else str(answer.status_code)
        metrics.DELIVERIES.labels(event or "none", outcome).inc()
        return answer

    def receive(
        body: bytes, event: str | None, delivery: str | None, signed: str | None
    ) -> JSONResponse:
        if not verify_signature(secret, body, signed):
            return _answer(401, "missing or wrong X-Hub-Signature-256")
        if not event or not delivery:
            return _answer(400, "missing X-GitHub-Event or X-GitHub-Delivery")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _answer(400, "the body is not JSON")
        if not isinstance(payload, dict):
            return _answer(400, "the body is not a JSON object")
        if event == "ping":
            return _answer(200, "pong")
        try:
            queued = jobs_for(event, payload)
        except (KeyError, TypeError, ValueError):
            return _answer(400, f"a {event} delivery without the fields it must have")
        try:
            fresh = store.record_delivery(delivery, event, datetime.now(UTC))
        except TrunkguardError as error:
            # Never 2xx for work that would be lost: GitHub redelivers on a 5xx.
            logger.error("delivery not recorded", extra={"delivery": delivery, "error": str(error)})
            return _answer(503, "cannot record the delivery now; send it again")
        if not fresh:
            return _answer(200, "already received")
        try:
            for job in queued:
                jobs.put(Job(job.name, job.arguments, delivery))
        except Exception as error:  # the broker is away: unrecord, so a redelivery is acted on
            logger.error("jobs not queued", extra={"delivery": delivery, "error": str(error)})
            try:
                store.forget_delivery(delivery)
            except TrunkguardError:
                logger.error("delivery recorded but not queued", extra={"delivery": delivery})
            return _answer(503, "cannot queue the delivery's jobs now; send it again")
        if not queued:
            return _answer(202, f"{event} is not acted on")
        return _answer(202, f"queued {len(queued)} job{'s' if len(queued) != 1 else ''}")

    return app


def create_setup_app(api_url: str, public_url: str | None, credentials_file: Path) -> FastAPI:
    """The server before the App exists: a page that registers it from its manifest, and the
    redirect GitHub comes back to with a code; webhooks get 503 until then."""
    app = FastAPI(title="trunkguard setup", docs_url=None, redoc_url=None, openapi_url=None)
    state = new_state()
    done: dict[str, Credentials] = {}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "setup"}

    @app.get("/", response_class=HTMLResponse)
    def setup(request: Request, organization: str = "") -> HTMLResponse:
        base = public_url or str(request.base_url)
        page = setup_page(manifest_for(base), web_url(api_url), state, organization)
        return HTMLResponse(page)

    @app.get("/setup/done", response_class=HTMLResponse)
    def registered(code: str = "", state_back: str = Query("", alias="state")) -> HTMLResponse:
        if not hmac.compare_digest(state_back, state):
            return HTMLResponse("This link did not come from this setup page.", 400)
        if "app" in done:
            return HTMLResponse("The App is registered already.", 409)
        try:
            credentials = exchange_code(api_url, code)
            save_credentials(credentials_file, credentials)
        except (RegistrationError, OSError) as error:
            return HTMLResponse(f"Not registered: {html.escape(str(error))}", 502)
        done["app"] = credentials
        logger.info("App registered", extra={"app_id": credentials.app_id})
        return HTMLResponse(
            f"<p>Registered the GitHub App <a href='{html.escape(credentials.html_url)}'>"
            f"{html.escape(credentials.slug)}</a> (id {credentials.app_id}). Its key and webhook "
            f"secret are in {html.escape(str(credentials_file))}, readable by this user only.</p>"
            "<p>Restart <code>trunkguard serve</code>, then install the App on your "
            "repositories from its page.</p>"
        )

    @app.post("/webhook")
    def webhook() -> JSONResponse:
        return _answer(503, "the App is not registered yet: open this server's setup page")

    return app
