"""Group commit: one thread per server process stores the reports its requests checked, all that
are waiting in one transaction, and answers each request once that transaction is committed.

A commit (and its fsync) per report and a pooled connection per request made the database
round trips, not the reports, the cost of ingest. Here concurrent reports share a transaction
and a connection: the more arrive together, the larger the batch, with no waiting on a timer.
A batch that fails is stored again report by report, so one report the database refuses
does not fail the others (each then gets its own outcome or error).
"""
from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future
from typing import Any

from sqlalchemy.engine import Engine

from . import store
from .config import OutageRule

MAX_BATCH = 200   # reports in one transaction at most (a few MB of statements)


class Writer:
    def __init__(self, engine: Engine, rule: OutageRule):
        self.engine, self.rule = engine, rule
        self.shard = os.getpid()   # each process adds to its own per-day count rows
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, row: dict[str, Any]) -> Future:
        """Store a report as store.prepare made it; the future's result is store.CREATED, EXISTS
        or CONFLICT."""
        future: Future = Future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="diagnose-writer",
                                                daemon=True)
                self._thread.start()
            self._queue.put((row, future))
        return future

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._store(_running(batch))
                    return
                batch.append(item)
            self._store(_running(batch))

    def _store(self, batch: list[tuple[dict[str, Any], Future]]) -> None:
        try:
            outcomes = store.ingest_many(self.engine, [row for row, _ in batch],
                                         self.rule, shard=self.shard)
        except BaseException as exc:   # noqa: BLE001 - every waiting request gets an answer
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for one in batch:
                self._store([one])
            return
        for (_, future), outcome in zip(batch, outcomes):
            future.set_result(outcome)


def _running(batch: list[tuple[dict[str, Any], Future]]) -> list[tuple[dict[str, Any], Future]]:
    """Mark the batch's futures running, so that they can no longer be cancelled; the report of
    a request that went away before (never acknowledged) is left out."""
    for _, future in batch:
        future.set_running_or_notify_cancel()
    return [(row, future) for row, future in batch if not future.cancelled()]
