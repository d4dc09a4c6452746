"""Does every TCP connection succeed, wherever it goes? Then the network intercepts.

A few TCP connections go, all at once, to addresses that exist nowhere (RFC 5737 documentation
addresses, never routed on the internet) on ports nothing listens on. On an ordinary network none
is accepted: no answer, or "unreachable" from a router on the way. A network that takes every
connection itself (a hotel or company gateway, a filtering box, a login or notice page that
redirects all TCP) accepts them, within milliseconds. Observations only, never raises; no
privilege needed. The rules say how many accepted mean interception.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import reach

# Addresses in TEST-NET-1 (192.0.2.0/24, RFC 5737) and unassigned or unlikely ports, each pair
# different, so one real host or one forwarded port cannot look like interception.
PROBES = (("192.0.2.1", 9), ("192.0.2.73", 4739), ("192.0.2.211", 64999))
# An intercepting device sits in the home or the access network: it accepts in a few to tens of
# milliseconds. Where nothing intercepts, nothing answers, so every probe costs this wait: short.
ACCEPT_WAIT_S = 0.3


def probe(wait: float = ACCEPT_WAIT_S) -> dict[str, Any]:
    """`probes` (address, port, outcome, ms), `probed` (connects really tried), `accepted`,
    `slowest_accept_ms`."""
    with ThreadPoolExecutor(max_workers=len(PROBES)) as pool:
        done = list(pool.map(lambda one: {"address": one[0],
                                          **reach.tcp_connect(one[0], one[1], wait)}, PROBES))
    accepted = [p for p in done if p["outcome"] == "open"]
    return {
        "probes": done,
        "probed": sum(1 for p in done if p["outcome"] != "error"),   # error: no connect made
        "accepted": len(accepted),
        "slowest_accept_ms": max((p["ms"] for p in accepted), default=None),
    }
