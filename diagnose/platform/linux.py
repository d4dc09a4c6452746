"""Linux: the kernel's own tables (/sys/class/net, /proc/net/*), /etc/resolv.conf, `iw`.

Files are read through ctx.path and tools run through ctx.run, so unit tests give a fake root
and the lab gives each namespace its own /sys and /etc.
"""
from __future__ import annotations

import sys

assert sys.platform == "linux", "the Linux backend"  # for mypy: this module is Linux only

import ipaddress  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from . import (Adapter, Address, Backend, DnsConfig, Neighbour, NotObserved, Observed, Privilege,
               ProxyConfig, Route, WifiLink, environment_proxies, psutil_addresses)

ARPHRD_ETHER, ARPHRD_PPP, ARPHRD_LOOPBACK = 1, 512, 772
IFF_UP = 0x1
CAP_NET_RAW = 13  # bit in /proc/self/status CapEff: raw sockets (ICMP, DHCP, PPPoE)
_VIRTUAL_DEVTYPES = {"bridge", "bond", "vlan", "macvlan", "ipvlan", "vxlan", "wireguard", "tun",
                     "gre", "dummy"}
RTF_UP, RTF_GATEWAY, RTF_REJECT = 0x1, 0x2, 0x200
ARP_COMPLETE = 0x2
PROC_WIRELESS = "/proc/net/wireless"
# cfg80211 (every current Linux Wi-Fi driver) reports link quality on a 0..70 scale, computed from
# the signal: quality = dBm + 110, clamped. Older drivers may use another scale; the raw value is
# kept as well.
CFG80211_MAX_QUALITY = 70
# A signal level in dBm is negative and no real receiver hears below -120 dBm; anything else
# (0, -256 "not available", positive relative units of old drivers) is no dBm reading.
DBM_RANGE = (-120, -1)
IW_WAIT_S = 0.8   # `iw` asks the kernel over netlink and answers in milliseconds

# "signal: -67 dBm"; drivers with several antennas may add the chains: "signal: -67 [-69, -71] dBm"
_IW_SIGNAL = re.compile(r"^\s*signal:\s*(-?\d+(?:\.\d+)?)\s*(?:\[[^\]\n]*\]\s*)?dBm", re.M)
_IW_TX = re.compile(r"^\s*tx bitrate:\s*([\d.]+)\s*MBit/s", re.M)
_IW_RX = re.compile(r"^\s*rx bitrate:\s*([\d.]+)\s*MBit/s", re.M)
_IW_FREQ = re.compile(r"^\s*freq:\s*([\d.]+)", re.M)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:  # e.g. carrier and speed refuse to be read while the link is down
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value, 0) if value is not None else None
    except ValueError:
        return None


# ---- adapters (sysfs) -------------------------------------------------------------------------

def kind_of(sysdir: Path, links: dict[str | None, tuple[str, str | None]], driver: str | None) -> str:
    arptype = _int(_read(sysdir / "type"))
    if arptype == ARPHRD_LOOPBACK:
        return "loopback"
    if arptype == ARPHRD_PPP:
        return "ppp"
    if (sysdir / "wireless").exists() or (sysdir / "phy80211").exists():
        return "wifi"
    uevent = _read(sysdir / "uevent") or ""
    devtype = next((line.split("=", 1)[1] for line in uevent.splitlines()
                    if line.startswith("DEVTYPE=")), "")
    if (arptype != ARPHRD_ETHER or devtype in _VIRTUAL_DEVTYPES or (sysdir / "bridge").exists()
            or (sysdir / "bonding").exists() or (sysdir / "tun_flags").exists()):
        return "virtual"
    if "/devices/virtual/" not in os.path.realpath(sysdir):
        return "ethernet"
    if driver not in (None, "veth") or (sysdir / "brport").exists():
        return "virtual"
    # A veth whose peer is not here is the uplink of a container or network namespace. Interface
    # numbers repeat across namespaces, so the peer is local only if it links back to us.
    ifindex, iflink = _read(sysdir / "ifindex"), _read(sysdir / "iflink")
    peer = links.get(iflink)
    local_pair = peer is not None and peer[0] != sysdir.name and peer[1] == ifindex
    is_veth = driver == "veth" or iflink != ifindex
    return "ethernet" if is_veth and not local_pair else "virtual"


