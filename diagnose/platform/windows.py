"""Windows: the locale-independent Win32 APIs through ctypes, never the console tools' output.

(`ipconfig`, `netsh`, `route`, `arp` and `ping` print localized text in the OEM code page.)

Two layers, so the mapping is tested anywhere: `read_raw()` calls the IP Helper API
(GetAdaptersAddresses, GetIfTable2, GetIpForwardTable2, GetIpNetTable2) and the registry and
returns plain data shaped like the Win32 structures (a "raw snapshot", which --dump-facts writes
and tests replay); the `map_*` functions turn a snapshot into the platform's facts.
"""
from __future__ import annotations

import ipaddress
import sys
from typing import Any

from . import (Adapter, Address, Backend, DnsConfig, Neighbour, NotObserved, Observed, Privilege,
               ProxyConfig, ProxySetting, Route, environment_proxies, proxy_setting)

# ipifcons.h: interface types
IF_TYPE_ETHERNET_CSMACD, IF_TYPE_PPP, IF_TYPE_SOFTWARE_LOOPBACK = 6, 23, 24
IF_TYPE_IEEE80211, IF_TYPE_TUNNEL = 71, 131
IF_OPER_STATUS_UP = 1
NET_IF_ADMIN_STATUS_UP, NET_IF_ADMIN_STATUS_DOWN = 1, 2
MEDIA_CONNECT_STATE_CONNECTED, MEDIA_CONNECT_STATE_DISCONNECTED = 1, 2
IP_ADAPTER_DHCP_ENABLED = 0x4
IP_PREFIX_ORIGIN_DHCP = 3
# nldef.h NL_NEIGHBOR_STATE
NL_NEIGHBOR_STATES = {0: "unreachable", 1: "incomplete", 2: "probe", 3: "delay", 4: "stale",
                      5: "reachable", 6: "permanent"}
_RESOLVED_STATES = {"probe", "delay", "stale", "reachable", "permanent"}
# With IPv6 on and no IPv6 DNS server, Windows lists these site-local placeholders: not servers.
PLACEHOLDER_DNS = {"fec0:0:0:ffff::1", "fec0:0:0:ffff::2", "fec0:0:0:ffff::3"}
INTERNET_SETTINGS = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings"
AF_INET, AF_INET6, AF_UNSPEC = 2, 23, 0   # Windows' numbers (AF_INET6 is 10 on Linux)


# ---- mappers: raw snapshot -> facts (tested on recorded and built snapshots) ---------------------

def _kind(raw: dict, row: dict | None) -> str:
    if_type = raw.get("if_type")
    if if_type == IF_TYPE_SOFTWARE_LOOPBACK:
        return "loopback"
    if if_type == IF_TYPE_PPP:
        return "ppp"
    if if_type == IF_TYPE_IEEE80211:
        return "wifi"
    if if_type == IF_TYPE_ETHERNET_CSMACD:
        # Hyper-V, VirtualBox, VPN and TAP adapters present themselves as Ethernet; only a real
        # network card is a hardware interface.
        if row is not None and row.get("hardware_interface") is False:
            return "virtual"
        return "ethernet"
    if if_type == IF_TYPE_TUNNEL:
        return "virtual"
    return "other"


def _mac(value: str | None) -> str | None:
    if not value:
        return None
    raw = bytes.fromhex(value.replace(":", "").replace("-", ""))
    if len(raw) != 6 or raw == bytes(6):
        return None
    return ":".join(f"{b:02x}" for b in raw)


