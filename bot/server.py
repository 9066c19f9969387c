"""The webhook server: verify, record, queue; the work itself runs as jobs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.errors import TrunkguardError
from bot.jobs import Job
from bot.routing import jobs_for
from bot.store import Store
from bot.webhooks import SIGNATURE_HEADER, verify_signature

logger = logging.getLogger(__name__)


class JobSink(Protocol):
    """Where the server hands its jobs: the in-process queue, or (later) Celery."""

    def put(self, job: Job) -> None: ...


def _answer(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def create_app(secret: bytes, store: Store, jobs: JobSink) -> FastAPI:
    """Build the server: POST /webhook for GitHub, GET /healthz for load balancers."""
    app = FastAPI(title="trunkguard", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        if not verify_signature(secret, body, request.headers.get(SIGNATURE_HEADER)):
            return _answer(401, "missing or wrong X-Hub-Signature-256")
        event = request.headers.get("X-GitHub-Event")
        delivery = request.headers.get("X-GitHub-Delivery")
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
        for job in queued:
            jobs.put(Job(job.name, job.arguments, delivery))
        if not queued:
            return _answer(202, f"{event} is not acted on")
        return _answer(202, f"queued {len(queued)} job{'s' if len(queued) != 1 else ''}")

    return app
