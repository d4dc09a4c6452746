"""ipv6: with a global IPv6 address and an IPv6 default route, does anything answer over IPv6?

A computer that has both will try IPv6 first for every name that has an IPv6 address; when
nothing answers over IPv6, browsers wait for their fallback to IPv4 and pages open slowly. The
profile has no IPv6 targets, so they are found as the profile's DNS names' AAAA records through
the configured resolvers, then a TCP handshake to ports 443 and 80 of a few of them: an accepted
or refused connection is an answer (a refusal is the host's own reset).
"""
from __future__ import annotations

import ipaddress
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..clock import SYSTEM, Clock
from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import dnsquery, reach

# Global unicast (RFC 4291 2000::/3): the addresses a computer uses for the internet. ULA (fc00::/7)
# and link-local ones are not: with only those, systems prefer IPv4 and nothing stalls.
GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
AAAA_WAIT_S = 0.6      # the configured resolver has just answered the dns check's A queries
CONNECT_WAIT_S = 0.8   # a TCP handshake across the country takes well under this
PORTS = (443, 80)
MAX_TARGETS = 3
MAX_CONFIGURED = 3


def query_aaaa(server: str, name: str, timeout: float, port: int = 53,
               clock: Clock = SYSTEM) -> dict[str, Any]:
    """One AAAA question; an observation, never an exception."""
    return dnsquery.query(server, name, timeout, port, "AAAA", clock)


def _is_global_unicast(address) -> bool:
    """A textual IPv6 address within 2000::/3; anything else (IPv4, garbage) is not."""
    if not isinstance(address, str):
        return False
    try:
        return ipaddress.ip_address(address) in GLOBAL_UNICAST
    except ValueError:
        return False


def global_unicast(addresses: list[dict]) -> list[str]:
    return [entry["address"] for entry in addresses
            if isinstance(entry, dict) and _is_global_unicast(entry.get("address"))]


def pick_targets(lookups: list[dict], limit: int = MAX_TARGETS) -> list[str]:
    """Distinct global addresses, one per name first, so one dead host cannot decide."""
    per_name: dict[str, list[str]] = {}
    for lookup in lookups:
        answers = lookup.get("answers") if isinstance(lookup, dict) else None
        for address in answers if isinstance(answers, list) else []:
            if _is_global_unicast(address):
                addresses = per_name.setdefault(str(lookup.get("name")), [])
                if address not in addresses:
                    addresses.append(address)
    targets: list[str] = []
    for depth in range(max((len(v) for v in per_name.values()), default=0)):
        for addresses in per_name.values():
            if depth < len(addresses) and addresses[depth] not in targets:
                targets.append(addresses[depth])
    return targets[:limit]


def run(ctx) -> CheckResult:
    addressing, route = ctx.facts("addressing"), ctx.facts("route")
    observed = addressing.get("ipv6")
    addresses = global_unicast(observed) if isinstance(observed, list) else []
    facts: dict[str, Any] = {
        "interface": addressing.get("interface"),
        "addresses": addresses,
        "has_global_unicast": bool(addresses) if isinstance(observed, list) else None,
        "has_default": route.get("has_ipv6_default"),
        "lookups": [], "targets": [], "connects": [], "any_answered": None,
    }
    if not (facts["has_global_unicast"] and facts["has_default"]):
        return CheckResult(Status.SKIPPED, facts, N_("no global IPv6 address with a default route"))
    resolvers = ctx.system.configured_dns()["servers"][:MAX_CONFIGURED]
    names = list(ctx.profile["probes"]["dns_names"])
    if not resolvers:
        return CheckResult(Status.SKIPPED, facts, N_("no DNS server configured"))
    pairs = [(server, name) for name in names for server in resolvers]
    wait = ctx.budget(AAAA_WAIT_S)
    with ThreadPoolExecutor(max_workers=min(16, len(pairs))) as pool:
        lookups = list(pool.map(lambda pair: query_aaaa(pair[0], pair[1], wait), pairs))
    targets = pick_targets(lookups)
    facts.update(lookups=lookups, targets=targets)
    if not targets:
        return CheckResult(Status.SKIPPED, facts, N_("no IPv6 address found for {names}"),
                           reason_args={"names": ", ".join(names)})
    wait = ctx.budget(CONNECT_WAIT_S)
    started = time.monotonic()
    jobs = [(address, port) for address in targets for port in PORTS]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        connects = list(pool.map(lambda job: {"address": job[0], **reach.tcp_connect(*job, wait)},
                                 jobs))
    answered = any(c["outcome"] in ("open", "refused") for c in connects)
    facts.update(connects=connects, any_answered=answered,
                 ms=round((time.monotonic() - started) * 1000, 1))
    if not answered:
        return CheckResult(Status.OK, facts, N_("no IPv6 destination answered ({addresses})"),
                           reason_args={"addresses": ", ".join(targets)})
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="ipv6", summary="IPv6: global address, default route, and whether it answers",
                  run=run, needs=("route", "addressing"), timeout=1.5,
                  provides=("interface", "addresses", "has_global_unicast", "has_default",
                            "lookups", "targets", "connects", "any_answered"),
                  name=N_("IPv6"), position=130, digest_slot=13)
