"""The PC-side checks' logic without a network: hosts file, nsswitch, system lookups."""
from __future__ import annotations

import errno
import socket
from types import SimpleNamespace

import pytest

from diagnose.checks import lookup
from diagnose.net import hostsfile


def test_hosts_file_entries_for_wanted_names_only():
    text = ("127.0.0.1 localhost\n# 1.2.3.4 www.baidu.com\n0.0.0.0 WWW.Baidu.com. ads.example\n"
            "fe80::1%eth0 www.qq.com\nbad-address www.qq.com\n10.0.0.1\n"
            "10.0.0.2 www.baidu.com # trailing\n")
    assert hostsfile.parse_hosts(text, {"www.baidu.com", "www.qq.com", "www.bing.com"}) == {
        "www.baidu.com": ["0.0.0.0", "10.0.0.2"], "www.qq.com": ["fe80::1"]}


def test_nsswitch_hosts_line():
    assert hostsfile.parse_nsswitch_hosts(
        "passwd: files\nhosts: files mdns4_minimal [NOTFOUND=return] dns # c\n") == [
        "files", "mdns4_minimal", "dns"]
    assert hostsfile.parse_nsswitch_hosts("passwd: files\n") is None


class Ctx:
    def __init__(self, root):
        self.root = root

    def path(self, absolute):
        return self.root / absolute.lstrip("/")


def test_unreadable_hosts_file_is_not_observed(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hosts").mkdir()        # reading a directory fails: not "no entries"
    seen = hostsfile.hosts_entries(Ctx(tmp_path), {"www.baidu.com"})
    assert seen["readable"] is False and seen["error"]
    assert hostsfile.nsswitch_hosts(Ctx(tmp_path)) == {"sources": None, "error": None}


def test_network_answers_prefer_router_and_public_and_never_a_local_resolver():
    queries = [
        {"server": "127.0.0.1", "name": "a.test", "outcome": "answer", "answers": ["0.0.0.0"]},
        {"server": "192.168.1.1", "name": "a.test", "outcome": "answer", "answers": ["1.1.1.80"]},
        {"server": "223.5.5.5", "name": "A.test.", "outcome": "answer", "answers": ["1.1.1.81"]},
        {"server": "10.0.0.53", "name": "b.test", "outcome": "answer", "answers": ["2.2.2.2"]},
        {"server": "127.0.0.1", "name": "c.test", "outcome": "answer", "answers": ["0.0.0.0"]},
    ]
    network, configured = ["192.168.1.1", "223.5.5.5"], ["127.0.0.1", "10.0.0.53"]
    assert lookup.network_answers(queries, "a.test", network, configured) == ["1.1.1.80", "1.1.1.81"]
    assert lookup.network_answers(queries, "b.test", network, configured) == ["2.2.2.2"]
    assert lookup.network_answers(queries, "c.test", network, configured) == []


def test_system_lookup_outcomes():
    assert lookup._outcome("a", {"addresses": ["1.2.3.4"], "ms": 1.0})["outcome"] == "answer"
    gone = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert lookup._outcome("a", {"gaierror": gone})["outcome"] == "not_found"
    again = socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    assert lookup._outcome("a", {"gaierror": again})["outcome"] == "no_answer"
    assert lookup._outcome("a", {})["outcome"] == "timeout"    # still waiting when time ran out


def test_a_hung_system_lookup_costs_only_the_wait(monkeypatch):
    import threading
    import time
    release = threading.Event()
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: release.wait(5) and [])
    started = time.monotonic()
    seen = lookup.system_lookups(["a.test", "b.test"], 0.02)
    release.set()
    assert time.monotonic() - started < 1.0
    assert [s["outcome"] for s in seen] == ["timeout", "timeout"]


def test_names_are_profile_names_and_url_hosts():
    profile = {"probes": {"dns_names": ["www.baidu.com", "WWW.QQ.COM."],
                          "connectivity_urls": ["http://connect.rom.miui.com/generate_204",
                                                "http://203.0.113.80/generate_204",
                                                "https://www.baidu.com/"]}}
    assert lookup._names(profile) == ["www.baidu.com", "www.qq.com", "connect.rom.miui.com"]


