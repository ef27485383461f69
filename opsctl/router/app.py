"""The ASGI app of ``opsctl serve``, built by :func:`make_app`.

``POST /v1/alerts/{source}`` (:class:`AlertIntake`, a plain ASGI callable in front of a
Starlette app that serves everything else) reads the body (capped), checks the token or
signature, parses it, decides each alert (pure: :meth:`opsctl.router.routing.Router.decide`)
and hands the decisions to the store's writer, which plans each against what is open
(:meth:`~opsctl.router.routing.Router.route`, the same path as ``opsctl route``) and stores
alert, incident and messages in one transaction; it answers 202 once that transaction is
durable. Every refusal is a JSON body ``{"error", "message", "status"}`` with a 4xx status;
a database that cannot take the alert is a 503 (the sender retries); an unexpected error
is a 500 and its stack goes to the log, never into the answer. The server's one clock is
``settings.clock``: routing, the outbox's times and signature windows all read it.

``POST /v1/heartbeats/{pipeline}`` (:mod:`.heartbeat`) is served on the same fast path: it
records that the pipeline was heard from, in the writer's transaction. The freshness
watchdog (:mod:`.watchdog`) runs beside the writer for as long as the app does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from opsctl.engine.schedule.resolve import Engine
from opsctl.errors import OpsctlError, UsageError
from opsctl.model import Org
from opsctl.router.errors import Rejected, TooLarge
from opsctl.router.freshness import Watch, watches
from opsctl.router.heartbeat import HEARTBEAT
from opsctl.router.heartbeat import PREFIX as HEARTBEATS_PREFIX
from opsctl.router.intake import record_heard, store_decision
from opsctl.router.metrics import IntakeMetrics, render
from opsctl.router.openapi import document
from opsctl.router.routing import Router
from opsctl.router.security import authenticate
from opsctl.router.settings import RouterSettings
from opsctl.router.sources import BY_NAME, SOURCES, parse_body, unknown_source
from opsctl.router.store import LEASE_SECONDS, Accepted, Store, StoreUnavailable, open_store
from opsctl.router.store.writer import Writer
from opsctl.router.watchdog import Watchdog
from opsctl.router.worker import worker_id

log = logging.getLogger("opsctl.router")

HEARTBEAT_STALE = LEASE_SECONDS
"""Seconds without a worker heartbeat before /readyz says the worker is gone."""


@dataclass
class RouterState:
    """What the app holds while it runs."""

    settings: RouterSettings
    org: Org
    engine: Engine
    router: Router
    store: Store
    writer: Writer
    metrics: IntakeMetrics
    worker: str = field(default_factory=worker_id)
    """The name this server's delivery worker heartbeats under."""
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)
    """Run after the server stops taking requests (``opsctl serve`` stops its worker here, so
    that the worker records its last sends before the process exits)."""
    watches: list[Watch] = field(default_factory=list)
    """Every pipeline's freshness watch (SLA, grace, start)."""
    watchdog: Watchdog | None = None


def load_org(settings: RouterSettings) -> tuple[Org, Engine]:
    from opsctl.engine.holidays import HolidayCalendar
    from opsctl.repo.loader import WorkingTree, load
    from opsctl.system.holidays import LibraryHolidays, default_calendar

    org = load(WorkingTree(settings.root), catalog=False).require_ok()
    calendar: HolidayCalendar = LibraryHolidays() if settings.cache_dir is None else default_calendar(settings.cache_dir)
    return org, Engine(org, calendar)


