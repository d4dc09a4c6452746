"""What the dialer last logged: pppd's own words for how its last dial-up attempt ended.

Sources, most specific first: the files the peers files name with `logfile`, the systemd journal
(`journalctl -t pppd -t pppoe`, when journalctl exists), then /var/log/ppp*.log, syslog,
messages and daemon.log. Files are read through ctx.path, the journal through ctx.run, so tests
inject both; each file only its last LOG_TAIL_BYTES, the journal with a timeout.

Only known messages are turned into facts (never a raw line: pppd's debug output names the
user, and with `show-password` the password); a server's message is cleaned, capped and
scrubbed of the account before it is kept.
"""
from __future__ import annotations

import datetime
import os
import re
import time
from typing import Any, Callable

from .pppoe_discovery import clean_text
from .ppp_secrets import scrub

LOG_TAIL_BYTES = 256 * 1024  # a day of a retrying pppd; bounded so a huge syslog costs nothing
JOURNAL_LINES = 400
MAX_AGE_S = 24 * 3600        # an older attempt says nothing about today's fault
MAX_TEXT = 120
LOG_FILES = ("/var/log/syslog", "/var/log/messages", "/var/log/daemon.log")
TAGS = ("pppd", "pppoe", "pppoe-discovery")
JOURNAL_ARGV = ["journalctl", "--no-pager", "-q", "-o", "short-iso", "-n", str(JOURNAL_LINES),
                f"--since=-{MAX_AGE_S // 3600}h", *[a for t in TAGS for a in ("-t", t)]]

# A syslog/journal line: timestamp (ISO or BSD), host, tag[pid]: message.
_SYSLOG = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)?|[A-Z][a-z]{2} [ \d]\d "
                     r"\d\d:\d\d:\d\d) \S+ (?P<tag>[\w.-]+)(?:\[\d+\])?: (?P<msg>.*)$")
PADS_TAGS = {"Service-Name-Error": "Service-Name-Error", "System-Error": "AC-System-Error",
             "Generic-Error": "Generic-Error"}
# (pattern, outcome, step). Messages as pppd 2.4/2.5 and its rp-pppoe plugin write them.
EVENTS = [
    (re.compile(r"Timeout waiting for PADO packets"), "no_pado", "PADI"),
    (re.compile(r"Timeout waiting for PADS packets"), "pads_timeout", "PADR"),
    (re.compile(r"PAD[OS]: (Service-Name-Error|System-Error|Generic-Error): ?(.*)"),
     "pads_error", "PADS"),
    (re.compile(r"LCP: timeout sending Config-Requests"), "lcp_timeout", "LCP"),
    (re.compile(r"No response to PAP authenticate-requests"), "auth_timeout", "PAP"),
    (re.compile(r"PAP authentication failed"), "auth_refused", "PAP"),
    (re.compile(r"(?:MS-)?CHAP(?:-v2)? authentication failed(?:: (.*))?"), "auth_refused", "CHAP"),
    (re.compile(r"(PAP|CHAP) authentication succeeded"), "auth_ok", None),
    (re.compile(r"IPCP: timeout sending Config-Requests"), "ipcp_timeout", "IPCP"),
    (re.compile(r"local +IP address (\S+)"), "connected", None),
    (re.compile(r"LCP terminated by peer(?: \((.*)\))?"), "terminated", "LCP"),
    (re.compile(r"No response to \d+ echo-requests"), "terminated", "LCP"),
    (re.compile(r"Remote message: (.*)"), "message", None),
]
# Outcomes that end an attempt; "terminated" only ends one that had no other failure.
FAILURES = {"no_pado", "pads_timeout", "pads_error", "lcp_timeout", "auth_timeout",
            "auth_refused", "ipcp_timeout"}


def parse_time(text: str, now: float) -> float | None:
    """A syslog timestamp -> epoch seconds (BSD ones have no year: the last such date)."""
    try:
        if text[:1].isdigit():
            text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text.replace("Z", "+00:00"))
            stamp = datetime.datetime.fromisoformat(text)
            if stamp.tzinfo is None:
                stamp = stamp.astimezone()
            return stamp.timestamp()
        year = datetime.datetime.fromtimestamp(now).year
        stamp = datetime.datetime.strptime(f"{year} {' '.join(text.split())}", "%Y %b %d %H:%M:%S")
        if stamp.timestamp() > now + 86400:
            stamp = stamp.replace(year=year - 1)
        return stamp.timestamp()
    except (ValueError, OverflowError):
        return None


def messages(text: str, now: float, *, syslog: bool, mtime: float | None = None
             ) -> list[tuple[float | None, str]]:
    """(time, message) of the PPP lines. A pppd `logfile` has bare messages: they get mtime."""
    found = []
    for line in text.splitlines():
        if not syslog:
            found.append((mtime, line.strip()))
            continue
        match = _SYSLOG.match(line.strip())
        if match and match.group("tag") in TAGS:
            found.append((parse_time(match.group("ts"), now), match.group("msg")))
    return found


