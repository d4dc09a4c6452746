"""firewall: does this computer itself stop its traffic? Sends that fail locally, and the rule set.

A packet filter on this computer's output path (nftables/iptables rules, a security program)
makes the kernel refuse the send at once with "operation not permitted" (EPERM), before anything
leaves the adapter. That needs no administrator rights to see: one DNS question over UDP to the
gateway, the configured and public resolvers and the first ping target, and, where ICMP sockets
are allowed to this user, an echo to the gateway. TCP hides a local drop from connect() (the
kernel retries the refused SYN in silence), so one TCP handshake to a ping target shows whether its
retry left this computer (net/syn_probe.py). As administrator the rule set is read too.
"""
from __future__ import annotations

import errno
import socket
from typing import Any

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import localfirewall, syn_probe
from ..platform import NotObserved, plain

DNS_PORT = 53
# A standard question (the root's NS records): any resolver that receives it answers it harmlessly.
ROOT_NS_QUERY = bytes.fromhex("0000 0100 0001 0000 0000 0000 00 0002 0001".replace(" ", ""))
ICMP_ECHO = bytes.fromhex("0800f7ff00000000")  # type 8, checksum for id 0 / seq 0, no payload
# The web's port, on which the ping targets answer (the internet check's TARGET_PORTS): a filter
# that stops TCP, or only the web, stops it; a live network answers it at once.
TCP_PORT = 443


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


def tcp_sends(ctx) -> list[dict[str, Any]]:
    """A TCP handshake to the first ping target: TCP hides a local drop from connect(), so whether
    it left is read from the socket (net/syn_probe.py); only a connect nothing answered waits for
    the SYN's retry, about a second."""
    targets = ctx.profile["probes"]["ping_targets"][:1]
    return [syn_probe.probe(target, TCP_PORT, ctx.budget(syn_probe.WAIT_S)) for target in targets]


def _where(send: dict[str, Any]) -> str:
    return f"{send['to']} ({send['proto'].upper()}{' ' + str(send['port']) if 'port' in send else ''})"


def tcp_facts(tcp: list[dict[str, Any]], sends: list[dict[str, Any]],
              ruleset: dict[str, Any]) -> dict[str, Any]:
    """What the TCP handshakes say, and every send stopped on this computer, named with its
    protocol and port (for people: the finding's title)."""
    observed = [s for s in tcp if s["outcome"] in ("sent", "held", "not_permitted")]
    stopped = [s for s in sends + tcp if s["outcome"] == "not_permitted"]
    return {
        "tcp_sends": tcp,
        "tcp_blocked": any(s["outcome"] == "not_permitted" for s in observed) if observed else None,
        "tcp_blocked_to": [s["to"] for s in observed if s["outcome"] == "not_permitted"],
        "stopped": list(dict.fromkeys(_where(s) for s in stopped)),
        "ruleset_drops_tcp": ruleset.get("output_drops_tcp") if ruleset["outcome"] == "read" else None,
        "ruleset_tcp_ports": ruleset.get("dropped_tcp_ports") if ruleset["outcome"] == "read" else None,
    }


def _ruleset(ctx) -> dict[str, Any]:
    """The platform's own view of its firewall where it has one (Windows: each profile's switch
    and default actions), else the nftables rule set."""
    system = ctx.system.local_firewall()
    if not isinstance(system, NotObserved):
        # the profiles in force, where the system says which (else any profile may be)
        in_force = [p for p in system.profiles if system.active is None or p.name in system.active]
        drops = any(p.enabled and p.outbound_blocked for p in in_force)
        return {"outcome": "read", "source": system.source,
                "profiles": [plain(profile) for profile in system.profiles],
                "active": list(system.active) if system.active is not None else None,
                "active_reason": system.active_reason,
                # a profile blocking what goes out blocks TCP too, whatever the port
                "output_drops": drops, "output_drops_tcp": drops,
                "dropped_tcp_ports": ["all"] if drops else []}
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
    tcp = tcp_sends(ctx)
    observed = [s for s in sends if s["outcome"] in ("sent", "not_permitted")]
    blocked = [s for s in sends if s["outcome"] == "not_permitted"]
    # The rule set is the evidence for a refused send; with none refused it is not read (a
    # process less on every healthy run).
    stopped_tcp = any(s["outcome"] == "not_permitted" for s in tcp)
    ruleset = (_ruleset(ctx) if blocked or stopped_tcp
               else {"outcome": "not_run", "reason": "no send was refused"})
    facts = {
        "sends": sends,
        "blocked": bool(blocked) if observed else None,
        "blocked_to": list(dict.fromkeys(s["to"] for s in blocked)),
        "blocks_gateway": (any(s["to"] == gateway for s in blocked) if gateway and observed
                           else None),
        "all_blocked": bool(observed) and len(blocked) == len(observed),
        "ruleset": ruleset,
        "ruleset_drops": ruleset.get("output_drops") if ruleset["outcome"] == "read" else None,
        **tcp_facts(tcp, sends, ruleset),
    }
    if stopped_tcp and not blocked:
        return CheckResult(Status.OK, facts,
                           N_("this computer stops its TCP connections to {targets}: the handshake's retry never left it"),
                           reason_args={"targets": facts["tcp_blocked_to"]})
    if blocked:
        return CheckResult(Status.OK, facts,
                           N_("this computer refuses to send to {targets} (operation not permitted)"),
                           reason_args={"targets": facts["blocked_to"]})
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="firewall",
                  summary="This computer's own packet filter: refused sends, a TCP retry, rule set",
                  run=run, needs=("route",), timeout=2.0, privilege="optional",
                  provides=("sends", "blocked", "blocked_to", "blocks_gateway", "all_blocked",
                            "ruleset", "ruleset_drops", "tcp_sends", "tcp_blocked",
                            "tcp_blocked_to", "stopped", "ruleset_drops_tcp", "ruleset_tcp_ports"),
                  name=N_("local firewall"), position=54, digest_slot=15)
