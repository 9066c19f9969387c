"""The webhook server: verify, record, queue; the work itself runs as jobs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from cachetools import TTLCache
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from bot.errors import TrunkguardError
from bot.github.registration import (
    Credentials,
    RegistrationError,
    WrongOwner,
    check_owner,
    exchange_code,
    is_login,
    manifest_for,
    new_state,
    save_credentials,
    setup_page,
    web_url,
)
from bot.github.webhooks import SIGNATURE_HEADER, verify_signature
from bot.service import metrics
from bot.service.job import Job, JobQueue
from bot.service.limits import (
    REFUSALS,
    BodyBudget,
    Limits,
    Refusal,
    Refused,
    Throttle,
    body_of,
)
from bot.service.payloads import InvalidPayload
from bot.service.routing import ROUTERS, jobs_for
from bot.store import Store

logger = logging.getLogger(__name__)
INTAKE_THREADS = 2  # deliveries recorded at once: more only contend for the GIL and the store
EVENTS = frozenset({"ping", *ROUTERS})  # metric labels: the events trunkguard knows, else other
_EVENT = re.compile(r"[a-z_]{1,64}")
_SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")  # the form of X-Hub-Signature-256
_DELIVERY = re.compile(r"[!-~]{1,128}")  # GitHub sends GUIDs; any printable word is kept as it is
STATE_COOKIE = "trunkguard_setup_state"
STATE_LIFETIME = 3600  # seconds a setup page's state is taken back, as long as GitHub's code
REDEEMED_STATES = 100_000  # states remembered as used until they expire (each one a code sent)


def _answer(status: int, message: str, close: bool = False) -> JSONResponse:
    headers = {"Connection": "close"} if close else None  # the rest of the body is not read
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")  # Python reads NaN and Infinity, JSON has none


def create_app(
    secret: bytes,
    store: Store,
    jobs: JobQueue,
    limits: Limits | None = None,
    *,
    serve_metrics: bool = True,
    refusals: Throttle = REFUSALS,
) -> FastAPI:
    """Build the server: POST /webhook for GitHub, GET /healthz for load balancers, GET
    /metrics for Prometheus unless `serve_metrics` is False (metrics on a port of their own)."""
    limits = limits or Limits()
    intake = ThreadPoolExecutor(INTAKE_THREADS, thread_name_prefix="trunkguard-intake")
    budget = BodyBudget(limits.body_budget)

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

    if serve_metrics:

        @app.get("/metrics")
        def metrics_page() -> Response:
            return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        headers = request.headers
        declared = headers.get("content-length", "")
        over = declared.isdigit() and int(declared) > limits.max_body  # 413, unread, below
        if not over and not _SIGNATURE.fullmatch(headers.get(SIGNATURE_HEADER, "")):
            # No body is worth reading without a signature of the right form: a client
            # without the secret cannot hold the body budget that signed deliveries share.
            refusals.note(Refusal.UNSIGNED)
            return _answer(401, "missing or wrong X-Hub-Signature-256", close=True)
        try:
            async with body_of(request, limits, budget) as body:
                # The store and the broker block (a database failing over can take seconds
                # to refuse): on the intake's threads, so that the event loop keeps answering.
                answer = await asyncio.get_running_loop().run_in_executor(
                    intake,
                    receive,
                    body,
                    headers.get("X-GitHub-Event"),
                    headers.get("X-GitHub-Delivery"),
                    headers.get(SIGNATURE_HEADER),
                )
        except Refused as refused:
            client = request.client.host if request.client else "unknown"
            refusals.note(refused.reason, client=client)
            return _answer(refused.status, str(refused), close=True)
        return answer

    def receive(
        body: bytes, event: str | None, delivery: str | None, signed: str | None
    ) -> JSONResponse:
        if not verify_signature(secret, body, signed):
            refusals.note(Refusal.UNSIGNED)
            return _answer(401, "missing or wrong X-Hub-Signature-256")
        # Verified from here on; the headers are not signed, only the body.
        answer = verified(body, event or "", delivery or "")
        outcome = "queued" if answer.status_code == 202 else str(answer.status_code)
        metrics.DELIVERIES.labels(event if event in EVENTS else "other", outcome).inc()
        return answer

    def verified(body: bytes, event: str, delivery: str) -> JSONResponse:
        def invalid(problem: str) -> JSONResponse:
            logger.warning(
                "delivery refused", extra={"delivery": delivery, "event": event, "problem": problem}
            )
            return _answer(400, problem)

        if not _EVENT.fullmatch(event):
            return invalid("X-GitHub-Event: missing or not an event name")
        if not _DELIVERY.fullmatch(delivery):
            return invalid("X-GitHub-Delivery: missing or not a delivery id")
        try:
            payload = json.loads(body, parse_constant=_not_json)
        except RecursionError:
            return invalid("the body is nested too deeply")
        except ValueError:  # not UTF-8, not JSON, NaN, an integer of thousands of digits
            return invalid("the body is not JSON")
        if not isinstance(payload, dict):
            return invalid("the body is not a JSON object")
        if event == "ping":
            return _answer(200, "pong")
        try:
            queued = jobs_for(event, payload)
        except InvalidPayload as error:
            # Not recorded: the delivery id stays free, so a good redelivery is acted on.
            return invalid(str(error))
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


def create_setup_app(
    api_url: str,
    public_url: str | None,
    credentials_file: Path,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The server before the App exists: a page that registers it from its manifest, and the
    redirect GitHub comes back to with a code; webhooks get 503 until then.

    Each visit of the page gets its own state, in a cookie and in the form; GitHub's redirect
    is taken only with the state of that visitor's cookie, once, within STATE_LIFETIME."""
    app = FastAPI(title="trunkguard setup", docs_url=None, redoc_url=None, openapi_url=None)
    # A state carries its organisation and expiry, signed with a key of this process: nothing
    # is kept per page view, so no number of views can push a visitor's state out.
    key = secrets.token_bytes(32)
    redeemed: TTLCache[str, bool] = TTLCache(REDEEMED_STATES, STATE_LIFETIME, timer=clock)
    lock = threading.Lock()
    done: dict[str, Credentials] = {}
    # The cookie goes back with GitHub's redirect to the public address, under its path.
    prefix = urlsplit(public_url).path.rstrip("/") if public_url else ""

    def signed(organisation: str) -> str:
        unsigned = f"{new_state()}.{int(clock()) + STATE_LIFETIME}.{organisation}"
        mac = hmac.new(key, unsigned.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{unsigned}.{mac}"

    def organisation_of(state: str) -> str | None:
        """The organisation a state of ours asked for, if it is ours, unexpired and unused."""
        unsigned, _, mac = state.rpartition(".")
        expected = hmac.new(key, unsigned.encode(), hashlib.sha256).hexdigest()[:32]
        if not unsigned or not hmac.compare_digest(mac.encode(), expected.encode()):
            return None
        _, expiry, organisation = unsigned.split(".", 2)
        with lock:
            if int(expiry) < clock() or state in redeemed:
                return None
            redeemed[state] = True
        return organisation

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "setup"}

    @app.get("/", response_class=HTMLResponse)
    def setup(request: Request, organization: str = "", resolve: str = "") -> HTMLResponse:
        if organization and not is_login(organization):
            return HTMLResponse(
                "?organization= must be a GitHub organisation name "
                "(1 to 39 letters, digits or inner hyphens).",
                400,
            )
        base = public_url or str(request.base_url)
        state = signed(organization)
        wanted = resolve == "1"
        manifest = manifest_for(base, with_resolve=wanted)
        body = setup_page(manifest, web_url(api_url), state, organization, wanted)
        if public_url and urlsplit(public_url).netloc != request.url.netloc:
            # GitHub sends the browser back to the public address: this page's cookie must be
            # set there, or the registration cannot be finished.
            there = html.escape(f"{public_url.rstrip('/')}/")
            note = (
                f'<p role="alert"><strong>Open this page at <a href="{there}">{there}</a></strong>:'
                " GitHub sends you back there, and only a page opened there can finish.</p>"
            )
            body = body.replace("<h1>", note + "\n<h1>", 1)
        page = HTMLResponse(body)
        page.set_cookie(
            STATE_COOKIE,
            state,
            max_age=STATE_LIFETIME,
            path=f"{prefix}/setup",
            secure=base.startswith("https://"),
            httponly=True,
            samesite="lax",
        )
        page.headers["Cache-Control"] = "no-store"
        return page

    @app.get("/setup/done", response_class=HTMLResponse)
    def registered(
        request: Request, code: str = "", state_back: str = Query("", alias="state")
    ) -> HTMLResponse:
        cookie = request.cookies.get(STATE_COOKIE, "")
        organisation = None
        if cookie and hmac.compare_digest(cookie.encode(), state_back.encode()):
            organisation = organisation_of(state_back)
        if organisation is None:
            return HTMLResponse(
                "This link did not come from this setup page in this browser, or it has "
                "expired: open the setup page again.",
                403,
            )
        if "app" in done:
            return HTMLResponse("The App is registered already.", 409)
        try:
            credentials = exchange_code(api_url, code)
            check_owner(credentials, organisation)
            save_credentials(credentials_file, credentials)
        except WrongOwner as error:
            return HTMLResponse(f"Not registered: {html.escape(str(error))}", 403)
        except (RegistrationError, OSError) as error:
            return HTMLResponse(f"Not registered: {html.escape(str(error))}", 502)
        done["app"] = credentials
        logger.info("App registered", extra={"app_id": credentials.app_id})
        answer = HTMLResponse(
            f"<p>Registered the GitHub App <a href='{html.escape(credentials.html_url)}'>"
            f"{html.escape(credentials.slug)}</a> (id {credentials.app_id}). Its key and webhook "
            f"secret are in {html.escape(str(credentials_file))}, readable by this user only.</p>"
            "<p>Restart <code>trunkguard serve</code>, then install the App on your "
            "repositories from its page.</p>"
        )
        answer.delete_cookie(STATE_COOKIE, path=f"{prefix}/setup")
        return answer

    @app.post("/webhook")
    def webhook() -> JSONResponse:
        return _answer(503, "the App is not registered yet: open this server's setup page")

    return app
