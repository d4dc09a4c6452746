"""What the checks that send raw Ethernet frames (DHCP and PPPoE discovery) share; not a check."""
from __future__ import annotations

from typing import Callable

from ..bounded import UNFINISHED, within

# The probe stops waiting this long before its check stops waiting for the probe, so that a
# probe which waited its full time still hands over its answer.
HAND_OVER_S = 0.1


def bounded(probe: Callable[[float], dict], until: float, name: str) -> dict:
    """probe(deadline) waited for until `until` (time.monotonic()); the probe is given a deadline
    a little earlier. Loading scapy cannot be interrupted, and a probe that overruns must not cost
    its check the other facts."""
    result = within(lambda: probe(until - HAND_OVER_S), until, name)
    return {"outcome": "timeout", "reason": "no result within the wait"} if result is UNFINISHED \
        else result