# --- firewall ------------------------------------------------------------------------------------
from diagnose.checks import firewall, paths  # noqa: E402
from diagnose.net import localfirewall  # noqa: E402

NFT = {"nftables": [
    {"metainfo": {"version": "1.0.6"}},
    {"table": {"family": "inet", "name": "filter", "handle": 1}},
    {"chain": {"family": "inet", "table": "filter", "name": "output", "hook": "output",
               "type": "filter", "prio": 0, "policy": "accept"}},
    {"chain": {"family": "inet", "table": "filter", "name": "input", "hook": "input",
               "type": "filter", "prio": 0, "policy": "drop"}},
    {"rule": {"family": "inet", "table": "filter", "chain": "output",
              "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}},
                                  "right": "eth0"}}, {"reject": None}]}},
    {"rule": {"family": "inet", "table": "filter", "chain": "input", "expr": [{"drop": None}]}},
]}


def test_nft_summary_counts_only_the_output_path():
    seen = localfirewall.summarize_nft(NFT)
    assert seen["tables"] == ["inet filter"]
    assert seen["output_chains"] == [{"table": "inet filter", "chain": "output", "hook": "output",
                                      "policy": "accept", "dropping_rules": 1,
                                      "tcp_dropping_rules": 1}]
    assert seen["output_drops"] is True
    # a reject naming no protocol stops TCP too, on every port
    assert seen["output_drops_tcp"] is True and seen["dropped_tcp_ports"] == ["all"]
    empty = localfirewall.summarize_nft({"nftables": []})
    assert empty["output_drops"] is False and empty["output_drops_tcp"] is False
    assert empty["dropped_tcp_ports"] == []


