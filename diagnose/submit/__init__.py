"""Sending reports to the operator's ticket system through a local queue, so none is ever lost.

Every report is written to ``<data_dir>/queue/<id>.json`` *before* any network traffic and
leaves the queue only after the ticket server answered 2xx (or 409: it already has that id).
A failure or an interruption at any point, SIGKILL during the POST included, leaves the
report queued; ``send_pending`` sends it later. Resending is safe because every POST carries
``Idempotency-Key: <report id>``: a server that has seen the key answers 2xx or 409 without
opening a second ticket.

The parts, each in its own module:

* ``store``: the queue on disk (layout, atomic writes, refusal markers, the ``bad`` folder).
* ``lock``: one flock per report while it is sent, so two runs never POST the same report.
* ``target``: the ticket address and token from the profile; https only, except to a literal
  loopback address or exactly ``localhost`` (never resolved through DNS).
* ``post``: one POST under a hard deadline (``net.deadline_http``: a server trickling one byte
  a second cannot stretch it) and what its answer means; the server's body is never stored or
  shown, only a short reason that passes a strict filter (no form of the token).
* ``retry``: which answers are retried, the pauses (Retry-After honoured up to a cap), and
  when to give up; tenacity runs the loop, with the injected clock.

Redaction: ``submit`` redacts the report before it is queued (``redact=True``, the default):
MAC addresses beyond their vendor part, public addresses, host and user names never leave the
machine, even from a report saved with ``diagnose --no-redact``. ``redact=False`` (the CLI's
``--no-redact``) sends it as it is, for an operator who asked for the full report.

Deadlines: each attempt lasts at most its connect and read timeouts together (a name lookup
that hangs longer is left behind: ``diagnose.bounded``); each report at
most ``total_timeout`` (10 s by default: the lock wait, every attempt and the pauses); a whole
``send_pending`` at most ``command_timeout`` (30 s by default): reports not reached by then stay
queued (code timeout, attempts 0). ``send_pending`` also stops calling the server after the
first report that failed for a transient reason (the others would fail the same way).

Proxy: for a remote ticket server the environment IS honoured (HTTPS_PROXY, NO_PROXY,
REQUESTS_CA_BUNDLE...); ~/.netrc never is (the Authorization header is ours alone); for a
loopback server the environment is ignored. Redirects are not followed (an
``unexpected_response``; the report stays queued).

Secrets: the bearer token is read from the variable ``ticket.token_env`` names, stripped of
surrounding white space, and used only in the Authorization header. It never appears in a
result, message, detail, log record, exception, marker or queue file.

Messages: ``SubmitResult.code`` is one of the keys of ``MESSAGES`` (short English texts for the
CLI to translate); ``detail`` is untranslated technical context or None.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..bounded import UNFINISHED, within
from ..clock import SYSTEM, Clock
from ..datadir import data_dir as default_data_dir
from ..net.deadline_http import Deadline, session as deadline_session
from . import post, retry, store
from .lock import ReportLock
from .results import (DELIVERED, ERROR, MESSAGES, OUTCOME_OF, OUTCOMES, QUEUED, REJECTED,
                      TRANSIENT, PendingReport, ReportError, SubmitResult, result)
from .store import (REPORT_ID, STALE_TEMP_S, encode as _encode, pending, queue, queue_dir)
from .target import Target, is_loopback

__all__ = ["submit", "send_pending", "queue", "pending", "queue_dir", "is_loopback",
           "SubmitResult", "PendingReport", "ReportError", "MESSAGES", "OUTCOME_OF", "OUTCOMES",
           "DELIVERED", "QUEUED", "REJECTED", "ERROR", "REPORT_ID", "STALE_TEMP_S"]

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF = 0.5             # seconds before the 2nd attempt, doubled each time
DEFAULT_TIMEOUT = (3.05, 5.0)     # (connect, read) seconds per attempt
DEFAULT_TOTAL_TIMEOUT = 10.0      # seconds for one report, everything included
DEFAULT_COMMAND_TIMEOUT = 30.0    # seconds for one send_pending, every report included
DEFAULT_MAX_RETRY_AFTER = 5.0     # longest Retry-After we wait for
MAX_DETAIL = 200                  # characters of any detail
# An attempt's sockets give up at its deadline by themselves; this is how much longer a hung
# name lookup is waited for before the attempt counts as timed out.
ATTEMPT_GRACE_S = 0.5
HUNG = "no answer by the deadline (the server's name could not be looked up in time)"


def submit(report_or_path: Mapping[str, Any] | str | os.PathLike, *, profile: Mapping[str, Any],
           env: Mapping[str, str] | None = None, data_dir: os.PathLike | str | None = None,
           attempts: int = DEFAULT_ATTEMPTS, backoff: float = DEFAULT_BACKOFF,
           timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
           total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
           max_retry_after: float = DEFAULT_MAX_RETRY_AFTER, redact: bool = True,
           keep: Iterable[str] = (), clock: Clock = SYSTEM) -> SubmitResult:
    """Redact (unless redact=False; `keep` as for redact.redact) and queue the report, then try
    to deliver it. Raises ReportError for a report without a valid id.

    Never raises for network, server or profile problems: they are in the result, and the
    report stays queued unless delivered.
    """
    env = os.environ if env is None else env
    data_dir = default_data_dir(env) if data_dir is None else Path(data_dir)
    report = store.load_given(report_or_path)
    report_id = store.report_id_of(report)
    if redact:
        from ..redact import redact as redacted
        report = redacted(report, keep=list(keep))
        store.report_id_of(report)   # the id is a uuid: redaction leaves it as it is
    deadline = clock.monotonic() + total_timeout
    options = _Options(attempts, backoff, timeout, deadline, max_retry_after, clock)
    try:
        path = queue(report, data_dir)
    except OSError as exc:
        return _submit_unsaved(report, report_id, profile, env, options, exc)
    found = _target(profile, env)
    if isinstance(found, tuple):
        code, detail = found
        return result(report_id, code, detail=detail, path=path)
    qdir = path.parent
    lock = ReportLock(qdir, path.name, clock)
    if not lock.acquire(wait=deadline - clock.monotonic() - retry.MIN_ATTEMPT_S):
        return result(report_id, "in_progress", path=path)
    try:
        return _send_locked(qdir, path, found, options)
    finally:
        lock.release(remove=not path.exists())


def send_pending(*, profile: Mapping[str, Any], env: Mapping[str, str] | None = None,
                 data_dir: os.PathLike | str | None = None, attempts: int = DEFAULT_ATTEMPTS,
                 backoff: float = DEFAULT_BACKOFF,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
                 max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
                 retry_rejected: bool = False, command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
                 clock: Clock = SYSTEM) -> list[SubmitResult]:
    """Try every queued report, oldest first; one result per report looked at.

    Reports marked rejected are skipped (no result) unless retry_rejected. A report another
    run is sending is skipped with code in_progress. Unreadable files are moved to queue/bad/
    (code bad_file). After a transient failure the remaining reports are not tried (same code,
    attempts 0), nor after command_timeout (code timeout). total_timeout applies to each report.
    """
    env = os.environ if env is None else env
    data_dir = default_data_dir(env) if data_dir is None else Path(data_dir)
    command_deadline = clock.monotonic() + command_timeout
    qdir = queue_dir(data_dir)
    store.cleanup(qdir)
    found = _target(profile, env)
    stopped_by: SubmitResult | None = None
    results: list[SubmitResult] = []
    for path in store.queued_files(qdir):
        if not retry_rejected and store.marker_path(qdir, path.stem).exists():
            continue
        lock = ReportLock(qdir, path.name, clock)
        if not lock.acquire(wait=0):
            results.append(result(path.stem, "in_progress", path=path))
            continue
        outcome = None
        try:
            body, problem = store.read_queued(path)
            if problem:
                outcome = store.move_bad(qdir, path, problem)
            elif body is None:
                continue  # delivered by another run since we listed the folder
            elif isinstance(found, tuple):
                outcome = result(path.stem, found[0], detail=found[1], path=path)
            elif stopped_by is not None:
                outcome = result(path.stem, stopped_by.code, http_status=stopped_by.http_status,
                                 detail="not tried after an earlier failure", path=path)
            elif command_deadline - clock.monotonic() < retry.MIN_ATTEMPT_S:
                outcome = result(path.stem, "timeout", path=path,
                                 detail=f"not tried: {command_timeout:g} s for the whole command")
            else:
                deadline = min(clock.monotonic() + total_timeout, command_deadline)
                options = _Options(attempts, backoff, timeout, deadline, max_retry_after, clock)
                outcome = _send_locked(qdir, path, found, options, body=body)
                if outcome.code in TRANSIENT:
                    stopped_by = outcome
        finally:
            lock.release(remove=not path.exists())
        results.append(outcome)
    return results


class _Options:
    """How one report is delivered: attempts, pauses, timeouts, its deadline, the clock."""

    def __init__(self, attempts: int, backoff: float, timeout: float | tuple[float, float],
                 deadline: float, max_retry_after: float, clock: Clock):
        self.attempts, self.backoff, self.deadline = attempts, backoff, deadline
        self.connect_s, self.read_s = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        self.max_retry_after, self.clock = max_retry_after, clock


def _target(profile: Mapping[str, Any], env: Mapping[str, str]) -> Target | tuple[str, str | None]:
    from .target import target
    return target(profile, env)


def _send_locked(qdir: Path, path: Path, target: Target, options: _Options,
                 body: bytes | None = None) -> SubmitResult:
    """Deliver one queued report; the caller holds its lock."""
    report_id = path.stem
    if body is None:
        body, problem = store.read_queued(path)
        if problem:
            return store.move_bad(qdir, path, problem)
        if body is None:   # delivered and removed by another run while we waited for the lock
            return result(report_id, "delivered")
    answer, made = _deliver(body, report_id, target, options)
    outcome = OUTCOME_OF[answer.code]
    if outcome == DELIVERED:
        store.remove_delivered(qdir, path)
        path = None
    elif outcome == REJECTED:
        store.write_marker(qdir, report_id, {"at": store.iso(options.clock.time()),
                                             "http_status": answer.status, "code": answer.code,
                                             "detail": answer.detail})
    log.info("report %s: %s (HTTP %s, %d attempt(s))", report_id, answer.code, answer.status, made)
    return result(report_id, answer.code, http_status=answer.status, attempts=made,
                  detail=_bounded(answer.detail), path=path)


def _submit_unsaved(report, report_id, profile, env, options: _Options, exc: OSError) -> SubmitResult:
    """The queue cannot be written (disk full, read-only home): still try to deliver."""
    reason = f"cannot write the queue: {exc.strerror or type(exc).__name__}"
    log.warning("report %s: %s", report_id, reason)
    found = _target(profile, env)
    if isinstance(found, tuple):
        return result(report_id, "not_saved", detail=f"{reason}; {found[0]}")
    answer, made = _deliver(_encode(report), report_id, found, options)
    if OUTCOME_OF[answer.code] == DELIVERED:
        return result(report_id, answer.code, http_status=answer.status, attempts=made, detail=reason)
    return result(report_id, "not_saved", http_status=answer.status, attempts=made,
                  detail=_bounded(f"{reason}; {answer.code}"
                                  + (f": {answer.detail}" if answer.detail else "")))


def _deliver(body: bytes, report_id: str, target: Target, options: _Options) -> tuple[post.Answer, int]:
    """POST with retries: the last answer and the number of attempts made."""
    clock = options.clock
    policy = retry.Policy(options.attempts, options.backoff, options.max_retry_after,
                          options.deadline, clock)
    if not policy.time_left():
        return post.Answer("timeout", detail="no time left to try"), 0
    deadline = Deadline(options.deadline, clock.monotonic)
    pin = ({"server_hostname": target.host, "assert_hostname": target.host}
           if target.host_header and target.connect_url.startswith("https") else None)
    session = deadline_session(deadline, trust_env=not target.loopback, pool_kwargs=pin)
    made = 0

    def attempt() -> post.Answer:
        nonlocal made
        made += 1
        # This attempt's own deadline: its connect and read timeouts, within the report's.
        deadline.at = min(options.deadline, clock.monotonic() + options.connect_s + options.read_s)
        log.debug("report %s: POST to %s, attempt %d", report_id, target.host, made)
        # Every socket wait ends by the deadline, but the name lookup cannot be cut (glibc):
        # the attempt is waited for until then, and a hung one is a timeout.
        until = time.monotonic() + deadline.remaining() + ATTEMPT_GRACE_S
        answer = within(lambda: post.attempt(session, deadline, body, report_id, target,
                                             options.connect_s, options.read_s),
                        until, f"submit-{report_id}")
        return post.Answer("timeout", detail=HUNG) if answer is UNFINISHED else answer

    try:
        return retry.run(attempt, policy), made
    finally:
        session.close()


def _bounded(detail: str | None) -> str | None:
    return detail[:MAX_DETAIL] if detail else detail
