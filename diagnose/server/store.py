"""Reading and writing the database. A report and everything derived from it (locators,
outages) are written in one transaction: either all of it is committed, or nothing is.
"""
from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import secrets
import threading
import zlib
from typing import Any, Iterable, Iterator

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from . import intake, outages as outage_rules
from .config import OutageRule
from .db import is_sqlite, outages, report_locators, reports, server_keys

CREATED, EXISTS, CONFLICT = "created", "exists", "conflict"
OUTAGE_SIDES = outage_rules.FAULT_SIDES + outage_rules.HEALTHY_SIDES
SEARCH_LIMIT = 100


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def encode(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


_SQLITE_WRITERS: dict[int, threading.Lock] = {}


@contextlib.contextmanager
def _write(engine: Engine) -> Iterator[Connection]:
    """A connection for one write transaction. SQLite has one writer at a time: the threads of
    this process queue on a lock instead of SQLite's busy handler, which sleeps."""
    if not is_sqlite(engine):
        with engine.connect() as connection:
            yield connection
        return
    lock = _SQLITE_WRITERS.setdefault(id(engine), threading.Lock())
    with lock, engine.connect() as connection:
        yield connection.execution_options(sqlite_begin="IMMEDIATE")


def ingest(engine: Engine, document: dict[str, Any], rule: OutageRule,
           received: datetime.datetime | None = None) -> str:
    """Store a checked report or phone record; CREATED, EXISTS (same id, same content) or CONFLICT."""
    received = received or now()
    phone = document.get("kind") == "phone"
    body = encode(document)
    digest_of_body = hashlib.sha256(body.encode()).hexdigest()
    if phone:
        observed = received
        subscriber = f"ticket:{document['ticket']}"
        side, code = document["decoded"]["side"], document["decoded"]["code"]
    else:
        observed = intake.observed_at(document, received)
        subscriber = (f"installation:{document['installation']}" if document.get("installation")
                      else f"report:{document['id']}")
        side, code = document["verdict"]["side"], document["verdict"]["code"]
    row = {"id": document["id"], "source": "phone" if phone else "submit", "received_at": received,
           "observed_at": observed, "day": observed.date(), "subscriber": subscriber,
           "installation": None if phone else document.get("installation"), "side": side,
           "code": code, "digest": document["digest"], "ticket": document.get("ticket") if phone else None,
           "body": body, "body_sha256": digest_of_body}
    found = sorted(intake.locators_of(document))
    with _write(engine) as connection, connection.begin():
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        stored = connection.execute(dialect.insert(reports).values(row)
                                    .on_conflict_do_nothing(index_elements=["id"])
                                    .returning(reports.c.id)).first()
        if stored is None:
            kept = connection.execute(select(reports.c.body_sha256)
                                      .where(reports.c.id == row["id"])).scalar_one()
            return EXISTS if kept == digest_of_body else CONFLICT
        if found:
            connection.execute(insert(report_locators), [
                {"report_id": row["id"], "locator": locator, "observed_at": observed,
                 "subscriber": subscriber, "side": side} for locator in found])
        if side in OUTAGE_SIDES:
            for locator in found:
                _recompute(connection, locator, observed, side, rule)
    return CREATED


def _recompute(connection: Connection, locator: str, at: datetime.datetime, side: str,
               rule: OutageRule) -> None:
    """Derive the locator's outages again from its reports after the last final outage.

    Outages closed more than ``rule.horizon`` ago are final and stay as stored; the others are
    replaced by what the reports since then say (so a report arriving late still counts).
    """
    if connection.dialect.name == "postgresql":   # one writer per locator at a time
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": zlib.crc32(locator.encode()) - 2**31})
    final_before = now() - rule.horizon
    mine = outages.c.locator == locator
    not_final = or_(outages.c.closed_at.is_(None), outages.c.closed_at >= final_before)
    if side not in outage_rules.FAULT_SIDES:
        # A report without a fault changes something only if an outage was open at its time.
        open_then = connection.execute(select(outages.c.id).where(
            mine, outages.c.opened_at <= at,
            or_(outages.c.closed_at.is_(None), outages.c.closed_at > at)).limit(1)).first()
        if open_then is None:
            return
    settled = connection.execute(select(func.max(outages.c.closed_at))
                                 .where(mine, outages.c.closed_at < final_before)).scalar()
    earliest_open = connection.execute(select(func.min(outages.c.opened_at))
                                       .where(mine, not_final)).scalar()
    start = final_before - rule.window
    if earliest_open is not None:
        start = min(start, earliest_open)
    if settled is not None:
        start = max(start, settled)
    if at < start or (settled is not None and at <= settled):
        return   # part of the settled past
    after = (report_locators.c.observed_at > settled if settled is not None and start == settled
             else report_locators.c.observed_at >= start)
    events = [outage_rules.Event(at=r.observed_at, subscriber=r.subscriber, side=r.side)
              for r in connection.execute(
                  select(report_locators.c.observed_at, report_locators.c.subscriber,
                         report_locators.c.side)
                  .where(report_locators.c.locator == locator, after,
                         report_locators.c.side.in_(OUTAGE_SIDES)))]
    connection.execute(delete(outages).where(mine, not_final))
    found = outage_rules.episodes(locator, events, rule)
    if found:
        connection.execute(insert(outages), [
            {"locator": o.locator, "opened_at": o.opened_at, "closed_at": o.closed_at,
             "last_fault_at": o.last_fault_at, "subscribers": len(o.subscribers),
             "reports": o.reports, "sides": ",".join(sorted(o.sides))} for o in found])


# ---------------------------------------------------------------------------- reading

def get(engine: Engine, report_id: str) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = connection.execute(select(reports).where(reports.c.id == report_id)).first()
    return _with_body(row) if row else None


def _with_body(row) -> dict[str, Any]:
    return {"id": row.id, "source": row.source, "received_at": _iso(row.received_at),
            "observed_at": _iso(row.observed_at), "side": row.side, "code": row.code,
            "digest": row.digest, "ticket": row.ticket, "report": json.loads(row.body)}


def _summary(row) -> dict[str, Any]:
    return {"id": row.id, "source": row.source, "received_at": _iso(row.received_at),
            "observed_at": _iso(row.observed_at), "side": row.side, "code": row.code,
            "digest": row.digest, "ticket": row.ticket}


def _iso(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def search(engine: Engine, *, side: str | None = None, code: str | None = None,
           since: datetime.datetime | None = None, until: datetime.datetime | None = None,
           locator: str | None = None, digest: str | None = None, ticket: str | None = None,
           limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
    """Reports matching every filter given, newest first (summaries, without the body)."""
    columns = [reports.c.id, reports.c.source, reports.c.received_at, reports.c.observed_at,
               reports.c.side, reports.c.code, reports.c.digest, reports.c.ticket]
    query = select(*columns)
    if locator:
        query = query.join(report_locators, report_locators.c.report_id == reports.c.id) \
            .where(report_locators.c.locator == locator)
    for column, value in ((reports.c.side, side), (reports.c.code, code),
                          (reports.c.digest, digest), (reports.c.ticket, ticket)):
        if value:
            query = query.where(column == value)
    if since:
        query = query.where(reports.c.observed_at >= since)
    if until:
        query = query.where(reports.c.observed_at < until)
    query = query.order_by(reports.c.observed_at.desc(), reports.c.id).limit(limit)
    with engine.connect() as connection:
        return [_summary(row) for row in connection.execute(query)]


def locators_of(engine: Engine, report_id: str) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(report_locators.c.locator)
                                       .where(report_locators.c.report_id == report_id)).scalars())


def list_outages(engine: Engine, rule: OutageRule, *, open_only: bool = False,
                 since: datetime.datetime | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Outages, open ones first, then the most recently opened; expiry applied as of now."""
    current = now()
    query = select(outages)
    if since:
        query = query.where(or_(outages.c.closed_at.is_(None), outages.c.closed_at >= since))
    query = query.order_by(outages.c.closed_at.is_not(None), outages.c.opened_at.desc()).limit(limit)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    result = []
    for row in rows:
        closed, how = outage_rules.effective_close(row.closed_at, row.last_fault_at, current, rule)
        if open_only and closed is not None:
            continue
        result.append({"locator": row.locator, "subscribers": row.subscribers,
                       "opened_at": _iso(row.opened_at), "closed_at": _iso(closed),
                       "closed_by": how, "last_report_at": _iso(row.last_fault_at),
                       "reports": row.reports, "sides": row.sides.split(",")})
    result.sort(key=lambda o: o["opened_at"], reverse=True)
    result.sort(key=lambda o: o["closed_at"] is not None)   # stable: open ones first
    return result


def counts_by_day(engine: Engine, since: datetime.date) -> list[tuple[datetime.date, str, str, int]]:
    """(day, side, code, reports) since a day: what the measure is drawn from."""
    query = (select(reports.c.day, reports.c.side, reports.c.code, func.count())
             .where(reports.c.day >= since)
             .group_by(reports.c.day, reports.c.side, reports.c.code))
    with engine.connect() as connection:
        return [(_as_date(day), side, code, n) for day, side, code, n in connection.execute(query)]


def _as_date(value) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(reports)).scalar_one()


def prune(engine: Engine, older_than: datetime.datetime) -> int:
    """Delete reports (and their locators) observed before a time; outages stay as they were."""
    with _write(engine) as connection, connection.begin():
        old = select(reports.c.id).where(reports.c.observed_at < older_than)
        connection.execute(delete(report_locators).where(report_locators.c.report_id.in_(old)))
        return connection.execute(delete(reports).where(reports.c.observed_at < older_than)).rowcount


def key(engine: Engine, name: str) -> str:
    """A server-wide secret made once (e.g. the cookie signing key), shared by every process."""
    with _write(engine) as connection, connection.begin():
        value = connection.execute(select(server_keys.c.value)
                                   .where(server_keys.c.name == name)).scalar()
        if value is None:
            value = secrets.token_hex(32)
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            connection.execute(dialect.insert(server_keys).values(name=name, value=value)
                               .on_conflict_do_nothing(index_elements=["name"]))
            value = connection.execute(select(server_keys.c.value)
                                       .where(server_keys.c.name == name)).scalar_one()
    return value


def iter_reports(engine: Engine, batch: int = 5000) -> Iterable[list[Any]]:
    """Every stored report's row, in batches (for the export)."""
    last = ""
    while True:
        with engine.connect() as connection:
            rows = connection.execute(select(reports).where(reports.c.id > last)
                                      .order_by(reports.c.id).limit(batch)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id
