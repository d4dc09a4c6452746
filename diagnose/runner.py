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


class Runner:
    """Each check runs in its own daemon thread, so a hung probe never holds the process."""

    def __init__(self, specs: Iterable[CheckSpec], make_context: Callable[..., Context],
                 timeout: float, on_finish: Callable[[str, CheckResult], None] | None = None):
        self.specs = order(specs)
        self.make_context = make_context
        self.timeout = timeout
        self.on_finish = on_finish or (lambda check_id, result: None)
        self.results: dict[str, CheckResult] = {}
        self._started: dict[str, float] = {}

    def run(self) -> dict[str, CheckResult]:
        overall = time.monotonic() + max(0.1, self.timeout - REPORT_RESERVE_S)
        finished: queue.Queue = queue.Queue()
        pending = list(self.specs)
        deadlines: dict[str, float] = {}
        while pending or deadlines:
            for spec in [s for s in pending if all(n in self.results for n in s.needs)]:
                pending.remove(spec)
                deadline = min(overall, time.monotonic() + spec.timeout)
                if not self._start(spec, deadline, finished):
                    continue
                deadlines[spec.id] = deadline
            if not deadlines:
                continue
            wait = max(0.0, min(deadlines.values()) - time.monotonic())
            try:
                check_id, result = finished.get(timeout=wait)
                if check_id in deadlines:
                    del deadlines[check_id]
                    self._finish(check_id, result)
            except queue.Empty:
                now = time.monotonic()
                for check_id in [c for c, d in deadlines.items() if d <= now]:
                    del deadlines[check_id]
                    spec_timeout = next(s.timeout for s in self.specs if s.id == check_id)
                    why = (N_("overall deadline reached") if now >= overall
                           else N_("no answer within {seconds} s"))
                    self._finish(check_id, CheckResult(Status.TIMEOUT, reason=why,
                                                       reason_args={"seconds": f"{spec_timeout:g}"}))
        return self.results

    def partial(self, why: str) -> dict[str, CheckResult]:
        """After an interruption: every check without a result is marked, nothing is lost."""
        for spec in self.specs:
            if spec.id not in self.results:
                self._finish(spec.id, CheckResult(Status.SKIPPED, reason=why))
        return self.results

    def _start(self, spec: CheckSpec, deadline: float, finished: queue.Queue) -> bool:
        self._started[spec.id] = time.monotonic()
        context = self.make_context(
            deadline=deadline, results={n: self.results[n] for n in spec.needs})
        if spec.privilege == "required" and not context.privileged:
            self._finish(spec.id, CheckResult(Status.SKIPPED, reason=N_("needs administrator rights")))
            return False
        thread = threading.Thread(target=_call, args=(spec, context, finished),
                                  name=f"check-{spec.id}", daemon=True)
        thread.start()
        return True

    def _finish(self, check_id: str, result: CheckResult) -> None:
        started = self._started.get(check_id, time.monotonic())
        result = dataclasses.replace(result, duration_ms=int((time.monotonic() - started) * 1000))
        self.results[check_id] = result
        self.on_finish(check_id, result)


def _call(spec: CheckSpec, context: Context, finished: queue.Queue) -> None:
    try:
        result = spec.run(context)
        if not isinstance(result, CheckResult):
            raise TypeError(f"returned {type(result).__name__}, not CheckResult")
    except Exception as exc:  # a crashed check is a finding of its own, and the run goes on
        result = CheckResult(Status.ERROR, reason=N_("internal error: {error}"),
                             reason_args={"error": f"{type(exc).__name__}: {exc}"})
    finished.put((spec.id, result))
