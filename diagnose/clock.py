"""Time as a dependency: code that waits or measures takes a Clock, so tests can pass a fake one
and never sleep for real."""
from __future__ import annotations

import select
import selectors
import time
from dataclasses import dataclass
from typing import Callable


def _readable(sockets: list, timeout: float) -> list:
    return select.select(sockets, [], [], max(0.0, timeout))[0]


def _selected(selector: selectors.BaseSelector, timeout: float) -> list:
    return selector.select(max(0.0, timeout))


@dataclass(frozen=True)
class Clock:
    monotonic: Callable[[], float] = time.monotonic   # deadlines and durations
    sleep: Callable[[float], None] = time.sleep       # pauses (a fake one just advances)
    time: Callable[[], float] = time.time             # wall-clock moments (file ages)
    # waiting for sockets: those of the list that became readable within the timeout (seconds)
    wait: Callable[[list, float], list] = _readable
    # the same with a selector: its (key, events) ready within the timeout
    select: Callable[[selectors.BaseSelector, float], list] = _selected


SYSTEM = Clock()
