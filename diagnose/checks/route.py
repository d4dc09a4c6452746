"""route: the default routes, their gateway and device (kernel tables)."""
from __future__ import annotations

import ipaddress
import socket
import struct

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status

RTF_UP = 0x1
RTF_GATEWAY = 0x2
RTF_REJECT = 0x200


def _ipv4_from_hex(value: str) -> str:
    return socket.inet_ntoa(struct.pack("<I", int(value, 16)))


def ipv4_defaults(text: str) -> list[dict]:
    routes = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        iface, destination, gateway, flags, metric, mask = (fields[0], fields[1], fields[2],
                                                            fields[3], fields[6], fields[7])
        try:
            if int(destination, 16) or int(mask, 16) or not int(flags, 16) & RTF_UP:
                continue
            routes.append({"family": 4, "device": iface, "metric": int(metric),
                           "gateway": _ipv4_from_hex(gateway) if int(flags, 16) & RTF_GATEWAY else None})
        except ValueError:
            continue
    return sorted(routes, key=lambda route: route["metric"])


def ipv6_defaults(text: str) -> list[dict]:
    routes = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 10:
            continue
        try:
            flags = int(fields[8], 16)
            if int(fields[0], 16) or int(fields[1], 16) or flags & RTF_REJECT or fields[9] == "lo":
                continue
            gateway = str(ipaddress.IPv6Address(bytes.fromhex(fields[4])))
            routes.append({"family": 6, "device": fields[9], "metric": int(fields[5], 16),
                           "gateway": None if gateway == "::" else gateway})
        except ValueError:
            continue
    return sorted(routes, key=lambda route: route["metric"])


def run(ctx) -> CheckResult:
    try:
        v4 = ipv4_defaults(ctx.path("/proc/net/route").read_text())
    except OSError as exc:
        return CheckResult(Status.ERROR, reason=N_("cannot read the routing table: {error}"),
                           reason_args={"error": exc.strerror})
    try:
        v6 = ipv6_defaults(ctx.path("/proc/net/ipv6_route").read_text())
    except OSError:
        v6 = []  # IPv6 disabled
    best = v4[0] if v4 else None
    facts = {
        "default_routes": v4 + v6,
        "has_default": best is not None,
        "gateway": best["gateway"] if best else None,
        "device": best["device"] if best else None,
        "has_ipv6_default": bool(v6),
    }
    if best is None:
        return CheckResult(Status.PROBLEM, facts, N_("no IPv4 default route"))
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="route", summary="Default route, gateway and device", run=run, timeout=1.0,
                  provides=("default_routes", "has_default", "gateway", "device",
                            "has_ipv6_default"),
                  name=N_("path to the internet"), position=40, digest_slot=0)
