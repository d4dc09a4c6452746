"""router: the home router's own word about its internet connection, over UPnP IGD.

SSDP search from the adapter of the default route; only the default gateway (or another device
of the same subnet) is believed, and only the gateway is asked: its description, then on its
WAN connection services GetStatusInfo and GetExternalIPAddress, and GetCommonLinkProperties.
No answer proves nothing: many routers have UPnP switched off.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import igd
from ..platform import NotObserved

# A router answers a unicast M-SEARCH at once and a multicast one within tens of milliseconds
# (at most MX = 1 s later, by the standard); a gateway without SSDP answers the unicast one with a
# port unreachable. The wait only runs out in full when the gateway says nothing at all.
SSDP_WAIT_S = 0.6
DESCRIPTION_WAIT_S = 0.8   # one small XML document from the LAN, redirects included
SOAP_WAIT_S = 0.8          # all actions at once, so this is the wait for the slowest
SSDP_TARGET = igd.SSDP_GROUP   # tests point this at a loopback responder
SSDP_UNICAST_PORT = igd.SSDP_GROUP[1]   # the gateway's own SSDP port (tests: a loopback one)
CONNECTED = "Connected"
NO_ERROR = "ERROR_NONE"


def local_network(ctx, device: str | None, gateway: str) -> ipaddress.IPv4Interface | None:
    """This PC's IPv4 address (with its subnet) on the default route's adapter, in the
    gateway's subnet, from the platform's address facts; None when there is none (no address,
    a point-to-point link, or the addresses were not observed)."""
    try:
        gateway_address = ipaddress.IPv4Address(gateway)
    except ValueError:
        return None
    addresses = ctx.system.addresses()
    if isinstance(addresses, NotObserved):
        return None
    for entry in addresses:
        if entry.adapter != device or entry.family != 4:
            continue
        try:
            interface = ipaddress.IPv4Interface(f"{entry.address}/{entry.prefixlen}")
        except ValueError:
            continue
        if gateway_address in interface.network and interface.network.prefixlen < 32:
            return interface
    return None


def _connection(answer: dict[str, Any]) -> dict[str, Any]:
    status = answer["status"]
    external = answer["external"]
    values = status.get("values", {})
    ip, kind = igd.address_kind(external.get("values", {}).get("NewExternalIPAddress"))
    # A number that is not one (non-ASCII digits, thousands of them) makes the answer malformed.
    malformed = status["outcome"] == "ok" and igd.malformed_number(values.get("NewUptime"))
    return {
        "service": f"{answer['service']['name']}:{answer['service']['version']}",
        "outcome": "bad_reply" if malformed else status["outcome"],
        "status": igd.token(values.get("NewConnectionStatus")),
        "last_error": igd.token(values.get("NewLastConnectionError")),
        "uptime_s": igd.whole_number(values.get("NewUptime")),
        "external_ip": ip, "external_ip_kind": kind,
        "external_ip_outcome": external["outcome"],
    }


def _chosen(connections: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The connection that speaks for the router: a connected one, else one naming an error,
    else the first that answered (an unused second service says Disconnected)."""
    answered = [c for c in connections if c["outcome"] == "ok" and c["status"]]
    return (next((c for c in answered if c["status"] == CONNECTED), None)
            or next((c for c in answered if c["last_error"] not in (None, NO_ERROR)), None)
            or (answered[0] if answered else None))


def _link(answer: dict[str, Any] | None) -> dict[str, Any]:
    values = answer.get("values", {}) if answer else {}
    numbers = ("NewLayer1UpstreamMaxBitRate", "NewLayer1DownstreamMaxBitRate")
    malformed = any(igd.malformed_number(values.get(name)) for name in numbers)
    return {
        "outcome": "bad_reply" if malformed else answer["outcome"] if answer else None,
        "physical_link_status": igd.token(values.get("NewPhysicalLinkStatus")),
        "access_type": igd.token(values.get("NewWANAccessType")),
        "max_bitrate_up": igd.whole_number(values.get("NewLayer1UpstreamMaxBitRate")),
        "max_bitrate_down": igd.whole_number(values.get("NewLayer1DownstreamMaxBitRate")),
    }


def _facts(**known: Any) -> dict[str, Any]:
    """Every fact present (None = not observed), so rules and readers see one shape."""
    facts = {"found": False, "address": None, "is_gateway": None, "gateway_ssdp": None,
             "devices": [], "ignored": [],
             "location": None, "description": None, "connections": [], "service": None,
             "connection_status": None, "connected": None, "last_connection_error": None,
             "uptime_s": None, "external_ip": None, "external_ip_kind": None,
             "physical_link_status": None, "link": None}
    facts.update(known)
    return facts