def map_adapters(snapshot: dict) -> list[Adapter]:
    rows = {row["if_index"]: row for row in snapshot.get("if_table") or []}
    found = []
    for raw in snapshot.get("adapters") or []:
        row = rows.get(raw["if_index"])
        admin = (row or {}).get("admin_status")
        media = (row or {}).get("media_connect_state")
        carrier = (True if media == MEDIA_CONNECT_STATE_CONNECTED else
                   False if media == MEDIA_CONNECT_STATE_DISCONNECTED else
                   raw.get("oper_status") == IF_OPER_STATUS_UP)
        speed = raw.get("transmit_link_speed")
        found.append(Adapter(
            name=raw.get("friendly_name") or raw.get("adapter_name") or str(raw["if_index"]),
            kind=_kind(raw, row),
            admin_up=(None if admin is None else admin == NET_IF_ADMIN_STATUS_UP),
            carrier=carrier, mtu=raw.get("mtu"),
            # bits per second; "unknown" is all ones
            speed_mbps=(speed // 1_000_000 if speed and speed < 2 ** 63 and speed >= 1_000_000
                        else None),
            mac=_mac(raw.get("mac")),
            operstate={1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant",
                       6: "notpresent", 7: "lowerlayerdown"}.get(raw.get("oper_status") or 0),
            index=raw["if_index"], id=raw.get("adapter_name"), description=raw.get("description")))
    return found


def map_addresses(snapshot: dict) -> list[Address]:
    found = []
    for raw in snapshot.get("adapters") or []:
        name = raw.get("friendly_name") or raw.get("adapter_name") or str(raw["if_index"])
        dhcp_enabled = bool((raw.get("flags") or 0) & IP_ADAPTER_DHCP_ENABLED)
        for entry in raw.get("unicast") or []:
            address = ipaddress.ip_address(entry["address"].split("%", 1)[0])
            origin = entry.get("prefix_origin")
            found.append(Address(adapter=name, family=address.version, address=str(address),
                                 prefixlen=entry.get("prefix_length") or address.max_prefixlen,
                                 dhcp=(origin == IP_PREFIX_ORIGIN_DHCP if address.version == 4
                                       and origin is not None else
                                       dhcp_enabled if address.version == 4 else None)))
    return found


def _names(snapshot: dict) -> dict[int, dict]:
    return {raw["if_index"]: raw for raw in snapshot.get("adapters") or []}


def map_default_routes(snapshot: dict) -> list[Route]:
    """Default routes with the effective metric Windows compares: route + interface metric."""
    adapters = _names(snapshot)
    found = []
    for row in snapshot.get("routes") or []:
        if row.get("prefix_length") != 0:
            continue
        family = ipaddress.ip_address(row["destination"]).version
        adapter = adapters.get(row["if_index"])
        if adapter is None:
            continue
        interface_metric = adapter.get("ipv4_metric" if family == 4 else "ipv6_metric")
        gateway = row.get("next_hop")
        unspecified = gateway is None or ipaddress.ip_address(gateway).is_unspecified
        found.append(Route(family=family, destination="0.0.0.0/0" if family == 4 else "::/0",
                           gateway=None if unspecified else gateway,
                           adapter=adapter.get("friendly_name") or str(row["if_index"]),
                           metric=(row["metric"] + interface_metric
                                   if row.get("metric") is not None and interface_metric is not None
                                   else row.get("metric"))))
    return sorted(found, key=lambda route: (route.family, route.metric if route.metric is not None
                                            else 2 ** 32))


def map_neighbour(snapshot: dict, address: str) -> Neighbour:
    adapters = _names(snapshot)
    for row in snapshot.get("neighbours") or []:
        if row.get("address") != address:
            continue
        state = NL_NEIGHBOR_STATES.get(row.get("state"), "unknown")
        mac = _mac(row.get("mac"))
        resolved = state in _RESOLVED_STATES and mac is not None
        adapter = adapters.get(row.get("if_index"), {}).get("friendly_name")
        return Neighbour(address=address, state="resolved" if resolved else "incomplete",
                         mac=mac if resolved else None, adapter=adapter)
    return Neighbour(address=address, state="absent", mac=None, adapter=None)


