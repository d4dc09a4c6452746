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
from collections import Counter
from typing import Any, Iterable, Iterator

import orjson
from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from . import intake, outages as outage_rules
from .config import OutageRule
from .db import is_sqlite, outages, report_days, report_locators, reports, server_keys

CREATED, EXISTS, CONFLICT = "created", "exists", "conflict"
OUTAGE_SIDES = outage_rules.FAULT_SIDES + outage_rules.HEALTHY_SIDES
SEARCH_LIMIT = 100


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def encode(document: dict[str, Any]) -> str:
    """The stored form: compact JSON, keys sorted, text as UTF-8 (orjson: a tenth of the stdlib's
    time on a 15 KB report; the stdlib for an integer past 64 bits, which orjson refuses)."""
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _fingerprint(document: dict[str, Any], phone: bool, body: str | None = None) -> str:
    """body_sha256: what tells a report sent again (200) from another one with its id (409)."""
    return hashlib.sha256((encode(_identity(document)) if phone else body or encode(document))
                          .encode()).hexdigest()


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


def prepare(document: dict[str, Any], received: datetime.datetime | None = None) -> dict[str, Any]:
    """The reports row of a checked report or phone record, with its locators (``found``): all
    that storing it needs, worked out before the write transaction."""
    received = received or now()
    phone = document.get("kind") == "phone"
    body = encode(document)
    if phone:
        observed = received
        subscriber = f"ticket:{document['ticket']}"
        side, code = document["decoded"]["side"], document["decoded"]["code"]
    else:
        observed = intake.observed_at(document, received)
        subscriber = (f"installation:{document['installation']}" if document.get("installation")
                      else f"report:{document['id']}")
        side, code = document["verdict"]["side"], document["verdict"]["code"]
    return {"id": document["id"], "source": "phone" if phone else "submit", "received_at": received,
            "observed_at": observed, "day": observed.date(), "subscriber": subscriber,
            "installation": None if phone else document.get("installation"), "side": side,
            "code": code, "digest": document["digest"],
            "ticket": document.get("ticket") if phone else None, "body": body,
            "body_sha256": _fingerprint(document, phone, body),
            "found": sorted(intake.locators_of(document))}


def _identity(record: dict[str, Any]) -> dict[str, Any]:
    """What makes a phone report the same one: the same digest, ticket and locator entered again
    later is already stored (200), not a different report with its id (409)."""
    return {key: value for key, value in record.items() if key != "entered_at"}


def ingest(engine: Engine, document: dict[str, Any], rule: OutageRule,
           received: datetime.datetime | None = None) -> str:
    """Store a checked report or phone record; CREATED, EXISTS (same id, same content) or CONFLICT."""
    return ingest_many(engine, [prepare(document, received)], rule)[0]


def ingest_many(engine: Engine, rows: list[dict[str, Any]], rule: OutageRule,
                shard: int = 0) -> list[str]:
    """Store checked reports (as ``prepare`` returns them) in one transaction, one commit for all
    (group commit); the outcome of each, in order. Their locators, the per-day counts and the
    outages they change are written in the same transaction: all of it is committed, or nothing.

    Locks are taken in one order by every writer (report ids, counts, locators; each sorted),
    so concurrent transactions of several processes wait for each other but never deadlock.
    ``shard`` spreads the per-day counts over rows, one per writer, so that two processes'
    writers do not queue for the same row.
    """
    first: dict[str, dict[str, Any]] = {}
    for row in rows:
        first.setdefault(row["id"], row)
    fresh = sorted(first.values(), key=lambda row: row["id"])
    with _write(engine) as connection, connection.begin():
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        created = set(connection.execute(
            dialect.insert(reports).on_conflict_do_nothing(index_elements=["id"])
            .returning(reports.c.id),
            [{column: row[column] for column in _REPORT_COLUMNS} for row in fresh]).scalars())
        kept = {}
        if len(created) < len(fresh):
            kept = dict(connection.execute(
                select(reports.c.id, reports.c.body_sha256)
                .where(reports.c.id.in_([row["id"] for row in fresh if row["id"] not in created]))
            ).all())
            _fingerprint_again(connection, kept, rows)
        stored = [row for row in fresh if row["id"] in created]
        located = [{"report_id": row["id"], "locator": locator, "observed_at": row["observed_at"],
                    "subscriber": row["subscriber"], "side": row["side"]}
                   for row in stored for locator in row["found"]]
        if located:
            connection.execute(insert(report_locators), located)
        if stored:
            _count(connection, dialect, stored, shard)
        changes: dict[str, list[tuple[datetime.datetime, str]]] = {}
        for row in stored:
            if row["side"] in OUTAGE_SIDES:
                for locator in row["found"]:
                    changes.setdefault(locator, []).append((row["observed_at"], row["side"]))
        _lock_locators(connection, changes)
        _recompute(connection, changes, rule)
    outcomes = []
    for row in rows:
        original = first[row["id"]]
        if row is original and row["id"] in created:
            outcomes.append(CREATED)
            continue
        known = original["body_sha256"] if original["id"] in created else kept[row["id"]]
        outcomes.append(EXISTS if known == row["body_sha256"] else CONFLICT)
    return outcomes


