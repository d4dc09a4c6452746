"""The HTTP application: intake API (v1), health, metrics, and the pages (see docs/server.md).

Handlers read and check what arrives (``intake``) in a worker thread, then hand it to the
process's writer (``writer``: group commit); a report is acknowledged (201/200) only after the
transaction that stored it is committed.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import os
import time
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, \
    generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from .. import __version__, sides
from . import auth, intake, store
from .config import Settings, from_env
from .db import make_engine
from .intake import IntakeError
from .writer import Writer

# A body up to this size is checked in the event loop (a 15 KB report: about 0.3 ms of CPU), a
# larger one in a worker thread. The threads only take turns on the GIL, so the hop to one and
# back cost more CPU than it saved the loop for reports of the usual size (measured).
CHECK_IN_LOOP_BYTES = 64 * 1024
DB_ENV = "DIAGNOSE_SERVER_DB"   # how the command line hands its --db to worker processes


METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"   # set: the counters are shared by the processes


class Metrics:
    """The counters of /metrics. Under ``diagnose-server`` each process writes them to files in
    METRICS_DIR_ENV (prometheus_client's multiprocess mode), so any process answers /metrics with
    the sum of all; the open outages are read from the database at each scrape."""

    def __init__(self, engine, settings: Settings):
        self.registry = CollectorRegistry()
        self.intake = Counter("diagnose_reports_received", "Reports and digests received, by outcome",
                              ["kind", "outcome"], registry=self.registry)
        self.latency = Histogram("diagnose_request_seconds", "Time to answer, by route",
                                 ["route"], registry=self.registry,
                                 buckets=(.005, .01, .025, .05, .1, .2, .3, .5, 1, 2.5, 5))
        self.open_outages = _OpenOutages(engine, settings)
        self.registry.register(self.open_outages)

    def exposition(self) -> bytes:
        shared = os.environ.get(METRICS_DIR_ENV)
        if not shared:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=shared)
        registry.register(self.open_outages)
        return generate_latest(registry)


class _OpenOutages:
    def __init__(self, engine, settings: Settings):
        self.engine, self.rule = engine, settings.outage

    def collect(self):
        yield GaugeMetricFamily("diagnose_open_outages", "Outages open now",
                                value=len(store.list_outages(self.engine, self.rule, open_only=True)))


def create_app(settings: Settings, engine=None) -> FastAPI:
    engine = engine if engine is not None else make_engine(settings.db_url)
    tokens = auth.Tokens(settings.write_tokens, settings.read_tokens)
    metrics = Metrics(engine, settings)
    writer = Writer(engine, settings.outage)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        task = asyncio.create_task(_retention(engine, settings)) if settings.retention_days else None
        yield
        if task is not None:
            task.cancel()
        await run_in_threadpool(writer.stop)
    app = FastAPI(title="diagnose-server", version=__version__, openapi_url=None, docs_url=None,
                  redoc_url=None, lifespan=lifespan,
                  description="Receives the reports of `diagnose submit` and digests read out on "
                              "the phone; serves outages and the hotline's pages. Every endpoint "
                              "but /healthz needs a bearer token.")
    app.state.engine, app.state.settings, app.state.tokens = engine, settings, tokens
    app.state.metrics = metrics

    @app.exception_handler(IntakeError)
    async def _refused(_request: Request, exc: IntakeError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(SQLAlchemyError)
    async def _database(_request: Request, exc: SQLAlchemyError):
        busy = isinstance(exc, OperationalError)
        return JSONResponse({"error": "database_unavailable" if busy else "database_error",
                             "detail": "the database did not take the request; nothing was "
                                       "stored, try again"},
                            status_code=503, headers={"Retry-After": "2"})

    def require(request: Request, *roles: str) -> str:
        header = request.headers.get("authorization")
        token = auth.bearer(header)
        if token is None:
            raise IntakeError(401, "unauthorized", "send Authorization: Bearer TOKEN"
                              if not header else "the Authorization header is not a bearer token")
        role = tokens.role(token)
        if role is None:
            raise IntakeError(401, "unauthorized", "unknown token")
        if role not in roles:
            raise IntakeError(403, "forbidden", f"this token may not do that (it is a {role} token)")
        return role

    async def body_of(request: Request) -> bytes:
        encoding = request.headers.get("content-encoding", "identity").lower()
        if encoding != "identity":
            raise IntakeError(415, "unsupported_encoding", f"Content-Encoding {encoding} is not accepted")
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if kind not in ("application/json", ""):
            raise IntakeError(415, "unsupported_media_type", "send Content-Type: application/json")
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise IntakeError(400, "bad_length", "Content-Length is not a number")
            if int(length) > settings.max_body:
                raise IntakeError(413, "too_large", f"a report is at most {settings.max_body} bytes")
        chunks, size = [], 0

        async def read() -> None:
            nonlocal size
            async for chunk in request.stream():
                size += len(chunk)
                if size > settings.max_body:
                    raise IntakeError(413, "too_large",
                                      f"a report is at most {settings.max_body} bytes")
                chunks.append(chunk)
        try:
            await asyncio.wait_for(read(), settings.body_timeout_s)
        except asyncio.TimeoutError:
            raise IntakeError(408, "too_slow", f"the body did not arrive within "
                              f"{settings.body_timeout_s:g} s") from None
        return b"".join(chunks)

    def stored_answer(kind: str, document: dict[str, Any], outcome: str) -> JSONResponse:
        if outcome == store.CONFLICT:
            raise IntakeError(409, "conflict", "another report with this id is already stored; "
                              "it was kept unchanged")
        metrics.intake.labels(kind, outcome).inc()
        created = outcome == store.CREATED
        return JSONResponse({"id": document["id"], "status": "stored" if created else "already stored",
                             **({"digest": document["digest"]} if kind == "phone" else {})},
                            status_code=201 if created else 200,
                            headers={"Location": f"/v1/reports/{document['id']}"})

    async def take(kind: str, request: Request, roles: tuple[str, ...], check) -> JSONResponse:
        """Authorize, read the body, check it in a worker thread, store it; count the outcome."""
        started = time.perf_counter()
        try:
            require(request, *roles)
            body = await body_of(request)
            if len(body) <= CHECK_IN_LOOP_BYTES:
                document, row = check(body)
            else:
                document, row = await run_in_threadpool(check, body)
            outcome = await asyncio.wrap_future(writer.submit(row))
            answer = stored_answer(kind, document, outcome)
        except IntakeError as exc:
            metrics.intake.labels(kind, exc.code).inc()
            raise
        metrics.latency.labels(f"post_{kind}").observe(time.perf_counter() - started)
        return answer

    @app.post("/v1/reports", status_code=201, summary="Store a report (what `diagnose submit` posts)")
    async def post_report(request: Request):
        def check(body: bytes) -> tuple[dict, dict]:
            report = intake.check_report(intake.parse_json(body, settings.max_depth))
            key = request.headers.get("idempotency-key")
            if key is not None and key.strip() != report["id"]:
                raise IntakeError(400, "idempotency_key_mismatch",
                                  "Idempotency-Key is not the report's id")
            return report, store.prepare(report)
        return await take("report", request, (auth.WRITE,), check)

    @app.post("/v1/digests", status_code=201,
              summary="Store a phone report: the digest a subscriber read out, with the ticket number")
    async def post_digest(request: Request):
        def check(body: bytes) -> tuple[dict, dict]:
            received = store.now()
            record = intake.phone_report(intake.parse_json(body, settings.max_depth), received)
            return record, store.prepare(record, received)
        return await take("phone", request, (auth.WRITE, auth.READ), check)

    @app.get("/v1/reports/{report_id}", summary="One stored report, with what the server derived")
    async def get_report(request: Request, report_id: str):
        require(request, auth.READ)
        found = await run_in_threadpool(store.get, engine, report_id)
        if found is None:
            raise IntakeError(404, "not_found", "no report with this id")
        found["locators"] = await run_in_threadpool(store.locators_of, engine, report_id)
        return found

    @app.get("/v1/reports", summary="Search reports, newest first")
    async def search_reports(request: Request, side: str | None = Query(None, pattern="^(" + "|".join(sides.NAMES) + ")$"),
                             code: str | None = Query(None, pattern=f"^{sides.CODE_PATTERN}$"),
                             since: datetime.datetime | None = None,
                             until: datetime.datetime | None = None,
                             locator: str | None = Query(None, max_length=200),
                             digest: str | None = Query(None, max_length=40),
                             ticket: str | None = Query(None, max_length=64),
                             limit: int = Query(store.SEARCH_LIMIT, ge=1, le=1000)):
        require(request, auth.READ)
        canonical = None
        if digest:
            canonical = intake.find_digest(digest)
            if canonical is None:
                raise IntakeError(422, "invalid_digest", "not a valid digest", "digest")
        found = await run_in_threadpool(
            lambda: store.search(engine, side=side, code=code, since=_naive(since),
                                 until=_naive(until), locator=locator, digest=canonical,
                                 ticket=ticket, limit=limit))
        return {"reports": found}

    @app.get("/v1/outages", summary="Outages: open ones first, then the most recent")
    async def get_outages(request: Request, open: bool = False,
                          since: datetime.datetime | None = None):
        require(request, auth.READ)
        return await run_in_threadpool(
            lambda: store.list_outages(engine, settings.outage, open_only=open, since=_naive(since)))

    @app.get("/v1/openapi.json", include_in_schema=False)
    async def openapi(request: Request):
        require(request, auth.READ)
        return app.openapi()

    @app.get("/healthz", summary="Alive and the database answers (no token needed)")
    async def healthz():
        def ping() -> None:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        try:
            await run_in_threadpool(ping)
        except SQLAlchemyError:
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return {"status": "ok"}

    @app.get("/metrics", summary="Prometheus metrics of all the server's processes")
    async def prometheus(request: Request):
        require(request, auth.READ)
        payload = await run_in_threadpool(metrics.exposition)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    from . import pages
    pages.install(app)
    return app


# Python's cyclic garbage collector, tuned for ingest (measured with the benchmark's 50 clients):
# by default it ran at every 700 new containers, about once per report (a parsed report is some
# 600 dicts and lists), and now and then (11 times in 2,500 reports) scanned all the 100,000
# objects of the imported libraries, 130 ms each: 0.8 ms per report in all, a quarter of the
# server's CPU, and pauses that showed in the p99 latency. Reports are freed by reference
# counting, not by the collector; it only has to find the rare cycle, so it may wait for more
# new containers (YOUNG_OBJECTS), and what exists once the app has started (modules, compiled
# validators) lives as long as the process and is never scanned again (gc.freeze).
YOUNG_OBJECTS = 50_000


def _settle_garbage_collector() -> None:
    intake.warm_up()   # compile the validators now, so that they are frozen with the rest
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, older, oldest)


PRUNE_EVERY_S = 3600


async def _retention(engine, settings: Settings) -> None:
    """Delete reports older than the retention setting, now and once an hour."""
    while True:
        cutoff = store.now() - datetime.timedelta(days=settings.retention_days)
        try:
            await run_in_threadpool(store.prune, engine, cutoff)
        except SQLAlchemyError:
            pass   # the next round tries again; /healthz shows a database that is away
        await asyncio.sleep(PRUNE_EVERY_S)


def _naive(value: datetime.datetime | None) -> datetime.datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def from_environment() -> FastAPI:
    """The app as ``diagnose-server`` starts it in each worker process."""
    app = create_app(from_env(os.environ[DB_ENV]))
    _settle_garbage_collector()   # the process is the server's alone (not so under the tests)
    return app