def map_dns(snapshot: dict) -> DnsConfig:
    """Per adapter; the order Windows asks them in follows the adapters' route metrics."""
    routes = map_default_routes(snapshot)
    rank = {}
    for position, route in enumerate(routes):
        rank.setdefault(route.adapter, position)
    per_adapter: dict[str, tuple[str, ...]] = {}
    for raw in snapshot.get("adapters") or []:
        if raw.get("oper_status") != IF_OPER_STATUS_UP:
            continue
        servers = tuple(s.split("%", 1)[0] for s in raw.get("dns_servers") or []
                        if s.split("%", 1)[0] not in PLACEHOLDER_DNS)
        if servers:
            per_adapter[raw.get("friendly_name") or str(raw["if_index"])] = servers
    ordered = sorted(per_adapter, key=lambda name: rank.get(name, len(rank)))
    servers = tuple(dict.fromkeys(s for name in ordered for s in per_adapter[name]))
    return DnsConfig(servers=servers, source="GetAdaptersAddresses", per_adapter=per_adapter)


def map_proxy(registry: dict | None, env: Any) -> ProxyConfig:
    """The user's proxy settings (Internet Settings, what WinHTTP's IE view reads) plus the
    environment. ProxyServer is "host:port" for all, or "http=h:p;https=h:p;socks=h:p"."""
    proxies: list[ProxySetting] = list(environment_proxies(env))
    registry = registry or {}
    auto_config = registry.get("AutoConfigURL") or None
    bypass: tuple[str, ...] = ()
    if registry.get("ProxyEnable") and registry.get("ProxyServer"):
        source = "Internet Settings"
        for part in str(registry["ProxyServer"]).split(";"):
            part = part.strip()
            if not part:
                continue
            scheme, equals, target = part.partition("=")
            if not equals:
                proxies.append(proxy_setting(source, target or scheme))
            elif target:
                scheme = scheme.strip().lower()
                url = f"socks5://{target}" if scheme == "socks" else f"http://{target}"
                proxies.append(proxy_setting(f"{source} ({scheme})", url))
        bypass = tuple(p.strip() for p in str(registry.get("ProxyOverride") or "").split(";")
                       if p.strip())
    return ProxyConfig(proxies=tuple(proxies), auto_config_url=auto_config, bypass=bypass)


# ---- the backend ---------------------------------------------------------------------------------

class WindowsBackend(Backend):
    os = "windows"

    def __init__(self, ctx: Any, snapshot: dict | None = None):
        super().__init__(ctx)
        self._snapshot = snapshot   # tests give a recorded one; else read once, when first asked

    def snapshot(self) -> dict:
        if self._snapshot is None:
            self._snapshot = read_raw()
        return self._snapshot

    def _part(self, key: str) -> NotObserved | None:
        error = (self.snapshot().get("errors") or {}).get(key)
        return NotObserved(error, key) if error else None

    def adapters(self) -> Observed[list[Adapter]]:
        return self._part("adapters") or map_adapters(self.snapshot())

    def addresses(self) -> Observed[list[Address]]:
        return self._part("adapters") or map_addresses(self.snapshot())

    def default_routes(self) -> Observed[list[Route]]:
        return (self._part("adapters") or self._part("routes")
                or map_default_routes(self.snapshot()))

    def neighbour(self, address: str) -> Observed[Neighbour]:
        return self._part("neighbours") or map_neighbour(self.snapshot(), address)

    def dns(self) -> Observed[DnsConfig]:
        return self._part("adapters") or map_dns(self.snapshot())

    def proxy(self) -> Observed[ProxyConfig]:
        return map_proxy(self.snapshot().get("proxy_registry"), self.ctx.env)

    def privilege(self) -> Privilege:
        if sys.platform == "win32":  # an elevated administrator token
            import ctypes
            try:
                return Privilege(bool(ctypes.windll.shell32.IsUserAnAdmin()), "IsUserAnAdmin")
            except (AttributeError, OSError):
                pass
        return Privilege(False, "IsUserAnAdmin")


def read_raw() -> dict:
    """The raw snapshot of this Windows machine; each part that failed is named in "errors"."""
    if sys.platform != "win32":
        return {"errors": {key: "not Windows" for key in ("adapters", "routes", "neighbours")}}
    from . import win32_raw
    return win32_raw.read()
