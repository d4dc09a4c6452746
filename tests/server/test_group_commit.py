"""Many reports in one transaction (the writer's group commit), and the per-day counts the
measure reads (report_days): always equal to the stored reports, across processes, prunes and
the migration that adds them."""
from __future__ import annotations

import datetime
import json
import re
import threading
import uuid

import pytest
import requests
from sqlalchemy import func, insert, select

from diagnose.server import db, store
from diagnose.server.config import OutageRule
from diagnose.server.writer import Writer

from . import reports
from .conftest import READ_TOKEN, WRITE_TOKEN
from .processes import Server

RULE = OutageRule()


def counted(engine) -> list[tuple]:
    return sorted(store.counts_by_day(engine, datetime.date(1970, 1, 1)))


def actual(engine) -> list[tuple]:
    with engine.connect() as connection:
        rows = connection.execute(select(db.reports.c.day, db.reports.c.side, db.reports.c.code,
                                         func.count())
                                  .group_by(db.reports.c.day, db.reports.c.side, db.reports.c.code))
        return sorted((store._as_date(day), side, code, n) for day, side, code, n in rows)


def test_a_batch_says_what_became_of_each_report(engine):
    a, b, kept = reports.make("line", ac="BRAS-1"), reports.make("user"), reports.make("home")
    assert store.ingest(engine, kept, RULE) == store.CREATED
    changed = {**b, "duration_ms": b["duration_ms"] + 1}
    changed_kept = {**kept, "duration_ms": kept["duration_ms"] + 1}
    batch = [a, a, b, changed, kept, changed_kept]
    outcomes = store.ingest_many(engine, [store.prepare(r) for r in batch], RULE)
    assert outcomes == [store.CREATED, store.EXISTS, store.CREATED, store.CONFLICT,
                        store.EXISTS, store.CONFLICT]
    assert store.count(engine) == 3
    assert store.get(engine, b["id"])["report"] == b
    assert store.locators_of(engine, a["id"]) == ["ac:BRAS-1"]
    assert counted(engine) == actual(engine)


def test_a_report_the_database_refuses_fails_alone(engine):
    writer = Writer(engine, RULE)
    good = [store.prepare(reports.make("line")) for _ in range(5)]
    bad = {**store.prepare(reports.make("user")), "body": None}   # NOT NULL
    futures = [writer.submit(row) for row in (*good[:2], bad, *good[2:])]
    try:
        results = [f.exception(30) or f.result() for f in futures]
    finally:
        writer.stop()
    assert results[:2] + results[3:] == [store.CREATED] * 5
    assert "IntegrityError" in type(results[2]).__name__
    assert store.count(engine) == 5 and counted(engine) == actual(engine)


def test_day_counts_follow_the_reports_through_writers_and_prune(db_url):
    engine = db.make_engine(db_url)
    db.migrate(engine)
    try:
        now = datetime.datetime.now(datetime.timezone.utc)
        rows = [store.prepare(reports.make(side, at=now - datetime.timedelta(hours=9 * n)))
                for n in range(40) for side in ("line", "user", "none")]
        for shard, start in enumerate(range(0, len(rows), 25)):   # as two processes would
            store.ingest_many(engine, rows[start:start + 25], RULE, shard=shard % 2)
        assert sum(n for *_, n in counted(engine)) == 120
        assert counted(engine) == actual(engine)
        cutoff = store.now() - datetime.timedelta(hours=100)   # the middle of a day
        deleted = store.prune(engine, cutoff)
        assert 0 < deleted < 120
        assert counted(engine) == actual(engine)
        assert sum(n for *_, n in counted(engine)) == 120 - deleted
    finally:
        engine.dispose()


def test_the_migration_counts_the_reports_already_stored(tmp_path):
    from alembic import command
    from alembic.config import Config

    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.commit()
    with engine.begin() as connection:   # stored by the previous version: no report_days yet
        connection.execute(insert(db.reports), [
            {k: v for k, v in store.prepare(reports.make(side)).items() if k != "found"}
            for side in ("line", "line", "user")])
    db.migrate(engine)
    assert counted(engine) == actual(engine) and sum(n for *_, n in counted(engine)) == 3
    engine.dispose()


@pytest.mark.timeout(300)
def test_two_processes_keep_one_count_and_one_metrics(db_url, tmp_path):
    """Two server processes on one database: the per-day counts equal the stored reports, and
    /metrics counts what both processes received, whichever of them answers."""
    server = Server(db_url, {"DIAGNOSE_SERVER_TOKENS": WRITE_TOKEN,
                             "DIAGNOSE_SERVER_READ_TOKENS": READ_TOKEN}, tmp_path, workers=2)
    sent = [reports.make(side, installation=str(uuid.uuid4()), ac="BRAS-2P")
            for side in ("line", "user", "none", "home") * 15]
    statuses: list[int] = []

    def client(mine: list[dict]) -> None:
        for report in mine:
            for body in (json.dumps(report), json.dumps(report), "{"):   # new, resent, broken
                with requests.post(f"{server.url}/v1/reports", data=body, timeout=30, headers={
                        "Authorization": f"Bearer {WRITE_TOKEN}",
                        "Content-Type": "application/json"}) as answer:   # a new connection
                    statuses.append(answer.status_code)
    try:
        threads = [threading.Thread(target=client, args=(sent[i::6],)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert sorted(set(statuses)) == [200, 201, 400] and statuses.count(201) == len(sent)
        for _ in range(6):   # each on a new connection: both processes answer some
            text = requests.get(f"{server.url}/metrics", timeout=10,
                                headers={"Authorization": f"Bearer {READ_TOKEN}"}).text
            found = dict(re.findall(r'diagnose_reports_received_total\{kind="report",'
                                    r'outcome="(\w+)"\} ([\d.]+)', text))
            assert found == {"created": "60.0", "exists": "60.0", "malformed_json": "60.0"}, found
    finally:
        server.stop()
    engine = db.make_engine(db_url)
    try:
        assert counted(engine) == actual(engine)
        assert sum(n for *_, n in counted(engine)) == len(sent)
    finally:
        engine.dispose()
