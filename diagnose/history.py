"""A local history of past verdicts, so an intermittent fault shows as a pattern.

<data_dir>/history.jsonl holds one compact JSON line per run: {"id", "at", "code", "side",
"rule"}, oldest first, at most MAX_ENTRIES lines (when a record would go over, the file is
rewritten atomically with the newest entries only). Recording the same report id twice
keeps one line. Writers take an flock on <data_dir>/history.lock, so two runs recording at
once lose nothing; a lock held longer than LOCK_WAIT_S (a stuck process) raises HistoryBusy
instead of waiting forever. Damaged lines (a crash mid-write, a hand edit) are skipped when
reading and dropped at the next rewrite. A run that was interrupted is recorded with
"interrupted": true and never counted in a summary: its verdict rests on checks that did not run.
"""
from __future__ import annotations

import datetime
import json
import os
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .datadir import atomic_write, make_private_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

HISTORY_FILE = "history.jsonl"
LOCK_FILE = "history.lock"
MAX_ENTRIES = 200
FIELDS = ("id", "at", "code", "side", "rule")   # and "interrupted": true, only when so
# A record takes milliseconds; a lock held this long belongs to a stuck process.
LOCK_WAIT_S = 2.0
LOCK_POLL_S = 0.05


class HistoryBusy(OSError):
    """Another process holds the history lock for longer than LOCK_WAIT_S."""


def entry_of(report: Mapping[str, Any], now: datetime.datetime | None = None) -> dict[str, Any]:
    """The history line for a report: its id, start time (UTC) and verdict."""
    verdict = report.get("verdict")
    if not isinstance(verdict, Mapping) or not isinstance(verdict.get("code"), str):
        raise ValueError("the report has no verdict")
    at = report.get("started_at")
    if not isinstance(at, str) or _parse_time(at) is None:
        at = _iso(now or datetime.datetime.now(datetime.timezone.utc))
    entry = {"id": report.get("id"), "at": at, "code": verdict["code"],
             "side": verdict.get("side"), "rule": verdict.get("rule")}
    if report.get("interrupted") is True:
        entry["interrupted"] = True
    return entry


def record(report: Mapping[str, Any], data_dir: os.PathLike | str, *,
           limit: int = MAX_ENTRIES, now: datetime.datetime | None = None,
           lock_wait: float = LOCK_WAIT_S) -> dict[str, Any]:
    """Append the report's verdict to the history (kept to `limit` lines); returns the entry.
    HistoryBusy when another process holds the lock for longer than lock_wait seconds."""
    entry = entry_of(report, now)
    folder = make_private_dir(Path(data_dir))
    path = folder / HISTORY_FILE
    line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
    with _locked(folder / LOCK_FILE, lock_wait):
        try:
            text = path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        lines = text.splitlines()
        entries = [parsed for parsed in map(_parse_line, lines) if parsed is not None]
        if entry["id"] is not None and any(old.get("id") == entry["id"] for old in entries):
            return entry
        if len(lines) + 1 > limit:
            kept = [json.dumps(old, ensure_ascii=False, separators=(",", ":")) + "\n"
                    for old in entries[-(limit - 1):]] if limit > 1 else []
            atomic_write(path, "".join(kept + [line]).encode("utf-8"))
        else:
            prefix = "\n" if text and not text.endswith("\n") else ""  # a torn last line
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (prefix + line).encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
    return entry


def load(data_dir: os.PathLike | str) -> list[dict[str, Any]]:
    """The recorded entries, oldest first; damaged lines are skipped."""
    try:
        text = (Path(data_dir) / HISTORY_FILE).read_text("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return [entry for entry in map(_parse_line, text.splitlines()) if entry is not None]


def summarize(entries: Iterable[Mapping[str, Any]], now: datetime.datetime | None = None,
              days: float = 7) -> list[dict[str, Any]]:
    """Per verdict code seen in the `days` before `now`: code, side, rule, count, first_seen,
    last_seen (UTC ISO strings). Most frequent first, then most recent. All codes are
    included, the no-fault ones (side "none") too: the caller picks what to show.

    A naive `now` is taken as UTC. Entries in the future of `now` are left out.
    """
    now = _aware(now or datetime.datetime.now(datetime.timezone.utc))
    since = now - datetime.timedelta(days=days)
    groups: dict[str, dict[str, Any]] = {}
    for entry in entries:
        at = _parse_time(entry.get("at"))
        code = entry.get("code")
        if entry.get("interrupted") is True:
            continue
        if at is None or not isinstance(code, str) or not since <= at <= now:
            continue
        group = groups.get(code)
        if group is None:
            groups[code] = {"code": code, "side": entry.get("side"), "rule": entry.get("rule"),
                            "count": 1, "first": at, "last": at}
            continue
        group["count"] += 1
        group["first"] = min(group["first"], at)
        if at >= group["last"]:
            group.update(last=at, side=entry.get("side"), rule=entry.get("rule"))
    ordered = sorted(groups.values(), key=lambda group: (-group["count"], -group["last"].timestamp(),
                                                         group["code"]))
    return [{"code": group["code"], "side": group["side"], "rule": group["rule"],
             "count": group["count"], "first_seen": _iso(group["first"]),
             "last_seen": _iso(group["last"])} for group in ordered]


def _parse_line(line: str) -> dict[str, Any] | None:
    line = line.strip()
    if not line:
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if (not isinstance(entry, dict) or not isinstance(entry.get("code"), str)
            or _parse_time(entry.get("at")) is None):
        return None
    parsed = {field: entry.get(field) for field in FIELDS}
    if entry.get("interrupted") is True:
        parsed["interrupted"] = True
    return parsed


def _parse_time(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return _aware(datetime.datetime.fromisoformat(text))
    except ValueError:
        return None


def _aware(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _iso(moment: datetime.datetime) -> str:
    return _aware(moment).isoformat(timespec="seconds").replace("+00:00", "Z")


@contextmanager
def _locked(path: Path, wait: float = LOCK_WAIT_S) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        if sys.platform != "win32" and fcntl is not None:
            give_up = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= give_up:
                        raise HistoryBusy(f"{path} is held by another process") from None
                    time.sleep(LOCK_POLL_S)
        yield
    finally:
        with suppress(OSError):
            os.close(fd)
