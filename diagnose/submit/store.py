"""The queue on disk: every report is written here before any network traffic and leaves only
once delivered.

``queue/<id>.json`` holds the exact bytes that are POSTed (mode 0600, written atomically);
``queue/<id>.rejected`` marks a report the server refused (its status, code and a sanitised
reason, never the server's body); ``queue/bad/`` holds files that could not be read as a report
(moved there, never deleted)."""
from __future__ import annotations

import datetime
import json
import logging
import os
import re
import time
from contextlib import suppress
from pathlib import Path
from typing import Any, Mapping

from ..datadir import atomic_write, fsync_dir, make_private_dir
from .results import PendingReport, ReportError, SubmitResult, result

log = logging.getLogger(__name__)

REPORT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STALE_TEMP_S = 3600               # a temp file this old was left by a killed writer


def queue_dir(data_dir: os.PathLike | str) -> Path:
    return make_private_dir(Path(data_dir) / "queue")


def queue(report: Mapping[str, Any], data_dir: os.PathLike | str) -> Path:
    """Write the report to <data_dir>/queue/<id>.json atomically (mode 0600); idempotent."""
    report_id = report_id_of(report)
    body = encode(report)
    target = queue_dir(data_dir) / f"{report_id}.json"
    with suppress(OSError):
        if target.read_bytes() == body:
            return target       # already queued: keep the file (and its age) as it is
    atomic_write(target, body)
    return target


def pending(data_dir: os.PathLike | str) -> list[PendingReport]:
    """Queued reports, oldest first, then the files moved to queue/bad/."""
    qdir = queue_dir(data_dir)
    entries = []
    for path in queued_files(qdir):
        marker = read_marker(qdir, path.stem)
        entries.append(PendingReport(
            id=path.stem, state="rejected" if marker else "waiting", path=str(path),
            queued_at=file_time(path), http_status=(marker or {}).get("http_status"),
            code=(marker or {}).get("code"), detail=(marker or {}).get("detail")))
    bad = qdir / "bad"
    if bad.is_dir():
        for path in sorted(bad.iterdir(), key=_age_key):
            if path.is_file():
                entries.append(PendingReport(id=path.name.split(".")[0], state="bad", path=str(path),
                                             queued_at=file_time(path)))
    return entries


def report_id_of(report: Any) -> str:
    if not isinstance(report, Mapping):
        raise ReportError("a report must be a JSON object")
    report_id = report.get("id")
    if not isinstance(report_id, str) or not REPORT_ID.match(report_id):
        raise ReportError("the report has no valid id (a lower-case uuid)")
    return report_id


def encode(report: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(report, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ReportError(f"the report cannot be written as JSON: {exc}") from None


def load_given(report_or_path: Any) -> dict[str, Any]:
    """A report given as a mapping, or read from the path of a report file."""
    if isinstance(report_or_path, Mapping):
        return dict(report_or_path)
    if isinstance(report_or_path, (str, os.PathLike)):
        try:
            data = Path(report_or_path).read_bytes()
        except OSError as exc:
            raise ReportError(f"cannot read the report: {exc.strerror or exc}") from None
        try:
            report = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ReportError("the report file is not valid JSON") from None
        if not isinstance(report, dict):
            raise ReportError("a report must be a JSON object")
        return report
    raise ReportError("expected a report (mapping) or the path of a report file")


def _age_key(path: Path) -> tuple[int, str]:
    try:
        return path.stat().st_mtime_ns, path.name
    except OSError:
        return 0, path.name


def file_time(path: Path) -> str:
    try:
        stamp = path.stat().st_mtime
    except OSError:
        stamp = time.time()
    return iso(stamp)


def iso(stamp: float) -> str:
    return (datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc)
            .isoformat(timespec="seconds").replace("+00:00", "Z"))


def queued_files(qdir: Path) -> list[Path]:
    return sorted((path for path in qdir.glob("*.json")
                   if not path.name.startswith(".") and path.is_file()), key=_age_key)


def marker_path(qdir: Path, report_id: str) -> Path:
    return qdir / f"{report_id}.rejected"


def read_marker(qdir: Path, report_id: str) -> dict | None:
    try:
        marker = json.loads(marker_path(qdir, report_id).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"code": "rejected"}  # a damaged marker still means "refused once"
    return marker if isinstance(marker, dict) else {"code": "rejected"}


def write_marker(qdir: Path, report_id: str, marker: dict) -> None:
    """Mark a refused report; a marker that cannot be written costs only the skip next time."""
    with suppress(OSError):
        atomic_write(marker_path(qdir, report_id), json.dumps(marker).encode("utf-8"))


def remove_delivered(qdir: Path, path: Path) -> None:
    with suppress(FileNotFoundError):
        os.unlink(path)
    with suppress(FileNotFoundError):
        os.unlink(marker_path(qdir, path.stem))
    fsync_dir(qdir)


def read_queued(path: Path) -> tuple[bytes | None, str | None]:
    """The file's bytes, or why it is not a report."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None
    try:
        report = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, "not valid JSON (truncated or damaged)"
    if not isinstance(report, dict):
        return None, "not a JSON object"
    if report.get("id") != path.stem:
        return None, "its id does not match the file name"
    return data, None


def move_bad(qdir: Path, path: Path, reason: str) -> SubmitResult:
    bad = make_private_dir(qdir / "bad")
    destination = bad / path.name
    number = 0
    while destination.exists():
        number += 1
        destination = bad / f"{path.name}.{number}"
    try:
        os.replace(path, destination)
    except FileNotFoundError:
        destination = None
    else:
        fsync_dir(qdir)
    log.warning("moved an unreadable queue file aside: %s (%s)", path.name, reason)
    return result(path.stem, "bad_file", detail=f"{path.name}: {reason}", path=destination)


def cleanup(qdir: Path) -> None:
    """Temp files left by a killed writer (by their real age); markers whose report is gone."""
    now = time.time()
    for temp in qdir.glob(".*.tmp"):
        with suppress(OSError):
            if now - temp.stat().st_mtime > STALE_TEMP_S:
                temp.unlink()
    for marker in qdir.glob("*.rejected"):
        if not marker.with_suffix(".json").exists():
            with suppress(OSError):
                marker.unlink()
