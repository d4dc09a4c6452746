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
    CONFIG = 78                 # bad profile or rule file (EX_CONFIG)
    INTERRUPTED = 130           # Ctrl-C


_BY_SIDE = {
    "none": ExitCode.NO_FAULT,
    "user": ExitCode.FAULT_FIXABLE_AT_HOME,
    "home": ExitCode.FAULT_FIXABLE_AT_HOME,
    "account": ExitCode.FAULT_OUTSIDE_HOME,
    "line": ExitCode.FAULT_OUTSIDE_HOME,
    "isp": ExitCode.FAULT_OUTSIDE_HOME,
    "unknown": ExitCode.INCONCLUSIVE,
}


def for_side(side: str) -> ExitCode:
    return _BY_SIDE.get(side, ExitCode.INCONCLUSIVE)
