"""The Windows test dial (--pppoe-login): RasDial of a configured broadband entry, then RasHangUp.

Asynchronous RasDial with a RasDialFunc notifier: each state RAS enters (and the error, when a
state fails) is queued; the dial waits for Connected, an error or its deadline, whichever comes
first. Whatever happens (an error, the deadline, Ctrl-C, an exception), a connection handle
RasDial gave is hung up; the hang-up is also registered with net/ppp_close, whose exit hook
hangs up when the process ends first (Ctrl-C while the dial runs in a check's daemon thread).

The password: the one typed at --pppoe-login's prompt, else the one Windows saved with the entry
(RasGetEntryDialParams hands back a handle to it, not the password, which RasDial accepts). It
is only ever in the RASDIALPARAMSW buffer, which is wiped after the dial; the result names the
account only by a hint and is scrubbed of both halves. Error numbers become outcomes through
net/ras_log.RAS_ERROR_OUTCOMES, the one table of what each RAS number means.
"""
from __future__ import annotations

import ctypes
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import ras_api

# After RasHangUp the connection's state machine winds down on its own; RAS asks callers to
# wait until the handle is gone before exiting. A PPPoE hang-up (PADT) takes milliseconds.
HANGUP_WAIT_S = 0.45
HANGUP_POLL_S = 0.02
# Kept back from the budget so the hang-up and its wait always fit inside the caller's deadline.
HANGUP_RESERVE_S = 0.5
# Each dial's notifier (one per run) stays alive for the life of the process: RAS may still
# call it while the hang-up winds down, and a freed ctypes thunk would crash the process.
_KEPT_ALIVE: list[Any] = []


@dataclass(frozen=True)
class DialAttempt:
    """What a test dial saw (scrubbed facts), and the account name, kept out of the facts, so
    the caller can redact it wherever else it turns up."""
    facts: dict
    user: str | None = field(default=None, repr=False)


def _outcome(error: int) -> tuple[str, str | None]:
    from ..net.ras_log import RAS_ERROR_OUTCOMES
    return RAS_ERROR_OUTCOMES.get(error, ("failed", None))


def dial(entry: str, *, password: str | None, budget: float, api: Any = None,
         clock: Callable[[], float] = time.monotonic) -> DialAttempt:
    """Dial `entry` (a RAS phonebook entry such as 宽带连接) for at most `budget` seconds, the
    hang-up included; never raises but KeyboardInterrupt/SystemExit (after the hang-up).

    facts: {outcome: connected|no_pado|auth_refused|...|failed|timeout|not_run|error, step,
    ras_error, states (RAS's own names, in order), entry, credentials (typed|saved), user_hint,
    hung_up, elapsed_ms, error, reason}.
    """
    from ..net import ppp_close
    from ..net.ppp_secrets import scrub_tree, user_hint
    started = clock()
    deadline = started + budget - HANGUP_RESERVE_S
    facts: dict[str, Any] = {"outcome": "error", "step": None, "ras_error": None, "states": [],
                             "entry": entry, "credentials": None, "user_hint": None,
                             "hung_up": None, "elapsed_ms": 0, "error": None}
    params = ras_api.RASDIALPARAMSW()
    user: str | None = None
    handle = ras_api.HANDLE()
    hang_up_key = None
    try:
        api = api if api is not None else ras_api.rasapi32()
        params.dwSize = ctypes.sizeof(params)
        ras_api.put_text(params.szEntryName, entry)
        saved = ctypes.c_int32(0)
        error = api.RasGetEntryDialParamsW(None, ctypes.byref(params), ctypes.byref(saved))
        if error != ras_api.NO_ERROR:
            facts.update(error=f"RasGetEntryDialParams failed ({error})", ras_error=error)
            return DialAttempt(facts)
        user = ras_api.text_of(params.szUserName) or None
        facts["user_hint"] = user_hint(user)
        if password:
            ras_api.put_text(params.szPassword, password)
            facts["credentials"] = "typed"
        elif saved.value:
            facts["credentials"] = "saved"
        else:
            facts.update(outcome="not_run", reason="no password saved with the connection "
                                                   "and none typed")
            return DialAttempt(facts, user)
        if clock() >= deadline:
            facts.update(outcome="not_run", reason="not enough time left for a test dial")
            return DialAttempt(facts, user)
        notes: queue.SimpleQueue = queue.SimpleQueue()
        changed = threading.Event()

        def on_state(message: int, state: int, error: int) -> None:   # a RAS thread
            notes.put((state, error))
            changed.set()

        notifier = ras_api.RASDIALFUNC(on_state)
        _KEPT_ALIVE.append(notifier)
        error = api.RasDialW(None, None, ctypes.byref(params), ras_api.NOTIFIER_RASDIALFUNC,
                             notifier, ctypes.byref(handle))
        if handle.value:
            closed = threading.Event()
            hang_up_key = ppp_close.register(
                lambda: _hang_up(api, handle.value, facts, clock), closed)
        if error != ras_api.NO_ERROR:
            facts.update(outcome=_outcome(error)[0], step=_outcome(error)[1], ras_error=error)
            return DialAttempt(facts, user)
        _follow(facts, notes, changed, deadline, clock)
        return DialAttempt(facts, user)
    except (OSError, AttributeError, ValueError, TypeError) as exc:
        facts.update(outcome="error", error=f"{type(exc).__name__}: {exc}")
        return DialAttempt(facts, user)
    finally:
        ras_api.wipe(params)
        if hang_up_key is not None:
            ppp_close.release(hang_up_key)
        facts["elapsed_ms"] = int((clock() - started) * 1000)
        secrets = [password] if password else []
        facts.update(scrub_tree({k: v for k, v in facts.items() if k != "user_hint"}, user,
                                secrets))


def _follow(facts: dict, notes: queue.SimpleQueue, changed: threading.Event, deadline: float,
            clock: Callable[[], float]) -> None:
    """The states RAS reports, until Connected, an error, or the deadline."""
    while True:
        while True:
            try:
                state, error = notes.get_nowait()
            except queue.Empty:
                break
            name = ras_api.RAS_STATES.get(state, str(state))
            if not facts["states"] or facts["states"][-1] != name:
                facts["states"].append(name)
            if error:
                outcome, step = _outcome(error)
                facts.update(outcome=outcome, step=step or name, ras_error=error)
                return
            if state == ras_api.RASCS_CONNECTED:
                facts.update(outcome="connected", step=name)
                return
        left = deadline - clock()
        if left <= 0:
            facts.update(outcome="timeout",
                         step=facts["states"][-1] if facts["states"] else None)
            return
        changed.wait(min(left, 0.25))
        changed.clear()


def _hang_up(api: Any, handle: int, facts: dict, clock: Callable[[], float]) -> None:
    """RasHangUp, then wait (bounded) until the connection's handle is gone."""
    api.RasHangUpW(handle)
    status = ras_api.RASCONNSTATUSW()
    status.dwSize = ctypes.sizeof(status)
    until = clock() + HANGUP_WAIT_S
    while clock() < until:
        if api.RasGetConnectStatusW(handle, ctypes.byref(status)) == ras_api.ERROR_INVALID_HANDLE:
            facts["hung_up"] = True
            return
        time.sleep(HANGUP_POLL_S)
    facts["hung_up"] = False
