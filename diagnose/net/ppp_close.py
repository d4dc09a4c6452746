"""Every PPPoE session the test login opened gets its PADT: the registry that guarantees it.

Once a PADS gave a session id, the session is registered here until its PADT is out. The login
sends it itself on its way out; when the process ends first (Ctrl-C in the main thread while the
login runs in a check's daemon thread, or the runner's deadline) the atexit hook close_all()
sends it.
"""
from __future__ import annotations

import atexit
import itertools
import threading
from typing import Callable

_OPEN_LOCK = threading.Lock()
_OPEN: dict[int, tuple[Callable[[], None], threading.Event]] = {}
_KEYS = itertools.count(1)


def register(send_padt: Callable[[], None], closed: threading.Event) -> int:
    key = next(_KEYS)
    with _OPEN_LOCK:
        _OPEN[key] = (send_padt, closed)
    return key


def release(key: int) -> bool:
    """Send this session's PADT unless close_all() already did. True when sent here."""
    with _OPEN_LOCK:
        entry = _OPEN.pop(key, None)
        if entry is None:
            return False
        entry[1].set()
        _quietly(entry[0])
        return True


def close_all() -> int:
    """Send the PADT of every session still open (atexit; also safe to call by hand)."""
    with _OPEN_LOCK:
        entries = list(_OPEN.values())
        _OPEN.clear()
        for send_padt, closed in entries:
            closed.set()          # the login thread sends nothing more
            _quietly(send_padt)
    return len(entries)


def open_sessions() -> int:
    with _OPEN_LOCK:
        return len(_OPEN)


def _quietly(call: Callable[[], None]) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001 - best effort at exit; the AC times the session out anyway
        pass


atexit.register(close_all)
