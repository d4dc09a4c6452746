#!/usr/bin/env python3
"""Benchmark diagnose-server: ingest rate and latency with concurrent clients, then the outage
and measure queries and pages with a million stored reports; SQLite and PostgreSQL.

    python3 benchmarks/server_bench.py [--db sqlite,postgresql] [--clients 50] [--reports 6000]
                                       [--stored 1000000] [--write docs/performance.md]

Ingest: CLIENTS concurrent clients (threads in two client processes, one keep-alive connection
each) post REPORTS distinct reports through HTTP to a running diagnose-server; the rate is
reports acknowledged per second of wall time, latencies are per POST. Stored: the database is
then filled to STORED reports spread over the last 365 days (written straight into the tables,
with their locators and the outages derived by the server's own rule), and each query is timed
through HTTP, the measure with its cache off. Everything runs on this machine, on loopback;
PostgreSQL is a throwaway cluster in a temp folder (Debian's postgresql). The machine is shared:
the load average is recorded with the figures.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import http.client
import io
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.sections import provenance, write_section  # noqa: E402
from tests.server import reports as sample  # noqa: E402
from tests.server.processes import Postgres, Server  # noqa: E402

WRITE, READ = "bench-write-" + uuid.uuid4().hex, "bench-read-" + uuid.uuid4().hex
TOKENS = {"DIAGNOSE_SERVER_TOKENS": WRITE, "DIAGNOSE_SERVER_READ_TOKENS": READ,
          "DIAGNOSE_SERVER_MEASURE_CACHE_S": "0"}
SIDE_MIX = [("user", 40), ("home", 18), ("none", 15), ("line", 17), ("isp", 5), ("account", 3),
            ("unknown", 2)]
ACS = [f"BRAS-{n:03d}" for n in range(200)]


def pick_side(rng: random.Random) -> str:
    return rng.choices([s for s, _ in SIDE_MIX], [w for _, w in SIDE_MIX])[0]


def realistic(rng: random.Random, at: datetime.datetime | None = None) -> dict:
    """A report about the size of a real one (diagnose --json is 10-20 KB with every check)."""
    side = pick_side(rng)
    report = sample.make(side, installation=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                         ac=rng.choice(ACS) if side in ("line", "isp", "none") else None, at=at)
    for check in report["checks"]:
        check["facts"].setdefault("samples", [{"target": f"192.0.2.{n}", "rtt_ms": n * 1.5,
                                               "status": "ok"} for n in range(12)])
    return report


# ---------------------------------------------------------------------------- ingest

def _client_process(url: str, bodies: list[bytes], threads: int, queue) -> None:
    host, port = url.removeprefix("http://").split(":")
    share = [bodies[i::threads] for i in range(threads)]
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def run(mine: list[bytes]) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        local = []
        for body in mine:
            started = time.perf_counter()
            try:
                connection.request("POST", "/v1/reports", body=body, headers={
                    "Authorization": f"Bearer {WRITE}", "Content-Type": "application/json"})
                reply = connection.getresponse()
                reply.read()
                status = reply.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                status = 0
            local.append((status, time.perf_counter() - started))
        connection.close()
        with lock:
            results.extend(local)
    workers = [threading.Thread(target=run, args=(part,)) for part in share]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put(results)


def ingest(url: str, clients: int, count: int, seed: int) -> dict:
    rng = random.Random(seed)
    bodies = [json.dumps(realistic(rng)).encode() for _ in range(count)]
    processes = 2
    queue = multiprocessing.Queue()
    started = time.perf_counter()
    children = [multiprocessing.Process(target=_client_process,
                                        args=(url, bodies[i::processes], clients // processes, queue))
                for i in range(processes)]
    for child in children:
        child.start()
    results = []
    for _ in children:
        results.extend(queue.get())
    for child in children:
        child.join()
    wall = time.perf_counter() - started
    latencies = sorted(seconds for status, seconds in results)
    ok = sum(1 for status, _ in results if status == 201)
    return {"reports": count, "stored": ok, "errors": len(results) - ok, "wall_s": wall,
            "rate": ok / wall, "p50_ms": _pct(latencies, 50), "p99_ms": _pct(latencies, 99),
            "max_ms": latencies[-1] * 1000, "body_bytes": sum(map(len, bodies)) // len(bodies)}


def _pct(sorted_seconds: list[float], percent: float) -> float:
    index = min(len(sorted_seconds) - 1, int(round(percent / 100 * (len(sorted_seconds) - 1))))
    return sorted_seconds[index] * 1000


# ---------------------------------------------------------------------------- a million stored

def fill(db_url: str, total: int, seed: int) -> tuple[float, int]:
    """Write reports straight into the tables until there are `total`, over the last 365 days
    (none when the ingest stored as many already); the seconds it took and the reports stored."""
    from sqlalchemy import insert, text
    from sqlalchemy.dialects import postgresql, sqlite

    from diagnose import digest as digests
    from diagnose.server import db, outages as outage_rules, store
    from diagnose.server.config import OutageRule
    engine = db.make_engine(db_url)
    db.migrate(engine)
    have = store.count(engine)
    if have >= total:
        engine.dispose()
        return 0.0, have
    started = time.perf_counter()
    rng = random.Random(seed)
    now = store.now()
    templates = {}
    for side, _ in SIDE_MIX:
        report = sample.make(side)
        templates[side] = (report["verdict"]["code"], report["digest"])
    subscribers = [f"installation:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
                   for _ in range(200_000)]
    batch = 20_000
    events: dict[str, list] = {}
    days: collections.Counter = collections.Counter()
    left = total - have
    while left > 0:
        rows, located = [], []
        for _ in range(min(batch, left)):
            side = pick_side(rng)
            code, digest = templates[side]
            at = now - datetime.timedelta(seconds=rng.random() * 365 * 86400)
            report_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            who = rng.choice(subscribers)
            body = json.dumps({"id": report_id, "verdict": {"side": side, "code": code},
                               "digest": digest, "bench": True})
            rows.append({"id": report_id, "source": "submit", "received_at": at,
                         "observed_at": at, "day": at.date(), "subscriber": who,
                         "installation": who.split(":", 1)[1], "side": side, "code": code,
                         "digest": digest, "ticket": None, "body": body,
                         "body_sha256": "0" * 64})
            days[(at.date(), side, code)] += 1
            if side in ("line", "isp", "none"):
                locator = f"ac:{rng.choice(ACS)}"
                located.append({"report_id": report_id, "locator": locator, "observed_at": at,
                                "subscriber": who, "side": side})
                events.setdefault(locator, []).append(outage_rules.Event(at, who, side))
        with engine.begin() as connection:
            _bulk(connection, db.reports, rows)
            _bulk(connection, db.report_locators, located)
        left -= len(rows)
    found = []
    rule = OutageRule()
    for locator, stream in events.items():
        found += outage_rules.episodes(locator, stream, rule)
    with engine.begin() as connection:
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        counting = dialect.insert(db.report_days)
        connection.execute(counting.on_conflict_do_update(
            index_elements=["day", "side", "code", "shard"],
            set_={"reports": db.report_days.c.reports + counting.excluded.reports}), [
            {"day": day, "side": side, "code": code, "shard": 0, "reports": n}
            for (day, side, code), n in days.items()])
        if found:
            connection.execute(insert(db.outages), [
                {"locator": o.locator, "opened_at": o.opened_at, "closed_at": o.closed_at,
                 "last_fault_at": o.last_fault_at, "subscribers": len(o.subscribers),
                 "reports": o.reports, "sides": ",".join(sorted(o.sides))} for o in found])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql"
                                else "ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started, total


def _bulk(connection, table, rows: list[dict]) -> None:
    """Insert many rows fast: COPY on PostgreSQL, the driver's executemany on SQLite."""
    if not rows:
        return
    columns = [column.name for column in table.columns if column.name in rows[0]]
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])
        return
    values = [[_sqlite_value(row[column]) for column in columns] for row in rows]
    raw.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
                    f"({', '.join('?' * len(columns))})", values)