def make_app(settings: RouterSettings, *, org: Org | None = None, engine: Engine | None = None) -> AlertIntake:
    """The app for ``settings``; the org is loaded from ``settings.root`` unless given.

    ``make_app(settings).state`` is the :class:`RouterState` it runs on."""
    if org is None or engine is None:
        org, engine = load_org(settings)
    store = open_store(settings.database)
    state = RouterState(
        settings,
        org,
        engine,
        Router(org, engine, settings.policy),
        store,
        Writer(store, group_commit=settings.group_commit),
        IntakeMetrics(),
    )
    state.watches = watches(org)
    if settings.watchdog:
        state.watchdog = Watchdog(
            state.router,
            store,
            state.writer,
            state.watches,
            clock=settings.clock,
            owner=f"{state.worker}:{secrets.token_hex(4)}",  # this server's run: two apps of one process are two replicas
            slack=settings.vendor.slack_token is not None,
            interval=settings.watchdog_interval,
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        import gc

        # The org, the engine's caches and the imported modules live as long as the server:
        # keep them out of the collector's full passes, which would otherwise walk them all
        # every few thousand requests and stall every request in flight.
        gc.freeze()
        state.writer.start()
        watching = asyncio.create_task(state.watchdog.run()) if state.watchdog is not None else None
        try:
            yield
        finally:
            if state.watchdog is not None and watching is not None:
                await state.watchdog.stop()
                await watching
            state.writer.close()
            for hook in state.on_shutdown:
                await asyncio.to_thread(hook)
            store.close()

    async def not_here(request: Request) -> Response:  # POST is served by AlertIntake before Starlette
        return JSONResponse(
            {"error": "method-not-allowed", "message": f"{request.method} is not allowed here", "status": 405},
            status_code=405,
            headers={"Allow": "POST"},
        )

    routes: list[Route | Mount] = [
        Route("/v1/alerts/{source}", not_here, methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]),
        Route("/v1/heartbeats/{pipeline}", not_here, methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]),
        Route("/healthz", lambda request: JSONResponse({"status": "ok"})),
        Route("/readyz", _wrap(state, readyz)),
        Route("/metrics", _wrap(state, metrics)),
        Route("/v1/oncall", _wrap(state, oncall)),
        Route("/calendars/{rotation}.ics", _wrap(state, calendar)),
        Route("/openapi.json", lambda request: JSONResponse(document())),
    ]
    if settings.site_dir is not None:
        from starlette.staticfiles import StaticFiles

        routes.append(Mount("/", app=StaticFiles(directory=str(settings.site_dir), html=True), name="site"))
    else:
        routes.append(Route("/", lambda request: JSONResponse(_index())))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},  # type: ignore[dict-item]
    )
    app.add_middleware(_NoTracebacks)
    return AlertIntake(state, app)


def _index() -> dict[str, Any]:
    return {
        "service": "opsctl alert router",
        "endpoints": [
            "/v1/alerts/{source}",
            "/v1/heartbeats/{pipeline}",
            "/v1/oncall",
            "/calendars/{rotation}.ics",
            "/healthz",
            "/readyz",
            "/metrics",
            "/openapi.json",
        ],
        "sources": list(SOURCES),
    }


# -- intake ----------------------------------------------------------------------------

ALERTS_PREFIX = "/v1/alerts/"


