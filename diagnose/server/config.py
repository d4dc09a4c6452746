"""The server's settings: command line, environment, and the documented defaults."""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from typing import Mapping

TOKENS_ENV = "DIAGNOSE_SERVER_TOKENS"            # may post reports and digests
READ_TOKENS_ENV = "DIAGNOSE_SERVER_READ_TOKENS"  # may read, use the pages, enter digests

# A report is about 5-30 KiB; four times the largest seen leaves room, and stops a flood early.
MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 64                 # JSON nesting; a real report is under 10 deep
BODY_TIMEOUT_S = 10.0          # the whole body must arrive within this (a slow client gets 408)
SESSION_HOURS = 12             # a login lasts one shift


@dataclass(frozen=True)
class OutageRule:
    """When line/isp reports sharing a locator are one outage (docs/server.md, "Outages")."""
    window: datetime.timedelta = datetime.timedelta(minutes=30)   # reports this close together
    min_subscribers: int = 3       # distinct installations (or phone tickets) within the window
    healthy_to_close: int = 1      # distinct installations reporting no fault after it opened
    expire_after: datetime.timedelta = datetime.timedelta(hours=12)   # no fault report for this long
    horizon: datetime.timedelta = datetime.timedelta(days=7)   # outages older than this are final


@dataclass(frozen=True)
class Settings:
    db_url: str
    write_tokens: tuple[str, ...] = ()
    read_tokens: tuple[str, ...] = ()
    outage: OutageRule = field(default_factory=OutageRule)
    retention_days: int | None = None      # reports older than this are deleted; None keeps all
    max_body: int = MAX_BODY_BYTES
    max_depth: int = MAX_DEPTH
    body_timeout_s: float = BODY_TIMEOUT_S
    measure_cache_s: float = 30.0          # the measure page's figures are this fresh at worst


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it."""


def tokens(text: str | None) -> tuple[str, ...]:
    return tuple(token.strip() for token in (text or "").split(",") if token.strip())


def _number(env: Mapping[str, str], name: str, default, kind=int, minimum=1):
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = kind(text.strip())
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not a number") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}")
    return value


def from_env(db_url: str, env: Mapping[str, str] = os.environ) -> Settings:
    """Settings from the environment (names in docs/server.md); raises SettingsError."""
    write, read = tokens(env.get(TOKENS_ENV)), tokens(env.get(READ_TOKENS_ENV))
    for token in write + read:
        if not all(0x21 <= ord(char) <= 0x7E for char in token):
            raise SettingsError("a token holds a character a token cannot have "
                                f"(in {TOKENS_ENV} or {READ_TOKENS_ENV})")
    if set(write) & set(read):
        raise SettingsError(f"a token is in both {TOKENS_ENV} and {READ_TOKENS_ENV}: subscribers "
                            "hold the posting tokens, so they must not read")
    minutes = datetime.timedelta(minutes=1)
    rule = OutageRule(
        window=_number(env, "DIAGNOSE_SERVER_OUTAGE_WINDOW_MIN", 30) * minutes,
        min_subscribers=_number(env, "DIAGNOSE_SERVER_OUTAGE_SUBSCRIBERS", 3, minimum=2),
        healthy_to_close=_number(env, "DIAGNOSE_SERVER_OUTAGE_HEALTHY", 1),
        expire_after=_number(env, "DIAGNOSE_SERVER_OUTAGE_EXPIRE_MIN", 12 * 60) * minutes,
        horizon=_number(env, "DIAGNOSE_SERVER_OUTAGE_HORIZON_DAYS", 7) * datetime.timedelta(days=1))
    return Settings(db_url=db_url, write_tokens=write, read_tokens=read, outage=rule,
                    retention_days=_number(env, "DIAGNOSE_SERVER_RETENTION_DAYS", None),
                    measure_cache_s=_number(env, "DIAGNOSE_SERVER_MEASURE_CACHE_S", 30, minimum=0),
                    body_timeout_s=_number(env, "DIAGNOSE_SERVER_BODY_TIMEOUT_S", BODY_TIMEOUT_S,
                                           kind=float, minimum=0.1))
