"""The server's tables (SQLAlchemy Core), its engines for SQLite and PostgreSQL, and migrating.

The tables here and the Alembic migrations (``migrations/versions``) describe the same schema; a
test compares them. Times are naive UTC. The report as received is kept whole in ``body``; the
other columns are what searches, outages and the measure need.
"""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import (Column, Date, DateTime, ForeignKey, Index, Integer, MetaData, SmallInteger,
                        String, Table, Text, create_engine, event, text)
from sqlalchemy.engine import Engine, make_url

metadata = MetaData()

reports = Table(
    "reports", metadata,
    Column("id", String(36), primary_key=True),
    Column("source", String(8), nullable=False),          # submit | phone
    Column("received_at", DateTime, nullable=False),
    Column("observed_at", DateTime, nullable=False),      # when diagnose ran (clamped to received)
    Column("day", Date, nullable=False),                  # observed_at's UTC day, for the measure
    Column("subscriber", String(80), nullable=False),     # installation, or the phone ticket
    Column("installation", String(36)),
    Column("side", String(8), nullable=False),
    Column("code", String(3), nullable=False),
    Column("digest", String(24), nullable=False),
    Column("ticket", String(64)),
    Column("body", Text, nullable=False),                 # the report as stored (JSON)
    Column("body_sha256", String(64), nullable=False),
)
Index("ix_reports_observed_at", reports.c.observed_at)
Index("ix_reports_day_side_code", reports.c.day, reports.c.side, reports.c.code)
Index("ix_reports_side_observed_at", reports.c.side, reports.c.observed_at)
Index("ix_reports_code_observed_at", reports.c.code, reports.c.observed_at)
Index("ix_reports_digest_observed_at", reports.c.digest, reports.c.observed_at)
Index("ix_reports_ticket_observed_at", reports.c.ticket, reports.c.observed_at)

report_locators = Table(
    "report_locators", metadata,
    Column("report_id", String(36), ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True),
    Column("locator", String(200), primary_key=True),
    Column("observed_at", DateTime, nullable=False),
    Column("subscriber", String(80), nullable=False),
    Column("side", String(8), nullable=False),
)
Index("ix_report_locators_locator_observed_at", report_locators.c.locator,
      report_locators.c.observed_at)

outages = Table(
    "outages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("locator", String(200), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("closed_at", DateTime),
    Column("last_fault_at", DateTime, nullable=False),
    Column("subscribers", Integer, nullable=False),
    Column("reports", Integer, nullable=False),
    Column("sides", String(16), nullable=False),          # line, isp or line,isp
)
Index("ix_outages_locator_opened_at", outages.c.locator, outages.c.opened_at)
Index("ix_outages_closed_at", outages.c.closed_at)

# The measure's figures: reports per day, side and code, added to in the transaction that stores
# each report (store.ingest_many) and taken off by prune. Each writer adds to its own shard's row,
# so concurrent writers do not queue for one row; the measure sums the shards.
report_days = Table(
    "report_days", metadata,
    Column("day", Date, primary_key=True),
    Column("side", String(8), primary_key=True),
    Column("code", String(3), primary_key=True),
    Column("shard", SmallInteger, primary_key=True, autoincrement=False),
    Column("reports", Integer, nullable=False),
)

server_keys = Table(
    "server_keys", metadata,
    Column("name", String(32), primary_key=True),
    Column("value", String(128), nullable=False),         # e.g. the session cookie's signing key
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def default_url(data_folder: Path) -> str:
    return f"sqlite:///{data_folder / 'server.sqlite3'}"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """An engine for url; SQLite in WAL mode with full fsync, so a commit survives a kill."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False},
                               pool_size=8, max_overflow=8)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None   # transactions begin as _begin says
            cursor = dbapi_connection.cursor()
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                           "busy_timeout=30000"):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection):
            # Writers take the write lock up front: no deadlock upgrading a read lock.
            mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
            connection.exec_driver_sql(f"BEGIN {mode}")
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"unsupported database {parsed.get_backend_name()!r}: "
                         "use sqlite:///FILE or postgresql://...")
    # Reports are stored through one connection per process (the writer); the rest serve reads.
    # 16 at most per process keeps 4 workers within PostgreSQL's default max_connections (100).
    return create_engine(parsed, pool_size=8, max_overflow=8, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema; several processes may start at once."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        if not is_sqlite(engine):   # one migrating process at a time
            connection.execute(text("SELECT pg_advisory_lock(7351001)"))
            connection.commit()
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        finally:
            if not is_sqlite(engine):
                connection.execute(text("SELECT pg_advisory_unlock(7351001)"))
                connection.commit()


def private_file_mode(url: str) -> None:
    """Make a SQLite database file (and its WAL files) readable by its owner only."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        for suffix in ("", "-wal", "-shm"):
            path = Path(parsed.database + suffix)
            if path.exists():
                os.chmod(path, 0o600)
