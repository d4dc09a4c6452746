"""The local verdict history: compact lines, bounded, damage-tolerant, summarised per code."""
from __future__ import annotations

import datetime
import json
import os
import stat
import threading
import uuid

import pytest

from diagnose import history

UTC = datetime.timezone.utc
NOW = datetime.datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def report(code="L23", side="line", rule="pppoe-no-answer", at=None):
    return {"id": str(uuid.uuid4()), "started_at": at or "2024-05-10T08:00:00.000Z",
            "verdict": {"code": code, "side": side, "rule": rule, "title": "t", "advice": ["a"],
                        "ticket": side in ("line", "isp"), "confidence": "high", "evidence": {}}}


def ago(days=0, hours=0) -> str:
    return (NOW - datetime.timedelta(days=days, hours=hours)).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def test_record_appends_one_compact_line(tmp_path):
    first = report()
    entry = history.record(first, tmp_path)
    assert entry == {"id": first["id"], "at": first["started_at"], "code": "L23", "side": "line",
                     "rule": "pppoe-no-answer"}
    history.record(report("H34", "home", "wifi-weak"), tmp_path)
    path = tmp_path / history.HISTORY_FILE
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0]) == entry
    assert " " not in lines[0] and set(json.loads(lines[1])) == set(history.FIELDS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [e["code"] for e in history.load(tmp_path)] == ["L23", "H34"]


def test_recording_the_same_report_twice_keeps_one_line(tmp_path):
    same = report()
    history.record(same, tmp_path)
    history.record(same, tmp_path)
    assert len(history.load(tmp_path)) == 1


def test_a_report_without_a_start_time_is_recorded_now(tmp_path):
    entry = history.record({**report(), "started_at": None}, tmp_path, now=NOW)
    assert entry["at"] == "2024-05-10T12:00:00Z"


def test_a_report_without_verdict_is_refused(tmp_path):
    with pytest.raises(ValueError):
        history.record({"id": str(uuid.uuid4())}, tmp_path)


def test_history_is_bounded_keeping_the_newest(tmp_path):
    ids = []
    for _ in range(12):
        ids.append(history.record(report(), tmp_path, limit=5)["id"])
    entries = history.load(tmp_path)
    assert [e["id"] for e in entries] == ids[-5:]
    assert len((tmp_path / history.HISTORY_FILE).read_text().splitlines()) == 5


def test_default_bound_is_200(tmp_path):
    for _ in range(history.MAX_ENTRIES + 5):
        history.record(report(), tmp_path)
    assert history.MAX_ENTRIES == 200
    assert len((tmp_path / history.HISTORY_FILE).read_text().splitlines()) == 200


def test_a_failed_rewrite_leaves_the_history_whole(tmp_path, monkeypatch):
    for _ in range(3):
        history.record(report(), tmp_path, limit=3)
    before = (tmp_path / history.HISTORY_FILE).read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        history.record(report(), tmp_path, limit=3)
    assert (tmp_path / history.HISTORY_FILE).read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_malformed_lines_are_skipped_and_a_torn_line_does_not_swallow_the_next(tmp_path):
    good = history.record(report(), tmp_path)
    with open(tmp_path / history.HISTORY_FILE, "a") as handle:
        handle.write("not json\n[1,2]\n{\"code\": 5, \"at\": \"2024-05-10T00:00:00Z\"}\n"
                     "{\"code\": \"L23\", \"at\": \"yesterday\"}\n\n{\"id\": \"x\", \"code\": \"L2")
    assert history.load(tmp_path) == [good]
    after = history.record(report("A45", "account", "auth-failed"), tmp_path)
    assert history.load(tmp_path) == [good, after]


def test_load_without_a_history_is_empty(tmp_path):
    assert history.load(tmp_path / "nothing") == []


def test_concurrent_records_lose_nothing(tmp_path, monkeypatch):
    # real threads on a real lock; a waiting writer looks again every 2 ms instead of 50
    monkeypatch.setattr(history, "LOCK_POLL_S", 0.002)
    ids = [str(uuid.uuid4()) for _ in range(20)]

    def write(report_id):
        history.record({**report(), "id": report_id}, tmp_path)
    threads = [threading.Thread(target=write, args=(report_id,)) for report_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(e["id"] for e in history.load(tmp_path)) == sorted(ids)


def test_summary_counts_per_code_within_the_window(tmp_path):
    for at, code, side in [(ago(0, 2), "L23", "line"), (ago(2), "L23", "line"), (ago(6), "L23", "line"),
                           (ago(8), "L23", "line"),             # outside the week
                           (ago(1), "H34", "home"), (ago(0, 1), "N22", "none"),
                           (ago(-1), "L23", "line")]:           # in the future: left out
        history.record(report(code, side, at=at), tmp_path)
    summary = history.summarize(history.load(tmp_path), NOW, days=7)
    assert summary[0] == {"code": "L23", "side": "line", "rule": "pppoe-no-answer", "count": 3,
                          "first_seen": "2024-05-04T12:00:00Z", "last_seen": "2024-05-10T10:00:00Z"}
    assert [(s["code"], s["count"]) for s in summary] == [("L23", 3), ("N22", 1), ("H34", 1)]
    assert [s["code"] for s in history.summarize(history.load(tmp_path), NOW, days=1.5)] == \
        ["N22", "L23", "H34"]
    assert history.summarize([], NOW) == []


def test_summary_takes_a_naive_now_as_utc_and_the_latest_side(tmp_path):
    entries = [{"id": "1", "at": "2024-05-09T00:00:00Z", "code": "X99", "side": "unknown", "rule": "a"},
               {"id": "2", "at": "2024-05-09T06:00:00+08:00", "code": "X99", "side": "isp", "rule": "b"},
               {"id": "3", "at": "garbage", "code": "X99", "side": "isp", "rule": "c"}]
    [summary] = history.summarize(entries, NOW.replace(tzinfo=None))
    assert summary["count"] == 2 and summary["side"] == "unknown" and summary["rule"] == "a"
    assert summary["first_seen"] == "2024-05-08T22:00:00Z"
    assert summary["last_seen"] == "2024-05-09T00:00:00Z"


def test_history_shows_local_time_with_the_zone():
    import datetime
    from diagnose.render.tickets import local_time
    china = datetime.timezone(datetime.timedelta(hours=8))
    assert local_time("2024-05-10T10:00:00Z", china) == "2024-05-10 18:00 +0800"
    assert local_time("2024-05-10T23:30:00+00:00", china) == "2024-05-11 07:30 +0800"
    assert local_time("2024-05-10T10:00:00Z", datetime.timezone.utc) == "2024-05-10 10:00 UTC"
