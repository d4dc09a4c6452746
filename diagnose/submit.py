"""Sending reports to the operator's ticket system through a local queue, so none is ever lost.

Every report is written to ``<data_dir>/queue/<id>.json`` *before* any network traffic and
leaves the queue only after the ticket server answered 2xx (or 409: it already has that id).
A failure or an interruption at any point, SIGKILL during the POST included, leaves the
report queued; ``send_pending`` sends it later. Resending is safe because every POST carries
``Idempotency-Key: <report id>``: a server that has seen the key answers 2xx or 409 without
opening a second ticket.

Decisions (see also the constants below):

* Queue layout: ``queue/<id>.json`` (the exact bytes that are POSTed, mode 0600, written
  atomically: temp file in the same folder, fsync, os.replace, fsync of the folder);
  ``queue/<id>.rejected`` marks a report the server refused (4xx); ``queue/bad/`` holds files
  that could not be read as a report (moved there, never deleted); ``queue/locks/`` holds
  one flock lock file per report while it is being sent.
* Rejected (4xx other than 408/409/429): the report is KEPT in the queue with a
  ``.rejected`` marker (status, code, the server's short reason) so no report is ever lost
  and ``pending()`` can show it. ``send_pending`` skips marked reports unless
  ``retry_rejected=True`` (e.g. after fixing the token); ``submit`` of the same report always
  tries again. Nothing here deletes a report that was not delivered.
* Retries: on connection errors, timeouts, 408, 429 and 5xx; exponential backoff with a
  little jitter; ``Retry-After`` is honoured when it is at most ``max_retry_after`` seconds
  (a longer wait ends the attempts: the report stays queued). Each report gets a total
  budget of ``total_timeout`` seconds (10 s by default) covering the lock wait, every
  attempt's connect/read timeout and the pauses. (A server trickling bytes slower than the
  read timeout can stretch one attempt; urllib3 has no total-response deadline.)
  TLS errors and redirects are not retried. ``send_pending`` stops calling the server after
  the first report that failed for a transient reason (the others would fail the same way
  and each would cost the full budget): those stay queued with ``attempts == 0``.
* Transport: HTTPS with certificate verification (requests' default, never disabled);
  plain http only to this computer (127.0.0.0/8, ::1, localhost). Redirects are not
  followed (a redirect could downgrade to http or drop the idempotency contract); a 3xx is
  an ``unexpected_response`` and the report stays queued.
* Proxy: for a remote ticket server the environment IS honoured (HTTPS_PROXY, NO_PROXY,
  REQUESTS_CA_BUNDLE...): a subscriber behind a corporate or ISP proxy cannot reach the
  server otherwise. ~/.netrc is never used (the Authorization header is ours alone). For a
  loopback server the environment is ignored (a proxy must not get loopback traffic).
* Secrets: the bearer token is read from the variable ``ticket.token_env`` names, stripped
  of surrounding white space, and used only in the Authorization header. It never appears
  in a result, message, detail, log record, exception, marker or queue file (details are
  scrubbed too, in case a server echoes it back). A token with characters a header cannot
  carry is refused (``bad_token``) without naming its value. A URL with user:password is
  refused (``bad_url``): credentials belong in token_env.
* Concurrency: each report is sent only while holding an exclusive ``fcntl.flock`` on its
  lock file, so two ``send_pending`` runs (or a ``submit`` and a ``send_pending``) never
  POST the same report at the same time; a run finding a report locked skips it
  (``in_progress``). The kernel drops the lock when its holder dies, even by SIGKILL.
* Messages: ``SubmitResult.code`` is one of the keys of ``MESSAGES`` (short English texts
  for the CLI to translate); ``detail`` is untranslated technical context or None.
"""
from __future__ import annotations

import datetime
import email.utils
import errno
import ipaddress
import json
import logging
import os
import random
import re
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from . import __version__
from .i18n import N_
from .datadir import data_dir as default_data_dir
from .datadir import atomic_write as _atomic_write
from .datadir import fsync_dir as _fsync_dir
from .datadir import make_private_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

log = logging.getLogger(__name__)