def _unusable(facts: dict[str, Any], outcome: str, seconds: float) -> CheckResult:
    if outcome == "timeout":
        return CheckResult(Status.TIMEOUT, facts,
                           N_("the UPnP device {address} did not answer within {seconds} s"),
                           reason_args={"address": facts["address"], "seconds": f"{seconds:g}"})
    return CheckResult(Status.ERROR, facts, N_("the UPnP answer of {address} is unusable ({problem})"),
                       reason_args={"address": facts["address"], "problem": outcome})


def run(ctx) -> CheckResult:
    route = ctx.facts("route")
    gateway = route.get("gateway")
    if not gateway:
        return CheckResult(Status.SKIPPED, _facts(), N_("no default gateway"))
    network = local_network(ctx, route.get("device"), gateway)
    if network is None:
        return CheckResult(Status.SKIPPED, _facts(),
                           N_("the default gateway {gateway} is not on a local network"),
                           reason_args={"gateway": gateway})
    found = igd.search(str(network.ip), ctx.budget(SSDP_WAIT_S),
                       lambda address: _in(address, network), prefer=gateway, target=SSDP_TARGET,
                       unicast_port=SSDP_UNICAST_PORT)
    devices = found["devices"]
    facts = _facts(devices=devices, ignored=found["ignored"], gateway_ssdp=found["gateway_port"])
    if found["outcome"] == "error":
        return CheckResult(Status.ERROR, facts, N_("the UPnP search could not be sent ({error})"),
                           reason_args={"error": found["error"]})
    if not devices:
        return CheckResult(Status.OK, facts, N_("no UPnP router answered on the home network"))
    device = next((d for d in devices if d["address"] == gateway), devices[0])
    facts.update(found=True, address=device["address"], location=device["location"],
                 is_gateway=device["address"] == gateway)
    if not facts["is_gateway"]:
        # Only the gateway's word is about this PC's way out; another device is not asked.
        return CheckResult(Status.OK, facts, N_("the UPnP device {address} is not the default gateway"),
                           reason_args={"address": device["address"]})

    wait = ctx.budget(DESCRIPTION_WAIT_S)
    with igd.Cutoff(wait) as cutoff:
        description = igd.describe(device["location"], device["address"], cutoff)
    services = description.pop("services", [])
    facts["description"] = description
    if description["outcome"] != "ok":
        return _unusable(facts, description["outcome"], wait)
    if not any(s["name"] in igd.CONNECTION_SERVICES for s in services):
        return CheckResult(Status.OK, facts,
                           N_("the UPnP device {address} does not report its internet connection"),
                           reason_args={"address": device["address"]})

    wait = ctx.budget(SOAP_WAIT_S)
    with igd.Cutoff(wait) as cutoff:
        answers = igd.query(services, cutoff)
    connections = [_connection(answer) for answer in answers["connections"]]
    link = _link(answers["link"])
    facts.update(connections=connections, link=link,
                 physical_link_status=link["physical_link_status"])
    chosen = _chosen(connections)
    if chosen is None:
        outcomes = [c["outcome"] for c in connections]
        return _unusable(facts, "timeout" if "timeout" in outcomes else outcomes[0], wait)
    usable_ip = chosen["status"] == CONNECTED
    facts.update(service=chosen["service"], connection_status=chosen["status"],
                 connected=chosen["status"] == CONNECTED, last_connection_error=chosen["last_error"],
                 uptime_s=chosen["uptime_s"],
                 external_ip=chosen["external_ip"] if usable_ip else None,
                 external_ip_kind=chosen["external_ip_kind"] if usable_ip else None)
    if facts["connected"]:
        return CheckResult(Status.OK, facts)
    return CheckResult(Status.OK, facts,
                       N_("the router says its internet connection is {status} ({error})"),
                       reason_args={"status": chosen["status"], "error": chosen["last_error"] or "-"})


def _in(address: str, network: ipaddress.IPv4Interface) -> bool:
    try:
        return ipaddress.IPv4Address(address) in network.network
    except ValueError:
        return False


CHECK = CheckSpec(id="router", summary="The home router's own word over UPnP IGD", run=run,
                  needs=("route",), timeout=2.5,
                  provides=("found", "address", "is_gateway", "gateway_ssdp", "devices",
                            "ignored", "location", "description", "connections", "service",
                            "connection_status", "connected", "last_connection_error", "uptime_s",
                            "external_ip", "external_ip_kind", "physical_link_status", "link"),
                  name=N_("router"), position=70, digest_slot=8)
