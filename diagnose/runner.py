"""Runs checks concurrently along their dependencies, under per-check timeouts and one deadline."""
from __future__ import annotations

import dataclasses
import queue
import threading
import time
from typing import Callable, Iterable

from .context import Context
from .i18n import N_
from .model import CheckResult, CheckSpec, Status

# Time kept back from the overall deadline so the report is still built and printed in time.
REPORT_RESERVE_S = 0.15


def order(specs: Iterable[CheckSpec]) -> list[CheckSpec]:
    """Dependency order (stable). Unknown or cyclic needs are a programming error."""
    by_id = {spec.id: spec for spec in specs}
    done: list[CheckSpec] = []
    visiting: set[str] = set()

    def visit(spec: CheckSpec) -> None:
        if spec in done:
            return
        if spec.id in visiting:
            raise ValueError(f"dependency cycle at check {spec.id}")
        visiting.add(spec.id)
        for need in spec.needs:
            if need not in by_id:
                raise ValueError(f"check {spec.id} needs unknown check {need}")
            visit(by_id[need])
        visiting.discard(spec.id)
        done.append(spec)

    for spec in by_id.values():
        visit(spec)
    return done


class RealTime:
    """The runner's clock and threads. Tests pass a fake one, so they never sleep."""

    @staticmethod
    def now() -> float:
        return time.monotonic()

    @staticmethod
    def wait(inbox: queue.SimpleQueue, seconds: float):
        """The next item of inbox, or queue.Empty after `seconds`."""
        return inbox.get(timeout=seconds)

    @staticmethod
    def spawn(name: str, target: Callable[[], None]) -> None:
        threading.Thread(target=target, name=name, daemon=True).start()


_INTERRUPT = object()   # put into the inbox by interrupt(): stop waiting at once


class Runner:
    """Each check runs in its own daemon thread, so a hung probe never holds the process.

    A result that comes after its check's deadline counts as a timeout. interrupt() (safe to call
    from a signal handler) ends the run at once: every check without a result is marked so.
    """

    def __init__(self, specs: Iterable[CheckSpec], make_context: Callable[..., Context],
                 timeout: float, on_finish: Callable[[str, CheckResult], None] | None = None,
                 *, clock=RealTime):
        self.specs = order(specs)
        self.make_context = make_context
        self.timeout = timeout
        self.on_finish = on_finish or (lambda check_id, result: None)
        self.clock = clock
        self.results: dict[str, CheckResult] = {}
        self.interrupted = False
        self._started: dict[str, float] = {}
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()   # put() is reentrant: signal-safe

    def interrupt(self) -> None:
        """Stop the run now (called from a signal handler: only reentrant-safe steps)."""
        self.interrupted = True
        self._inbox.put(_INTERRUPT)

    def run(self) -> dict[str, CheckResult]:
        now = self.clock.now
        overall = now() + max(0.1, self.timeout - REPORT_RESERVE_S)
        pending = list(self.specs)
        deadlines: dict[str, float] = {}
        while (pending or deadlines) and not self.interrupted:
            for spec in [s for s in pending if all(n in self.results for n in s.needs)]:
                pending.remove(spec)
                deadline = min(overall, now() + spec.timeout)
                if self._start(spec, deadline):
                    deadlines[spec.id] = deadline
            if not deadlines:
                continue
            try:
                item = self.clock.wait(self._inbox, max(0.0, min(deadlines.values()) - now()))
            except queue.Empty:
                item = None
            if item is _INTERRUPT:
                break
            if item is not None and item[0] in deadlines:
                check_id, result = item
                if now() <= deadlines.pop(check_id):
                    self._finish(check_id, result)
                else:
                    self._finish(check_id, self._timeout(check_id, overall))
            for check_id in [c for c, d in deadlines.items() if d <= now()]:
                del deadlines[check_id]
                self._finish(check_id, self._timeout(check_id, overall))
        if self.interrupted:
            self.partial(N_("interrupted"))
        return self.results

    def partial(self, why: str) -> dict[str, CheckResult]:
        """After an interruption: every check without a result is marked, nothing is lost."""
        for spec in self.specs:
            if spec.id not in self.results:
                self._finish(spec.id, CheckResult(Status.SKIPPED, reason=why))
        return self.results

    def _timeout(self, check_id: str, overall: float) -> CheckResult:
        spec_timeout = next(s.timeout for s in self.specs if s.id == check_id)
        why = (N_("overall deadline reached") if self.clock.now() >= overall
               else N_("no answer within {seconds} s"))
        return CheckResult(Status.TIMEOUT, reason=why, reason_args={"seconds": f"{spec_timeout:g}"})

    def _start(self, spec: CheckSpec, deadline: float) -> bool:
        self._started[spec.id] = self.clock.now()
        context = self.make_context(
            deadline=deadline, results={n: self.results[n] for n in spec.needs})
        if spec.privilege == "required" and not context.privileged:
            self._finish(spec.id, CheckResult(Status.SKIPPED, reason=N_("needs administrator rights")))
            return False
        self.clock.spawn(f"check-{spec.id}", lambda: _call(spec, context, self._inbox))
        return True

    def _finish(self, check_id: str, result: CheckResult) -> None:
        now = self.clock.now()
        started = self._started.get(check_id, now)
        # Every fact the check declares is in its result: null where it was not observed (the
        # check timed out, was interrupted or skipped, or crashed; its status and reason say
        # why), so a reader finds one shape whatever happened, never a missing key.
        spec = next(s for s in self.specs if s.id == check_id)
        facts = {**result.facts, **{name: None for name in spec.provides or ()
                                    if name not in result.facts}}
        result = dataclasses.replace(result, facts=facts,
                                     duration_ms=int((now - started) * 1000))
        self.results[check_id] = result
        self.on_finish(check_id, result)


def _call(spec: CheckSpec, context: Context, finished: queue.SimpleQueue) -> None:
    try:
        result = spec.run(context)
        if not isinstance(result, CheckResult):
            raise TypeError(f"returned {type(result).__name__}, not CheckResult")
    except Exception as exc:  # a crashed check is a finding of its own, and the run goes on
        result = CheckResult(Status.ERROR, reason=N_("internal error: {error}"),
                             reason_args={"error": f"{type(exc).__name__}: {exc}"})
    finished.put((spec.id, result))
