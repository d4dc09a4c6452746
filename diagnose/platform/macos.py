"""macOS (preview, not yet tried on a real Mac): psutil and the system's configuration tools.

`route -n get default`, `scutil --dns`, `scutil --proxy` and `arp -n` print fixed English keys
whatever the user's language; each parser is tested on outputs written to their documented
format (tests/unit/test_platform_macos.py), not yet on ones recorded on a Mac.
"""
from __future__ import annotations

import ipaddress
import os
import re
import sys

from . import (Adapter, Address, Backend, DnsConfig, Neighbour, NotObserved, Observed, Privilege,
               ProxyConfig, ProxySetting, Route, environment_proxies, psutil_addresses)

TOOL_WAIT_S = 0.8   # each tool answers from the system's configuration in milliseconds


def parse_route_get(text: str, family: int) -> Route | None:
    """`route -n get [-inet6] default`: its gateway and interface; None without a default."""
    fields = dict(line.strip().split(":", 1) for line in text.splitlines()
                  if ":" in line and not line.strip().startswith("flags"))
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    interface = fields.get("interface")
    if not interface:
        return None
    gateway = fields.get("gateway")
    try:
        gateway = str(ipaddress.ip_address(gateway.split("%", 1)[0])) if gateway else None
    except ValueError:
        gateway = None          # a link (link#6) or a name: on the link
    return Route(family=family, destination="0.0.0.0/0" if family == 4 else "::/0",
                 gateway=gateway, adapter=interface, metric=None)


_RESOLVER = re.compile(r"^resolver #\d+", re.M)


def parse_scutil_dns(text: str) -> DnsConfig:
    """`scutil --dns`: the first section's resolvers without a domain (the default ones), in
    order, with the adapter each is scoped to; search-domain-only resolvers (mDNS, local) left out."""
    section = text.split("DNS configuration (for scoped queries)", 1)[0]
    servers: list[str] = []
    per_adapter: dict[str, tuple[str, ...]] = {}
    for block in _RESOLVER.split(section)[1:]:
        values = {}
        found = []
        for line in block.splitlines():
            key, colon, value = line.partition(":")
            if not colon:
                continue
            key, value = key.strip(), value.strip()
            if key.startswith("nameserver["):
                found.append(value.split("%", 1)[0])
            else:
                values[key] = value
        if "domain" in values or not found:
            continue
        servers += [s for s in found if s not in servers]
        adapter = re.search(r"\((\w+)\)", values.get("if_index", ""))
        if adapter:
            per_adapter[adapter.group(1)] = tuple(found)
    return DnsConfig(servers=tuple(servers), source="scutil --dns", per_adapter=per_adapter)


def parse_scutil_proxy(text: str, env) -> ProxyConfig:
    """`scutil --proxy`: HTTP, HTTPS and SOCKS where enabled, the PAC URL, the exceptions."""
    values: dict[str, str] = {}
    exceptions: list[str] = []
    in_exceptions = False
    for line in text.splitlines():
        key, colon, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "ExceptionsList":
            in_exceptions = True
            continue
        if in_exceptions:
            if line.strip() == "}":
                in_exceptions = False
            elif colon:
                exceptions.append(value)
            continue
        if colon:
            values[key] = value
    proxies = list(environment_proxies(env))
    for prefix, scheme in (("HTTP", "http"), ("HTTPS", "http"), ("SOCKS", "socks5")):
        if values.get(f"{prefix}Enable") == "1" and values.get(f"{prefix}Proxy"):
            try:
                port: int | None = int(values.get(f"{prefix}Port", ""))
            except ValueError:
                port = None
            proxies.append(ProxySetting(source=f"scutil --proxy ({prefix.lower()})", scheme=scheme,
                                        host=values[f"{prefix}Proxy"], port=port))
    pac = (values.get("ProxyAutoConfigURLString")
           if values.get("ProxyAutoConfigEnable") == "1" else None)
    return ProxyConfig(proxies=tuple(proxies), auto_config_url=pac,
                       auto_detect=(values["ProxyAutoDiscoveryEnable"] == "1"
                                    if "ProxyAutoDiscoveryEnable" in values else None),
                       bypass=tuple(exceptions))


_ARP = re.compile(r"\((?P<address>[^)]+)\) at (?P<mac>\S+) on (?P<adapter>\S+)")


