"""The Windows backend's mappers on built raw snapshots (the shapes win32_raw reads), and the
checks reading those facts. Wine cannot show admin state, DHCP, metrics or PPP adapters (see
docs/platforms.md): these are proven here, on snapshots of a Chinese Windows 11 home PC."""
from __future__ import annotations

import copy
import time

from diagnose.checks import addressing, dns, gateway, interfaces, proxy, route
from diagnose.context import Context
from diagnose.model import CheckResult, Status
from diagnose.platform import NotObserved, windows

WLAN_MAC, ETH_MAC, ROUTER_MAC = "a4b1c2d3e4f5", "3c5282000001", "0c1d2e3f4a5b"

SNAPSHOT = {
    "os": "windows", "errors": {},
    "adapters": [
        {"if_index": 1, "adapter_name": "{LOOPBACK}", "friendly_name": "Loopback Pseudo-Interface 1",
         "description": "Software Loopback Interface 1", "if_type": 24, "oper_status": 1,
         "mtu": 4294967295, "flags": 0, "mac": None, "transmit_link_speed": 1073741824,
         "ipv4_metric": 75, "ipv6_metric": 75,
         "unicast": [{"address": "127.0.0.1", "prefix_length": 8, "prefix_origin": 2}],
         "dns_servers": ["fec0:0:0:ffff::1%1", "fec0:0:0:ffff::2%1"], "gateways": []},
        {"if_index": 11, "adapter_name": "{6B1F4A1C-0001}", "friendly_name": "以太网",
         "description": "Realtek PCIe GbE Family Controller", "if_type": 6, "oper_status": 2,
         "mtu": 1500, "flags": 0x4, "mac": ETH_MAC, "transmit_link_speed": 18446744073709551615,
         "ipv4_metric": 5, "ipv6_metric": 5, "unicast": [
             {"address": "169.254.12.34", "prefix_length": 16, "prefix_origin": 2}],
         "dns_servers": [], "gateways": []},
        {"if_index": 17, "adapter_name": "{6B1F4A1C-0002}", "friendly_name": "WLAN",
         "description": "Intel(R) Wi-Fi 6 AX201 160MHz", "if_type": 71, "oper_status": 1,
         "mtu": 1500, "flags": 0x4 | 0x180, "mac": WLAN_MAC, "transmit_link_speed": 866_700_000,
         "ipv4_metric": 35, "ipv6_metric": 35, "unicast": [
             {"address": "fe80::1c2b:3a4d:5e6f:7081%17", "prefix_length": 64, "prefix_origin": 4},
             {"address": "192.168.1.23", "prefix_length": 24, "prefix_origin": 3}],
         "dns_servers": ["192.168.1.1", "fec0:0:0:ffff::1%1"], "gateways": ["192.168.1.1"]},
        {"if_index": 23, "adapter_name": "{6B1F4A1C-0003}", "friendly_name": "宽带连接",
         "description": "宽带连接", "if_type": 23, "oper_status": 1, "mtu": 1480, "flags": 0,
         "mac": None, "transmit_link_speed": 100_000_000, "ipv4_metric": 10, "ipv6_metric": 10,
         "unicast": [{"address": "100.64.23.45", "prefix_length": 32, "prefix_origin": 1}],
         "dns_servers": ["202.96.128.86", "202.96.134.133"], "gateways": ["0.0.0.0"]},
        {"if_index": 31, "adapter_name": "{6B1F4A1C-0004}", "friendly_name": "vEthernet (Default Switch)",
         "description": "Hyper-V Virtual Ethernet Adapter", "if_type": 6, "oper_status": 1,
         "mtu": 1500, "flags": 0, "mac": "00155d000001", "transmit_link_speed": 10_000_000_000,
         "ipv4_metric": 5000, "ipv6_metric": 5000,
         "unicast": [{"address": "172.30.16.1", "prefix_length": 20, "prefix_origin": 1}],
         "dns_servers": [], "gateways": []},
    ],
    "if_table": [
        {"if_index": 1, "admin_status": 1, "media_connect_state": 1, "hardware_interface": False},
        {"if_index": 11, "admin_status": 1, "media_connect_state": 2, "hardware_interface": True},
        {"if_index": 17, "admin_status": 1, "media_connect_state": 1, "hardware_interface": True},
        {"if_index": 23, "admin_status": 1, "media_connect_state": 1, "hardware_interface": False},
        {"if_index": 31, "admin_status": 1, "media_connect_state": 1, "hardware_interface": False},
    ],
    "routes": [
        {"if_index": 17, "destination": "0.0.0.0", "prefix_length": 0, "next_hop": "192.168.1.1",
         "metric": 0},
        {"if_index": 23, "destination": "0.0.0.0", "prefix_length": 0, "next_hop": "0.0.0.0",
         "metric": 0},
        {"if_index": 17, "destination": "192.168.1.0", "prefix_length": 24, "next_hop": "0.0.0.0",
         "metric": 256},
    ],
    "neighbours": [
        {"if_index": 17, "address": "192.168.1.1", "mac": ROUTER_MAC, "state": 4},
        {"if_index": 17, "address": "192.168.1.77", "mac": "000000000000", "state": 0},
    ],
    "proxy_registry": {"ProxyEnable": 1, "ProxyServer": "http=127.0.0.1:7890;https=127.0.0.1:7890;socks=127.0.0.1:7891",
                       "ProxyOverride": "localhost;127.*;<local>"},
}