REPORT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF = 0.5             # seconds before the 2nd attempt, doubled each time
DEFAULT_TIMEOUT = (3.05, 5.0)     # (connect, read) seconds per attempt
DEFAULT_TOTAL_TIMEOUT = 10.0      # seconds for one report, everything included
DEFAULT_MAX_RETRY_AFTER = 5.0     # longest Retry-After we wait for
MIN_ATTEMPT_S = 0.05              # no attempt is started with less time than this left
STALE_TEMP_S = 3600               # a temp file this old was left by a killed writer
MAX_DETAIL = 200                  # characters of a server's reason kept in a detail
LOCK_POLL_S = 0.05

DELIVERED, QUEUED, REJECTED, ERROR = "delivered", "queued", "rejected", "error"
OUTCOMES = (DELIVERED, QUEUED, REJECTED, ERROR)

# code -> (outcome, English message, marked for translation: the CLI shows it in its language).
_CODES: dict[str, tuple[str, str]] = {
    "delivered": (DELIVERED, N_("The report was delivered.")),
    "already_delivered": (DELIVERED, N_("The operator already had this report.")),
    "unreachable": (QUEUED, N_("Could not reach the ticket server; the report is queued and will be sent later.")),
    "timeout": (QUEUED, N_("The ticket server did not answer in time; the report is queued and will be sent later.")),
    "server_busy": (QUEUED, N_("The ticket server is busy; the report is queued and will be sent later.")),
    "server_error": (QUEUED, N_("The ticket server had a problem; the report is queued and will be sent later.")),
    "tls_error": (QUEUED, N_("The ticket server's certificate could not be verified; the report is queued.")),
    "unexpected_response": (QUEUED, N_("The ticket server gave an unexpected answer; the report is queued.")),
    "in_progress": (QUEUED, N_("Another diagnose is sending this report right now.")),
    "rejected": (REJECTED, N_("The ticket server refused the report; it is kept in the queue.")),
    "rejected_auth": (REJECTED, N_("The ticket server refused the credentials (check the token); the report is kept in the queue.")),
    "no_ticket_url": (ERROR, N_("The profile has no ticket address; the report is queued.")),
    "bad_url": (ERROR, N_("The ticket address in the profile is not valid; the report is queued.")),
    "insecure_url": (ERROR, N_("The ticket address must start with https://; the report is queued.")),
    "bad_token": (ERROR, N_("The token variable holds characters a token cannot have; the report is queued.")),
    "bad_file": (ERROR, N_("A queued file could not be read and was moved to the 'bad' folder.")),
    "not_saved": (ERROR, N_("The report could not be saved and was not delivered.")),
}
MESSAGES: dict[str, str] = {code: text for code, (_, text) in _CODES.items()}
OUTCOME_OF: dict[str, str] = {code: outcome for code, (outcome, _) in _CODES.items()}
_TRANSIENT = {"unreachable", "timeout", "server_busy", "server_error"}


class ReportError(ValueError):
    """The report cannot be queued: not a JSON object, no valid id, or not serialisable."""


