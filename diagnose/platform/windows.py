"""Windows: the locale-independent Win32 APIs through ctypes, never the console tools' output.

(`ipconfig`, `netsh`, `route`, `arp` and `ping` print localized text in the OEM code page.)

Two layers, so the mapping is tested anywhere: `read_raw()` calls the IP Helper API
(GetAdaptersAddresses, GetIfTable2, GetIpForwardTable2, GetIpNetTable2) and the registry and
returns plain data shaped like the Win32 structures (a "raw snapshot", which --dump-facts writes
and tests replay); the `map_*` functions turn a snapshot into the platform's facts.
"""
from __future__ import annotations

import ipaddress
import re
import sys
from typing import Any

from pathlib import Path, PureWindowsPath

from . import (Adapter, Address, Backend, Dialer, DialerConnection, DialerEntry, DialerEvent,
               DnsConfig, FirewallProfile, LocalFirewall, Neighbour, NotObserved, Observed,
               Privilege, ProxyConfig, ProxySetting, Route, RoutePath, WifiLink,
               environment_proxies, proxy_setting)

if sys.platform == "win32":
    # With the backend, not inside the first check that asks a fact: defining the ctypes
    # structures takes a few hundred ms under Wine on a loaded machine, which would come out
    # of that check's budget (diagnose makes the backend before the checks' clocks start).
    from . import win32_raw  # noqa: F401

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


def _proxy_list(source: str, text: str) -> list[ProxySetting]:
    """"host:port" for every scheme, or "http=h:p;https=h:p;socks=h:p" (WinHTTP and the
    registry's ProxyServer spell it alike)."""
    found = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        scheme, equals, target = part.partition("=")
        if not equals:
            found.append(proxy_setting(source, target or scheme))
        elif target:
            scheme = scheme.strip().lower()
            url = f"socks5://{target}" if scheme == "socks" else f"http://{target}"
            found.append(proxy_setting(f"{source} ({scheme})", url))
    return found


def _bypass(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in str(text or "").replace(" ", ";").split(";") if p.strip())


def map_proxy(registry: dict | None, env: Any, winhttp: dict | None = None) -> ProxyConfig:
    """The user's proxy settings as WinHTTP's IE view reports them, then what the Internet
    Settings registry values add (Wine's WinHTTP ignores them; on Windows the two agree), then
    the environment's."""
    proxies: list[ProxySetting] = []
    winhttp = winhttp or {}
    if winhttp.get("proxy"):
        proxies += _proxy_list("WinHTTP", winhttp["proxy"])
    registry = registry or {}
    bypass = _bypass(winhttp.get("proxy_bypass"))
    if registry.get("ProxyEnable") and registry.get("ProxyServer"):
        seen = {(p.scheme, p.host, p.port) for p in proxies}
        proxies += [p for p in _proxy_list("Internet Settings", str(registry["ProxyServer"]))
                    if (p.scheme, p.host, p.port) not in seen]
        bypass = tuple(dict.fromkeys(bypass + _bypass(registry.get("ProxyOverride"))))
    proxies = list(environment_proxies(env)) + proxies
    return ProxyConfig(proxies=tuple(proxies),
                       auto_config_url=winhttp.get("auto_config_url") or registry.get("AutoConfigURL")
                       or None,
                       auto_detect=winhttp.get("auto_detect") if winhttp else None, bypass=bypass)


def map_route_paths(snapshot: dict, chosen: dict[str, dict], targets: list[str]) -> list[RoutePath]:
    """GetBestRoute2's answers: the adapter, next hop and source address per destination."""
    adapters = _names(snapshot)
    found = []
    for target in targets:
        raw = chosen.get(target) or {}
        if "if_index" not in raw:
            continue
        gateway = raw.get("next_hop")
        adapter = adapters.get(raw["if_index"], {})
        found.append(RoutePath(
            target=target, adapter=adapter.get("friendly_name") or str(raw["if_index"]),
            gateway=None if gateway is None or ipaddress.ip_address(gateway).is_unspecified
            else gateway,
            source=raw.get("source")))
    return found


# GetBestRoute2's answers that mean "no route to there", not a failure of the call
NO_ROUTE_ERRORS = {1231, 1232, 1168}   # network, host unreachable; not found
DEFAULT_HOSTS_FOLDER = r"%SystemRoot%\System32\drivers\etc"


def map_hosts_file(raw: dict | None) -> str:
    """Where Windows reads hosts from: Tcpip's DataBasePath (%SystemRoot% expanded), else the
    default folder."""
    raw = raw or {}
    folder = raw.get("database_path") or DEFAULT_HOSTS_FOLDER
    root = raw.get("system_root") or r"C:\Windows"
    folder = re.sub(r"%(SystemRoot|windir)%", lambda _: root, folder,
                    flags=re.I)
    return str(PureWindowsPath(folder) / "hosts")


def _flag(values: dict, name: str, on: int = 1) -> bool | None:
    value = values.get(name)
    return None if value is None else value == on