def last_attempt(lines: list[tuple[float | None, str]], now: float) -> dict | None:
    """How the last attempt in these lines ended: the latest outcome wins, except that a
    terminate after a failure keeps the failure (pppd logs "Connection terminated" after
    everything)."""
    state: dict[str, Any] | None = None
    pending_message = None
    count = 0
    for stamp, message in lines:
        if stamp is not None and now - stamp > MAX_AGE_S:
            continue
        for pattern, outcome, step in EVENTS:
            match = pattern.search(message)
            if not match:
                continue
            count += 1
            if outcome == "message":
                pending_message = match.group(1)
                break
            current = state["outcome"] if state else None
            if outcome == "terminated" and current in FAILURES:
                state["terminate_reason"] = _group(match)
                break
            if (outcome == current == "auth_refused" and step == "CHAP" and not _group(match)
                    and state["message"]):
                break  # pppd's second "CHAP authentication failed" line, without the message
            state = {"outcome": outcome, "step": step, "message": None, "at": stamp}
            if outcome == "pads_error":
                tag = PADS_TAGS[match.group(1)]
                state["pads_error"] = {"tag": tag, "message": match.group(2)}
                state["message"] = f"{tag}: {match.group(2)}".rstrip(": ")
            elif outcome == "auth_refused":
                state["message"] = (match.group(1) if step == "CHAP" and match.group(1)
                                    else pending_message)
            elif outcome == "connected":
                state["address"] = match.group(1)
            elif outcome == "terminated":
                state["terminate_reason"] = _group(match)
            pending_message = None
            break
    if state is None:
        return None
    state["events"] = count
    return state


def _group(match: re.Match) -> str | None:
    return match.group(1) if match.groups() and match.group(1) else None


def read(*, run: Callable, path: Callable, logfiles: list[str], budget: float,
         user: str | None = None, secrets: tuple = (), now: float | None = None) -> dict:
    """The dialer's last attempt from the newest source that has one.

    Returns {"outcome": None|"no_pado"|"pads_timeout"|"pads_error"|"lcp_timeout"|
    "auth_timeout"|"auth_refused"|"ipcp_timeout"|"auth_ok"|"connected"|"terminated", "step",
    "message", "pads_error", "address", "terminate_reason", "source", "at" (ISO, UTC),
    "age_s", "events", "read": [sources looked at]}. Never raises.
    """
    now = time.time() if now is None else now
    started = time.monotonic()
    result: dict[str, Any] = {"outcome": None, "source": None, "read": []}
    candidates = []
    try:
        for order, (source, lines) in enumerate(_sources(run, path, logfiles, budget, started,
                                                         now, result["read"])):
            attempt = last_attempt(lines, now)
            if attempt is not None:
                candidates.append((attempt.get("at") or 0.0, -order, source, attempt))
    except Exception as exc:  # noqa: BLE001 - a log we cannot read is no fault of the line
        result["error"] = f"{type(exc).__name__}"
    if not candidates:
        return result
    _, _, source, attempt = max(candidates, key=lambda c: (c[0], c[1]))
    stamp = attempt.pop("at", None)
    result.update(attempt)
    result["source"] = source
    result["at"] = (datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc)
                    .isoformat(timespec="seconds").replace("+00:00", "Z") if stamp else None)
    result["age_s"] = int(now - stamp) if stamp else None
    for key in ("message", "terminate_reason"):
        if result.get(key):
            result[key] = scrub(clean_text(result[key].encode("utf-8", "replace"), MAX_TEXT),
                                user, secrets)
    if result.get("pads_error"):
        result["pads_error"]["message"] = scrub(
            clean_text(result["pads_error"]["message"].encode("utf-8", "replace"), MAX_TEXT),
            user, secrets)
    if result.get("address"):
        result["address"] = clean_text(result["address"].encode("utf-8", "replace"), 45)
    return result


def _sources(run, path, logfiles, budget, started, now, seen):
    """(source name, [(time, message)]) per log, most specific first."""
    for name in logfiles:
        text, mtime = _tail(path(name))
        if text is not None:
            seen.append(name)
            yield name, messages(text, now, syslog=False, mtime=mtime)
    remaining = budget - (time.monotonic() - started)
    if remaining > 0.05:
        done = run(JOURNAL_ARGV, remaining)
        if done is not None and done.returncode == 0:
            seen.append("journal")
            yield "journal", messages(done.stdout or "", now, syslog=True)
    try:
        ppp_logs = sorted(path("/var/log").glob("ppp*.log"))
    except OSError:
        ppp_logs = []
    for file in ppp_logs:
        text, mtime = _tail(file)
        if text is not None:
            seen.append("/var/log/" + file.name)
            # ppp*.log may be a pppd logfile (bare) or a syslog split-out (prefixed).
            yield seen[-1], (messages(text, now, syslog=True)
                             or messages(text, now, syslog=False, mtime=mtime))
    for name in LOG_FILES:
        text, _ = _tail(path(name))
        if text is not None:
            seen.append(name)
            yield name, messages(text, now, syslog=True)


def _tail(file) -> tuple[str | None, float | None]:
    """The last LOG_TAIL_BYTES of a file (from a line start) and its mtime; None if unreadable."""
    try:
        with open(file, "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - LOG_TAIL_BYTES))
            data = handle.read(LOG_TAIL_BYTES)
            mtime = os.fstat(handle.fileno()).st_mtime
    except OSError:
        return None, None
    if size > LOG_TAIL_BYTES:
        data = data.split(b"\n", 1)[-1]
    return data.decode("utf-8", "replace"), mtime
