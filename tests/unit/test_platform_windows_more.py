"""The Windows facts Wine stubs (RAS, the event log, WLAN, the firewall, WinHTTP) and the ones it
shows (the chosen route, the hosts file's place), mapped from built raw snapshots: the shapes
win32_raw reads, for a Chinese Windows 11 home PC."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from diagnose.platform import Dialer, NotObserved, windows
from tests.unit.test_platform_windows import SNAPSHOT, backend, context

EVENTS = Path(__file__).with_name("windows_events")


def events(name: str) -> list[str]:
    return (EVENTS / name).read_text(encoding="utf-8").splitlines()


def with_parts(**parts) -> dict:
    return {**copy.deepcopy(SNAPSHOT), **parts}


def test_the_route_chosen_per_destination():
    snapshot = with_parts(best_routes={
        "223.5.5.5": {"if_index": 23, "next_hop": "0.0.0.0", "source": "100.64.23.45"},
        "192.168.1.1": {"if_index": 17, "next_hop": "0.0.0.0", "source": "192.168.1.23"},
        "10.8.0.1": {"error": 1231}})
    paths = backend(snapshot).route_paths(["192.168.1.1", "223.5.5.5", "10.8.0.1"])
    assert [(p.target, p.adapter, p.gateway, p.source) for p in paths] == [
        ("192.168.1.1", "WLAN", None, "192.168.1.23"),
        ("223.5.5.5", "宽带连接", None, "100.64.23.45")]      # 1231: no route, left out
    assert isinstance(backend().route_paths(["223.5.5.5"]), NotObserved)   # not recorded


def test_winhttp_view_first_then_registry_additions_then_environment():
    winhttp = {"auto_detect": True, "auto_config_url": "http://wpad.lan/proxy.pac",
               "proxy": "127.0.0.1:7890", "proxy_bypass": "<local> *.corp"}
    config = windows.map_proxy({"ProxyEnable": 1, "ProxyServer": "127.0.0.1:7890;socks=127.0.0.1:7891",
                                "ProxyOverride": "<local>;10.*"},
                               {"HTTP_PROXY": "10.0.0.5:3128"}, winhttp)
    assert [(p.source, p.scheme, p.host, p.port) for p in config.proxies] == [
        ("HTTP_PROXY", "http", "10.0.0.5", 3128), ("WinHTTP", "http", "127.0.0.1", 7890),
        ("Internet Settings (socks)", "socks5", "127.0.0.1", 7891)]
    assert config.bypass == ("<local>", "*.corp", "10.*")
    assert config.auto_detect is True and config.auto_config_url == "http://wpad.lan/proxy.pac"
    # WinHTTP unreadable (a recorded snapshot without it): the registry alone
    assert backend().proxy().auto_detect is None


def test_hosts_file_where_tcpip_reads_it():
    assert windows.map_hosts_file(None) == r"C:\Windows\System32\drivers\etc\hosts"
    assert windows.map_hosts_file({"database_path": r"%SystemRoot%\System32\drivers\etc",
                                   "system_root": r"D:\WINDOWS"}) == r"D:\WINDOWS\System32\drivers\etc\hosts"
    shown, _ = backend(with_parts(hosts_folder={"database_path": r"E:\etc", "system_root": "C:\\W"})
                       ).hosts_file()
    assert shown == r"E:\etc\hosts"


def test_lookup_reads_the_windows_hosts_file(tmp_path, monkeypatch):
    from diagnose.net import hostsfile
    hosts = tmp_path / "hosts"
    hosts.write_bytes("# 主机文件\r\n0.0.0.0 www.baidu.com\r\n".encode("utf-8"))
    ctx = context()
    monkeypatch.setattr(ctx.system, "hosts_file", lambda: (r"C:\Windows\System32\drivers\etc\hosts",
                                                           hosts))
    seen = hostsfile.hosts_entries(ctx, {"www.baidu.com"}, ctx.system.hosts_file())
    assert seen == {"readable": True, "path": r"C:\Windows\System32\drivers\etc\hosts",
                    "entries": {"www.baidu.com": ["0.0.0.0"]}, "error": None}


def test_firewall_profiles_with_group_policy_overriding():
    raw = {"domain": {"local": {"EnableFirewall": 1}, "policy": None},
           "private": {"local": {"EnableFirewall": 1, "DefaultOutboundAction": 0},
                       "policy": {"DefaultOutboundAction": 1}},
           "public": {"local": {"EnableFirewall": 0, "DefaultInboundAction": 1}, "policy": None}}
    profiles = {p.name: p for p in backend(with_parts(firewall_registry=raw)).local_firewall().profiles}
    assert profiles["private"].outbound_blocked is True and profiles["private"].managed
    assert profiles["domain"].outbound_blocked is None      # absent: Windows' default, not seen
    assert profiles["public"].enabled is False and profiles["public"].inbound_blocked is True
    failed = with_parts(errors={"firewall_registry": "PermissionError: denied"},
                        firewall_registry=None)
    assert isinstance(backend(failed).local_firewall(), NotObserved)


RAS_ENTRIES = [{"name": "宽带连接", "all_users": False, "phonebook": {"Type": "5", "MEDIA": "rastapi",
                                                                     "Device": "WAN Miniport (PPPOE)"}},
               {"name": "公司VPN", "all_users": True, "phonebook": {"Type": "2"}},
               {"name": "旧拨号", "all_users": False, "phonebook": {"error": "OSError: gone"}}]


def dialer(connections=(), event_file=None, **more) -> Dialer:
    snapshot = with_parts(ras_entries=RAS_ENTRIES, ras_connections=list(connections),
                          ras_events=events(event_file) if event_file else [], **more)
    return backend(snapshot).dialer()


def test_dialer_entries_and_connections():
    found = dialer([{"name": "宽带连接", "device_type": "PPPoE", "state": 0x2000, "error": 0},
                    {"name": "公司VPN", "device_type": "vpn", "state": 9, "error": 0}])
    assert [(e.name, e.kind, e.phonebook) for e in found.entries] == [
        ("宽带连接", "pppoe", "user"), ("公司VPN", "vpn", "all users"), ("旧拨号", "unknown", "user")]
    assert [(c.name, c.device_type, c.state) for c in found.connections] == [
        ("宽带连接", "PPPoE", "connected"), ("公司VPN", "vpn", "connecting")]
    assert found.events == () and found.last_failure is None


@pytest.mark.parametrize("event_file, error, stages", [
    ("dial_651.xml", 651, ["failed", "dialing", "dialing"]),
    ("dial_691_after_651.xml", 691, ["failed", "dialing", "dialing", "failed"]),
    ("connected_after_failure.xml", None, ["connected", "dialing", "failed"]),
])
def test_last_dial_failure_from_rasclient_events(event_file, error, stages):
    found = dialer(event_file=event_file)
    assert [e.stage for e in found.events] == stages
    assert all(e.entry == "宽带连接" for e in found.events)
    assert (found.last_failure.error if found.last_failure else None) == error
    # the Windows user's name in the events is never kept
    assert "张伟" not in repr(found)


@pytest.mark.parametrize("error", [651, 678, 691, 718, 734, 769, 815])
def test_each_failure_number_is_read_from_its_event(error):
    xml = events("dial_651.xml")[0].replace("<Data>651</Data>", f"<Data>{error}</Data>")
    event = windows.map_ras_event(xml)
    assert (event.event_id, event.stage, event.error, event.entry) == (20227, "failed", error,
                                                                         "宽带连接")
    assert event.attempt == "{6D2E8F1A-3B4C-4D5E-8F90-A1B2C3D4E5F6}"


def test_foreign_or_broken_events_are_dropped():
    assert windows.map_ras_event("<Event><System><Provider Name='x'/></System></Event>") is None
    assert windows.map_ras_event("<Event") is None
    assert windows.map_ras_events(["<nope/>", *events("dial_651.xml")])[0].error == 651


def test_dialer_parts_not_observed_where_wine_or_a_snapshot_lacks_them():
    found = backend().dialer()       # a recorded snapshot without RAS parts
    assert isinstance(found.entries, NotObserved) and isinstance(found.events, NotObserved)
    assert found.last_failure is None
    failed = dialer(errors={"ras_events": "OSError: [WinError 120] EvtQuery failed"})
    assert isinstance(failed.events, NotObserved) and "EvtQuery" in failed.events.reason


WLAN_GUID = "{6B1F4A1C-0002}"


def test_wifi_link_from_the_wlan_api():
    wlan = [{"guid": WLAN_GUID.lower(), "state": 1, "signal_quality": 62, "rx_rate_kbps": 866700,
             "tx_rate_kbps": 585000, "phy_type": 10, "rssi_dbm": -67, "channel": 44},
            {"guid": "{OTHER}", "state": 4, "rssi_dbm": None, "channel": None}]
    links = backend(with_parts(wlan_interfaces=wlan)).wifi_links(["WLAN"])
    link = links["WLAN"]
    assert (link.connected, link.signal_dbm, link.link_quality_pct, link.tx_bitrate_mbps,
            link.rx_bitrate_mbps, link.sources) == (True, -67, 62, 585.0, 866.7, ("wlanapi",))
    disconnected = [{"guid": WLAN_GUID, "state": 4, "signal_quality": 0, "rssi_dbm": 0}]
    link = backend(with_parts(wlan_interfaces=disconnected)).wifi_links(["WLAN"])["WLAN"]
    assert link.connected is False and link.signal_dbm is None and link.link_quality_pct is None
    assert isinstance(backend().wifi_links(["WLAN"]), NotObserved)


def test_wifi_check_on_the_wlan_api():
    from diagnose.checks import interfaces, wifi
    from diagnose.model import CheckResult, Status
    wlan = [{"guid": WLAN_GUID, "state": 1, "signal_quality": 30, "rx_rate_kbps": 72000,
             "tx_rate_kbps": 65000, "rssi_dbm": -81}]
    snapshot = with_parts(wlan_interfaces=wlan)
    adapters = interfaces.run(context(snapshot, results={"route": CheckResult(
        Status.OK, {"device": "WLAN", "gateway": "192.168.1.1"})}))
    result = wifi.run(context(snapshot, results={"interfaces": adapters}))
    assert result.status is Status.OK
    assert (result.facts["signal_dbm"], result.facts["link_quality_pct"],
            result.facts["tx_bitrate_mbps"]) == (-81, 30, 65.0)


def test_paths_check_on_getbestroute2():
    from diagnose.checks import paths
    from diagnose.model import CheckResult, Status
    snapshot = with_parts(best_routes={
        "192.168.1.1": {"if_index": 17, "next_hop": "0.0.0.0", "source": "192.168.1.23"},
        "223.5.5.5": {"if_index": 31, "next_hop": "172.30.16.2", "source": "172.30.16.1"},
        "202.96.128.86": {"error": 1231}})
    profile = {"probes": {"ping_targets": ["223.5.5.5"], "public_resolvers": [],
                          "dns_names": []}}
    ctx = context(snapshot, results={"route": CheckResult(Status.OK, {
        "device": "WLAN", "gateway": "192.168.1.1", "default_routes": []})})
    ctx.profile = profile
    ctx.root = Path("/nonexistent-root")          # no /proc: as on Windows
    result = paths.run(ctx)
    assert result.facts["ip_tool"] == "platform"
    assert [(p["target"], p["dev"], p["tunnel"]) for p in result.facts["paths"]] == [
        ("192.168.1.1", "WLAN", False), ("223.5.5.5", "vEthernet (Default Switch)", True)]
    assert result.facts["unrouted"] == ["202.96.128.86", "202.96.134.133"]
    assert result.facts["beyond_via_tunnel"] is True and result.facts["beyond_off_default"] is True
    assert result.facts["tunnel_devices"] == ["vEthernet (Default Switch)"]


def test_a_failing_getbestroute2_is_not_observed_not_unrouted():
    snapshot = with_parts(best_routes={"223.5.5.5": {"error": 50}, "192.168.1.1": {"error": 50}})
    seen = backend(snapshot).route_paths(["192.168.1.1", "223.5.5.5"])
    assert isinstance(seen, NotObserved) and "(50)" in seen.reason      # Wine: not supported
    snapshot = with_parts(best_routes={"223.5.5.5": {"error": 1231}})
    assert backend(snapshot).route_paths(["223.5.5.5"]) == []           # really no route


def test_paths_check_says_the_route_lookup_is_missing_not_the_ip_tool():
    """Wine: GetBestRoute2 answers 50. There is no ip tool to fall back on either, and the
    reason says what really failed, in English and Chinese."""
    from diagnose import i18n
    from diagnose.checks import paths
    from diagnose.model import CheckResult, Status
    snapshot = with_parts(best_routes={"223.5.5.5": {"error": 50}, "192.168.1.1": {"error": 50}})
    ctx = context(snapshot, results={"route": CheckResult(Status.OK, {
        "device": "WLAN", "gateway": "192.168.1.1", "default_routes": []})})
    ctx.profile = {"probes": {"ping_targets": ["223.5.5.5"], "public_resolvers": [],
                              "dns_names": []}}
    ctx.root = Path("/nonexistent-root")          # no /proc: as on Windows
    result = paths.run(ctx)
    assert result.status is Status.SKIPPED and result.facts["paths"] is None
    assert result.reason == "the route lookup is not available on this system ({error})"
    assert result.reason_args == {"error": "GetBestRoute2 failed (50)"}
    assert "ip tool" not in result.reason
    chinese = i18n.catalog("zh_CN").gettext(result.reason)
    assert chinese != result.reason and "{error}" in chinese


def test_firewall_check_shows_the_windows_profiles_for_a_refused_send(monkeypatch):
    import errno

    from diagnose.checks import firewall
    from diagnose.model import CheckResult, Status

    def refused(address, port=53):
        return {"to": address, "proto": "udp", "port": port,
                **firewall._outcome(PermissionError(errno.EACCES, "forbidden"))}
    monkeypatch.setattr(firewall, "udp_send", refused)
    monkeypatch.setattr(firewall, "icmp_send", lambda address: {"to": address, "proto": "icmp",
                                                                "outcome": "not_run"})
    raw = {name: {"local": {"EnableFirewall": 1, "DefaultOutboundAction": 1 if name == "public"
                            else 0}, "policy": None} for name in ("domain", "private", "public")}
    ctx = context(with_parts(firewall_registry=raw),
                  results={"route": CheckResult(Status.OK, {"gateway": "192.168.1.1"})})
    ctx.profile = {"probes": {"public_resolvers": ["223.5.5.5"], "ping_targets": []}}
    result = firewall.run(ctx)
    assert result.status is Status.OK and result.facts["ruleset"]["outcome"] == "read"
    assert result.facts["ruleset_drops"] is True
    assert [p["name"] for p in result.facts["ruleset"]["profiles"]] == ["domain", "private", "public"]


@pytest.mark.parametrize("event_file, outcome, error", [
    ("dial_651.xml", "no_pado", 651),
    ("dial_691_after_651.xml", "auth_refused", 691),
    ("connected_after_failure.xml", None, None),
])
def test_the_last_dial_as_the_pppoe_log_outcome(event_file, outcome, error):
    import datetime

    from diagnose.net import ras_log
    now = datetime.datetime(2026, 11, 30, 12, 6, 4, tzinfo=datetime.timezone.utc)
    seen = ras_log.read(dialer(event_file=event_file), now)
    assert (seen["outcome"], seen["ras_error"], seen["source"]) == (outcome, error,
                                                                    "RasClient events")
    if error == 691:
        assert seen["step"] == "auth" and seen["entry"] == "宽带连接" and seen["age_s"] == 60


@pytest.mark.parametrize("error, outcome", [(651, "no_pado"), (678, "no_pado"), (815, "no_pado"),
                                            (691, "auth_refused"), (718, "auth_timeout"),
                                            (734, "lcp_failed"), (769, None)])
def test_ras_errors_as_outcomes(error, outcome):
    from diagnose.net import ras_log
    xml = events("dial_651.xml")[0].replace("<Data>651</Data>", f"<Data>{error}</Data>")
    seen = ras_log.read(backend(with_parts(ras_entries=RAS_ENTRIES, ras_connections=[],
                                           ras_events=[xml])).dialer())
    assert seen["outcome"] == outcome and seen["ras_error"] == error


def test_every_ras_outcome_is_one_the_pppoe_stage_rules_weigh():
    import yaml

    from diagnose.net import ras_log
    derive = next(entry for entry in yaml.safe_load(
        (Path(__file__).parents[2] / "rules" / "access-line.yaml").read_text(encoding="utf-8"))
        if entry.get("derive") == "pppoe")
    failed = next(step["when"]["in"] for step in derive["first"]
                  if step["when"].get("fact") == "pppoe.log.outcome" and "in" in step["when"])
    assert {outcome for outcome, _ in ras_log.RAS_ERROR_OUTCOMES.values()} <= set(failed)


def test_no_event_log_is_not_observed():
    from diagnose.net import ras_log
    seen = ras_log.read(dialer(errors={"ras_events": "OSError: EvtQuery failed"}))
    assert seen["outcome"] is None and "EvtQuery" in seen["reason"]
    assert ras_log.read(NotObserved("the dialer: not read on linux yet"))["reason"]


def pppoe_on_windows(snapshot, options=None, test_dial=None):
    from diagnose.checks import interfaces, pppoe
    from diagnose.model import CheckResult, Status
    route = CheckResult(Status.OK, {"device": None, "gateway": None, "has_default": False})
    adapters = interfaces.run(context(snapshot, results={"route": route}))
    ctx = context(snapshot, results={"interfaces": adapters, "route": route,
                                     "gateway": CheckResult(Status.SKIPPED, {})})
    ctx.options = options or {}
    if test_dial is not None:
        ctx.backend.test_dial = test_dial.__get__(ctx.backend)
    return pppoe.run(ctx)


def test_pppoe_check_reads_the_windows_dialer_and_its_last_failure():
    """宽带连接 configured, not connected (its PPP adapter only exists while connected), the
    last dial refused the account: 691, the stage the rules call auth_refused."""
    from diagnose.engine import derive, pack
    from diagnose.model import CheckResult, Status
    snapshot = with_parts(ras_entries=RAS_ENTRIES, ras_connections=[],
                          ras_events=events("dial_691_after_651.xml"))
    snapshot["adapters"] = [a for a in snapshot["adapters"] if a["friendly_name"] != "宽带连接"]
    result = pppoe_on_windows(snapshot)
    facts = result.facts
    assert facts["is_dialer"] is True and facts["session_up"] is False
    assert facts["system_dialer"]["entries"][0] == {"name": "宽带连接", "kind": "pppoe"}
    assert (facts["log"]["outcome"], facts["log"]["ras_error"]) == ("auth_refused", 691)
    from diagnose.checks import BY_ID
    rules = pack.load(None, set(BY_ID))
    seen = derive.apply(rules.derivations, {"pppoe": CheckResult(Status.OK, facts)})["pppoe"].facts
    assert (seen["stage"], seen["stage_source"], seen["windows_error"]) == ("auth_refused", "log", 691)


def test_pppoe_check_sees_a_connected_windows_session():
    snapshot = with_parts(ras_entries=RAS_ENTRIES, ras_events=[], ras_connections=[
        {"name": "宽带连接", "device_type": "PPPoE", "state": 0x2000, "error": 0}])
    facts = pppoe_on_windows(snapshot).facts
    assert facts["session_up"] is True and facts["log"]["reason"] == "not needed"


def test_pppoe_check_on_linux_keeps_its_own_sources():
    from diagnose.checks import pppoe
    assert pppoe._system_dialer(NotObserved("the dialer: not read on linux yet")) == {
        "entries": [], "connections": [], "reason": "the dialer: not read on linux yet"}
