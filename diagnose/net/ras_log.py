"""The Windows dialer's last attempt, in ppp_logs.read()'s shape: the platform's Dialer facts
(RAS connections and RasClient events) and the RAS error numbers they carry, as the outcomes
rules/access-line.yaml weighs (it names the number itself as windows_error). RAS_ERROR_OUTCOMES
is the one table of what each number means: the test dial (platform/ras_dial.py) uses it too."""
from __future__ import annotations

import datetime
from typing import Any

from ..platform import Dialer, NotObserved

# raserror.h numbers as what was observed, at which step of the dial (the wording is Windows'
# own Simplified Chinese message where it says more than the English one).
RAS_ERROR_OUTCOMES: dict[int, tuple[str, str]] = {
    651: ("no_pado", "PADI"),       # Windows 7 and later: the (PPPoE) modem reported an error
    678: ("no_pado", "PADI"),       # XP: the remote computer did not respond
    815: ("no_pado", "PADI"),       # Vista: the remote server is not responding
    691: ("auth_refused", "auth"),  # access denied: user name or password, or the account
    718: ("auth_timeout", "auth"),  # 验证用户名时远程计算机超时没有响应
    720: ("ipcp_failed", "IPCP"),   # no PPP control protocols configured (no address)
    734: ("lcp_failed", "LCP"),     # the PPP link control protocol was terminated
}


def _age_s(when: str, now: datetime.datetime) -> int | None:
    """Seconds since an event's SystemTime (UTC, "2026-11-30T12:00:31.5000000Z")."""
    try:
        at = datetime.datetime.strptime(when[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    return max(0, int((now - at.replace(tzinfo=datetime.timezone.utc)).total_seconds()))


def read(dialer: Dialer | NotObserved, now: datetime.datetime | None = None) -> dict[str, Any]:
    """{outcome, step, ras_error, entry, at, age_s, source, reason}: the newest failed dial
    unless a later one connected; outcome None when the error number is not one of the table's
    (ras_error still says which) or when nothing failed."""
    result: dict[str, Any] = {"outcome": None, "source": None, "ras_error": None}
    if isinstance(dialer, NotObserved):
        return {**result, "reason": dialer.reason}
    if isinstance(dialer.events, NotObserved):
        return {**result, "reason": dialer.events.reason}
    failure = dialer.last_failure
    if failure is None:
        return {**result, "source": "RasClient events", "reason": "no failed dial logged"}
    now = now or datetime.datetime.now(datetime.timezone.utc)
    outcome, step = RAS_ERROR_OUTCOMES.get(failure.error or 0, (None, None))
    return {"outcome": outcome, "step": step, "ras_error": failure.error, "entry": failure.entry,
            "at": failure.time or None, "age_s": _age_s(failure.time, now) if failure.time else None,
            "source": "RasClient events"}