@dataclass(frozen=True)
class SubmitResult:
    id: str
    outcome: str                # delivered | queued | rejected | error
    code: str                   # a key of MESSAGES
    http_status: int | None = None   # the last HTTP status seen, if any
    attempts: int = 0           # POSTs made
    message: str = ""           # MESSAGES[code]
    detail: str | None = None   # untranslated context (never the token)
    path: str | None = None     # where the report is now; None once delivered

    @property
    def in_queue(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class PendingReport:
    id: str
    state: str                  # waiting | rejected | bad
    path: str
    queued_at: str              # UTC ISO-8601 (file time)
    http_status: int | None = None   # for rejected: the refusal's status
    code: str | None = None     # for rejected: rejected | rejected_auth
    detail: str | None = None   # for rejected: the server's short reason


def _result(report_id: str, code: str, **fields: Any) -> SubmitResult:
    path = fields.pop("path", None)
    return SubmitResult(id=report_id, outcome=OUTCOME_OF[code], code=code, message=MESSAGES[code],
                        path=None if path is None else str(path), **fields)


# ---------------------------------------------------------------------------- the queue

def queue_dir(data_dir: os.PathLike | str) -> Path:
    return make_private_dir(Path(data_dir) / "queue")


def queue(report: Mapping[str, Any], data_dir: os.PathLike | str) -> Path:
    """Write the report to <data_dir>/queue/<id>.json atomically (mode 0600); idempotent."""
    report_id = _report_id(report)
    body = _encode(report)
    target = queue_dir(data_dir) / f"{report_id}.json"
    with suppress(OSError):
        if target.read_bytes() == body:
            return target       # already queued: keep the file (and its age) as it is
    _atomic_write(target, body)
    return target


def pending(data_dir: os.PathLike | str) -> list[PendingReport]:
    """Queued reports, oldest first, then the files moved to queue/bad/."""
    qdir = queue_dir(data_dir)
    entries = []
    for path in _queued_files(qdir):
        marker = _read_marker(qdir, path.stem)
        entries.append(PendingReport(
            id=path.stem, state="rejected" if marker else "waiting", path=str(path),
            queued_at=_file_time(path), http_status=(marker or {}).get("http_status"),
            code=(marker or {}).get("code"), detail=(marker or {}).get("detail")))
    bad = qdir / "bad"
    if bad.is_dir():
        for path in sorted(bad.iterdir(), key=_age_key):
            if path.is_file():
                entries.append(PendingReport(id=path.name.split(".")[0], state="bad", path=str(path),
                                             queued_at=_file_time(path)))
    return entries


def _report_id(report: Any) -> str:
    if not isinstance(report, Mapping):
        raise ReportError("a report must be a JSON object")
    report_id = report.get("id")
    if not isinstance(report_id, str) or not REPORT_ID.match(report_id):
        raise ReportError("the report has no valid id (a lower-case uuid)")
    return report_id


def _encode(report: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(report, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ReportError(f"the report cannot be written as JSON: {exc}") from None


def _load_given(report_or_path: Any) -> dict[str, Any]:
    if isinstance(report_or_path, Mapping):
        return dict(report_or_path)
    if isinstance(report_or_path, (str, os.PathLike)):
        try:
            data = Path(report_or_path).read_bytes()
        except OSError as exc:
            raise ReportError(f"cannot read the report: {exc.strerror or exc}") from None
        try:
            report = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
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


def _file_time(path: Path) -> str:
    try:
        stamp = path.stat().st_mtime
    except OSError:
        stamp = time.time()
    return (datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc)
            .isoformat(timespec="seconds").replace("+00:00", "Z"))


def _queued_files(qdir: Path) -> list[Path]:
    return sorted((path for path in qdir.glob("*.json")
                   if not path.name.startswith(".") and path.is_file()), key=_age_key)


def _marker_path(qdir: Path, report_id: str) -> Path:
    return qdir / f"{report_id}.rejected"


def _read_marker(qdir: Path, report_id: str) -> dict | None:
    try:
        marker = json.loads(_marker_path(qdir, report_id).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"code": "rejected"}  # a damaged marker still means "refused once"
    return marker if isinstance(marker, dict) else {"code": "rejected"}


def _read_queued(path: Path) -> tuple[bytes | None, str | None]:
    """The file's bytes, or why it is not a report."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None
    try:
        report = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, "not valid JSON (truncated or damaged)"
    if not isinstance(report, dict):
        return None, "not a JSON object"
    if report.get("id") != path.stem:
        return None, "its id does not match the file name"
    return data, None


def _move_bad(qdir: Path, path: Path, reason: str) -> SubmitResult:
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
        _fsync_dir(qdir)
    log.warning("moved an unreadable queue file aside: %s (%s)", path.name, reason)
    return _result(path.stem, "bad_file", detail=f"{path.name}: {reason}", path=destination)


def _cleanup(qdir: Path) -> None:
    """Temp files left by a killed writer; markers whose report is gone."""
    now = time.time()
    for temp in qdir.glob(".*.tmp"):
        with suppress(OSError):
            if now - temp.stat().st_mtime > STALE_TEMP_S:
                temp.unlink()
    for marker in qdir.glob("*.rejected"):
        if not marker.with_suffix(".json").exists():
            with suppress(OSError):
                marker.unlink()


# ---------------------------------------------------------------------------- locking

class _Lock:
    """An exclusive flock on queue/locks/<name>.lock; the file may be removed while held."""

    def __init__(self, qdir: Path, name: str):
        self.path = make_private_dir(qdir / "locks") / f"{name}.lock"
        self.fd: int | None = None

    def acquire(self, wait: float) -> bool:
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
            if _try_lock(fd):
                # The holder before us may have removed the file: then we locked an orphan.
                with suppress(OSError):
                    if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                        self.fd = fd
                        return True
            os.close(fd)
            if time.monotonic() >= deadline:
                return False
            time.sleep(LOCK_POLL_S)

    def release(self, remove: bool = False) -> None:
        if self.fd is None:
            return
        if remove:
            with suppress(OSError):
                os.unlink(self.path)
        os.close(self.fd)  # closing drops the lock
        self.fd = None


def _try_lock(fd: int) -> bool:
    try:
        if sys.platform != "win32" and fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
            return False
        raise
    return True


# ---------------------------------------------------------------------------- the target

class _Target:
    """Where to POST; the token is kept out of repr()."""

    __slots__ = ("url", "host", "loopback", "token", "token_env")

    def __init__(self, url: str, host: str, loopback: bool, token: str | None, token_env: str | None):
        self.url, self.host, self.loopback = url, host, loopback
        self.token, self.token_env = token, token_env

    def __repr__(self) -> str:
        token = "set" if self.token else "none"
        return f"_Target(host={self.host!r}, loopback={self.loopback}, token={token})"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (also IPv4-mapped) or the name localhost."""
    name = host.lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _target(profile: Mapping[str, Any], env: Mapping[str, str]) -> _Target | tuple[str, str | None]:
    """The POST target, or (error code, detail)."""
    ticket = (profile or {}).get("ticket") or {}
    url = (ticket.get("url") or "").strip() if isinstance(ticket, Mapping) else ""
    if not url:
        return "no_ticket_url", "profile key ticket.url"
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "bad_url", "cannot parse the address"
    if scheme not in ("http", "https") or not host:
        return "bad_url", "expected https://HOST/..."
    if parts.username is not None or parts.password is not None:
        return "bad_url", "no user name or password in the address: use ticket.token_env"
    loopback = is_loopback(host)
    if scheme == "http" and not loopback:
        return "insecure_url", f"plain http:// only to this computer, not to {host}"
    token_env = ticket.get("token_env") or None
    token = (env.get(token_env) or "").strip() if token_env else ""
    if token and not all(0x21 <= ord(char) <= 0x7E for char in token):
        return "bad_token", f"${token_env}"
    return _Target(url, host, loopback, token or None, token_env)


# ---------------------------------------------------------------------------- sending

def submit(report_or_path: Mapping[str, Any] | str | os.PathLike, *, profile: Mapping[str, Any],
           env: Mapping[str, str] | None = None, data_dir: os.PathLike | str | None = None,
           attempts: int = DEFAULT_ATTEMPTS, backoff: float = DEFAULT_BACKOFF,
           timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
           total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
           max_retry_after: float = DEFAULT_MAX_RETRY_AFTER) -> SubmitResult:
    """Queue the report, then try to deliver it. Raises ReportError for a report without a valid id.

    Never raises for network, server or profile problems: they are in the result, and the
    report stays queued unless delivered.
    """
    env = os.environ if env is None else env
    data_dir = default_data_dir(env) if data_dir is None else Path(data_dir)
    report = _load_given(report_or_path)
    report_id = _report_id(report)
    deadline = time.monotonic() + total_timeout
    options = dict(attempts=attempts, backoff=backoff, timeout=timeout, deadline=deadline,
                   max_retry_after=max_retry_after)
    try:
        path = queue(report, data_dir)
    except OSError as exc:
        return _submit_unsaved(report, report_id, profile, env, options, exc)
    target = _target(profile, env)
    if isinstance(target, tuple):
        code, detail = target
        return _result(report_id, code, detail=detail, path=path)
    qdir = path.parent
    lock = _Lock(qdir, path.name)
    if not lock.acquire(wait=deadline - time.monotonic() - MIN_ATTEMPT_S):
        return _result(report_id, "in_progress", path=path)
    try:
        return _send_locked(qdir, path, target, options)
    finally:
        lock.release(remove=not path.exists())


def send_pending(*, profile: Mapping[str, Any], env: Mapping[str, str] | None = None,
                 data_dir: os.PathLike | str | None = None, attempts: int = DEFAULT_ATTEMPTS,
                 backoff: float = DEFAULT_BACKOFF,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
                 max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
                 retry_rejected: bool = False) -> list[SubmitResult]:
    """Try every queued report, oldest first; one result per report looked at.

    Reports marked rejected are skipped (no result) unless retry_rejected. A report another
    run is sending is skipped with code in_progress. Unreadable files are moved to queue/bad/
    (code bad_file). After a transient failure the remaining reports are not tried (same code,
    attempts 0). total_timeout applies to each report.
    """
    env = os.environ if env is None else env
    data_dir = default_data_dir(env) if data_dir is None else Path(data_dir)
    qdir = queue_dir(data_dir)
    _cleanup(qdir)
    target = _target(profile, env)
    stopped_by: SubmitResult | None = None
    results: list[SubmitResult] = []
    for path in _queued_files(qdir):
        if not retry_rejected and _marker_path(qdir, path.stem).exists():
            continue
        lock = _Lock(qdir, path.name)
        if not lock.acquire(wait=0):
            results.append(_result(path.stem, "in_progress", path=path))
            continue
        result = None
        try:
            body, problem = _read_queued(path)
            if problem:
                result = _move_bad(qdir, path, problem)
            elif body is None:
                continue  # delivered by another run since we listed the folder
            elif isinstance(target, tuple):
                result = _result(path.stem, target[0], detail=target[1], path=path)
            elif stopped_by is not None:
                result = _result(path.stem, stopped_by.code, http_status=stopped_by.http_status,
                                 detail="not tried after an earlier failure", path=path)
            else:
                options = dict(attempts=attempts, backoff=backoff, timeout=timeout,
                               deadline=time.monotonic() + total_timeout,
                               max_retry_after=max_retry_after)
                result = _send_locked(qdir, path, target, options, body=body)
                if result.code in _TRANSIENT:
                    stopped_by = result
        finally:
            lock.release(remove=not path.exists())
        results.append(result)
    return results


def _send_locked(qdir: Path, path: Path, target: _Target, options: dict,
                 body: bytes | None = None) -> SubmitResult:
    """Deliver one queued report; the caller holds its lock."""
    report_id = path.stem
    if body is None:
        body, problem = _read_queued(path)
        if problem:
            return _move_bad(qdir, path, problem)
        if body is None:   # delivered and removed by another run while we waited for the lock
            return _result(report_id, "delivered")
    code, status, made, detail = _deliver(body, report_id, target, **options)
    outcome = OUTCOME_OF[code]
    if outcome == DELIVERED:
        with suppress(FileNotFoundError):
            os.unlink(path)
        with suppress(FileNotFoundError):
            os.unlink(_marker_path(qdir, report_id))
        _fsync_dir(qdir)
        path = None
    elif outcome == REJECTED:
        marker = {"at": _now_iso(), "http_status": status, "code": code, "detail": detail}
        with suppress(OSError):
            _atomic_write(_marker_path(qdir, report_id), json.dumps(marker).encode("utf-8"))
    log.info("report %s: %s (HTTP %s, %d attempt(s))", report_id, code, status, made)
    return _result(report_id, code, http_status=status, attempts=made, detail=detail, path=path)


def _submit_unsaved(report, report_id, profile, env, options, exc: OSError) -> SubmitResult:
    """The queue cannot be written (disk full, read-only home): still try to deliver."""
    reason = f"cannot write the queue: {exc.strerror or type(exc).__name__}"
    log.warning("report %s: %s", report_id, reason)
    target = _target(profile, env)
    if isinstance(target, tuple):
        return _result(report_id, "not_saved", detail=f"{reason}; {target[0]}")
    code, status, made, detail = _deliver(_encode(report), report_id, target, **options)
    if OUTCOME_OF[code] == DELIVERED:
        return _result(report_id, code, http_status=status, attempts=made, detail=reason)
    return _result(report_id, "not_saved", http_status=status, attempts=made,
                   detail=f"{reason}; {code}" + (f": {detail}" if detail else ""))


class _Bearer:
    """requests auth: our header, and it keeps requests from falling back to ~/.netrc."""

    def __init__(self, token: str | None):
        self._token = token

    def __call__(self, request):
        if self._token:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_Bearer(<hidden>)"


def _deliver(body: bytes, report_id: str, target: _Target, *, attempts: int, backoff: float,
             timeout: float | tuple[float, float], deadline: float,
             max_retry_after: float) -> tuple[str, int | None, int, str | None]:
    """POST with retries: (code, last HTTP status, attempts made, detail)."""
    import requests

    connect_s, read_s = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "Idempotency-Key": report_id, "User-Agent": f"diagnose/{__version__}"}
    session = requests.Session()
    session.trust_env = not target.loopback
    last: tuple[str, int | None, str | None] = ("timeout", None, "no time left to try")
    made = 0
    try:
        while made < max(attempts, 1):
            remaining = deadline - time.monotonic()
            if remaining < MIN_ATTEMPT_S:
                break
            made += 1
            retry_after = None
            log.debug("report %s: POST to %s, attempt %d", report_id, target.host, made)
            try:
                with session.post(target.url, data=body, headers=headers, auth=_Bearer(target.token),
                                  timeout=(min(connect_s, remaining), min(read_s, remaining)),
                                  allow_redirects=False, stream=True) as reply:
                    status = reply.status_code
                    reason = _reason(reply, target.token) if status >= 300 else None
                    retry_after = _retry_after(reply.headers.get("Retry-After"))
            except requests.exceptions.SSLError as exc:
                return "tls_error", None, made, _scrub(_exc_detail(exc), target.token)
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                    requests.exceptions.InvalidSchema, requests.exceptions.URLRequired) as exc:
                return "bad_url", None, made, type(exc).__name__
            except requests.exceptions.Timeout as exc:
                last = ("timeout", None, _scrub(_exc_detail(exc), target.token))
            except (requests.exceptions.RequestException, OSError, ValueError) as exc:
                last = ("unreachable", None, _scrub(_exc_detail(exc), target.token))
            else:
                if 200 <= status < 300:
                    return "delivered", status, made, None
                if status == 409:
                    return "already_delivered", status, made, None
                if status in (408, 429) or 500 <= status < 600:
                    last = ("server_busy" if status in (408, 429, 503) else "server_error", status,
                            reason)
                elif 400 <= status < 500:
                    code = "rejected_auth" if status in (401, 403) else "rejected"
                    if code == "rejected_auth" and not target.token and target.token_env:
                        reason = f"${target.token_env} is not set" + (f"; {reason}" if reason else "")
                    return code, status, made, reason
                else:
                    return "unexpected_response", status, made, reason
            if made >= attempts:
                break
            pause = backoff * 2 ** (made - 1) * random.uniform(1.0, 1.25)
            if retry_after is not None:
                if retry_after > max_retry_after:
                    code, status, reason = last
                    last = (code, status, f"the server asked to wait {retry_after:.0f} s")
                    break
                pause = max(pause, retry_after)
            if time.monotonic() + pause + MIN_ATTEMPT_S > deadline:
                break
            time.sleep(pause)
    finally:
        session.close()
    code, status, detail = last
    return code, status, made, detail


