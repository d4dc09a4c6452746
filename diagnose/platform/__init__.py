"""The platform layer: one backend per OS fetches the same typed raw facts; checks read only these.

A backend only fetches: it never judges. A fact an OS (or this run) cannot show is returned as
NotObserved with the reason, never guessed. Backends: linux (files under /proc, /sys, /etc and
a few system tools), windows (the Win32 IP Helper, WinHTTP, RAS and WLAN APIs through ctypes,
never the localized console tools), macos (preview: psutil and the system's configuration
tools). docs/platforms.md says, for each fact and OS, where it comes from and how it is proven.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import socket
import sys
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Mapping, TypeVar, Union

from ..i18n import N_

APIPA = ipaddress.ip_network("169.254.0.0/16")
KINDS = ("ethernet", "wifi", "ppp", "loopback", "virtual", "other")


@dataclass(frozen=True)
class NotObserved:
    """This fact was not seen: why (and, for a file, which one)."""
    reason: str
    source: str | None = None


T = TypeVar("T")
Observed = Union[T, NotObserved]


@dataclass(frozen=True)
class Adapter:
    name: str                  # the name people see: eth0, wlp2s0; 以太网, WLAN, 宽带连接
    kind: str                  # one of KINDS
    admin_up: bool | None      # enabled by the user (None: the OS does not say)
    carrier: bool | None       # a link (cable plugged, Wi-Fi associated, PPP session up)
    mtu: int | None
    speed_mbps: int | None
    mac: str | None            # aa:bb:cc:dd:ee:ff, lower case
    operstate: str | None = None
    index: int | None = None   # the OS's interface index
    id: str | None = None      # a stable OS identifier (Windows: the adapter's GUID)
    description: str | None = None  # the driver's or product's name


@dataclass(frozen=True)
class Address:
    adapter: str
    family: int                # 4 or 6
    address: str
    prefixlen: int
    dhcp: bool | None = None   # from a DHCP lease (None: the OS does not say)

    @property
    def apipa(self) -> bool:
        return self.family == 4 and ipaddress.ip_address(self.address) in APIPA


@dataclass(frozen=True)
class Route:
    family: int
    destination: str           # a prefix: 0.0.0.0/0, ::/0, 192.168.1.0/24
    gateway: str | None        # None: on the link
    adapter: str
    metric: int | None         # the effective metric the OS compares (Windows: route + interface)


@dataclass(frozen=True)
class Neighbour:
    address: str
    state: str                 # resolved, incomplete, absent
    mac: str | None
    adapter: str | None


@dataclass(frozen=True)
class DnsConfig:
    servers: tuple[str, ...]                         # in the order the system asks them
    source: str                                      # /etc/resolv.conf, resolvectl, GetAdaptersAddresses
    per_adapter: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    stub: str | None = None                          # a local stub in front of them (127.0.0.53)


@dataclass(frozen=True)
class ProxySetting:
    source: str                # HTTPS_PROXY, http_proxy, ...; "WinHTTP/IE user settings"; "scutil --proxy"
    scheme: str | None
    host: str | None
    port: int | None


@dataclass(frozen=True)
class ProxyConfig:
    proxies: tuple[ProxySetting, ...]
    auto_config_url: str | None = None   # a PAC file
    auto_detect: bool | None = None      # WPAD
    bypass: tuple[str, ...] = ()


@dataclass(frozen=True)
class Privilege:
    admin: bool                # may open raw sockets / send raw frames / dial a test session
    source: str                # how it was asked: CapEff, geteuid, IsUserAnAdmin


@dataclass(frozen=True)
class WifiLink:
    adapter: str
    connected: bool | None
    signal_dbm: int | None = None
    link_quality: int | None = None        # the driver's raw figure
    link_quality_pct: int | None = None
    noise_dbm: int | None = None
    tx_bitrate_mbps: float | None = None
    rx_bitrate_mbps: float | None = None
    freq_mhz: int | None = None
    sources: tuple[str, ...] = ()          # where it was read: proc, iw, wlanapi


@dataclass(frozen=True)
class RoutePath:
    """The route the OS picks for one destination (Linux: `ip route get`; Windows: GetBestRoute2)."""
    target: str
    adapter: str | None
    gateway: str | None        # None: on the link
    source: str | None         # the source address the OS would send from


@dataclass(frozen=True)
class FirewallProfile:
    name: str                  # Windows: domain, private, public
    enabled: bool | None
    inbound_blocked: bool | None    # the default action for unsolicited inbound traffic
    outbound_blocked: bool | None   # the default action for outbound traffic: block
    managed: bool = False      # set by group policy (the local values are overridden)


@dataclass(frozen=True)
class LocalFirewall:
    source: str
    profiles: tuple[FirewallProfile, ...]
    active: tuple[str, ...] | None = None   # the profiles in force now (None: not observed)
    active_reason: str | None = None        # why they were not observed


@dataclass(frozen=True)
class DialerEntry:
    """A configured dial-up/broadband connection (Windows: a RAS phonebook entry, "宽带连接")."""
    name: str
    kind: str                  # pppoe, vpn, modem, other
    phonebook: str | None = None    # user, all users


@dataclass(frozen=True)
class DialerConnection:
    name: str
    device_type: str | None    # the OS's own device type: PPPoE, vpn, modem
    state: str                 # connected, connecting, disconnected
    error: int | None          # the dialer's error number (Windows: RAS 6xx-8xx), 0 none


@dataclass(frozen=True)
class DialerEvent:
    """One step of a dial as the system logged it, newest first (Windows: RasClient events)."""
    event_id: int
    time: str                  # UTC, ISO 8601
    stage: str                 # dialing, link, connected, disconnected, failed, other
    entry: str | None
    error: int | None          # the error (failed) or reason (disconnected) number
    attempt: str | None = None  # the dial attempt's correlation id, to group one dial's steps


@dataclass(frozen=True)
class Dialer:
    """The OS's own dialer: entries, active connections, and its log of recent dials."""
    entries: Observed[tuple[DialerEntry, ...]]
    connections: Observed[tuple[DialerConnection, ...]]
    events: Observed[tuple[DialerEvent, ...]]

    @property
    def last_failure(self) -> DialerEvent | None:
        """The newest failed dial in the log, unless a newer dial connected."""
        if isinstance(self.events, NotObserved):
            return None
        for event in self.events:
            if event.stage == "connected":
                return None
            if event.stage == "failed":
                return event
        return None


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
_DEFAULT_PROXY_PORTS = {"http": 80, "https": 443, "socks4": 1080, "socks5": 1080, "socks5h": 1080}


