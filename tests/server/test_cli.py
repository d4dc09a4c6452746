"""diagnose-server's command line: bad settings stop it with 78 and a clear message."""
from __future__ import annotations

import os
import subprocess

from .conftest import WRITE_TOKEN
from .processes import SERVER


def run(tmp_path, *args, **env):
    return subprocess.run([SERVER, *args], capture_output=True, text=True, timeout=120,
                          env={**{k: v for k, v in os.environ.items()
                                  if not k.startswith("DIAGNOSE_SERVER")},
                               "DIAGNOSE_DATA_DIR": str(tmp_path), **env})


def test_no_tokens(tmp_path):
    done = run(tmp_path)
    assert done.returncode == 78 and "DIAGNOSE_SERVER_TOKENS" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_settings(tmp_path):
    done = run(tmp_path, DIAGNOSE_SERVER_TOKENS=WRITE_TOKEN, DIAGNOSE_SERVER_OUTAGE_WINDOW_MIN="x")
    assert done.returncode == 78 and "DIAGNOSE_SERVER_OUTAGE_WINDOW_MIN" in done.stderr
    done = run(tmp_path, DIAGNOSE_SERVER_TOKENS="a,b", DIAGNOSE_SERVER_READ_TOKENS="b")
    assert done.returncode == 78 and "both" in done.stderr
    done = run(tmp_path, "--db", "mysql://x/y", DIAGNOSE_SERVER_TOKENS=WRITE_TOKEN)
    assert done.returncode == 78 and "unsupported database" in done.stderr


def test_an_unreachable_database_names_no_password(tmp_path):
    done = run(tmp_path, "--db", "postgresql://u:hunter2secret@127.0.0.1:1/x",
               DIAGNOSE_SERVER_TOKENS=WRITE_TOKEN)
    assert done.returncode == 78 and "cannot use the database" in done.stderr
    assert "hunter2secret" not in done.stderr and "Traceback" not in done.stderr


def test_export_and_prune(tmp_path):
    done = run(tmp_path, "export", str(tmp_path / "out.parquet"))
    assert done.returncode == 0 and "0 reports written" in done.stderr
    assert run(tmp_path, "prune").returncode == 2
    done = run(tmp_path, "prune", "--days", "30")
    assert done.returncode == 0 and "0 reports" in done.stderr
