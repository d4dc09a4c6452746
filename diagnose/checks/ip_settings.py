"""ip_settings: this computer's own IP settings, set beside what the home network offers.

A static address in another subnet than the home's, or a gateway where no router is, looks like
a dead router from here. What tells them apart: how the address was set (by DHCP, with a lease
lifetime, or by hand, forever), whether the gateway and the DNS servers lie in the adapter's own
subnet, and, as administrator when the gateway is silent, who answers a DHCP DISCOVER on the
link (the router under another address hands out addresses of another subnet).

It does not wait for the gateway check: a datagram to the gateway makes the kernel ask for its
hardware address (ARP), and a router on the link answers that within milliseconds. Only when
nothing answers is the DHCP probe run, at once, so the whole check fits beside the gateway's.
"""
from __future__ import annotations

import ipaddress
import json
import socket
import time
from typing import Any

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from . import packet_probes


IP_WAIT_S = 0.8
FOREVER = 0xFFFFFFFF           # the kernel's "no lifetime": set by hand (or a client without one)
# Only asks who is on the link, not for a lease: a home router offers within milliseconds (the
# lab's dnsmasq in 0.4-3 ms). The wait counts from the open socket, after scapy's import, so a
# router off the link does not hold the run past 3 s.
OFFER_WAIT_S = 1.2
# A router on the link answers ARP within milliseconds, a busy Wi-Fi one within tens.
ARP_WAIT_S = 0.3
ARP_POLL_S = 0.01
DISCARD_PORT = 9
ATF_COM = 0x2     # /proc/net/arp flag: the entry is complete (resolved)


def address_origin(output: str, address: str) -> dict[str, Any]:
    """From `ip -j addr show dev IF`: whether address carries a DHCP lease lifetime."""
    try:
        links = json.loads(output)
    except ValueError:
        return {"origin": None, "valid_lft": None}
    for link in links if isinstance(links, list) else []:
        for info in link.get("addr_info", []) if isinstance(link, dict) else []:
            if info.get("local") == address:
                lifetime = info.get("valid_life_time")
                dynamic = bool(info.get("dynamic")) or (isinstance(lifetime, int) and lifetime < FOREVER)
                return {"origin": "dhcp" if dynamic else "static",
                        "valid_lft": None if lifetime == FOREVER else lifetime}
    return {"origin": None, "valid_lft": None}


def _inside(address: str | None, network: ipaddress.IPv4Network | None) -> bool | None:
    if not address or network is None:
        return None
    try:
        return ipaddress.ip_address(address) in network
    except ValueError:
        return None