def describe(name: str, sysdir: Path, links: dict, driver: str | None) -> Adapter:
    flags = _int(_read(sysdir / "flags")) or 0
    carrier = _read(sysdir / "carrier")
    speed = _int(_read(sysdir / "speed"))
    return Adapter(name=name, kind=kind_of(sysdir, links, driver), admin_up=bool(flags & IFF_UP),
                   carrier=None if carrier is None else carrier == "1",
                   operstate=_read(sysdir / "operstate"), mtu=_int(_read(sysdir / "mtu")),
                   speed_mbps=speed if speed and speed > 0 else None,
                   mac=_read(sysdir / "address") or None, index=_int(_read(sysdir / "ifindex")),
                   description=driver)


# ---- routes (/proc/net/route, /proc/net/ipv6_route) ------------------------------------------

def _ipv4_from_hex(value: str) -> str:
    return socket.inet_ntoa(struct.pack("<I", int(value, 16)))


def ipv4_defaults(text: str) -> list[Route]:
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
            routes.append(Route(family=4, destination="0.0.0.0/0", adapter=iface, metric=int(metric),
                                gateway=_ipv4_from_hex(gateway) if int(flags, 16) & RTF_GATEWAY
                                else None))
        except ValueError:
            continue
    return sorted(routes, key=lambda route: route.metric or 0)


def ipv6_defaults(text: str) -> list[Route]:
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
            routes.append(Route(family=6, destination="::/0", adapter=fields[9],
                                metric=int(fields[5], 16), gateway=None if gateway == "::" else gateway))
        except ValueError:
            continue
    return sorted(routes, key=lambda route: route.metric or 0)


# ---- neighbours (/proc/net/arp) ----------------------------------------------------------------

def arp_entry(arp_table: str, address: str) -> Neighbour:
    for line in arp_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 6 and fields[0] == address:
            try:
                complete = int(fields[2], 16) & ARP_COMPLETE
            except ValueError:
                continue
            return Neighbour(address=address, state="resolved" if complete else "incomplete",
                             mac=fields[3] if complete else None, adapter=fields[5])
    return Neighbour(address=address, state="absent", mac=None, adapter=None)


# ---- Wi-Fi (/proc/net/wireless, iw) ------------------------------------------------------------

def _number(text: str) -> float | None:
    try:
        value = float(text.rstrip(".*"))   # "54." : the dot only says the value was updated
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _dbm(value: float | None) -> int | None:
    if value is None or not DBM_RANGE[0] <= value <= DBM_RANGE[1]:
        return None
    return int(value)


def parse_proc_wireless(text: str) -> dict[str, dict]:
    """name -> {link_quality, signal_dbm, noise_dbm}; the kernel lists associated adapters only."""
    found: dict[str, dict] = {}
    for line in text.splitlines()[2:]:   # two header lines
        name, colon, rest = line.partition(":")
        fields = rest.split()
        if not colon or len(fields) < 4 or not name.strip():
            continue
        link, level, noise = (_number(f) for f in fields[1:4])
        found[name.strip()] = {
            "link_quality": int(link) if link is not None and link >= 0 else None,
            "signal_dbm": _dbm(level),
            "noise_dbm": _dbm(noise),
        }
    return found


def parse_iw_link(text: str) -> dict | None:
    """`iw dev IF link`: connected, signal, bit rates, frequency. None when unrecognisable."""
    if re.search(r"^\s*Not connected", text, re.M):
        return {"connected": False, "signal_dbm": None, "tx_bitrate_mbps": None,
                "rx_bitrate_mbps": None, "freq_mhz": None}
    if not re.search(r"^\s*Connected to ", text, re.M):
        return None

    def first(pattern):
        match = pattern.search(text)
        return _number(match.group(1)) if match else None
    freq = first(_IW_FREQ)
    return {"connected": True, "signal_dbm": _dbm(first(_IW_SIGNAL)),
            "tx_bitrate_mbps": first(_IW_TX), "rx_bitrate_mbps": first(_IW_RX),
            "freq_mhz": int(freq) if freq else None}


