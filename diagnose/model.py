"""The shapes that flow between layers: what a check returns, what a rule concludes."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable

from . import sides


class Status(str, enum.Enum):
    """Whether a check could observe, never whether the network is good: what it saw is in its
    facts, and the rules judge them. (Reports of older versions may carry "problem".)"""
    OK = "ok"
    SKIPPED = "skipped"
    ERROR = "error"
    TIMEOUT = "timeout"


SIDES = sides.NAMES
SEVERITIES = ("fault", "warning", "info")
CONFIDENCES = ("high", "medium", "low")
# Sides that mean "the operator sends someone": the ticket flag in the verdict.
TICKET_SIDES = frozenset(side.name for side in sides.ALL if side.ticket)


@dataclass
class CheckResult:
    """One check's observation. Facts are plain JSON-able data; a missing or null fact means "not
    observed" (the runner fills every declared fact the check did not report with null)."""
    status: Status
    facts: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None          # English, marked N_(); {names} filled from reason_args
    duration_ms: int = 0
    reason_args: dict[str, Any] = field(default_factory=dict)
    # Values seen that must not leave the machine as they are, for redaction (its `secrets` and
    # `pppoe_users`); never part of the report.
    sensitive: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class CheckSpec:
    """Declared up front by each check module (its CHECK): the registry of checks is these
    declarations, and display names, report order, digest slots and redaction derive from it."""
    id: str
    summary: str
    run: Callable[..., CheckResult]
    needs: tuple[str, ...] = ()
    timeout: float = 3.0
    # "none": never needs it; "optional": sharper as administrator; "required": skipped without.
    privilege: str = "none"
    # The facts it reports, as paths below its id; a path covers what lies under it (a list's items,
    # a nested mapping). Rules may name only these. None: not declared (nothing is checked).
    provides: tuple[str, ...] | None = None
    # For people, short, marked N_() (translated where shown); the id when empty.
    name: str = ""
    # Place on the path from this computer outwards: reports list checks in this order (as far
    # as their needs allow). Spaced by 10, so that a new check fits between two others.
    position: int = 1000
    # Its place in the phone digest (diagnose/digest.py): the next free slot, never changed or
    # reused once released. None: not carried (the digest holds 16 checks at most).
    digest_slot: int | None = None


@dataclass
class Finding:
    rule: str
    code: str
    side: str
    severity: str
    title: str
    advice: list[str]
    evidence: dict[str, Any]
    consequence_of: str | None = None
    # Facts (CHECK.PATH) the rule rests on that were not observed, as for the verdict.
    not_observed: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    side: str
    code: str
    rule: str
    title: str
    advice: list[str]
    confidence: str
    evidence: dict[str, Any] = field(default_factory=dict)
    # Facts the verdict's rule rests on that were not observed (CHECK.PATH): its confidence is
    # lower for them, and the report names them.
    not_observed: list[str] = field(default_factory=list)

    @property
    def ticket(self) -> bool:
        return self.side in TICKET_SIDES