def backend(snapshot=None, env=None):
    ctx = Context(profile={}, privileged=False, deadline=time.monotonic() + 5, env=env or {})
    return windows.WindowsBackend(ctx, copy.deepcopy(snapshot or SNAPSHOT))


def context(snapshot=None, results=None, env=None):
    ctx = Context(profile={"probes": {"dns_names": [], "public_resolvers": []}}, privileged=False,
                  deadline=time.monotonic() + 5, results=results or {}, env=env or {})
    ctx.backend = windows.WindowsBackend(ctx, copy.deepcopy(snapshot or SNAPSHOT))
    return ctx


def test_adapters_kinds_state_and_chinese_names():
    found = {a.name: a for a in backend().adapters()}
    assert {name: a.kind for name, a in found.items()} == {
        "Loopback Pseudo-Interface 1": "loopback", "以太网": "ethernet", "WLAN": "wifi",
        "宽带连接": "ppp", "vEthernet (Default Switch)": "virtual"}
    assert found["以太网"].carrier is False and found["以太网"].admin_up is True
    assert found["以太网"].speed_mbps is None          # "unknown" speed is all ones
    assert found["WLAN"].speed_mbps == 866 and found["WLAN"].mac == "a4:b1:c2:d3:e4:f5"
    assert found["WLAN"].id == "{6B1F4A1C-0002}" and found["宽带连接"].mac is None


def test_disabled_adapter_is_admin_down():
    snapshot = copy.deepcopy(SNAPSHOT)
    snapshot["if_table"][1]["admin_status"] = 2
    assert next(a for a in backend(snapshot).adapters() if a.name == "以太网").admin_up is False


def test_no_if_table_leaves_admin_state_unobserved():
    snapshot = {**SNAPSHOT, "if_table": None}
    eth = next(a for a in backend(snapshot).adapters() if a.name == "以太网")
    assert eth.admin_up is None and eth.carrier is False  # OperStatus down


def test_addresses_dhcp_and_apipa():
    found = {(a.adapter, a.address): a for a in backend().addresses()}
    wlan = found[("WLAN", "192.168.1.23")]
    assert wlan.dhcp is True and wlan.prefixlen == 24 and not wlan.apipa
    assert found[("以太网", "169.254.12.34")].apipa
    assert found[("宽带连接", "100.64.23.45")].dhcp is False
    assert ("WLAN", "fe80::1c2b:3a4d:5e6f:7081") in found  # the zone is dropped


def test_default_routes_by_effective_metric():
    routes = backend().default_routes()
    assert [(r.adapter, r.metric, r.gateway) for r in routes] == [
        ("宽带连接", 10, None), ("WLAN", 35, "192.168.1.1")]


def test_neighbour_states():
    assert backend().neighbour("192.168.1.1").mac == "0c:1d:2e:3f:4a:5b"
    assert backend().neighbour("192.168.1.1").adapter == "WLAN"
    assert backend().neighbour("192.168.1.77").state == "incomplete"
    assert backend().neighbour("192.168.1.99").state == "absent"


def test_dns_per_adapter_in_route_order_without_placeholders():
    config = backend().dns()
    assert config.servers == ("202.96.128.86", "202.96.134.133", "192.168.1.1")
    assert config.per_adapter["WLAN"] == ("192.168.1.1",)
    assert "Loopback Pseudo-Interface 1" not in config.per_adapter


