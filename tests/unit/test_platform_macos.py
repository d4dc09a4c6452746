"""The macOS backend (preview) on tool outputs written to their documented format; none has
been recorded on a real Mac yet (docs/platforms.md)."""
from __future__ import annotations

import subprocess
import time

from diagnose.context import Context
from diagnose.platform import NotObserved, macos

ROUTE_V4 = """   route to: default
destination: default
       mask: default
    gateway: 192.168.1.1
  interface: en0
      flags: <UP,GATEWAY,DONE,STATIC,PRCLONING,GLOBAL>
 recvpipe  sendpipe  ssthresh  rtt,msec    rttvar  hopcount      mtu     expire
       0         0         0         0         0         0      1500         0
"""
ROUTE_V6 = """   route to: ::
destination: ::
       mask: default
    gateway: fe80::1%en0
  interface: en0
      flags: <UP,GATEWAY,DONE,STATIC,PRCLONING,GLOBAL>
"""
SCUTIL_DNS = """DNS configuration

resolver #1
  search domain[0] : lan
  nameserver[0] : 192.168.1.1
  nameserver[1] : fe80::1%en0
  if_index : 6 (en0)
  flags    : Request A records, Request AAAA records
  reach    : 0x00020002 (Reachable,Directly Reachable Address)

resolver #2
  domain   : local
  options  : mdns
  timeout  : 5
  flags    : Request A records, Request AAAA records
  reach    : 0x00000000 (Not Reachable)
  order    : 300000

DNS configuration (for scoped queries)

resolver #1
  nameserver[0] : 10.9.9.9
  if_index : 6 (en0)
"""
SCUTIL_PROXY = """<dictionary> {
  ExceptionsList : <array> {
    0 : *.local
    1 : 169.254/16
  }
  FTPPassive : 1
  HTTPEnable : 1
  HTTPPort : 7890
  HTTPProxy : 127.0.0.1
  HTTPSEnable : 1
  HTTPSPort : 7890
  HTTPSProxy : 127.0.0.1
  ProxyAutoConfigEnable : 0
  SOCKSEnable : 0
}
"""


def backend(outputs: dict[str, tuple[int, str, str]]):
    def run(argv, timeout):
        code, out, err = outputs.get(" ".join(argv), (127, "", "not found"))
        return subprocess.CompletedProcess(argv, code, out, err)
    ctx = Context(profile={}, privileged=False, deadline=time.monotonic() + 5, run=run,
                  env={"HTTPS_PROXY": "http://10.0.0.5:3128"})
    return macos.MacBackend(ctx)


def test_default_routes_from_route_get():
    routes = backend({"route -n get default": (0, ROUTE_V4, ""),
                      "route -n get -inet6 default": (0, ROUTE_V6, "")}).default_routes()
    assert [(r.family, r.gateway, r.adapter) for r in routes] == [(4, "192.168.1.1", "en0"),
                                                                   (6, "fe80::1", "en0")]
    none = backend({"route -n get default": (1, "", "route: writing to routing socket: not in table"),
                    "route -n get -inet6 default": (1, "", "not in table")}).default_routes()
    assert none == []
    assert isinstance(backend({}).default_routes(), NotObserved)     # no route tool


def test_dns_from_scutil_default_resolvers_only():
    config = backend({"scutil --dns": (0, SCUTIL_DNS, "")}).dns()
    assert config.servers == ("192.168.1.1", "fe80::1") and config.per_adapter == {
        "en0": ("192.168.1.1", "fe80::1")}
    assert config.source == "scutil --dns"


def test_proxy_from_scutil_and_the_environment():
    config = backend({"scutil --proxy": (0, SCUTIL_PROXY, "")}).proxy()
    assert [(p.source, p.host, p.port) for p in config.proxies] == [
        ("HTTPS_PROXY", "10.0.0.5", 3128), ("scutil --proxy (http)", "127.0.0.1", 7890),
        ("scutil --proxy (https)", "127.0.0.1", 7890)]
    assert config.bypass == ("*.local", "169.254/16") and config.auto_config_url is None


def test_neighbour_from_arp():
    seen = backend({"arp -n 192.168.1.1": (0, "? (192.168.1.1) at 0:c:1d:2e:3f:4a on en0 ifscope [ethernet]\n", "")})
    entry = seen.neighbour("192.168.1.1")
    assert (entry.state, entry.mac, entry.adapter) == ("resolved", "00:0c:1d:2e:3f:4a", "en0")
    seen = backend({"arp -n 192.168.1.9": (0, "? (192.168.1.9) at (incomplete) on en0 ifscope [ethernet]\n", "")})
    assert seen.neighbour("192.168.1.9").state == "incomplete"
    seen = backend({"arp -n 192.168.1.7": (1, "192.168.1.7 (192.168.1.7) -- no entry\n", "")})
    assert seen.neighbour("192.168.1.7").state == "absent"
    assert isinstance(backend({}).neighbour("192.168.1.1"), NotObserved)      # no arp tool


PORTS = """
Hardware Port: Ethernet Adapter (en4)
Device: en4
Ethernet Address: 3c:52:82:00:00:01

Hardware Port: Wi-Fi
Device: en0
Ethernet Address: a4:b1:c2:d3:e4:f5

Hardware Port: Thunderbolt Bridge
Device: bridge0
Ethernet Address: 36:00:00:00:00:01

VLAN Configurations
===================
"""


def test_adapter_kinds_from_hardware_ports():
    ports = macos.parse_hardware_ports(PORTS)
    assert {name: macos.kind_of(name, ports) for name in
            ("en0", "en4", "bridge0", "lo0", "ppp0", "utun3", "awdl0", "en9")} == {
        "en0": "wifi", "en4": "ethernet", "bridge0": "virtual", "lo0": "loopback",
        "ppp0": "ppp", "utun3": "virtual", "awdl0": "virtual", "en9": "other"}


def test_adapters_from_psutil_with_their_hardware_ports(monkeypatch):
    import socket
    from types import SimpleNamespace

    import psutil
    monkeypatch.setattr(psutil, "net_if_stats", lambda: {
        "en0": SimpleNamespace(isup=True, mtu=1500, speed=0),
        "lo0": SimpleNamespace(isup=True, mtu=16384, speed=0)})
    seen = backend({"networksetup -listallhardwareports": (0, PORTS, "")})
    link = getattr(psutil, "AF_LINK", -1)
    seen.ctx.if_addrs = lambda: {"en0": [SimpleNamespace(family=link, address="A4:B1:C2:D3:E4:F5"),
                                         SimpleNamespace(family=socket.AF_INET, address="192.168.1.23")]}
    adapters = {a.name: a for a in seen.adapters()}
    assert (adapters["en0"].kind, adapters["en0"].carrier, adapters["en0"].mac,
            adapters["en0"].admin_up) == ("wifi", True, "a4:b1:c2:d3:e4:f5", None)
    assert adapters["lo0"].kind == "loopback" and adapters["en0"].speed_mbps is None
