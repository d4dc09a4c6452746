"""``diagnose-server [--host H] [--port P] [--db URL]``: start the operator's server.

Exit status: 0 stopped normally, 2 usage, 78 bad setting or database (EX_CONFIG).
"""
from __future__ import annotations

import contextlib
import datetime
import os
import sys
import tempfile
from pathlib import Path

import click

from ..datadir import data_dir
from ..exit_codes import ExitCode

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def _fail(message: str) -> None:
    click.echo(f"diagnose-server: {message}", err=True)
    sys.exit(ExitCode.CONFIG)


def _settings(db: str | None, need_tokens: bool):
    from .config import READ_TOKENS_ENV, TOKENS_ENV, SettingsError, from_env
    from .db import default_url
    url = db or default_url(data_dir())
    try:
        settings = from_env(url)
    except SettingsError as exc:
        _fail(str(exc))
    if need_tokens and not (settings.write_tokens or settings.read_tokens):
        _fail(f"set {TOKENS_ENV} (tokens that may post reports, comma-separated) and "
              f"{READ_TOKENS_ENV} (tokens that may read and use the pages): every endpoint but "
              "/healthz needs one")
    return settings


def _engine(settings):
    from sqlalchemy.exc import SQLAlchemyError

    from .db import make_engine, migrate, private_file_mode
    try:
        engine = make_engine(settings.db_url)
        migrate(engine)
    except (SQLAlchemyError, ValueError, OSError) as exc:
        _fail(f"cannot use the database: {_plain(exc)}")
    private_file_mode(settings.db_url)
    return engine


def _plain(exc: BaseException) -> str:
    """The first line of a database error, without the URL (it may carry a password)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@click.option("--db", metavar="URL", help="Database: postgresql://USER@HOST/NAME for production; "
              "default: a SQLite file in the data folder.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes (with PostgreSQL).")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="A line on stderr for every request (4% of the server's CPU at ingest; "
                   "the reverse proxy's log usually has it).")
@click.pass_context
def main(ctx: click.Context, host: str, port: int, db: str | None, workers: int,
         access_log: bool):
    """The operator's server: receives the reports of `diagnose submit`, shows outages and the
    hotline's pages (docs/server.md)."""
    ctx.obj = {"db": db}
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(db, need_tokens=True)
    engine = _engine(settings)
    if workers > 1 and engine.dialect.name == "sqlite":
        click.echo("diagnose-server: note: several workers share one SQLite file; "
                   "use PostgreSQL for more than one", err=True)
    engine.dispose()
    import uvicorn

    with _metrics_dir():   # before the app (and prometheus_client) is imported
        from .app import DB_ENV
        os.environ[DB_ENV] = settings.db_url
        uvicorn.run("diagnose.server.app:from_environment", factory=True, host=host, port=port,
                    workers=workers, log_level="info", access_log=access_log, timeout_keep_alive=5,
                    server_header=False, proxy_headers=False)


@contextlib.contextmanager
def _metrics_dir():
    """A folder where every server process writes its /metrics counters (prometheus_client's
    multiprocess mode): the operator's PROMETHEUS_MULTIPROC_DIR, emptied of the last run's
    counters, else a temporary one."""
    name = "PROMETHEUS_MULTIPROC_DIR"
    given = os.environ.get(name)
    if given:
        for old in Path(given).glob("*.db"):
            old.unlink()
        yield
        return
    with tempfile.TemporaryDirectory(prefix="diagnose-server-metrics-") as folder:
        os.environ[name] = folder
        try:
            yield
        finally:
            del os.environ[name]


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.pass_obj
def export(obj, path: str):
    """Write every stored report to a Parquet file (DuckDB and pandas read it)."""
    from .export import to_parquet
    settings = _settings(obj["db"], need_tokens=False)
    count = to_parquet(_engine(settings), path)
    click.echo(f"{count} reports written to {path}", err=True)


@main.command()
@click.option("--days", type=click.IntRange(1, 100000),
              help="Delete reports older than this [default: DIAGNOSE_SERVER_RETENTION_DAYS].")
@click.pass_obj
def prune(obj, days: int | None):
    """Delete reports older than the retention setting."""
    from . import store
    settings = _settings(obj["db"], need_tokens=False)
    days = days or settings.retention_days
    if not days:
        raise click.UsageError("give --days or set DIAGNOSE_SERVER_RETENTION_DAYS")
    deleted = store.prune(_engine(settings), store.now() - datetime.timedelta(days=days))
    click.echo(f"{deleted} reports older than {days} days deleted", err=True)