# netfw.h NET_FW_PROFILE_TYPE2: the bits of INetFwPolicy2.CurrentProfileTypes
FIREWALL_PROFILE_BITS = {"domain": 0x1, "private": 0x2, "public": 0x4}


def map_firewall(raw: dict, current: Observed[dict] | None = None) -> LocalFirewall:
    """Each profile's switch and default actions; a group policy value overrides the local one.
    An absent value is not observed (Windows then uses its default: inbound blocked, outbound
    allowed). The profiles in force: INetFwPolicy2.CurrentProfileTypes (a bit mask, not text)."""
    profiles = []
    for name in ("domain", "private", "public"):
        local = (raw.get(name) or {}).get("local") or {}
        policy = (raw.get(name) or {}).get("policy") or {}
        values = {**local, **policy}
        profiles.append(FirewallProfile(
            name=name, enabled=None if values.get("EnableFirewall") is None
            else bool(values["EnableFirewall"]),
            inbound_blocked=_flag(values, "DefaultInboundAction"),
            outbound_blocked=_flag(values, "DefaultOutboundAction"), managed=bool(policy)))
    active, why = None, "not read"
    if isinstance(current, NotObserved):
        why = current.reason
    elif current is not None and isinstance(current.get("current_profile_types"), int):
        bits = current["current_profile_types"]
        active = tuple(name for name, bit in FIREWALL_PROFILE_BITS.items() if bits & bit)
    return LocalFirewall(source="registry FirewallPolicy", profiles=tuple(profiles), active=active,
                         active_reason=None if active is not None else why)


# ras.h RASENTRY dwType; RASCONNSTATE
RAS_ENTRY_KINDS = {1: "modem", 2: "vpn", 3: "other", 4: "other", 5: "pppoe"}
RASCS_CONNECTED, RASCS_DISCONNECTED = 0x2000, 0x2001
# RasClient (Application log) events: a dial's steps; 20226 carries the reason a connection
# ended, 20227 the error of a failed dial (its last number).
RAS_EVENT_STAGES = {20221: "dialing", 20222: "dialing", 20223: "link", 20224: "link",
                    20225: "connected", 20267: "connected", 20226: "disconnected",
                    20268: "disconnected", 20227: "failed"}
_EVENT_NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"
_GUID = re.compile(r"\{[0-9A-Fa-f-]{36}\}")


def map_dialer_entries(raw: list[dict]) -> tuple[DialerEntry, ...]:
    found = []
    for entry in raw:
        book = entry.get("phonebook") or {}
        try:
            kind = RAS_ENTRY_KINDS.get(int(book["Type"]), "other") if "Type" in book else "unknown"
        except ValueError:
            kind = "unknown"
        found.append(DialerEntry(name=entry["name"], kind=kind,
                                 phonebook="all users" if entry.get("all_users") else "user"))
    return tuple(found)


def map_dialer_connections(raw: list[dict]) -> tuple[DialerConnection, ...]:
    def state(value: int | None) -> str:
        return ("unknown" if value is None else "connected" if value == RASCS_CONNECTED
                else "disconnected" if value == RASCS_DISCONNECTED else "connecting")
    return tuple(DialerConnection(name=c["name"], device_type=c.get("device_type") or None,
                                  state=state(c.get("state")), error=c.get("error"))
                 for c in raw)


def map_ras_event(xml: str) -> DialerEvent | None:
    """One rendered RasClient event; None for another provider's or an unreadable one."""
    from xml.etree import ElementTree
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    system = root.find(f"{_EVENT_NS}System")
    provider = system.find(f"{_EVENT_NS}Provider") if system is not None else None
    if system is None or provider is None or provider.get("Name") != "RasClient":
        return None
    try:
        event_id = int((system.findtext(f"{_EVENT_NS}EventID") or "").strip())
    except ValueError:
        return None
    created = system.find(f"{_EVENT_NS}TimeCreated")
    data = [(d.text or "").strip() for d in root.iter(f"{_EVENT_NS}Data")]
    attempt = next((m.group(0).upper() for d in data for m in [_GUID.search(d)] if m), None)
    # the values after the correlation id and the Windows user: the entry, then numbers
    values = [d for d in data if not _GUID.search(d)]
    numbers = [int(d) for d in values if d.isdigit()]
    stage = RAS_EVENT_STAGES.get(event_id, "other")
    return DialerEvent(event_id=event_id, time=(created.get("SystemTime") if created is not None
                                                else None) or "",
                       stage=stage, entry=values[1] if len(values) > 1 else None,
                       error=numbers[-1] if numbers and stage in ("failed", "disconnected")
                       else None,
                       attempt=attempt)


def map_ras_events(raw: list[str]) -> tuple[DialerEvent, ...]:
    """Newest first, as the log was read."""
    return tuple(event for event in map(map_ras_event, raw) if event is not None)


WLAN_STATE_CONNECTED = 1
DBM_RANGE = (-120, -1)


