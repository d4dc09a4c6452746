"""What caused an exception: requests, urllib3 and http.client wrap the OSError that says what
really happened (ECONNREFUSED, ENETUNREACH...) in layers of their own exceptions."""
from __future__ import annotations

from collections import deque
from typing import Iterator

MAX_LINKS = 32   # a chain is a few links deep; this bounds a cyclic or absurd one


def causes(exc: BaseException | None) -> Iterator[BaseException]:
    """exc and every exception behind it, nearest first: __cause__, __context__, urllib3's
    `reason` and exceptions among `args` (requests passes urllib3's error that way)."""
    queue: deque = deque([exc] if exc is not None else [])
    seen: set[int] = set()
    while queue and len(seen) < MAX_LINKS:
        current = queue.popleft()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        linked = [current.__cause__, current.__context__, reason,
                  *getattr(current, "args", ())]
        queue.extend(link for link in linked if isinstance(link, BaseException))


def os_error(exc: BaseException | None) -> OSError | None:
    """The nearest OSError with an errno behind exc, if any."""
    return next((e for e in causes(exc) if isinstance(e, OSError) and e.errno), None)


def innermost(exc: BaseException) -> BaseException:
    """The last exception of the chain (the root cause, as far as it is known)."""
    last = exc
    for last in causes(exc):
        pass
    return last
