"""A virtual clock for unit tests, in diagnose.clock.Clock's shape (monotonic, time, sleep, wait,
select): its time moves only when the code under test waits with nothing to read, so a timeout is
reached at once and no test sleeps for real.

In-process servers run without threads: each is a `serve()` callable that answers what it has
been sent so far, called before every look at the sockets. Loopback datagrams are queued by the
time sendto() returns, so what a server answers is seen without waiting, deterministically."""
from __future__ import annotations

import select
from typing import Callable, Iterable


class VirtualClock:
    def __init__(self, start: float = 1000.0, serve: Iterable[Callable[[], None]] = ()):
        self.now = start
        self.serve = list(serve)

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)

    def _served(self) -> None:
        for serve in self.serve:
            serve()

    def wait(self, sockets: list, timeout: float) -> list:
        self._served()
        ready = select.select(sockets, [], [], 0)[0]
        if not ready:
            self.now += max(0.0, timeout)
        return ready

    def select(self, selector, timeout: float) -> list:
        self._served()
        ready = selector.select(0)
        if not ready:
            self.now += max(0.0, timeout)
        return ready
