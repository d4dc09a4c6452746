"""The one place that turns outcomes into process exit codes."""
from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    NO_FAULT = 0
    INTERNAL_ERROR = 1
    USAGE = 2
    FAULT_FIXABLE_AT_HOME = 3   # side user or home
    FAULT_OUTSIDE_HOME = 4      # side account, line or isp
    INCONCLUSIVE = 5            # side unknown
    QUEUED = 75                 # submit: kept in the queue, to be sent later (EX_TEMPFAIL)
    CONFIG = 78                 # bad profile or rule file (EX_CONFIG)
    INTERRUPTED = 130           # Ctrl-C


def for_side(side: str) -> ExitCode:
    """The exit code of a verdict's side (diagnose/sides.py); an unknown side is a KeyError."""
    from .sides import BY_NAME  # the table of sides holds each side's code
    return BY_NAME[side].exit_code


# submit: codes that say the profile's ticket settings are wrong, rather than the network.
_PROFILE_PROBLEMS = {"no_ticket_url", "bad_url", "insecure_url", "bad_token"}


def for_submission(outcomes: list[tuple[str, str]]) -> ExitCode:
    """(outcome, code) of each report sent: delivered, else queued for later, else the profile."""
    if any(code in _PROFILE_PROBLEMS for _, code in outcomes):
        return ExitCode.CONFIG
    if all(outcome == "delivered" for outcome, _ in outcomes):
        return ExitCode.NO_FAULT
    return ExitCode.QUEUED