def wifi_link(name: str, proc: dict | None, iw: dict | None) -> WifiLink:
    proc = proc or {}
    quality = proc.get("link_quality")
    signal = (iw or {}).get("signal_dbm")
    if signal is None:
        signal = proc.get("signal_dbm")
    return WifiLink(
        adapter=name, connected=iw["connected"] if iw is not None else None, signal_dbm=signal,
        link_quality=quality,
        link_quality_pct=(min(100, round(quality * 100 / CFG80211_MAX_QUALITY))
                          if quality is not None else None),
        noise_dbm=proc.get("noise_dbm"), tx_bitrate_mbps=(iw or {}).get("tx_bitrate_mbps"),
        rx_bitrate_mbps=(iw or {}).get("rx_bitrate_mbps"), freq_mhz=(iw or {}).get("freq_mhz"),
        sources=tuple(source for source, seen in (("proc", bool(proc)), ("iw", iw is not None))
                      if seen))


# ---- the backend -------------------------------------------------------------------------------

class LinuxBackend(Backend):
    os = "linux"

    def adapters(self) -> Observed[list[Adapter]]:
        base = self.ctx.path("/sys/class/net")
        try:
            names = sorted(os.listdir(base))
        except OSError as exc:
            return NotObserved(f"cannot list network adapters: {exc.strerror}", "/sys/class/net")
        names = [name for name in names if (base / name).is_dir()]
        links = {_read(base / name / "ifindex"): (name, _read(base / name / "iflink"))
                 for name in names}
        return [describe(name, base / name, links, self.ctx.driver(name)) for name in names]

    def addresses(self) -> Observed[list[Address]]:
        return psutil_addresses(self.ctx.if_addrs())

    def default_routes(self) -> Observed[list[Route]]:
        try:
            v4 = ipv4_defaults(self.ctx.path("/proc/net/route").read_text())
        except OSError as exc:
            return NotObserved(f"cannot read the routing table: {exc.strerror}", "/proc/net/route")
        try:
            v6 = ipv6_defaults(self.ctx.path("/proc/net/ipv6_route").read_text())
        except OSError:
            v6 = []  # IPv6 disabled
        return v4 + v6

    def neighbour(self, address: str) -> Observed[Neighbour]:
        try:
            return arp_entry(self.ctx.path("/proc/net/arp").read_text(), address)
        except OSError as exc:
            return NotObserved(f"cannot read the neighbour table: {exc.strerror}", "/proc/net/arp")

    def dns(self) -> Observed[DnsConfig]:
        from ..net import resolvconf
        config = resolvconf.configured(self.ctx)
        if config["error"]:
            return NotObserved(config["error"], config["source"])
        return DnsConfig(servers=tuple(config["servers"]), source=config["source"],
                         stub=config["stub"])

    def proxy(self) -> Observed[ProxyConfig]:
        return ProxyConfig(proxies=tuple(environment_proxies(self.ctx.env)))

    def raw_frames(self) -> str | None:
        return None   # packet sockets (AF_PACKET), as administrator

    def privilege(self) -> Privilege:
        try:
            for line in self.ctx.path("/proc/self/status").read_text().splitlines():
                if line.startswith("CapEff:"):
                    return Privilege(bool(int(line.split()[1], 16) >> CAP_NET_RAW & 1),
                                     "CapEff CAP_NET_RAW")
        except (OSError, ValueError, IndexError):
            pass
        return Privilege(os.geteuid() == 0, "geteuid")

    def wifi_links(self, adapters: list[str]) -> Observed[dict[str, WifiLink]]:
        from concurrent.futures import ThreadPoolExecutor
        try:
            proc = parse_proc_wireless(self.ctx.path(PROC_WIRELESS).read_text(errors="replace"))
        except OSError:
            proc = {}   # no wireless extensions in this kernel: `iw` alone
        if not adapters:
            return {}
        with ThreadPoolExecutor(max_workers=len(adapters)) as pool:
            iw = list(pool.map(self._iw_link, adapters))
        return {name: wifi_link(name, proc.get(name), link) for name, link in zip(adapters, iw)}

    def _iw_link(self, name: str) -> dict | None:
        done = self.ctx.run(["iw", "dev", name, "link"], self.ctx.budget(IW_WAIT_S))
        if done is None or done.returncode != 0:
            return None    # no iw here, or it did not answer
        return parse_iw_link(done.stdout or "")