def _fingerprint_again(connection: Connection, kept: dict[str, str],
                       rows: list[dict[str, Any]]) -> None:
    """Stored reports whose fingerprint differs from that of one sent again: fingerprint them
    again as this version encodes them, in case an older one wrote the same JSON differently
    (the stdlib's 1e-05 where orjson writes 1e-5), so the same report stays "already stored"."""
    differ = sorted({row["id"] for row in rows
                     if row["id"] in kept and kept[row["id"]] != row["body_sha256"]})
    if differ:
        for report_id, source, body in connection.execute(
                select(reports.c.id, reports.c.source, reports.c.body)
                .where(reports.c.id.in_(differ))):
            kept[report_id] = _fingerprint(json.loads(body), source == "phone")


_REPORT_COLUMNS = tuple(column.name for column in reports.columns)
SHARDS = 16   # rows per (day, side, code) in report_days at most: one per writer, modulo this


def _count(connection: Connection, dialect, stored: list[dict[str, Any]], shard: int) -> None:
    """Add the stored reports to the per-day counts the measure reads (report_days)."""
    counts = Counter((row["day"], row["side"], row["code"]) for row in stored)
    statement = dialect.insert(report_days)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "side", "code", "shard"],
        set_={"reports": report_days.c.reports + statement.excluded.reports})
    connection.execute(statement, [
        {"day": day, "side": side, "code": code, "shard": shard % SHARDS, "reports": n}
        for (day, side, code), n in sorted(counts.items())])


def _lock_locators(connection: Connection, locators: Iterable[str]) -> None:
    """On PostgreSQL, one writer per locator at a time (advisory locks, in sorted order)."""
    keys = sorted({zlib.crc32(locator.encode()) - 2**31 for locator in locators})
    if keys and connection.dialect.name == "postgresql":
        connection.execute(text("SELECT count(pg_advisory_xact_lock(key)) FROM "
                                "(SELECT unnest(CAST(:keys AS bigint[])) AS key ORDER BY 1) AS k"),
                           {"keys": keys})