def proxy_setting(source: str, value: str) -> ProxySetting:
    """A proxy URL or host:port as a setting; credentials in it are dropped here."""
    from urllib.parse import urlsplit
    parts = urlsplit(value if "://" in value else f"http://{value}")
    try:
        port = parts.port or _DEFAULT_PROXY_PORTS.get(parts.scheme, 80)
    except ValueError:
        port = None
    return ProxySetting(source=source, scheme=parts.scheme, host=parts.hostname, port=port)


def environment_proxies(env: Mapping[str, str]) -> list[ProxySetting]:
    """Proxies set in the environment (every OS's programs honour these), one per variable."""
    found = []
    for upper in PROXY_VARIABLES:
        for name in (upper, upper.lower()):
            value = (env.get(name) or "").strip()
            if value:
                found.append(proxy_setting(name, value))
    return found


def _prefixlen(netmask: str | None, family: int) -> int:
    if not netmask:
        return 32 if family == 4 else 128
    try:
        return ipaddress.ip_network(f"{'0.0.0.0' if family == 4 else '::'}/{netmask}").prefixlen
    except ValueError:
        return 32 if family == 4 else 128


def psutil_addresses(entries_by_adapter: dict[str, list[Any]]) -> list[Address]:
    """psutil.net_if_addrs() as Address facts (DHCP is not in it: not observed)."""
    found = []
    for adapter, entries in entries_by_adapter.items():
        for entry in entries:
            family = {socket.AF_INET: 4, socket.AF_INET6: 6}.get(entry.family)
            if family is None:
                continue
            address = entry.address.split("%", 1)[0]
            found.append(Address(adapter=adapter, family=family, address=address,
                                 prefixlen=_prefixlen(entry.netmask, family)))
    return found


