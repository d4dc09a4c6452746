"""The one place that turns outcomes into process exit codes."""
from __future__ import annotations

import enum
import signal


class ExitCode(enum.IntEnum):
    NO_FAULT = 0
    INTERNAL_ERROR = 1
    USAGE = 2
    FAULT_FIXABLE_AT_HOME = 3   # side user or home
    FAULT_OUTSIDE_HOME = 4      # side account, line or isp
    INCONCLUSIVE = 5            # side unknown
    OUTPUT_REFUSED = 73         # -o FILE cannot be written: refused before any check (EX_CANTCREAT)
    OUTPUT_FAILED = 74          # the product could not be written where asked (EX_IOERR)
    QUEUED = 75                 # submit: kept in the queue, to be sent later (EX_TEMPFAIL)
    DATA_DIR = 77               # the data folder cannot be used (EX_NOPERM)
    CONFIG = 78                 # bad profile or rule file (EX_CONFIG)
    HANGUP = 129                # SIGHUP (the terminal went away): 128 + 1
    INTERRUPTED = 130           # Ctrl-C (SIGINT): 128 + 2
    TERMINATED = 143            # SIGTERM: 128 + 15


_BY_SIGNAL = {getattr(signal, "SIGHUP", 1): ExitCode.HANGUP, signal.SIGINT: ExitCode.INTERRUPTED,
              signal.SIGTERM: ExitCode.TERMINATED}


def for_signal(signum: int | None) -> ExitCode:
    """The code of a run a stop signal ended (Ctrl-C when the signal is not known)."""
    return _BY_SIGNAL.get(signum, ExitCode.INTERRUPTED)


def for_side(side: str) -> ExitCode:
    """The exit code of a verdict's side (diagnose/sides.py); an unknown side is a KeyError."""
    from .sides import BY_NAME  # the table of sides holds each side's code
    return BY_NAME[side].exit_code


# submit: codes that say the profile's ticket settings are wrong, rather than the network.
_PROFILE_PROBLEMS = {"no_ticket_url", "bad_url", "insecure_url", "bad_token"}


def for_submission(outcomes: list[tuple[str, str]]) -> ExitCode:
    """(outcome, code) of each report sent: delivered, else queued for later, else the profile,
    or the data folder when a report could be neither queued nor delivered."""
    if any(code in _PROFILE_PROBLEMS for _, code in outcomes):
        return ExitCode.CONFIG
    if any(code == "not_saved" for _, code in outcomes):
        return ExitCode.DATA_DIR   # neither kept nor delivered: never "queued"
    if all(outcome == "delivered" for outcome, _ in outcomes):
        return ExitCode.NO_FAULT
    return ExitCode.QUEUED
