"""Outages from a locator's reports: pure logic, no database (docs/server.md, "Outages").

Events are one locator's reports in time order: when, who (the installation, or the phone
ticket), and whether they saw a fault outside the home (side ``line`` or ``isp``) or no fault
(side ``none``); other sides say nothing about the locator and are left out by the caller.

* An outage opens once fault reports from ``min_subscribers`` distinct subscribers fall within
  ``window`` of each other; it is open since the earliest of them.
* While open, every fault report joins it (one subscriber reporting ten times is one subscriber).
* It closes at the report of the ``healthy_to_close``-th distinct subscriber who, after it
  opened, reports no fault from that locator.
* An open outage without a fault report for ``expire_after`` is shown closed at its last fault
  report plus that time (``expired``): nobody is left to say it is over.
"""
from __future__ import annotations

import datetime
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable

from .. import sides
from ..exit_codes import ExitCode
from .config import OutageRule

FAULT_SIDES = tuple(side.name for side in sides.ALL if side.ticket)        # line, isp
HEALTHY_SIDES = tuple(side.name for side in sides.ALL if side.exit_code == ExitCode.NO_FAULT)


@dataclass(frozen=True)
class Event:
    at: datetime.datetime
    subscriber: str
    side: str


@dataclass
class Outage:
    locator: str
    opened_at: datetime.datetime
    last_fault_at: datetime.datetime
    closed_at: datetime.datetime | None = None
    subscribers: set[str] = field(default_factory=set)
    reports: int = 0
    sides: set[str] = field(default_factory=set)


def episodes(locator: str, events: Iterable[Event], rule: OutageRule) -> list[Outage]:
    """The outages these events (in any order) make, oldest first."""
    found: list[Outage] = []
    recent: deque[Event] = deque()     # fault events within the window, while none is open
    current: Outage | None = None
    healthy: set[str] = set()
    for event in sorted(events, key=lambda e: (e.at, e.side, e.subscriber)):
        if current is not None:
            if event.side in FAULT_SIDES:
                current.subscribers.add(event.subscriber)
                current.reports += 1
                current.sides.add(event.side)
                current.last_fault_at = max(current.last_fault_at, event.at)
            elif event.side in HEALTHY_SIDES:
                healthy.add(event.subscriber)
                if len(healthy) >= rule.healthy_to_close:
                    current.closed_at = event.at
                    current = None
            continue
        if event.side not in FAULT_SIDES:
            continue
        recent.append(event)
        while recent and event.at - recent[0].at > rule.window:
            recent.popleft()
        if len({e.subscriber for e in recent}) >= rule.min_subscribers:
            current = Outage(locator=locator, opened_at=recent[0].at, last_fault_at=event.at,
                             subscribers={e.subscriber for e in recent}, reports=len(recent),
                             sides={e.side for e in recent})
            found.append(current)
            recent.clear()
            healthy = set()
    return found


def effective_close(closed_at: datetime.datetime | None, last_fault_at: datetime.datetime,
                    now: datetime.datetime, rule: OutageRule):
    """(closed_at, how) as shown: healthy reports closed it, it expired, or it is still open."""
    if closed_at is not None:
        return closed_at, "healthy"
    if now - last_fault_at > rule.expire_after:
        return last_fault_at + rule.expire_after, "expired"
    return None, None