def _reason(reply, token: str | None) -> str | None:
    """A short, printable excerpt of the server's answer, for a refusal or an error."""
    location = reply.headers.get("Location") if 300 <= reply.status_code < 400 else None
    try:
        raw = reply.raw.read(2048, decode_content=True) or b""
    except Exception:  # noqa: BLE001 - the reason is a nicety; the status decides
        raw = b""
    text = raw.decode("utf-8", "replace")
    if location:
        text = f"redirect to {location}"
    text = " ".join("".join(char if char.isprintable() else " " for char in text).split())
    text = f"HTTP {reply.status_code}" + (f": {text}" if text else "")
    return _scrub(text, token)[:MAX_DETAIL]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


def _exc_detail(exc: BaseException) -> str:
    """The exception's kind and its root cause's kind or errno; never its text (it carries the URL)."""
    seen = set()
    cause: BaseException | None = exc
    innermost = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        innermost = cause
        if isinstance(cause, OSError) and cause.errno:
            return f"{type(exc).__name__}: {errno.errorcode.get(cause.errno, cause.errno)}"
        nested = [arg for arg in getattr(cause, "args", ()) if isinstance(arg, BaseException)]
        reason = getattr(cause, "reason", None)
        cause = (cause.__cause__ or cause.__context__
                 or (reason if isinstance(reason, BaseException) else None)
                 or (nested[0] if nested else None))
    if innermost is exc or type(innermost) is type(exc):
        return type(exc).__name__
    return f"{type(exc).__name__}: {type(innermost).__name__}"


def _scrub(text: str | None, token: str | None) -> str | None:
    if text and token:
        text = text.replace(token, "***")
    return text


def _now_iso() -> str:
    return (datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            .replace("+00:00", "Z"))
