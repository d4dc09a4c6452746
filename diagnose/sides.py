"""The sides of a fault, and everything that follows from each: the one table.

The rule pack, the verdict, the exit code, the ticket flag, the digest, the hotline's wording and
the history all read this table. To add a side, append a row: every field is required, and
tests/unit/test_sides.py fails wherever the new side is not handled (schema, docs, catalog).
Append only: the digest carries a side as its index here.
"""
from __future__ import annotations

from dataclasses import dataclass

from .exit_codes import ExitCode
from .i18n import N_


@dataclass(frozen=True)
class Side:
    name: str                 # in rules and reports
    letter: str               # first character of every code of this side; never 0/O or 1/I
    exit_code: ExitCode
    ticket: bool              # the operator must send someone: the verdict's ticket flag
    means: str                # for hotline staff: whose side it is
    hotline_action: str       # for hotline staff: what to do with the call
    history_word: str         # `diagnose history`: a few words
    call_operator: str | None  # appended to the advice: call the operator, {isp} and {code}


ALL = (
    Side("none", "N", ExitCode.NO_FAULT, False, N_("no fault"),
         N_("No ticket yet: ask for the JSON report (diagnose --json)."), N_("no fault"), None),
    Side("user", "U", ExitCode.FAULT_FIXABLE_AT_HOME, False, N_("this computer or its settings"),
         N_("No ticket: guide the subscriber through the advice."), N_("this computer"), None),
    Side("home", "H", ExitCode.FAULT_FIXABLE_AT_HOME, False, N_("home wiring and equipment"),
         N_("No ticket: guide the subscriber through the advice."), N_("home equipment"), None),
    Side("account", "A", ExitCode.FAULT_OUTSIDE_HOME, False, N_("the service account"),
         N_("No technician: pass the subscriber to the account desk."), N_("account"),
         N_("Call {isp} about your account and read out the code {code}.")),
    Side("line", "L", ExitCode.FAULT_OUTSIDE_HOME, True, N_("the access line"),
         N_("Open a ticket: the fault is outside the home."), N_("line fault"),
         N_("Call {isp} and read out the code {code}.")),
    Side("isp", "S", ExitCode.FAULT_OUTSIDE_HOME, True, N_("the operator's services"),
         N_("Open a ticket: the fault is outside the home."), N_("operator's service"),
         N_("Call {isp} and read out the code {code}.")),
    Side("unknown", "X", ExitCode.INCONCLUSIVE, False, N_("unknown"),
         N_("No ticket yet: ask for the JSON report (diagnose --json)."), N_("no clear cause"),
         None),
)
BY_NAME = {side.name: side for side in ALL}
BY_LETTER = {side.letter: side for side in ALL}
NAMES = tuple(side.name for side in ALL)
LETTERS = "".join(side.letter for side in ALL)
# The side of "nothing is wrong", and the side of a run no rule concludes on (the fallback).
NO_FAULT = next(side for side in ALL if side.exit_code is ExitCode.NO_FAULT)
INCONCLUSIVE = next(side for side in ALL if side.exit_code is ExitCode.INCONCLUSIVE)
# A verdict code: side letter and two digits 2-9 (nothing to mishear on the phone).
CODE_PATTERN = f"[{LETTERS}][2-9]{{2}}"