def _match(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


L4PROTO = {"meta": {"key": "l4proto"}}
TCP_DPORT = {"payload": {"protocol": "tcp", "field": "dport"}}


@pytest.mark.parametrize("expressions, stops", [
    ([_match(L4PROTO, "tcp"), {"drop": None}], (True, ["all"])),                  # all TCP
    ([_match(TCP_DPORT, {"set": [80, 443]}), {"drop": None}], (True, [80, 443])),  # the web only
    ([_match({"payload": {"protocol": "ip", "field": "protocol"}}, "tcp"),
      {"reject": {"type": "icmp"}}], (True, ["all"])),
    ([_match({"meta": {"key": "oifname"}}, "eth0"), _match(TCP_DPORT, {"range": [8000, 8080]}),
      {"drop": None}], (True, ["8000-8080"])),
    ([_match({"payload": {"protocol": "udp", "field": "dport"}}, 53), {"drop": None}], (False, [])),
    ([_match(L4PROTO, "tcp", "!="), {"drop": None}], (False, [])),                # all but TCP
    ([_match({"payload": {"protocol": "ip", "field": "daddr"}}, "1.2.3.4"), {"drop": None}],
     (True, ["all"])),                                                           # no protocol named
], ids=["l4proto", "web-ports", "ip-protocol", "port-range", "udp-only", "not-tcp", "address"])
def test_which_dropping_rules_stop_tcp(expressions, stops):
    assert localfirewall.tcp_drop(expressions) == stops


def test_tcp_dropped_by_policy_means_every_port():
    drop_all = {"nftables": [{"chain": {"family": "ip", "table": "t", "name": "out",
                                        "hook": "output", "policy": "drop"}}]}
    seen = localfirewall.summarize_nft(drop_all)
    assert seen["output_drops_tcp"] is True and seen["dropped_tcp_ports"] == ["all"]


class Done:
    def __init__(self, returncode=0, stdout="", stderr=""):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def test_ruleset_not_read_is_not_observed():
    assert localfirewall.nft_ruleset(lambda a, t: Done(), privileged=False)["outcome"] == "not_permitted"
    assert localfirewall.nft_ruleset(lambda a, t: None, privileged=True)["outcome"] == "no_tool"
    refused = Done(1, stderr="Operation not permitted (you must be root)")
    assert localfirewall.nft_ruleset(lambda a, t: refused, privileged=True)["outcome"] == "not_permitted"
    assert localfirewall.nft_ruleset(lambda a, t: Done(0, "garbage"), privileged=True)["outcome"] == "error"
    import json
    read = localfirewall.nft_ruleset(lambda a, t: Done(0, json.dumps(NFT)), privileged=True)
    assert read["outcome"] == "read" and read["output_drops"] is True


def test_udp_send_outcomes(monkeypatch):
    assert firewall.udp_send("127.0.0.1", 9)["outcome"] == "sent"
    import errno

    class Refusing:
        def __init__(self, *a):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def setblocking(self, flag):
            pass

        def sendto(self, data, to):
            raise PermissionError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(firewall.socket, "socket", Refusing)
    assert firewall.udp_send("192.0.2.1")["outcome"] == "not_permitted"


# --- paths ---------------------------------------------------------------------------------------
ROUTE_GET = (
    '[{"dst":"192.168.1.1","dev":"eth0","prefsrc":"192.168.1.10","flags":[],"uid":0,"cache":[]}]\n'
    '[{"dst":"223.5.5.5","dev":"tun0","table":"100","prefsrc":"10.8.0.2","flags":[],"cache":[]}]\n'
    '[{"priority":0,"src":"all","table":"local"},{"priority":100,"dst":"203.0.113.0",'
    '"dstlen":24,"table":"100"},{"priority":32766,"src":"all","table":"main"}]\n')


def test_route_get_and_rules_parsed():
    got = paths.parse_route_get(ROUTE_GET)
    assert [(p["target"], p["dev"], p["via"], p["table"]) for p in got] == [
        ("192.168.1.1", "eth0", None, "main"), ("223.5.5.5", "tun0", None, "100")]
    assert paths.custom_rules(ROUTE_GET.splitlines()[2]) == [
        {"priority": 100, "table": "100", "selector": {"dst": "203.0.113.0", "dstlen": 24}}]


def test_split_default_routes():
    header = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
    half = "tun0\t{dst}\t00000000\t0001\t0\t0\t0\t00000080\t0\t0\t0\n"
    assert paths.split_default(header + half.format(dst="00000000") + half.format(dst="00000080"))
    assert not paths.split_default(header + half.format(dst="00000000"))


def test_tunnel_adapters_by_sysfs(tmp_path):
    for name, files in {"tun0": {"tun_flags": "0x1001", "type": "65534"},
                        "wg0": {"type": "65534"}, "eth0": {"type": "1"}}.items():
        (tmp_path / "sys/class/net" / name).mkdir(parents=True)
        for file, text in files.items():
            (tmp_path / "sys/class/net" / name / file).write_text(text + "\n")
    context = Ctx(tmp_path)
    assert [paths.is_tunnel(context, n) for n in ("tun0", "wg0", "eth0", "missing", None)] == [
        True, True, False, False, False]
    assert [paths.default_via_tunnel(context, n) for n in ("tun0", "eth0", None)] == [
        True, False, None]


def test_default_via_tunnel_without_sysfs_asks_the_platform(tmp_path):
    """Windows: no sysfs; the adapter's kind says it, and unread adapters are not observed."""
    from diagnose.platform import NotObserved
    context = Ctx(tmp_path)
    context.system = SimpleNamespace(adapters=lambda: [
        SimpleNamespace(name="Wintun", kind="virtual"), SimpleNamespace(name="Ethernet", kind="ethernet")])
    assert [paths.default_via_tunnel(context, n) for n in ("Wintun", "Ethernet", "gone")] == [
        True, False, None]
    context.system = SimpleNamespace(adapters=lambda: NotObserved("no adapters", "test"))
    assert paths.default_via_tunnel(context, "Wintun") is None


# --- ip_settings ---------------------------------------------------------------------------------
from diagnose.checks import ip_settings  # noqa: E402

ADDR = ('[{"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet","local":"192.168.1.10",'
        '"prefixlen":24,"dynamic":true,"valid_life_time":86107,"preferred_life_time":86107},'
        '{"family":"inet","local":"10.0.0.10","prefixlen":24,"valid_life_time":4294967295,'
        '"preferred_life_time":4294967295}]}]')


def test_address_origin_from_its_lifetime():
    assert ip_settings.address_origin(ADDR, "192.168.1.10") == {"origin": "dhcp", "valid_lft": 86107}
    assert ip_settings.address_origin(ADDR, "10.0.0.10") == {"origin": "static", "valid_lft": None}
    assert ip_settings.address_origin(ADDR, "10.9.9.9")["origin"] is None
    assert ip_settings.address_origin("not json", "10.0.0.10")["origin"] is None


def test_arp_state_of_the_gateway():
    table = ("IP address       HW type     Flags       HW address            Mask     Device\n"
             "192.168.1.1      0x1         0x2         aa:bb:cc:dd:ee:ff     *        eth0\n"
             "10.0.0.1         0x1         0x0         00:00:00:00:00:00     *        eth0\n")
    assert [ip_settings.arp_state(table, a) for a in ("192.168.1.1", "10.0.0.1", "10.0.0.2")] == [
        "resolved", "incomplete", "absent"]


# ------------------------------------------------------------------ class 7: TCP interception
from diagnose.net import intercept  # noqa: E402

from .test_line_quality import closed_port, listener  # noqa: E402,F401  (listener: a fixture)


def test_intercept_reads_accepts_and_refusals_on_loopback(listener):
    """Stand-ins for the documentation addresses: one accepting, two refusing."""
    pending = intercept.Pending((("127.0.0.1", listener), ("127.0.0.1", closed_port()),
                                 ("127.0.0.1", closed_port())))
    facts = pending.finish()
    assert [p["outcome"] for p in facts["probes"]] == ["open", "refused", "refused"]
    assert (facts["accepted"], facts["probed"]) == (1, 3)
    assert facts["slowest_accept_ms"] is not None and facts["waited_ms"] >= 0


def test_intercept_everything_accepted_is_counted(listener):
    facts = intercept.Pending((("127.0.0.1", listener),) * 3).finish()
    assert facts["accepted"] == 3 and facts["probed"] == 3


def test_a_connect_still_pending_is_not_accepted_and_its_socket_closed(monkeypatch, listener):
    pending = intercept.Pending((("127.0.0.1", listener),))
    sockets = [e["sock"] for e in pending.entries if e["sock"] is not None]
    monkeypatch.setattr(intercept.select, "select", lambda r, w, x, t: ([], [], []))
    facts = pending.finish(until=0.0)
    if sockets:   # loopback may accept at once, before finish is called
        assert facts["probes"][0]["outcome"] == "timeout" and facts["accepted"] == 0
        assert all(sock.fileno() == -1 for sock in sockets)


@pytest.mark.parametrize("code, outcome", [(0, "open"), (errno.ECONNREFUSED, "refused"),
                                           (errno.ENETUNREACH, "unreachable"),
                                           (errno.EHOSTUNREACH, "unreachable"),
                                           (errno.ETIMEDOUT, "timeout"), (errno.EPERM, "error")])
def test_intercept_outcomes(code, outcome):
    assert intercept._outcome(code) == outcome


def test_intercept_probes_only_documentation_addresses_on_distinct_ports():
    import ipaddress
    documentation = ipaddress.ip_network("192.0.2.0/24")
    assert all(ipaddress.ip_address(a) in documentation for a, _ in intercept.PROBES)
    assert len({port for _, port in intercept.PROBES}) == len(intercept.PROBES)


# --- TCP stopped on this computer (firewall check, net/syn_probe.py) ------------------------------
from diagnose.checks import internet  # noqa: E402
from diagnose.net import syn_probe  # noqa: E402

from .virtual_clock import VirtualClock  # noqa: E402


def _tcp_info(state, retransmits, retrans):
    import struct
    return struct.pack("=8B8I", state, 0, retransmits, 0, 0, 0, 0, 0,
                       1000000, 0, 536, 536, 1, 0, 1, retrans) + bytes(72)


def _meminfo(held):
    import struct
    return struct.pack("=9I", 0, 131072, held, 16384, 3264, 832, 0, 0, 0)


def test_tcp_info_read_and_the_retrys_fate():
    info = syn_probe.parse_tcp_info(_tcp_info(2, 1, 0), _meminfo(0))
    assert info == {"state": 2, "retransmits": 1, "retrans": 0, "held": 0}
    assert syn_probe.retry_fate(info) == "stopped_here"           # refused, and freed at once
    assert syn_probe.retry_fate({**info, "retrans": 1}) == "left"
    # still queued here (a next hop that does not answer ARP): the kernel skipped the retry
    assert syn_probe.retry_fate(syn_probe.parse_tcp_info(_tcp_info(2, 1, 0), _meminfo(832))) == (
        "held_here")
    # not yet retried, already connected, not readable, or no SO_MEMINFO: nothing can be said
    assert syn_probe.retry_fate({**info, "retransmits": 0}) is None
    assert syn_probe.retry_fate({**info, "state": 1}) is None
    assert syn_probe.retry_fate(None) is None
    assert syn_probe.retry_fate(syn_probe.parse_tcp_info(_tcp_info(2, 1, 0))) is None
    assert syn_probe.retry_fate(syn_probe.parse_tcp_info(_tcp_info(2, 1, 1))) == "left"
    assert syn_probe.parse_tcp_info(b"\x02\x00") is None


def test_answered_handshakes_return_at_once():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        opened = syn_probe.probe("127.0.0.1", port)
    assert (opened["connect"], opened["outcome"]) == ("open", "sent")
    refused = syn_probe.probe("127.0.0.1", port)   # the listener is gone: a reset answers
    assert (refused["connect"], refused["outcome"]) == ("refused", "sent")
    assert opened["ms"] < 100 and refused["ms"] < 100


class PendingSocket:
    """A connect that nothing answers: its descriptor (a pipe's reading end) never gets writable."""
    def __init__(self, *args, connect_error=errno.EINPROGRESS):
        self.read_end, self.write_end = __import__("os").pipe()
        self.connect_error = connect_error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        import os
        os.close(self.read_end)
        os.close(self.write_end)

    def fileno(self):
        return self.read_end

    def setblocking(self, flag):
        pass

    def connect_ex(self, address):
        return self.connect_error


def _pending_probe(monkeypatch, infos, wait=syn_probe.WAIT_S, **socket_args):
    """probe() on a connect nothing answers, TCP_INFO read as `infos(seconds since start)`."""
    clock = VirtualClock()
    started = clock.now
    monkeypatch.setattr(syn_probe.socket, "socket", lambda *a: PendingSocket(**socket_args))
    return syn_probe.probe("192.0.2.1", 443, wait, clock=clock,
                           read_info=lambda sock: infos(clock.now - started))


def test_a_retry_that_never_left_is_stopped_here(monkeypatch):
    seen = _pending_probe(monkeypatch, lambda at: {"state": 2, "retransmits": int(at >= 1.03),
                                                   "retrans": 0, "held": 0})
    assert (seen["connect"], seen["outcome"], seen["retry"]) == ("timeout", "not_permitted",
                                                                  "stopped_here")
    assert 1030 <= seen["ms"] <= 1060   # found within a poll of the retry, not at the deadline


def test_a_retry_that_left_is_the_networks(monkeypatch):
    seen = _pending_probe(monkeypatch, lambda at: {"state": 2, "retransmits": 1, "retrans": 1,
                                                   "held": 0})
    assert (seen["outcome"], seen["retry"]) == ("sent", "left")


def test_a_syn_held_for_the_next_hop_is_no_refusal(monkeypatch):
    held = _pending_probe(monkeypatch, lambda at: {"state": 2, "retransmits": 1, "retrans": 0,
                                                   "held": 832})
    assert (held["outcome"], held["retry"]) == ("held", "held_here")
    assert firewall.tcp_facts([held], [], {"outcome": "not_run"})["tcp_blocked"] is False
    # without SO_MEMINFO a refused retry cannot be told from a held one: not observed
    blind = _pending_probe(monkeypatch, lambda at: {"state": 2, "retransmits": 1, "retrans": 0,
                                                    "held": None})
    assert blind["outcome"] == "not_run" and "does not show" in blind["reason"]


def test_no_retry_seen_is_not_observed(monkeypatch):
    late = _pending_probe(monkeypatch, lambda at: {"state": 2, "retransmits": 0, "retrans": 0,
                                                   "held": 0})
    assert late["outcome"] == "not_run" and late["reason"] == "no retry seen by the deadline"
    assert late["ms"] == pytest.approx(syn_probe.WAIT_S * 1000, abs=30)
    blind = _pending_probe(monkeypatch, lambda at: None)    # not Linux: TCP_INFO says nothing
    assert blind["outcome"] == "not_run" and "does not show" in blind["reason"]
    short = _pending_probe(monkeypatch, lambda at: {"state": 2, "retransmits": 1, "retrans": 0,
                                                    "held": 0}, wait=0.5)                        # a deadline before the retry is due
    assert short["outcome"] == "not_run" and short["reason"] == "no retry seen by the deadline"


def test_a_connect_refused_at_once_is_not_permitted(monkeypatch):
    """Windows' firewall refuses a blocked connect with WSAEACCES (errno EACCES in Python)."""
    seen = _pending_probe(monkeypatch, lambda at: None, connect_error=errno.EACCES)
    assert (seen["connect"], seen["outcome"]) == ("not_permitted", "not_permitted")


def test_firewall_handshakes_go_where_the_internet_check_expects_an_answer():
    assert firewall.TCP_PORT in internet.TARGET_PORTS


def test_stopped_sends_are_named_with_protocol_and_port():
    sends = [{"to": "192.168.1.1", "proto": "udp", "port": 53, "outcome": "not_permitted"},
             {"to": "192.168.1.1", "proto": "icmp", "outcome": "not_permitted"},
             {"to": "223.5.5.5", "proto": "udp", "port": 53, "outcome": "sent"}]
    tcp = [{"to": "223.5.5.5", "proto": "tcp", "port": 443, "connect": "timeout",
            "outcome": "not_permitted"}]
    seen = firewall.tcp_facts(tcp, sends, {"outcome": "not_permitted"})
    assert seen["stopped"] == ["192.168.1.1 (UDP 53)", "192.168.1.1 (ICMP)", "223.5.5.5 (TCP 443)"]
    assert seen["tcp_blocked"] is True and seen["tcp_blocked_to"] == ["223.5.5.5"]
    assert seen["ruleset_drops_tcp"] is None     # not read: not observed, never "no rule"
    unseen = firewall.tcp_facts([{**tcp[0], "outcome": "not_run"}], [], {"outcome": "not_run"})
    assert unseen["tcp_blocked"] is None and unseen["stopped"] == []


def test_a_refused_udp_send_fires_the_firewall_rule_on_its_own():
    from diagnose.checks import BY_ID
    from diagnose.engine import judge, pack
    from diagnose.engine.conditions import evaluate

    from .facts import results
    rules = pack.load(None, set(BY_ID))
    rule = next(r for r in rules if r.id == "local-firewall-blocks")
    refused = results({"firewall": {"blocked": True, "blocked_to": ["192.168.1.1"],
                                    "stopped": ["192.168.1.1 (UDP 53)"]}})
    assert evaluate(rule.when, refused, {}) is True
    assert "192.168.1.1 (UDP 53)" in judge.fill(rule.title["en"], refused)
    # TCP stopped here while the web works is no fault; unseen is not "stopped"
    for firewall_facts, online in (({"tcp_blocked": True}, True), ({"tcp_blocked": None}, False)):
        assert evaluate(rule.when, results({"firewall": firewall_facts,
                                            "internet": {"online": online}}), {}) is not True