def test_proxy_from_internet_settings_and_environment():
    config = backend(env={"HTTPS_PROXY": "http://u:secret@10.0.0.5:3128"}).proxy()
    assert [(p.source, p.scheme, p.host, p.port) for p in config.proxies] == [
        ("HTTPS_PROXY", "http", "10.0.0.5", 3128),
        ("Internet Settings (http)", "http", "127.0.0.1", 7890),
        ("Internet Settings (https)", "http", "127.0.0.1", 7890),
        ("Internet Settings (socks)", "socks5", "127.0.0.1", 7891)]
    assert config.bypass == ("localhost", "127.*", "<local>")
    single = windows.map_proxy({"ProxyEnable": 1, "ProxyServer": "proxy.lan:8080"}, {})
    assert [(p.host, p.port) for p in single.proxies] == [("proxy.lan", 8080)]
    assert windows.map_proxy({"ProxyEnable": 0, "ProxyServer": "proxy.lan:8080"}, {}).proxies == ()


def test_a_part_that_could_not_be_read_is_not_observed():
    snapshot = {**SNAPSHOT, "errors": {"neighbours": "OSError: GetIpNetTable2 failed (1)"}}
    entry = backend(snapshot).neighbour("192.168.1.1")
    assert isinstance(entry, NotObserved) and "GetIpNetTable2" in entry.reason


def test_checks_on_windows_facts():
    ctx = context()
    routed = route.run(ctx)
    assert routed.status is Status.OK and routed.facts["device"] == "宽带连接"
    assert routed.facts["gateway"] is None
    ctx = context(results={"route": CheckResult(Status.OK, {"device": "WLAN",
                                                             "gateway": "192.168.1.1"})})
    adapters = interfaces.run(ctx)
    assert adapters.status is Status.OK and adapters.facts["primary"] == "WLAN"
    assert adapters.facts["primary_kind"] == "wifi" and adapters.facts["physical_count"] == 2
    ctx = context(results={"interfaces": adapters})
    addressed = addressing.run(ctx)
    assert addressed.status is Status.OK and addressed.facts["dhcp"] is True
    assert addressed.facts["ipv4"] == [{"address": "192.168.1.23", "prefixlen": 24}]


def test_checks_see_an_unplugged_ethernet_with_apipa():
    snapshot = copy.deepcopy(SNAPSHOT)
    snapshot["adapters"] = [a for a in snapshot["adapters"] if a["if_index"] in (1, 11)]
    snapshot["routes"] = []
    ctx = context(snapshot)
    assert route.run(ctx).status is Status.OK
    ctx = context(snapshot, {"route": CheckResult(Status.OK, {"device": None})})
    adapters = interfaces.run(ctx)
    assert adapters.facts["primary"] == "以太网" and adapters.status is Status.OK
    assert adapters.reason == "{interface} has no link (cable or Wi-Fi)"
    ctx = context(snapshot, {"interfaces": adapters})
    addressed = addressing.run(ctx)
    assert addressed.facts["apipa"] is True and addressed.status is Status.OK


def test_gateway_neighbour_and_dns_and_proxy_checks_read_windows_facts(monkeypatch):
    from diagnose.net import reach
    monkeypatch.setattr(reach, "host_answers", lambda address, ports, **kw: {
        "address": address, "icmp": {}, "tcp": [], "answers_ping": True, "answers_tcp": True,
        "reachable": True})
    ctx = context(results={"route": CheckResult(Status.OK, {"gateway": "192.168.1.1"})})
    assert gateway.run(ctx).facts["neighbour"] == {"state": "resolved", "mac": "0c:1d:2e:3f:4a:5b",
                                                   "device": "WLAN"}
    ctx = context()
    assert dns.run(ctx).facts["configured"] == ["202.96.128.86", "202.96.134.133", "192.168.1.1"]
    assert dns.run(ctx).facts["configured_source"] == "GetAdaptersAddresses"
    found = proxy.configured(ctx.system.proxy().proxies)
    assert [p["variables"] for p in found] == [["Internet Settings (http)", "Internet Settings (https)"],
                                                ["Internet Settings (socks)"]]


def test_router_searches_from_the_windows_address_of_the_default_adapter():
    from diagnose.checks import router
    ctx = context()
    assert str(router.local_network(ctx, "WLAN", "192.168.1.1")) == "192.168.1.23/24"
    assert router.local_network(ctx, "宽带连接", "192.168.1.1") is None     # a /32 PPP address
    broken = context({**SNAPSHOT, "errors": {"adapters": "OSError: GetAdaptersAddresses failed"}})
    assert router.local_network(broken, "WLAN", "192.168.1.1") is None