def _recompute(connection: Connection, changes: dict[str, list[tuple[datetime.datetime, str]]],
               rule: OutageRule) -> None:
    """Derive the outages of each changed locator again from its reports after its last final
    outage, after new reports (``changes``: locator -> [(when, side)]) were stored (the
    locators' locks held).

    Outages closed more than ``rule.horizon`` ago are final and stay as stored; the others are
    replaced by what the reports since then say (so a report arriving late still counts).
    What every locator needs is read in one statement per table for all of them (a batch of
    reports touches a few dozen locators; a statement per locator was most of the writer's CPU).
    """
    if not changes:
        return
    final_before = now() - rule.horizon
    changed = outages.c.locator.in_(sorted(changes))
    not_final = or_(outages.c.closed_at.is_(None), outages.c.closed_at >= final_before)
    recent: dict[str, list[tuple[datetime.datetime, datetime.datetime | None]]] = {}
    for row in connection.execute(select(outages.c.locator, outages.c.opened_at,
                                         outages.c.closed_at).where(changed, not_final)):
        recent.setdefault(row.locator, []).append((row.opened_at, row.closed_at))
    settled: dict[str, datetime.datetime] = dict(connection.execute(
        select(outages.c.locator, func.max(outages.c.closed_at))
        .where(changed, outages.c.closed_at < final_before).group_by(outages.c.locator)).all())
    since: dict[str, tuple[datetime.datetime, bool]] = {}   # locator -> (start, start excluded)
    for locator, its_changes in changes.items():
        its_outages, its_settled = recent.get(locator, []), settled.get(locator)
        if not any(side in outage_rules.FAULT_SIDES for _, side in its_changes) and not any(
                opened <= at and (closed is None or closed > at)
                for at, _ in its_changes for opened, closed in its_outages):
            # Reports without a fault change something only if an outage was open at their
            # time (one closed before the final ones ended is settled, below, either way).
            continue
        start = final_before - rule.window
        if its_outages:
            start = min(start, min(opened for opened, _ in its_outages))
        if its_settled is not None:
            start = max(start, its_settled)
        if all(at < start or (its_settled is not None and at <= its_settled)
               for at, _ in its_changes):
            continue   # part of the settled past
        since[locator] = (start, its_settled is not None and start == its_settled)
    if not since:
        return
    events: dict[str, list[outage_rules.Event]] = {locator: [] for locator in since}
    for row in connection.execute(
            select(report_locators.c.locator, report_locators.c.observed_at,
                   report_locators.c.subscriber, report_locators.c.side)
            .where(report_locators.c.locator.in_(sorted(since)),
                   report_locators.c.observed_at >= min(start for start, _ in since.values()),
                   report_locators.c.side.in_(OUTAGE_SIDES))):
        start, excluded = since[row.locator]
        if row.observed_at > start or row.observed_at == start and not excluded:
            events[row.locator].append(outage_rules.Event(at=row.observed_at,
                                                          subscriber=row.subscriber, side=row.side))
    replaced = sorted(locator for locator in since if locator in recent)
    if replaced:   # the others have no outage open or recent
        connection.execute(delete(outages).where(outages.c.locator.in_(replaced), not_final))
    found = [outage for locator in sorted(since)
             for outage in outage_rules.episodes(locator, events[locator], rule)]
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
    """(day, side, code, reports) since a day: what the measure is drawn from (report_days, kept
    by every write; a few thousand rows a year whatever the number of reports)."""
    query = (select(report_days.c.day, report_days.c.side, report_days.c.code,
                    func.sum(report_days.c.reports))
             .where(report_days.c.day >= since)
             .group_by(report_days.c.day, report_days.c.side, report_days.c.code))
    with engine.connect() as connection:
        return [(_as_date(day), side, code, int(n)) for day, side, code, n in connection.execute(query)
                if n]


def _as_date(value) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(reports)).scalar_one()


def prune(engine: Engine, older_than: datetime.datetime) -> int:
    """Delete reports (and their locators) observed before a time, and their per-day counts;
    outages stay as they were."""
    last_day = older_than.date()   # the only day whose reports are partly deleted
    with _write(engine) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            # Writers add to report_days in the transaction of their report: waiting for the
            # ones in flight, and making new ones wait, keeps the counts equal to the reports.
            connection.execute(text("LOCK TABLE report_days IN SHARE ROW EXCLUSIVE MODE"))
        old = select(reports.c.id).where(reports.c.observed_at < older_than)
        connection.execute(delete(report_locators).where(report_locators.c.report_id.in_(old)))
        deleted = connection.execute(delete(reports).where(reports.c.observed_at < older_than)).rowcount
        connection.execute(delete(report_days).where(report_days.c.day <= last_day))
        connection.execute(insert(report_days).from_select(
            ["day", "side", "code", "shard", "reports"],
            select(reports.c.day, reports.c.side, reports.c.code, literal(0), func.count())
            .where(reports.c.day == last_day)
            .group_by(reports.c.day, reports.c.side, reports.c.code)))
        return deleted


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
