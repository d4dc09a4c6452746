"""addressing: IPv4/IPv6 on the primary adapter; APIPA; as administrator, whether DHCP answers."""
from __future__ import annotations

import ipaddress

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..platform import APIPA, Address, NotObserved
from . import packet_probes

# A DHCP server on the home LAN offers within milliseconds; 1.5 s leaves room for a slow router.
DHCP_PROBE_WAIT_S = 1.5


def _scope(address) -> str:
    if address.is_link_local:
        return "link"
    return "global" if address.is_global or address in ipaddress.ip_network("fc00::/7") else "other"


def addresses(observed: list[Address], adapter: str) -> tuple[list[dict], list[dict]]:
    v4 = [{"address": a.address, "prefixlen": a.prefixlen}
          for a in observed if a.adapter == adapter and a.family == 4]
    v6 = [{"address": str(ipaddress.ip_address(a.address)),
           "scope": _scope(ipaddress.ip_address(a.address))}
          for a in observed if a.adapter == adapter and a.family == 6]
    return v4, v6


def run(ctx) -> CheckResult:
    interfaces = ctx.facts("interfaces")
    primary = interfaces.get("primary")
    if not primary:
        return CheckResult(Status.SKIPPED, {"interface": None}, N_("no adapter to look at"))
    observed = ctx.system.addresses()
    if isinstance(observed, NotObserved):
        return CheckResult(Status.ERROR, {"interface": primary},
                           N_("cannot read the addresses: {error}"),
                           reason_args={"error": observed.reason})
    v4, v6 = addresses(observed, primary)
    dhcp = [a.dhcp for a in observed if a.adapter == primary and a.family == 4]
    usable = [a for a in v4 if ipaddress.ip_address(a["address"]) not in APIPA]
    facts = {
        "interface": primary,
        "ipv4": v4,
        "ipv6": v6,
        "has_ipv4": bool(usable),
        "apipa": bool(v4) and not usable,
        "has_ipv6_global": any(a["scope"] == "global" for a in v6),
        "dhcp": any(dhcp) if dhcp and None not in dhcp else None,   # None: the OS does not say
        "dhcp_probe": {"outcome": "not_run"},
    }
    if usable:
        return CheckResult(Status.OK, facts)
    facts["dhcp_probe"] = _dhcp_probe(ctx, primary, interfaces)
    reason = (N_("{interface} has only a self-assigned (169.254) address") if facts["apipa"]
              else N_("{interface} has no IPv4 address"))
    return CheckResult(Status.OK, facts, reason, reason_args={"interface": primary})


def _dhcp_probe(ctx, interface: str, interfaces: dict) -> dict:
    lacking = ctx.system.raw_frames()
    if lacking:
        return {"outcome": "not_run", "reason": lacking}
    if not ctx.privileged:
        return {"outcome": "not_run", "reason": N_("needs administrator rights")}
    if not (interfaces.get("primary_admin_up") and interfaces.get("primary_carrier")):
        return {"outcome": "not_run", "reason": N_("adapter has no link")}
    from ..net import dhcp_probe
    return packet_probes.bounded(
        lambda deadline: dhcp_probe.discover(interface, interfaces.get("primary_mac") or "",
                                             timeout=DHCP_PROBE_WAIT_S, deadline=deadline),
        ctx.deadline - 0.05, "addressing-dhcp")


CHECK = CheckSpec(id="addressing", summary="IP addresses on the primary adapter; DHCP", run=run,
                  needs=("interfaces",), timeout=2.5, privilege="optional",
                  provides=("interface", "ipv4", "ipv6", "has_ipv4", "apipa", "has_ipv6_global",
                            "dhcp", "dhcp_probe"),
                  name=N_("address"), position=30, digest_slot=2)
