"""The PC-side checks' logic without a network: hosts file, nsswitch, system lookups."""
from __future__ import annotations

import socket

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
    seen = lookup.system_lookups(["a.test", "b.test"], 0.2)
    release.set()
    assert time.monotonic() - started < 1.0
    assert [s["outcome"] for s in seen] == ["timeout", "timeout"]


def test_names_are_profile_names_and_url_hosts():
    profile = {"probes": {"dns_names": ["www.baidu.com", "WWW.QQ.COM."],
                          "connectivity_urls": ["http://connect.rom.miui.com/generate_204",
                                                "http://203.0.113.80/generate_204",
                                                "https://www.baidu.com/"]}}
    assert lookup._names(profile) == ["www.baidu.com", "www.qq.com", "connect.rom.miui.com"]
