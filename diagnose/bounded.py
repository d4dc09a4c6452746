"""Calls that cannot be interrupted (glibc's getaddrinfo, loading scapy, a blocked connect),
each run in a daemon thread and waited for only until a deadline: a stuck call neither holds
its caller past the deadline nor keeps the process from exiting."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Sequence

UNFINISHED = object()   # what all_within gives for a call still running at the deadline


def all_within(calls: Sequence[Callable[[], Any]], until: float, name: str) -> list[Any]:
    """Start every call at once; each one's value, or UNFINISHED if it had not returned by
    `until` (time.monotonic()). A call that raised raises here, in the caller."""
    boxes: list[dict[str, Any]] = [{} for _ in calls]

    def run(call: Callable[[], Any], box: dict[str, Any]) -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["error"] = exc

    threads = [threading.Thread(target=run, args=(call, box), name=f"{name}-{i}", daemon=True)
               for i, (call, box) in enumerate(zip(calls, boxes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, until - time.monotonic()))
    values = []
    for box in [dict(b) for b in boxes]:
        if "error" in box:
            raise box["error"]
        values.append(box.get("value", UNFINISHED))
    return values


def within(call: Callable[[], Any], until: float, name: str) -> Any:
    """call()'s value, or UNFINISHED if it had not returned by `until`."""
    return all_within([call], until, name)[0]
