"""firewall: does this computer itself stop its traffic? Sends that fail locally, and the rule set.

A packet filter on this computer's output path (nftables/iptables rules, a security program)
makes the kernel refuse the send at once with "operation not permitted" (EPERM), before anything
leaves the adapter. That needs no administrator rights to see: one DNS question over UDP to the
gateway, the configured and public resolvers and the first ping target, and, where ICMP sockets
are allowed to this user, an echo to the gateway. As administrator the rule set is read too.
"""
from __future__ import annotations

import errno
import socket
from typing import Any

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import localfirewall
from ..platform import NotObserved, plain

DNS_PORT = 53
# A standard question (the root's NS records): any resolver that receives it answers it harmlessly.
ROOT_NS_QUERY = bytes.fromhex("0000 0100 0001 0000 0000 0000 00 0002 0001".replace(" ", ""))
ICMP_ECHO = bytes.fromhex("0800f7ff00000000")  # type 8, checksum for id 0 / seq 0, no payload


def _outcome(exc: OSError | None) -> dict[str, Any]:
    if exc is None:
        return {"outcome": "sent"}
    if exc.errno in (errno.EPERM, errno.EACCES):
        return {"outcome": "not_permitted", "error": exc.strerror}
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
        return {"outcome": "unreachable", "error": exc.strerror}
    return {"outcome": "error", "error": exc.strerror}


def udp_send(address: str, port: int = DNS_PORT) -> dict[str, Any]:
    """One datagram; a local filter refuses it inside sendto, so no wait is needed."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    error = None
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(ROOT_NS_QUERY, (address, port))
    except OSError as exc:
        error = exc
    return {"to": address, "proto": "udp", "port": port, **_outcome(error)}


def icmp_send(address: str) -> dict[str, Any]:
    """An echo over an unprivileged ICMP socket; where this user may not open one, not observed."""
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    except OSError as exc:
        return {"to": address, "proto": "icmp", "outcome": "not_run", "error": exc.strerror}
    error = None
    try:
        with sock:
            sock.setblocking(False)
            sock.sendto(ICMP_ECHO, (address, 0))
    except OSError as exc:
        error = exc
    return {"to": address, "proto": "icmp", **_outcome(error)}


def _ruleset(ctx) -> dict[str, Any]:
    """The platform's own view of its firewall where it has one (Windows: each profile's switch
    and default actions), else the nftables rule set."""
    system = ctx.system.local_firewall()
    if not isinstance(system, NotObserved):
        # the profiles in force, where the system says which (else any profile may be)
        in_force = [p for p in system.profiles if system.active is None or p.name in system.active]
        return {"outcome": "read", "source": system.source,
                "profiles": [plain(profile) for profile in system.profiles],
                "active": list(system.active) if system.active is not None else None,
                "active_reason": system.active_reason,
                "output_drops": any(p.enabled and p.outbound_blocked for p in in_force)}
    return localfirewall.nft_ruleset(ctx.run, ctx.privileged, ctx.budget(localfirewall.NFT_WAIT_S))


def run(ctx) -> CheckResult:
    probes = ctx.profile["probes"]
    gateway = ctx.facts("route").get("gateway")
    configured = ctx.system.configured_dns()["servers"][:3]
    targets = list(dict.fromkeys(
        ([gateway] if gateway else []) + [s for s in configured if not s.startswith("127.")]
        + list(probes["public_resolvers"][:1]) + list(probes["ping_targets"][:1])))
    sends = [udp_send(target) for target in targets]
    if gateway and ":" not in gateway:
        sends.append(icmp_send(gateway))
    observed = [s for s in sends if s["outcome"] in ("sent", "not_permitted")]
    blocked = [s for s in sends if s["outcome"] == "not_permitted"]
    # The rule set is the evidence for a refused send; with none refused it is not read (a
    # process less on every healthy run).
    ruleset = _ruleset(ctx) if blocked else {"outcome": "not_run", "reason": "no send was refused"}
    facts = {
        "sends": sends,
        "blocked": bool(blocked) if observed else None,
        "blocked_to": list(dict.fromkeys(s["to"] for s in blocked)),
        "blocks_gateway": (any(s["to"] == gateway for s in blocked) if gateway and observed
                           else None),
        "all_blocked": bool(observed) and len(blocked) == len(observed),
        "ruleset": ruleset,
        "ruleset_drops": ruleset.get("output_drops") if ruleset["outcome"] == "read" else None,
    }
    if blocked:
        return CheckResult(Status.PROBLEM, facts,
                           N_("this computer refuses to send to {targets} (operation not permitted)"),
                           reason_args={"targets": facts["blocked_to"]})
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="firewall", summary="This computer's own packet filter: refused sends, rule set",
                  run=run, needs=("route",), timeout=1.5, privilege="optional",
                  provides=("sends", "blocked", "blocked_to", "blocks_gateway", "all_blocked",
                            "ruleset", "ruleset_drops"),
                  name=N_("local firewall"), position=54, digest_slot=15)
