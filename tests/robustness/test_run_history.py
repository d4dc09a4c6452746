"""The history under interruption and contention (unit level: no process)."""
from __future__ import annotations

import fcntl
import os
import time
import uuid

import pytest

from diagnose import history


def report(interrupted=False, code="L23"):
    return {"id": str(uuid.uuid4()), "started_at": "2026-12-01T08:00:00.000Z",
            "interrupted": interrupted, "verdict": {"code": code, "side": "line", "rule": "r"}}


def test_interrupted_runs_are_marked_and_never_counted(tmp_path):
    history.record(report(), tmp_path)
    history.record(report(interrupted=True), tmp_path)
    entries = history.load(tmp_path)
    assert [e.get("interrupted", False) for e in entries] == [False, True]
    now = history._parse_time("2026-12-02T00:00:00Z")
    assert [(g["code"], g["count"]) for g in history.summarize(entries, now=now)] == [("L23", 1)]


def test_a_held_lock_is_waited_for_a_bounded_time(tmp_path):
    lock = os.open(tmp_path / history.LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        started = time.monotonic()
        with pytest.raises(history.HistoryBusy):
            history.record(report(), tmp_path, lock_wait=0.2)
        assert time.monotonic() - started < 2
    finally:
        os.close(lock)
    assert history.record(report(), tmp_path, lock_wait=0.2)["code"] == "L23"   # free again
