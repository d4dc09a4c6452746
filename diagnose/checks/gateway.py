"""gateway: does the default gateway answer? Neighbour entry, ICMP echo and TCP."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import reach
from ..platform import NotObserved

# A home router answers DNS (53) or its web page (80); a refused connect also proves it is there.
DNS_PORT = 53
PROBE_PORTS = (DNS_PORT, 80)
PROBE_WAIT_S = 1.0


def run(ctx) -> CheckResult:
    route_facts = ctx.facts("route")
    gateway = route_facts.get("gateway")
    if not gateway:
        return CheckResult(Status.SKIPPED, {"address": None}, N_("no default gateway"))
    # The gateways of further IPv4 default routes (a higher metric, another adapter), asked at
    # the same time: the kernel uses only the first and never falls back to them.
    others = list(dict.fromkeys(r["gateway"] for r in route_facts.get("default_routes") or []
                                if r.get("family") == 4 and r.get("gateway")
                                and r["gateway"] != gateway))
    wait = ctx.budget(PROBE_WAIT_S)
    with ThreadPoolExecutor(max_workers=1 + len(others)) as pool:
        probes = [pool.submit(reach.host_answers, address, PROBE_PORTS, privileged=ctx.privileged,
                              run=ctx.run, timeout=wait) for address in [gateway, *others]]
        answers, *other_answers = [probe.result() for probe in probes]
    answers["other_gateways"] = others
    answers["other_gateways_answering"] = [o["address"] for o in other_answers if o["reachable"]]
    # None: no other default route to ask.
    answers["other_answers"] = bool(answers["other_gateways_answering"]) if others else None
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
    return CheckResult(Status.OK, answers, N_("gateway {gateway} does not answer"),
                       reason_args={"gateway": gateway})


CHECK = CheckSpec(id="gateway", summary="Default gateway: neighbour, ping, TCP", run=run,
                  needs=("route",), timeout=2.5, privilege="optional",
                  provides=("address", "icmp", "tcp", "answers_ping", "answers_tcp", "reachable",
                            "neighbour", "dns_port", "other_gateways", "other_gateways_answering",
                            "other_answers"),
                  name=N_("gateway"), position=50, digest_slot=3)
