"""Fixtures of the server's tests: settings, a migrated database, an in-process client, and
real diagnose-server processes on SQLite and on a PostgreSQL cluster of their own."""
from __future__ import annotations

import os
import uuid

import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed: pip install -e '.[test]'")

from diagnose.server import db, store  # noqa: E402
from diagnose.server.app import create_app  # noqa: E402
from diagnose.server.config import Settings  # noqa: E402

from .processes import Postgres, postgres_bin  # noqa: E402

WRITE_TOKEN = "post-" + uuid.uuid4().hex     # canaries: must never show up anywhere
READ_TOKEN = "read-" + uuid.uuid4().hex


@pytest.fixture
def settings(tmp_path):
    return Settings(db_url=f"sqlite:///{tmp_path / 'server.sqlite3'}", write_tokens=(WRITE_TOKEN,),
                    read_tokens=(READ_TOKEN,))


@pytest.fixture
def engine(settings):
    engine = db.make_engine(settings.db_url)
    db.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def client(settings, engine):
    from fastapi.testclient import TestClient
    with TestClient(create_app(settings, engine)) as client:
        yield client


def writer() -> dict[str, str]:
    return {"Authorization": f"Bearer {WRITE_TOKEN}", "Content-Type": "application/json"}


def reader() -> dict[str, str]:
    return {"Authorization": f"Bearer {READ_TOKEN}"}


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL cluster for the session; tests/run installs Debian's postgresql."""
    if postgres_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is missing in CI: tests/run installs Debian's postgresql")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; tests/run does it)")
    cluster = Postgres()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Each end-to-end test runs on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.sqlite3'}"
    cluster = request.getfixturevalue("postgres")
    return cluster.fresh_database("t" + uuid.uuid4().hex[:12])


__all__ = ["writer", "reader", "WRITE_TOKEN", "READ_TOKEN", "store"]