def parse_arp(text: str, address: str) -> Neighbour:
    """`arp -n ADDRESS`: "? (192.168.1.1) at 0:c:1d:2e:3f:4a on en0 ifscope [ethernet]", or
    "(incomplete)", or "no entry"."""
    for match in _ARP.finditer(text):
        if match.group("address") != address:
            continue
        parts = match.group("mac").split(":")
        if len(parts) != 6 or not all(re.fullmatch(r"[0-9a-fA-F]{1,2}", p) for p in parts):
            return Neighbour(address=address, state="incomplete", mac=None,
                             adapter=match.group("adapter"))
        return Neighbour(address=address, state="resolved",
                         mac=":".join(p.lower().zfill(2) for p in parts),
                         adapter=match.group("adapter"))
    return Neighbour(address=address, state="absent", mac=None, adapter=None)


_VIRTUAL = ("utun", "bridge", "awdl", "llw", "gif", "stf", "anpi", "vmenet", "feth", "ipsec")
WIFI_PORTS = ("Wi-Fi", "AirPort")


def parse_hardware_ports(text: str) -> dict[str, str]:
    """`networksetup -listallhardwareports`: device -> its hardware port's name."""
    ports, port = {}, None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Hardware Port":
            port = value.strip()
        elif key.strip() == "Device" and port:
            ports[value.strip()] = port
    return ports


def kind_of(name: str, ports: dict[str, str]) -> str:
    if name.startswith("lo"):
        return "loopback"
    if name.startswith("ppp"):
        return "ppp"
    if ports.get(name) in WIFI_PORTS:
        return "wifi"
    if name.startswith(_VIRTUAL):
        return "virtual"
    return "ethernet" if name.startswith("en") and name in ports else "other"


class MacBackend(Backend):
    os = "macos"

    def _tool(self, argv: list[str]) -> str | NotObserved:
        done = self.ctx.run(argv, self.ctx.budget(TOOL_WAIT_S))
        if done is None:
            return NotObserved(f"{argv[0]} is missing or did not answer", " ".join(argv))
        if done.returncode != 0:
            return NotObserved(f"{' '.join(argv)} failed: {(done.stderr or '').strip()[:200]}",
                               " ".join(argv))
        return done.stdout or ""

    def adapters(self) -> Observed[list[Adapter]]:
        """psutil's list (isup as the link), each kind from its hardware port."""
        import psutil
        text = self._tool(["networksetup", "-listallhardwareports"])
        ports = {} if isinstance(text, NotObserved) else parse_hardware_ports(text)
        try:
            stats = psutil.net_if_stats()
        except OSError as exc:
            return NotObserved(f"cannot list network adapters: {exc}", "psutil")
        macs = {name: next((a.address.lower() for a in entries
                            if a.family == getattr(psutil, "AF_LINK", -1)), None)
                for name, entries in self.ctx.if_addrs().items()}
        return [Adapter(name=name, kind=kind_of(name, ports), admin_up=None,
                        carrier=stat.isup, mtu=stat.mtu or None,
                        speed_mbps=stat.speed or None, mac=macs.get(name) or None,
                        description=ports.get(name))
                for name, stat in sorted(stats.items())]

    def addresses(self) -> Observed[list[Address]]:
        return psutil_addresses(self.ctx.if_addrs())

    def default_routes(self) -> Observed[list[Route]]:
        routes = []
        for family, argv in ((4, ["route", "-n", "get", "default"]),
                             (6, ["route", "-n", "get", "-inet6", "default"])):
            text = self._tool(argv)
            if isinstance(text, NotObserved):
                if family == 4 and "not in table" not in text.reason:
                    return text
                continue        # no default route of this family
            route = parse_route_get(text, family)
            if route:
                routes.append(route)
        return routes

    def neighbour(self, address: str) -> Observed[Neighbour]:
        done = self.ctx.run(["arp", "-n", address], self.ctx.budget(TOOL_WAIT_S))
        if done is None:
            return NotObserved("arp is missing or did not answer", "arp -n")
        if "no entry" in (done.stdout or "") + (done.stderr or ""):
            return Neighbour(address=address, state="absent", mac=None, adapter=None)
        if done.returncode != 0:
            return NotObserved(f"arp -n failed: {(done.stderr or '').strip()[:200]}", "arp -n")
        return parse_arp(done.stdout or "", address)

    def dns(self) -> Observed[DnsConfig]:
        text = self._tool(["scutil", "--dns"])
        return text if isinstance(text, NotObserved) else parse_scutil_dns(text)

    def proxy(self) -> Observed[ProxyConfig]:
        text = self._tool(["scutil", "--proxy"])
        if isinstance(text, NotObserved):
            return ProxyConfig(proxies=tuple(environment_proxies(self.ctx.env)))
        return parse_scutil_proxy(text, self.ctx.env)

    def privilege(self) -> Privilege:
        if sys.platform == "win32":   # never: this backend runs on a Mac (its tests on Linux)
            return Privilege(False, "geteuid")
        return Privilege(os.geteuid() == 0, "geteuid")