class AlertIntake:
    """``POST /v1/alerts/{source}`` as a plain ASGI callable in front of the Starlette app.

    The hot path of an alert storm: Starlette's routing, request and response objects and
    middleware stack cost about as much as routing and storing the alert, so this path
    reads the body and writes the answer itself; everything else goes to Starlette.
    """

    def __init__(self, state: RouterState, app: ASGIApp) -> None:
        self.state = state
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        heartbeat = path.startswith(HEARTBEATS_PREFIX)
        if scope["type"] != "http" or scope["method"] != "POST" or not (heartbeat or path.startswith(ALERTS_PREFIX)):
            await self.app(scope, receive, send)
            return
        headers = [(b"content-type", b"application/json")]
        try:
            if heartbeat:
                status, payload = await accept_heartbeat(self.state, path[len(HEARTBEATS_PREFIX) :], scope, receive)
            else:
                status, payload = await accept_alerts(self.state, path[len(ALERTS_PREFIX) :], scope, receive)
        except StoreUnavailable as exc:  # nothing was stored: the sender must try again
            status, payload = 503, {"error": "unavailable", "message": f"not stored, try again: {exc}", "status": 503}
            headers.append((b"retry-after", b"5"))
        except Exception as exc:  # the request handler's edge: never a traceback to the sender, the stack in the log
            log.exception("internal error on POST %s: %s: %s", path[:80], type(exc).__name__, exc)
            status, payload = 500, {"error": "internal", "message": "internal error; the server log says more"}
            payload["status"] = 500
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers.append((b"content-length", str(len(data)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})


async def read_body(headers: Headers, receive: Receive, cap: int) -> bytes:
    """The body, refused with 413 as soon as it is over ``cap`` bytes (before reading it all)."""
    declared = headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise Rejected("Content-Length is not a number", code="bad-request") from None
        if size > cap:
            raise TooLarge(f"the body is {size} bytes; the limit is {cap} (OPSCTL_ROUTER_MAX_BODY)")
    chunks = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Rejected("the client went away before sending the whole body", code="bad-request")
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > cap:
            raise TooLarge(f"the body is over the limit of {cap} bytes (OPSCTL_ROUTER_MAX_BODY)")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _check_content_type(headers: Headers) -> None:
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and "json" not in kind and kind != "text/plain":
        raise Rejected(
            f"Content-Type {kind} is not JSON: send the alert as application/json", status=415, code="unsupported-media-type"
        )


async def accept_alerts(state: RouterState, source: str, scope: Scope, receive: Receive) -> tuple[int, dict[str, Any]]:
    """Route and store the alerts of one request; the status and JSON body of the answer."""
    started = time.perf_counter()
    settings = state.settings
    headers = Headers(scope=scope)
    now = settings.clock()
    stamp = now.timestamp()
    try:
        found = BY_NAME.get(source)
        if found is None:
            raise unknown_source(source)
        body = await read_body(headers, receive, settings.max_body_bytes)
        authenticate(settings.credentials, found, headers, body, now=stamp, window=settings.signature_window)
        _check_content_type(headers)
        parsed = parse_body(source, body)
    except Rejected as exc:
        state.metrics.rejected[(source if source in BY_NAME else "unknown", exc.code)] += 1
        client = scope.get("client") or ("?", 0)
        log.warning("refused POST /v1/alerts/%s from %s: %d %s: %s", source[:40], client[0], exc.status, exc.code, exc)
        return exc.status, exc.body()
    if parsed.ignored:
        state.metrics.ignored[source] += 1
        return 200, {"status": "ignored", "reason": parsed.ignored}
    idempotency = headers.get("idempotency-key")
    alerts = list(parsed.alerts)
    if idempotency:
        many = len(alerts) > 1
        alerts = [replace(a, event_key=f"{idempotency}#{i}" if many else idempotency) for i, a in enumerate(alerts)]
    decisions = [state.router.decide(alert, now) for alert in alerts]
    slack = settings.vendor.slack_token is not None

    def store(conn: Any) -> list[Accepted]:
        return [store_decision(state.router, state.store, conn, d, slack=slack, now=stamp) for d in decisions]

    results = await state.writer.run(store)
    for result in results:
        (state.metrics.duplicates if result.duplicate else state.metrics.accepted)[source] += 1
    state.metrics.accept_latency.observe(time.perf_counter() - started)
    rows = [
        {
            "id": result.id,
            "duplicate": result.duplicate,
            "pipeline": decision.match.pipeline,
            "team": decision.match.team,
            "pages": decision.chain.page_now and decision.alert.status == "firing",
            "dedup_key": result.dedup_key,
            "note": result.note,
        }
        for decision, result in zip(decisions, results, strict=True)
    ]
    return 202, {"status": "accepted", "alerts": rows}


async def accept_heartbeat(state: RouterState, name: str, scope: Scope, receive: Receive) -> tuple[int, dict[str, Any]]:
    """Record that pipeline ``name`` (its id or an alias) ran; the status and JSON body of the answer."""
    from opsctl.router.heartbeat import read_note

    settings = state.settings
    headers = Headers(scope=scope)
    now = settings.clock()
    try:
        body = await read_body(headers, receive, settings.max_body_bytes)
        authenticate(settings.credentials, HEARTBEAT, headers, body, now=now.timestamp(), window=settings.signature_window)
        _check_content_type(headers)
        note = read_note(body)
        found = state.router.index.by_name(name) if name and "/" not in name else None
        if found is None:
            from opsctl.model.spelling import did_you_mean

            raise Rejected(
                f"unknown pipeline {name[:200]!r}{did_you_mean(name, state.org.pipelines)}", status=404, code="unknown-pipeline"
            )
    except Rejected as exc:
        state.metrics.rejected[("heartbeat", exc.code)] += 1
        client = scope.get("client") or ("?", 0)
        log.warning("refused POST /v1/heartbeats/%s from %s: %d %s: %s", name[:40], client[0], exc.status, exc.code, exc)
        return exc.status, exc.body()
    pipeline = found[0]
    if note:
        log.info("heartbeat of %s: %s", pipeline, note[:200])
    slack = settings.vendor.slack_token is not None

    def store(conn: Any) -> Accepted | None:
        return record_heard(state.router, state.store, conn, pipeline, "heartbeat", at=now, slack=slack)

    resolved = await state.writer.run(store)
    state.metrics.accepted["heartbeat"] += 1
    return 202, {
        "status": "recorded",
        "pipeline": pipeline,
        "at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "resolved": resolved.id if resolved is not None else None,
    }


# -- reading endpoints -------------------------------------------------------------------

Handler = Callable[[RouterState, Request], Awaitable[Response]]


def _wrap(state: RouterState, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await handler(state, request)

    return endpoint


def _probe(state: RouterState) -> Callable[[Any], None]:
    def probe(conn: Any) -> None:
        state.store.one(conn, "SELECT 1")

    return probe


async def readyz(state: RouterState, request: Request) -> Response:
    problems = []
    if not state.writer.alive:
        problems.append("the outbox writer is not running")
    else:
        try:
            # through the writer: the same connection, checks and mending as an alert's
            await state.writer.run(_probe(state))
        except StoreUnavailable as exc:
            problems.append(str(exc))
    if state.settings.expect_worker and not problems:
        seen = await asyncio.to_thread(_worker_seen, state)
        age = state.settings.clock().timestamp() - (seen or 0.0)
        if age > HEARTBEAT_STALE:
            problems.append(f"the delivery worker has not been seen for {age:.0f} s")
    body: dict[str, Any] = {"status": "not ready" if problems else "ready", "pipelines": len(state.org.pipelines)}
    if problems:
        body["problems"] = problems
    return JSONResponse(body, status_code=503 if problems else 200)


def _worker_seen(state: RouterState) -> float | None:
    with state.store.connection() as conn:
        return state.store.worker_seen(conn, state.worker)


def _metrics_text(state: RouterState) -> str:
    from opsctl.router.freshness import status
    from opsctl.router.metrics import freshness_lines
    from opsctl.router.store.freshness import seen_all

    store = state.store
    with store.connection() as conn:
        stored = store.counters(conn)
        depth = store.pending_count(conn)
        failed = store.failed_count(conn)
        seen = store.worker_seen(conn, state.worker)
        heard = seen_all(store, conn)
    if seen is not None:
        stored["heartbeat"] = seen
    now = state.settings.clock().timestamp()
    fresh = [status(watch, heard.get(watch.pipeline), now) for watch in state.watches]
    text = render(state.metrics, stored, queue_depth=depth, failed=failed, commits=state.writer.commits, jobs=state.writer.jobs)
    return text + freshness_lines(fresh)


async def metrics(state: RouterState, request: Request) -> Response:
    try:
        text = await asyncio.to_thread(_metrics_text, state)
    except state.store.errors as exc:
        message = f"the alert database cannot be read: {str(exc).strip() or type(exc).__name__}"
        return JSONResponse({"error": "unavailable", "message": message, "status": 503}, status_code=503)
    return Response(text, media_type="text/plain; version=0.0.4")


async def oncall(state: RouterState, request: Request) -> Response:
    from opsctl.answers.oncall import answers
    from opsctl.answers.when import parse_when

    params = request.query_params
    now = state.settings.clock()
    try:
        # a time without an offset is UTC here: the server's own zone means nothing to its callers
        instant = parse_when(params["at"], now=now, zone=UTC, option="at") if params.get("at") else now
        rows = answers(state.org, state.engine, instant, team=params.get("team") or None, pipeline=params.get("pipeline") or None)
    except UsageError as exc:
        return JSONResponse({"error": "bad-request", "message": str(exc), "status": 400}, status_code=400)
    return JSONResponse(rows)


async def calendar(state: RouterState, request: Request) -> Response:
    from opsctl.answers.ics import calendar_feed

    rotation_id = request.path_params["rotation"]
    rotation = state.org.rotations.get(rotation_id)
    if rotation is None:
        from opsctl.model.spelling import did_you_mean

        message = f"unknown rotation {rotation_id!r}{did_you_mean(rotation_id, state.org.rotations)}"
        return JSONResponse({"error": "not-found", "message": message, "status": 404}, status_code=404)
    raw = request.query_params.get("weeks", "12")
    if not raw.isdigit() or not 1 <= int(raw) <= 104:
        return JSONResponse(
            {"error": "bad-request", "message": "weeks must be a whole number from 1 to 104", "status": 400}, status_code=400
        )
    now = state.settings.clock()
    start, end = now - timedelta(weeks=1), now + timedelta(weeks=int(raw))
    data = calendar_feed(state.org, state.engine, start, end, now=now, title=f"On call: {rotation.title}", rotation=rotation_id)
    return Response(data, media_type="text/calendar; charset=utf-8")


# -- errors -------------------------------------------------------------------------------


async def _http_error(request: Request, exc: HTTPException) -> Response:
    words = {
        404: ("not-found", f"no such endpoint: {request.url.path}"),
        405: ("method-not-allowed", f"{request.method} is not allowed here"),
    }
    code, message = words.get(exc.status_code, ("http-error", str(exc.detail)))
    return JSONResponse(
        {"error": code, "message": message, "status": exc.status_code}, status_code=exc.status_code, headers=exc.headers
    )


class _NoTracebacks:
    """Last line of defence: an unexpected error becomes a 500 JSON answer, and its stack goes to the log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # the server's edge: the stack goes to the log
            log.exception("internal error on %s %s: %s: %s", scope.get("method"), scope.get("path"), type(exc).__name__, exc)
            if started:
                return
            message = "internal error; the server log says more"
            if isinstance(exc, OpsctlError):
                message = str(exc)
            response = JSONResponse({"error": "internal", "message": message, "status": 500}, status_code=500)
            await response(scope, receive, send)
