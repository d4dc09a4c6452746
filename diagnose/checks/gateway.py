"""gateway: does the default gateway answer? Neighbour entry, ICMP echo and TCP."""
from __future__ import annotations

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import reach
from ..platform import NotObserved

# A home router answers DNS (53) or its web page (80); a refused connect also proves it is there.
DNS_PORT = 53
PROBE_PORTS = (DNS_PORT, 80)
PROBE_WAIT_S = 1.0


def run(ctx) -> CheckResult:
    gateway = ctx.facts("route").get("gateway")
    if not gateway:
        return CheckResult(Status.SKIPPED, {"address": None}, N_("no default gateway"))
    answers = reach.host_answers(gateway, PROBE_PORTS, privileged=ctx.privileged, run=ctx.run,
                                 timeout=ctx.budget(PROBE_WAIT_S))
    entry = ctx.system.neighbour(gateway)
    arp = ({"state": "unknown", "mac": None, "device": None} if isinstance(entry, NotObserved)
           else {"state": entry.state, "mac": entry.mac, "device": entry.adapter})
    # ARP alone proves only that the router's link is alive, not that it works: kept apart.
    answers["neighbour"] = arp
    # The router's DNS service: open while its DNS proxy runs (even when the operator behind it
    # is dead); refused or silent when the service itself is gone.
    answers["dns_port"] = next((t["outcome"] for t in answers["tcp"] if t["port"] == DNS_PORT),
                               None)   # not probed: not observed
    if answers["reachable"]:
        return CheckResult(Status.OK, answers)
    return CheckResult(Status.PROBLEM, answers, N_("gateway {gateway} does not answer"),
                       reason_args={"gateway": gateway})


CHECK = CheckSpec(id="gateway", summary="Default gateway: neighbour, ping, TCP", run=run,
                  needs=("route",), timeout=2.5, privilege="optional",
                  provides=("address", "icmp", "tcp", "answers_ping", "answers_tcp", "reachable",
                            "neighbour", "dns_port"),
                  name=N_("gateway"), position=50, digest_slot=3)