def run(ctx) -> CheckResult:
    addressing, route = ctx.facts("addressing"), ctx.facts("route")
    interface = addressing.get("interface")
    usable = [a for a in addressing.get("ipv4") or []
              if not a["address"].startswith("169.254.")]
    if not interface or not usable or not addressing.get("has_ipv4"):
        return CheckResult(Status.SKIPPED, {"address": None},
                           N_("no usable IPv4 address to look at"))
    own = usable[0]
    network = ipaddress.ip_network(f"{own['address']}/{own['prefixlen']}", strict=False)
    gateway_address = route.get("gateway")
    dns = [s for s in ctx.system.configured_dns()["servers"][:3] if ":" not in s
           and not s.startswith("127.")]
    facts: dict[str, Any] = {
        "interface": interface,
        "address": own["address"],
        "prefixlen": own["prefixlen"],
        "network": str(network),
        "gateway": gateway_address,
        "gateway_in_subnet": _inside(gateway_address, network),
        "dns_outside_subnet": [s for s in dns if ipaddress.ip_address(s).is_private
                               and not _inside(s, network)],
    }
    facts["gateway_arp"] = gateway_arp(ctx, gateway_address) if gateway_address else None
    facts.update(origin=None, valid_lft=None)
    if facts["gateway_arp"] != "resolved":   # only then does it matter how the address was set
        done = ctx.run(["ip", "-j", "addr", "show", "dev", interface], ctx.budget(IP_WAIT_S))
        if done is not None and done.returncode == 0:
            facts.update(address_origin(done.stdout, own["address"]))
    facts["dhcp_probe"] = _who_offers(ctx, interface, facts["gateway_arp"])
    offer = facts["dhcp_probe"] if facts["dhcp_probe"]["outcome"] == "offer" else {}
    facts["offer_server"], facts["offered"] = offer.get("server"), offer.get("offered")
    facts["offer_outside_subnet"] = (not _inside(offer["offered"], network)
                                     if offer.get("offered") else None)
    # A router answers on this computer's link, but not where its settings look for one.
    facts["router_elsewhere"] = (bool(facts["offer_outside_subnet"])
                                 or offer.get("server") != gateway_address) if offer else None
    if facts["router_elsewhere"]:
        return CheckResult(Status.OK, facts,
                           N_("this computer uses {address} via {gateway}; the router on the link, "
                              "{server}, offers {offered}"),
                           reason_args={"address": f"{own['address']}/{own['prefixlen']}",
                                        "gateway": gateway_address, "server": offer.get("server"),
                                        "offered": offer.get("offered")})
    if facts["gateway_in_subnet"] is False:
        return CheckResult(Status.OK, facts,
                           N_("the gateway {gateway} is outside this computer's subnet {network}"),
                           reason_args={"gateway": gateway_address, "network": str(network)})
    return CheckResult(Status.OK, facts)


def arp_state(arp_table: str, address: str) -> str:
    for line in arp_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 4 and fields[0] == address:
            try:
                return "resolved" if int(fields[2], 16) & ATF_COM else "incomplete"
            except ValueError:
                return "unknown"
    return "absent"


def gateway_arp(ctx, gateway: str) -> str:
    """resolved, incomplete (asked, no answer), absent, or unknown (the table cannot be read)."""
    def read() -> str:
        try:
            return arp_state(ctx.path("/proc/net/arp").read_text(), gateway)
        except OSError:
            return "unknown"
    state = read()
    if state in ("resolved", "unknown") or ":" in gateway:
        return state
    try:   # one datagram to the discard port makes the kernel resolve the gateway
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(b"", (gateway, DISCARD_PORT))
    except OSError:
        pass
    end = time.monotonic() + min(ARP_WAIT_S, ctx.remaining())
    while time.monotonic() < end:
        time.sleep(ARP_POLL_S)
        state = read()
        if state == "resolved":
            break
    return state


def _who_offers(ctx, interface: str, arp: str | None) -> dict[str, Any]:
    if arp not in ("incomplete", "absent"):
        return {"outcome": "not_run", "reason": N_("the gateway is on the link")}
    if not ctx.privileged:
        return {"outcome": "not_run", "reason": N_("needs administrator rights")}
    interfaces = ctx.facts("interfaces")
    if not (interfaces.get("primary_admin_up") and interfaces.get("primary_carrier")):
        return {"outcome": "not_run", "reason": N_("adapter has no link")}
    from ..net import dhcp_probe
    return packet_probes.bounded(
        lambda deadline: dhcp_probe.discover(interface, interfaces.get("primary_mac") or "",
                                             timeout=OFFER_WAIT_S, deadline=deadline),
        ctx.deadline - 0.05, "ip-settings-dhcp")


CHECK = CheckSpec(id="ip_settings", summary="This computer's own IP settings against the home network",
                  run=run, needs=("interfaces", "addressing", "route"), timeout=2.6,
                  privilege="optional",
                  provides=("interface", "address", "prefixlen", "network", "gateway",
                            "gateway_in_subnet", "dns_outside_subnet", "origin", "valid_lft",
                            "gateway_arp", "dhcp_probe", "offer_server", "offered",
                            "offer_outside_subnet", "router_elsewhere"),
                  name=N_("IP settings"), position=52, digest_slot=17)