class Backend:
    """What every OS backend answers. The default for each fact: not observed on this OS."""
    os = "unknown"

    def __init__(self, ctx: Any):
        self.ctx = ctx      # root, run, env, budget: tests replace them

    def _not_here(self, what: str) -> NotObserved:
        return NotObserved(f"{what}: not read on {self.os} yet")

    def adapters(self) -> Observed[list[Adapter]]:
        return self._not_here("adapters")

    def addresses(self) -> Observed[list[Address]]:
        return self._not_here("addresses")

    def default_routes(self) -> Observed[list[Route]]:
        """Default routes, best (lowest effective metric) first."""
        return self._not_here("routes")

    def neighbour(self, address: str) -> Observed[Neighbour]:
        return self._not_here("neighbour table")

    def dns(self) -> Observed[DnsConfig]:
        return self._not_here("DNS servers")

    def configured_dns(self) -> dict[str, Any]:
        """dns() as the checks' facts: {servers, source, stub, error}."""
        config = self.dns()
        if isinstance(config, NotObserved):
            return {"servers": [], "source": config.source, "stub": None, "error": config.reason}
        return {"servers": list(config.servers), "source": config.source, "stub": config.stub,
                "error": None}

    def proxy(self) -> Observed[ProxyConfig]:
        return self._not_here("proxy settings")

    def privilege(self) -> Privilege:
        return Privilege(admin=False, source="unknown")

    def wifi_links(self, adapters: list[str]) -> Observed[dict[str, WifiLink]]:
        return self._not_here("Wi-Fi link")

    def route_paths(self, targets: list[str]) -> Observed[list[RoutePath]]:
        """The route the OS picks for each destination, in order (targets without one left out)."""
        return self._not_here("the route chosen per destination")

    def hosts_file(self) -> tuple[str, Path]:
        """The static name table: its name as shown to people, and where to read it."""
        return "/etc/hosts", self.ctx.path("/etc/hosts")

    def local_firewall(self) -> Observed[LocalFirewall]:
        return self._not_here("the firewall's state")

    def dialer(self) -> Observed[Dialer]:
        return self._not_here("the dialer")

    def test_dial(self, entry: str, password: str | None, budget: float) -> Observed[Any]:
        """--pppoe-login through the OS's own dialer: dial its entry once, hang up, and say
        how far it got (Windows: a ras_dial.DialAttempt). Linux logs in itself (ppp_session)."""
        return self._not_here("a test dial through the system's dialer")

    def raw_frames(self) -> str | None:
        """Why this OS cannot send and receive raw Ethernet frames (DHCP and PPPoE discovery);
        None when it can."""
        return N_("packet probes need a packet driver this system lacks")


def backend_class() -> type[Backend]:
    """This OS's backend (tests of the others construct theirs directly)."""
    if sys.platform == "win32":
        from .windows import WindowsBackend
        return WindowsBackend
    if sys.platform == "darwin":
        from .macos import MacBackend
        return MacBackend
    if sys.platform == "linux":
        from .linux import LinuxBackend
        return LinuxBackend
    return Backend


def for_context(ctx: Any) -> Backend:
    """This OS's backend, reading through ctx (its root, run, env and deadline)."""
    return backend_class()(ctx)


def plain(value: Any) -> Any:
    """A fact as JSON-ready data: dataclasses to dicts, NotObserved to {"not_observed": reason}."""
    if isinstance(value, NotObserved):
        return {"not_observed": value.reason, **({"source": value.source} if value.source else {})}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