def map_wifi_links(snapshot: dict, wlan: list[dict], names: list[str]) -> dict[str, WifiLink]:
    """The WLAN API's interfaces, matched to adapters by GUID (AdapterName)."""
    by_guid = {(a.get("adapter_name") or "").upper(): a for a in snapshot.get("adapters") or []}
    found = {}
    for raw in wlan:
        adapter = by_guid.get((raw.get("guid") or "").upper())
        name = (adapter or {}).get("friendly_name")
        if name not in names:
            continue
        connected = raw.get("state") == WLAN_STATE_CONNECTED
        quality = raw.get("signal_quality") if connected else None
        rssi = raw.get("rssi_dbm") if connected else None
        found[name] = WifiLink(
            adapter=name, connected=connected,
            signal_dbm=rssi if rssi is not None and DBM_RANGE[0] <= rssi <= DBM_RANGE[1] else None,
            link_quality=quality, link_quality_pct=quality,
            tx_bitrate_mbps=raw["tx_rate_kbps"] / 1000 if connected and raw.get("tx_rate_kbps")
            else None,
            rx_bitrate_mbps=raw["rx_rate_kbps"] / 1000 if connected and raw.get("rx_rate_kbps")
            else None,
            sources=("wlanapi",))
    return found


# ---- the backend ---------------------------------------------------------------------------------

class WindowsBackend(Backend):
    os = "windows"

    def __init__(self, ctx: Any, snapshot: dict | None = None):
        super().__init__(ctx)
        self._snapshot = snapshot   # tests give a recorded one; else read once, when first asked
        self._live = snapshot is None

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

    def _raw(self, key: str) -> Any:
        """A part read when first asked (live), or the recorded snapshot's; NotObserved when
        it could not be read or a recorded snapshot lacks it."""
        snapshot = self.snapshot()
        if key not in snapshot:
            if not self._live:
                return NotObserved(f"{key}: not in this snapshot", key)
            snapshot[key], error = read_part(key)
            if error:
                snapshot.setdefault("errors", {})[key] = error
        return self._part(key) or snapshot[key]

    def proxy(self) -> Observed[ProxyConfig]:
        winhttp = self._raw("proxy_winhttp")
        return map_proxy(self.snapshot().get("proxy_registry"), self.ctx.env,
                         None if isinstance(winhttp, NotObserved) else winhttp)

    def route_paths(self, targets: list[str]) -> Observed[list[RoutePath]]:
        failed = self._part("adapters")
        if failed:
            return failed
        chosen = self.snapshot().setdefault("best_routes", {})
        for target in targets:
            if target not in chosen and self._live:
                chosen[target] = read_best_route(target)
        if targets and not self._live and not any(t in chosen for t in targets):
            return NotObserved("best_routes: not in this snapshot", "best_routes")
        failures = [chosen[t]["error"] for t in targets if "error" in chosen.get(t, {})]
        if failures and not any("if_index" in chosen.get(t, {}) for t in targets) and \
                any(error not in NO_ROUTE_ERRORS for error in failures):
            # not "no route here" but the call itself failing (Wine: 50, not supported)
            return NotObserved(f"GetBestRoute2 failed ({failures[0]})", "best_routes")
        return map_route_paths(self.snapshot(), chosen, targets)

    def hosts_file(self) -> tuple[str, Path]:
        folder = self._raw("hosts_folder")
        shown = map_hosts_file(None if isinstance(folder, NotObserved) else folder)
        return shown, Path(shown)

    def local_firewall(self) -> Observed[LocalFirewall]:
        raw = self._raw("firewall_registry")
        return raw if isinstance(raw, NotObserved) else map_firewall(
            raw, self._raw("firewall_current"))

    def dialer(self) -> Observed[Dialer]:
        entries, connections, events = (self._raw(key) for key in
                                        ("ras_entries", "ras_connections", "ras_events"))
        return Dialer(
            entries=entries if isinstance(entries, NotObserved) else map_dialer_entries(entries),
            connections=(connections if isinstance(connections, NotObserved)
                         else map_dialer_connections(connections)),
            events=events if isinstance(events, NotObserved) else map_ras_events(events))

    def test_dial(self, entry: str, password: str | None, budget: float) -> Observed[Any]:
        if not self._live:
            return NotObserved("a test dial needs this PC, not a recorded snapshot")
        from . import ras_dial
        return ras_dial.dial(entry, password=password, budget=budget)

    def wifi_links(self, adapters: list[str]) -> Observed[dict[str, WifiLink]]:
        if not adapters:
            return {}
        wlan = self._raw("wlan_interfaces")
        return wlan if isinstance(wlan, NotObserved) else map_wifi_links(self.snapshot(), wlan,
                                                                         adapters)

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


def read_part(key: str) -> tuple[Any, str | None]:
    if sys.platform != "win32":
        return None, "not Windows"
    from . import win32_raw
    return win32_raw.read_part(key)


def read_best_route(target: str) -> dict:
    if sys.platform != "win32":
        return {"error": "not Windows"}
    from . import win32_raw
    try:
        return win32_raw.best_route(target)
    except (OSError, AttributeError, ValueError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
