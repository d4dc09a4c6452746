"""Checks against a fake /sys, /proc and /etc, and hostile peers on loopback."""
from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections import namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from diagnose.checks import addressing, gateway, interfaces, internet, pppoe, proxy, route
from diagnose.context import Context, has_raw_socket_privilege
from diagnose.model import CheckResult, Status
from diagnose.net import dnsquery, resolvconf
from diagnose.platform import linux

from .facts import HEALTHY
from .virtual_clock import VirtualClock

ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
"""
IPV6_ROUTE = ("00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
              "fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n"
              "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
              "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo\n")


def ctx(root, results=None, privileged=False, env=None, drivers=None, **kwargs):
    return Context(profile={"probes": HEALTHY_PROBES}, privileged=privileged,
                   deadline=time.monotonic() + 5, results=results or {}, root=root,
                   env=env or {}, driver=(drivers or {}).get, **kwargs)


HEALTHY_PROBES = {"dns_names": ["a.test"], "public_resolvers": ["127.0.0.1"],
                  "connectivity_urls": [], "ping_targets": []}


def write(root, path, text):
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def adapter(root, name, *, arptype=1, flags="0x1003", carrier="1", virtual=False, extra=(),
            ifindex=2, iflink=None):
    where = f"sys/devices/{'virtual' if virtual else 'pci0000:00/0000:00:1f.6'}/net/{name}"
    base = root / where
    base.mkdir(parents=True)
    for key, value in {"type": arptype, "flags": flags, "operstate": "up", "mtu": 1500,
                       "address": "3c:52:82:00:00:01", "speed": 1000, "ifindex": ifindex,
                       "iflink": iflink or ifindex}.items():
        (base / key).write_text(f"{value}\n")
    if carrier is not None:
        (base / "carrier").write_text(f"{carrier}\n")
    for part in extra:
        (base / part).mkdir()
    link = root / "sys/class/net" / name
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(base, link.parent))


def test_route_picks_the_lowest_metric_default(tmp_path):
    write(tmp_path, "/proc/net/route", ROUTE)
    write(tmp_path, "/proc/net/ipv6_route", IPV6_ROUTE)
    result = route.run(ctx(tmp_path))
    assert result.status is Status.OK
    assert (result.facts["gateway"], result.facts["device"]) == ("192.168.1.1", "eth0")
    assert result.facts["has_ipv6_default"] is True
    assert len(result.facts["default_routes"]) == 3


def test_route_without_default_is_observed(tmp_path):
    write(tmp_path, "/proc/net/route", ROUTE.splitlines()[0] + "\n" + ROUTE.splitlines()[3] + "\n")
    result = route.run(ctx(tmp_path))
    assert result.status is Status.OK and result.facts["has_default"] is False


def test_route_unreadable_is_an_error_not_a_crash(tmp_path):
    assert route.run(ctx(tmp_path)).status is Status.ERROR


def routed(device):
    return {"route": CheckResult(Status.OK, {"device": device})}


def test_interfaces_kinds_and_primary(tmp_path):
    adapter(tmp_path, "eth0", ifindex=2)
    adapter(tmp_path, "wlan0", extra=("wireless",), ifindex=3)
    adapter(tmp_path, "lo", arptype=772, virtual=True, ifindex=1)
    adapter(tmp_path, "docker0", virtual=True, extra=("bridge",), flags="0x1002", carrier=None, ifindex=4)
    adapter(tmp_path, "veth1a", virtual=True, extra=("brport",), ifindex=5, iflink=9)
    adapter(tmp_path, "tun0", arptype=65534, virtual=True, ifindex=6)
    adapter(tmp_path, "ppp0", arptype=512, virtual=True, ifindex=7)
    result = interfaces.run(ctx(tmp_path, routed("wlan0")))
    kinds = {a["name"]: a["kind"] for a in result.facts["interfaces"]}
    assert kinds == {"eth0": "ethernet", "wlan0": "wifi", "lo": "loopback", "docker0": "virtual",
                     "veth1a": "virtual", "tun0": "virtual", "ppp0": "ppp"}
    assert result.facts["primary"] == "wlan0" and result.facts["physical_count"] == 2
    assert result.status is Status.OK


@pytest.mark.parametrize("drivers", [{}, {"eth0": "veth", "eth1": "veth", "vA": "veth", "vB": "veth"}])
def test_veth_whose_peer_is_elsewhere_is_the_namespace_uplink(tmp_path, drivers):
    adapter(tmp_path, "eth0", virtual=True, ifindex=2, iflink=11)
    adapter(tmp_path, "eth1", virtual=True, ifindex=5, iflink=3)   # number 3 is here, not linked back
    adapter(tmp_path, "vA", virtual=True, ifindex=3, iflink=4)
    adapter(tmp_path, "vB", virtual=True, ifindex=4, iflink=3)
    adapter(tmp_path, "ifb0", virtual=True, ifindex=6, iflink=6)
    result = interfaces.run(ctx(tmp_path, routed(None), drivers={**drivers, "ifb0": "ifb"}))
    kinds = {a["name"]: a["kind"] for a in result.facts["interfaces"]}
    assert kinds == {"eth0": "ethernet", "eth1": "ethernet", "vA": "virtual", "vB": "virtual",
                     "ifb0": "virtual"}


def test_veth_numbered_like_its_peer_in_another_namespace(tmp_path):
    adapter(tmp_path, "eth0", virtual=True, ifindex=2, iflink=2)
    kinds = [a["kind"] for a in interfaces.run(ctx(tmp_path, routed(None), drivers={"eth0": "veth"}))
             .facts["interfaces"]]
    assert kinds == ["ethernet"]


def test_disabled_and_unplugged_adapters(tmp_path):
    adapter(tmp_path, "eth0", flags="0x1002", carrier=None)
    result = interfaces.run(ctx(tmp_path, routed(None)))
    assert result.status is Status.OK and result.facts["primary_admin_up"] is False
    assert result.facts["primary_carrier"] is None  # sysfs refuses to say while down


def test_down_virtual_adapters_are_never_primary(tmp_path):
    adapter(tmp_path, "docker0", virtual=True, extra=("bridge",), flags="0x1002", carrier=None)
    result = interfaces.run(ctx(tmp_path, routed(None)))
    assert result.facts["primary"] is None and result.facts["physical_count"] == 0


Addr = namedtuple("Addr", "family address netmask")


@pytest.mark.parametrize("v4, has_ipv4, apipa", [
    ([Addr(socket.AF_INET, "192.168.1.10", "255.255.255.0")], True, False),
    ([Addr(socket.AF_INET, "169.254.23.45", "255.255.0.0")], False, True),
    ([], False, False),
])
def test_addressing(tmp_path, v4, has_ipv4, apipa):
    entries = v4 + [Addr(socket.AF_INET6, "fe80::1%eth0", None), Addr(socket.AF_INET6, "2408:8000::5", None)]
    results = {"interfaces": CheckResult(Status.OK, {"primary": "eth0", "primary_admin_up": True,
                                                      "primary_carrier": True, "primary_mac": "x"})}
    result = addressing.run(ctx(tmp_path, results, if_addrs=lambda: {"eth0": entries}))
    assert (result.facts["has_ipv4"], result.facts["apipa"]) == (has_ipv4, apipa)
    assert result.facts["has_ipv6_global"] is True
    if not has_ipv4:  # unprivileged: the DHCP probe is not run, and says why
        assert result.facts["dhcp_probe"] == {"outcome": "not_run", "reason": "needs administrator rights"}


def test_gateway_neighbour_table():
    table = ("IP address       HW type     Flags       HW address            Mask     Device\n"
             "192.168.1.1      0x1         0x2         aa:bb:cc:dd:ee:ff     *        eth0\n"
             "192.168.1.7      0x1         0x0         00:00:00:00:00:00     *        eth0\n")
    assert linux.arp_entry(table, "192.168.1.1").state == "resolved"
    assert linux.arp_entry(table, "192.168.1.7").state == "incomplete"
    assert linux.arp_entry(table, "10.0.0.1").state == "absent"


def test_gateway_without_route_is_skipped(tmp_path):
    result = gateway.run(ctx(tmp_path, {"route": CheckResult(Status.OK, {"gateway": None})}))
    assert result.status is Status.SKIPPED


def test_resolv_conf_and_systemd_stub(tmp_path):
    write(tmp_path, "/etc/resolv.conf", "# hi\nnameserver 127.0.0.53\noptions edns0\n")
    output = "Global:\nLink 2 (eth0): 192.168.1.1 fe80::1%eth0\nLink 3 (wlan0):\n"
    calls = []

    def fake_run(argv, timeout):
        calls.append(argv)
        return type("Done", (), {"returncode": 0, "stdout": output, "stderr": ""})()
    found = resolvconf.configured(ctx(tmp_path, run=fake_run))
    assert found["servers"] == ["192.168.1.1", "fe80::1"] and found["source"] == "resolvectl"
    assert calls == [["resolvectl", "dns"]]
    assert resolvconf.nameservers("nameserver 10.0.0.1\nnameserver bogus\nnameserver 10.0.0.1\n") == ["10.0.0.1"]


CANARY_PASSWORD = "CANARY-PPPOE-PASSWORD-unit-7d1e"


def test_pppoe_dialer_found_and_credentials_never_read(tmp_path):
    write(tmp_path, "/etc/ppp/peers/dsl-provider",
          f'plugin rp-pppoe.so\nnic-eth0\nuser "CANARY-USER"\npassword {CANARY_PASSWORD}\n')
    write(tmp_path, "/etc/ppp/peers/provider", "connect /usr/sbin/chat\n")
    write(tmp_path, "/etc/ppp/chap-secrets", f'"CANARY-USER" * "{CANARY_PASSWORD}"\n')
    write(tmp_path, "/etc/NetworkManager/system-connections/dsl.nmconnection",
          f"[connection]\ntype=pppoe\ninterface-name=eth1\n[pppoe]\npassword={CANARY_PASSWORD}\n")
    results = {"interfaces": CheckResult(Status.OK, {"interfaces": [
                   {"name": "eth0", "kind": "ethernet", "admin_up": True, "carrier": True, "mac": "x"}]}),
               "route": CheckResult(Status.OK, {"has_default": False}),
               "gateway": CheckResult(Status.SKIPPED, {})}
    result = pppoe.run(ctx(tmp_path, results))
    assert result.facts["is_dialer"] is True and result.status is Status.OK   # it observed
    assert result.facts["peers"] == [{"file": "dsl-provider", "method": "plugin", "interface": "eth0"}]
    assert result.facts["networkmanager"] == [{"file": "dsl.nmconnection", "interface": "eth1"}]
    assert result.facts["discovery"]["reason"] == "needs administrator rights"
    dumped = json.dumps(result.facts)
    assert CANARY_PASSWORD not in dumped and "CANARY-USER" not in dumped


def test_debian_template_peers_file_is_no_dialer(tmp_path):
    template = 'pty "/usr/sbin/pppoe -I eth0 -T 80 -m 1452"\nnoipdefault\ndefaultroute\npersist\n'
    assert pppoe.peers_entry("dsl-provider", template, {"eth0"}) is None
    assert pppoe.peers_entry("dsl-provider", template + 'user "someone"\n', set()) == {
        "file": "dsl-provider", "method": "pty", "interface": "eth0"}


def test_pppoe_not_a_dialer_with_working_route(tmp_path):
    results = {"interfaces": CheckResult(Status.OK, {"interfaces": []}),
               "route": CheckResult(Status.OK, {"has_default": True}),
               "gateway": CheckResult(Status.OK, {"reachable": True})}
    result = pppoe.run(ctx(tmp_path, results, privileged=True))
    assert result.status is Status.OK and result.facts["is_dialer"] in (False, True)
    assert result.facts["discovery"] == {"outcome": "not_run", "reason": "not needed"}


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_proxy_refusing_and_its_credentials_never_shown(tmp_path):
    port = closed_port()
    env = {"HTTPS_PROXY": f"http://alice:CANARY-PROXY-TOKEN@127.0.0.1:{port}",
           "https_proxy": f"http://alice:CANARY-PROXY-TOKEN@127.0.0.1:{port}", "no_proxy": "x"}
    result = proxy.run(ctx(tmp_path, env=env))
    assert result.status is Status.OK and result.facts["any_refusing"] is True
    assert result.facts["proxies"][0]["variables"] == ["HTTPS_PROXY", "https_proxy"]
    assert "CANARY" not in json.dumps(result.facts) + (result.reason or "")


def test_proxy_accepting(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        env = {"http_proxy": f"127.0.0.1:{server.getsockname()[1]}"}
        result = proxy.run(ctx(tmp_path, env=env))
    assert result.status is Status.OK and result.facts["proxies"][0]["accepts"] is True


def test_no_proxy_configured(tmp_path):
    result = proxy.run(ctx(tmp_path))
    assert result.status is Status.OK and result.facts["any_configured"] is False


def udp_server(reply):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(3)

    def serve():
        try:
            data, peer = sock.recvfrom(2048)
            sock.sendto(reply(data), peer)
        except OSError:
            pass
    threading.Thread(target=serve, daemon=True).start()
    return sock


ANSWER = bytes.fromhex("c00c000100010000003c0004cb007150")  # a.test A 203.0.113.80


@pytest.mark.parametrize("reply, outcome", [
    (lambda q: q[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + q[12:] + ANSWER, "answer"),
    (lambda q: q[:2] + b"\x81\x83" + q[4:], "nxdomain"),
    (lambda q: q[:2] + b"\x81\x82" + q[4:], "servfail"),
    (lambda q: q[:2] + b"\x81\x80" + b"\xff" * 40, "bad_reply"),    # counts far beyond the data
    (lambda q: q[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + q[12:] + b"\xc0\xff" * 8,
     "bad_reply"),                                                   # compression pointer loop
    (lambda q: b"\x00" * 3, "bad_reply"),                             # shorter than a header
])
def test_dns_replies_hostile_or_not_are_observations(reply, outcome):
    server = udp_server(reply)
    try:
        result = dnsquery.query_a("127.0.0.1", "a.test", 0.5, port=server.getsockname()[1])
    finally:
        server.close()
    assert result["outcome"] == outcome
    assert result["answers"] == (["203.0.113.80"] if outcome == "answer" else [])


def test_a_lost_dns_question_is_asked_again_within_the_wait():
    """The first datagram is lost (a lossy line): the resend, same id, gets the answer, halfway
    through the wait (on the query's clock: the test waits for nothing)."""
    from .dns_stub import StubResolver
    asked = []

    def lose_the_first(query):
        asked.append((clock.now, query))
        if len(asked) == 1:
            return None
        return query[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + query[12:] + ANSWER
    server = StubResolver(lose_the_first, threaded=False)
    clock = VirtualClock(serve=[server.serve_pending])
    try:
        result = dnsquery.query_a("127.0.0.1", "a.test", 1.0, port=server.port, clock=clock)
    finally:
        server.close()
    assert (result["outcome"], result["answers"]) == ("answer", ["203.0.113.80"])
    assert len(asked) == 2 and asked[0][1] == asked[1][1]
    assert asked[1][0] - asked[0][0] == pytest.approx(1.0 * dnsquery.RESEND_FRACTION)
    assert result["latency_ms"] == pytest.approx(1000 * dnsquery.RESEND_FRACTION)


def test_dns_query_to_silent_server_times_out():
    clock = VirtualClock()
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        result = dnsquery.query_a("127.0.0.1", "a.test", 0.3, port=silent.getsockname()[1],
                                  clock=clock)
        assert silent.recv(512) and silent.recv(512)       # asked, then asked again
    finally:
        silent.close()
    assert result["outcome"] == "timeout" and clock.now == pytest.approx(1000.3)


class Hostile(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/generate_204":
            self.send_response(204)
            self.end_headers()
        elif self.path == "/slow":   # answers after longer than a fetch may take
            time.sleep(1.0)
            self.send_response(204)
            self.end_headers()
        elif self.path == "/portal":
            self.send_response(302)
            self.send_header("Location", "http://portal.test/notice?" + "x" * 1000)
            self.end_headers()
        else:  # an endless page
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(10_000):
                    self.wfile.write(b"A" * 65536)
            except OSError:
                pass

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    # A thread per request, not waited for at the end: the slow page's sleep outlives the test.
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                     daemon=True).start()   # shutdown() waits for the next poll
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_classifies_without_reading_hostile_bodies(tmp_path, http_server):
    c = ctx(tmp_path)
    assert internet.fetch(c, http_server + "/generate_204", [])["outcome"] == "online"
    portal = internet.fetch(c, http_server + "/portal", [])
    assert portal["outcome"] == "portal" and len(portal["location"]) == 300
    started = time.monotonic()
    assert internet.fetch(c, http_server + "/endless", [])["outcome"] == "portal"
    assert time.monotonic() - started < 4
    assert internet.fetch(c, f"http://127.0.0.1:{closed_port()}/", [])["outcome"] == "refused"
    assert internet.fetch(c, "http://name.test/", [])["outcome"] == "dns_failure"


def test_fetch_keeps_one_wait_for_handshake_and_answer(tmp_path, http_server, monkeypatch):
    """The total, not the read wait, bounds a fetch: on a lossy line they must not add up."""
    monkeypatch.setattr(internet, "FETCH_WAIT_S", 0.05)   # a real socket's wait: kept short
    result = internet.fetch(ctx(tmp_path), http_server + "/slow", [])
    assert result["outcome"] == "timeout" and result["ms"] < internet.READ_WAIT_S * 1000


@pytest.mark.parametrize("status, location, body, outcome", [
    (204, None, 0, "online"), (302, "http://p/", 0, "portal"), (200, None, 512, "portal"),
    (200, None, 0, "http_error"), (503, None, 10, "http_error"), (301, None, 0, "http_error"),
])
def test_classify(status, location, body, outcome):
    assert internet.classify(status, location, body) == outcome


def test_privilege_reads_capabilities(tmp_path):
    write(tmp_path, "/proc/self/status", "Name: x\nCapEff:\t0000000000002000\n")
    assert has_raw_socket_privilege(tmp_path) is True
    write(tmp_path, "/proc/self/status", "Name: x\nCapEff:\t0000000000000000\n")
    assert has_raw_socket_privilege(tmp_path) is False


def test_reports_list_the_checks_from_the_computer_outwards():
    from diagnose.checks import ALL, PATH_ORDER
    from diagnose.runner import order
    assert PATH_ORDER[:5] == ("interfaces", "wifi", "addressing", "route", "gateway")
    assert PATH_ORDER[-4:] == ("internet", "path_mtu", "ipv6", "proxy")
    # as PATH_ORDER, except that route (needed by interfaces) comes first
    assert [spec.id for spec in order(ALL)] == ["route", *(c for c in PATH_ORDER if c != "route")]


def test_every_check_declares_itself_fully():
    """The registry is the checks' own declarations: a new check fails here until it has a
    name (test_i18n wants its translation), its own place on the path and a digest slot."""
    from diagnose import digest
    from diagnose.checks import ALL
    from tests.unit.i18n_extract import marked_strings
    marked = marked_strings()
    for spec in ALL:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", spec.id), spec.id
        assert spec.name and spec.name in marked, f"{spec.id}: name=N_(...)"
        assert spec.position != 1000, f"{spec.id}: declare its position on the path"
    positions = [spec.position for spec in ALL]
    assert len(set(positions)) == len(positions), "two checks at one position"
    slots = sorted(spec.digest_slot for spec in ALL if spec.digest_slot is not None)
    assert slots == list(range(len(slots))), "digest slots: each the next free one"
    if len(slots) < digest.MAX_CHECKS:
        assert len(slots) == len(ALL), "give the new check the next digest slot"
