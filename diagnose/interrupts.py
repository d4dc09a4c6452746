"""Ctrl-C, SIGTERM and SIGHUP: from the first moment of the process, a stop, never a traceback.

install() (process start only, never in tests that import diagnose) sets the handlers; cli.py
calls install_if_entry() as its first line, so they are in place before anything heavy loads. Until
the command is known, a signal is only remembered. A diagnosis listens (listen()): a signal ends
its checks at once and it still prints its partial report. Any other command raises
KeyboardInterrupt at the signal (raise_from_now_on()). Only the first signal counts; the ones
after it are ignored while the partial report is written.
"""
from __future__ import annotations

import os
import signal
import sys

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))

received: int | None = None          # the first stop signal's number
_listener = None                     # callable() at a stop signal, signal-safe
_raise = False


def install_if_entry() -> None:
    """install() when this process is the `diagnose` command (its script or `python -m
    diagnose`), not a program that merely imports the package."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    script = os.path.basename(getattr(main, "__file__", None) or "").lower()
    if (spec is not None and spec.name == "diagnose.__main__") or script in (
            "diagnose", "diagnose.exe", "diagnose-script.py"):
        install()


def install() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, _handle)


def _handle(signum, frame) -> None:
    global received
    if received is not None:
        return
    received = signum
    if _listener is not None:
        _listener()
    elif _raise:
        raise KeyboardInterrupt


def listen(callback) -> None:
    """callback() at a stop signal (must be signal-safe); called now if one came already."""
    global _listener
    _listener = callback
    if callback is not None and received is not None:
        callback()


def raise_from_now_on() -> None:
    """A command that is not a diagnosis: a stop signal raises KeyboardInterrupt (at once
    if one came already)."""
    global _raise
    _raise = True
    if received is not None and _listener is None:
        raise KeyboardInterrupt


def defer() -> None:
    """Back to remembering a stop signal (after a prompt that raise_from_now_on() let stop)."""
    global _raise
    _raise = False


def reset() -> None:
    """For tests."""
    global received, _listener, _raise
    received, _listener, _raise = None, None, False