def _sqlite_value(value):
    """As SQLAlchemy stores dates and times in SQLite (ISO text)."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value.isoformat() if isinstance(value, datetime.date) else value


def queries(url: str, runs: int, digest: str, report_id: str) -> dict:
    host, port = url.removeprefix("http://").split(":")
    since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    paths = {
        "GET /v1/outages": "/v1/outages",
        "GET /v1/outages?open=true": "/v1/outages?open=true",
        "page /outages (board)": "/outages?lang=zh_CN",
        "page /measure (uncached)": "/measure?lang=zh_CN",
        "page / (hotline, find by digest)": f"/?q={digest}&lang=en",
        "page /reports/{id}": f"/reports/{report_id}?lang=en",
        "GET /v1/reports?side=line&since=7d": f"/v1/reports?side=line&since={since}",
        "GET /v1/reports?locator=ac:BRAS-007": "/v1/reports?locator=ac:BRAS-007",
    }
    timings = {}
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    for name, path in paths.items():
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            connection.request("GET", path, headers={"Authorization": f"Bearer {READ}"})
            reply = connection.getresponse()
            reply.read()
            seconds.append(time.perf_counter() - started)
            assert reply.status == 200, (name, reply.status)
        seconds.sort()
        timings[name] = {"median_ms": statistics.median(seconds) * 1000,
                         "max_ms": seconds[-1] * 1000}
    connection.close()
    return timings


# ---------------------------------------------------------------------------- running

def one_database(kind: str, args, folder: Path) -> dict:
    cluster = None
    if kind == "postgresql":
        cluster = Postgres()
        db_url = cluster.fresh_database("bench")
        workers = 2
    else:
        db_url = f"sqlite:///{folder / 'bench.sqlite3'}"
        workers = 1
    try:
        server = Server(db_url, TOKENS, folder, workers=workers)
        try:
            load_before = os.getloadavg()[0]
            spent = _cpu(server, cluster)
            clients_before = os.times()
            measured = ingest(server.url, args.clients, args.reports, seed=1)
            clients_after = os.times()
            measured["load"] = (load_before, os.getloadavg()[0])
            measured["workers"] = workers
            after = _cpu(server, cluster)
            measured["cpu_ms"] = {part: (after[part] - spent[part]) * 1000 / measured["stored"]
                                  for part in after}
            measured["cpu_ms"]["clients"] = (
                clients_after.children_user + clients_after.children_system
                - clients_before.children_user - clients_before.children_system
            ) * 1000 / measured["stored"]
        finally:
            server.stop()
        fill_s, stored = fill(db_url, args.stored, seed=2)
        server = Server(db_url, TOKENS, folder, workers=workers)
        try:
            digest, report_id = _some_line_report(db_url)
            load_before = os.getloadavg()[0]
            timings = queries(server.url, args.runs, digest, report_id)
            load = (load_before, os.getloadavg()[0])
        finally:
            server.stop()
        return {"ingest": measured, "fill_s": fill_s, "stored": stored, "queries": timings,
                "query_load": load}
    finally:
        if cluster is not None:
            cluster.stop()


def _cpu(server: Server, cluster: Postgres | None) -> dict[str, float]:
    """CPU seconds used so far by the server's processes and the database's (PostgreSQL)."""
    import psutil

    def used(root: int) -> float:
        total = 0.0
        try:
            parent = psutil.Process(root)
            for process in [parent, *parent.children(recursive=True)]:
                try:
                    times = process.cpu_times()
                    total += times.user + times.system
                except psutil.NoSuchProcess:
                    pass
        except psutil.NoSuchProcess:
            pass
        return total
    spent = {"server": used(server.process.pid)}
    if cluster is not None:
        spent["database"] = used(int((cluster.data / "postmaster.pid").read_text().split()[0]))
    return spent


def _some_line_report(db_url: str) -> tuple[str, str]:
    from sqlalchemy import select

    from diagnose.server import db
    engine = db.make_engine(db_url)
    with engine.connect() as connection:
        row = connection.execute(select(db.reports.c.digest, db.reports.c.id)
                                 .where(db.reports.c.side == "line").limit(1)).first()
    engine.dispose()
    return row.digest, row.id


def goals(results: dict) -> list[str]:
    """The goals of issue 13 against these figures (PostgreSQL's for ingest, every database's
    for the pages)."""
    lines = ["| goal | measured | met |", "|---|---|---|"]
    pg = results.get("postgresql")
    if pg is not None:
        ingest, cpu = pg["ingest"], sum(pg["ingest"]["cpu_ms"].values())
        alone = os.cpu_count() * 1000 / cpu
        lines.append(f"| PostgreSQL ingest ≥ 500 reports/s | {ingest['rate']:.0f} under load "
                     f"{ingest['load'][0]:.1f}; {alone:.0f} at its CPU cost on idle cores | "
                     f"{'yes' if ingest['rate'] >= 500 else 'no'} |")
        lines.append(f"| PostgreSQL ingest p99 < 200 ms | {ingest['p99_ms']:.0f} ms | "
                     f"{'yes' if ingest['p99_ms'] < 200 else 'no'} |")
    for kind, result in results.items():
        name, worst = max(((name, q["median_ms"]) for name, q in result["queries"].items()),
                          key=lambda item: item[1])
        slowest = max(q["max_ms"] for q in result["queries"].values())
        lines.append(f"| every page and query < 300 ms ({kind}) | slowest median {worst:.0f} ms "
                     f"({name}), slowest run {slowest:.0f} ms | {'yes' if slowest < 300 else 'no'} |")
    return lines


def _stored(results: dict) -> str:
    """How many reports the queries ran on: at least --stored, more if the ingest stored more."""
    counts = sorted({result["stored"] for result in results.values()})
    return " / ".join(f"{count:,}" for count in counts)


def document(results: dict, args) -> str:
    command = " ".join(["python3 benchmarks/server_bench.py", *sys.argv[1:]])
    lines = ["## diagnose-server (benchmarks/server_bench.py)", "", provenance(command), "",
             f"Clients {args.clients} (two processes, threads with a keep-alive connection each), "
             f"{args.reports} reports posted, {_stored(results)} stored for the queries. Goals "
             "(issue 13): at least 500 reports/s on PostgreSQL with 50 concurrent clients, p99 "
             "under 200 ms, every page under 300 ms with a million stored reports.", "",
             "Everything (clients, server, database) runs on this machine, which other sessions' "
             "test suites and labs share: the load average before → after each phase is in the "
             "tables, and reports/s and latencies are what the server got of the cores under that "
             "load. CPU time per report depends little on the load: the cores divided by it is the "
             "rate this machine would take with nothing else running.", "",
             *goals(results), "",
             "### Ingest: POST /v1/reports, each report distinct and stored", "",
             "| database | server processes | reports | stored | errors | reports/s | p50 ms | p99 ms | max ms | body bytes | load |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for kind, result in results.items():
        m = result["ingest"]
        lines.append(f"| {kind} | {m['workers']} | {m['reports']} | {m['stored']} | {m['errors']} "
                     f"| {m['rate']:.0f} | {m['p50_ms']:.0f} | {m['p99_ms']:.0f} | "
                     f"{m['max_ms']:.0f} | {m['body_bytes']} | {m['load'][0]:.1f} → {m['load'][1]:.1f} |")
    lines += ["", "CPU time per stored report (ms, all processes of each part, from /proc), and the "
              "rate the machine's cores would take at that cost if nothing else ran:", "",
              "| database | server | database | clients | total | cores ÷ total (reports/s) |",
              "|---|---|---|---|---|---|"]
    for kind, result in results.items():
        cpu = result["ingest"]["cpu_ms"]
        total = sum(cpu.values())
        lines.append(f"| {kind} | {cpu['server']:.2f} | "
                     + (f"{cpu['database']:.2f}" if "database" in cpu else "(in the server)")
                     + f" | {cpu['clients']:.2f} | {total:.2f} | {os.cpu_count() * 1000 / total:.0f} |")
    lines += ["", f"### Queries with {_stored(results)} stored reports (ms, {args.runs} runs: median / max)",
              "", "| query | " + " | ".join(results) + " |",
              "|---|" + "---|" * len(results)]
    names = next(iter(results.values()))["queries"]
    for name in names:
        cells = [f"{r['queries'][name]['median_ms']:.0f} / {r['queries'][name]['max_ms']:.0f}"
                 for r in results.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| filling the database (s) | " + " | ".join(
        f"{r['fill_s']:.0f}" for r in results.values()) + " |")
    lines.append("| load average | " + " | ".join(
        f"{r['query_load'][0]:.1f} → {r['query_load'][1]:.1f}" for r in results.values()) + " |")
    lines += ["", "How: each server process checks reports in its event loop and stores them through "
              "one writer thread, as many as are waiting in one transaction (group commit), so "
              "a commit and its fsync serve many reports. The measure reads `report_days` (reports "
              "per day, side and code, kept in the transaction of each report), a few thousand rows "
              "a year whatever the number of reports; its figures are cached 30 s per process by "
              "default, and measured here with the cache off. The stored reports are spread over "
              "the last 365 days with the ingest's side mix and 200 access concentrators, written "
              "straight into the tables (COPY), with the outages derived by the server's own rule."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--reports", type=int, default=6000)
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--write", metavar="PATH")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="diagnose-server-bench-") as folder:
        for kind in args.db.split(","):
            print(f"{kind}: ingest, fill, queries...", file=sys.stderr, flush=True)
            results[kind] = one_database(kind, args, Path(folder))
            print(json.dumps(results[kind], indent=1), file=sys.stderr, flush=True)
    section = document(results, args)
    print(section)
    if args.write:
        write_section(__file__, section, Path(args.write))   # only its own section
    return 0


if __name__ == "__main__":
    sys.exit(main())
