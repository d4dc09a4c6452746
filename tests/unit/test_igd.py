"""UPnP IGD: SSDP, description and SOAP against a test IGD on loopback, hostile ones included.

Nothing here multicasts: the SSDP target is always a loopback port (the autouse fixture makes
sure even a forgetful test cannot search the host's real network).
"""
from __future__ import annotations

import socket
import time
from collections import namedtuple
from pathlib import Path

import pytest
import yaml

from diagnose.checks import BY_ID, router
from diagnose.context import Context
from diagnose.engine import judge, pack
from diagnose.model import CheckResult, Status
from diagnose.net import igd
from diagnose.net.igd import ssdp
from tests.lab import igd_server

from .facts import results
from .virtual_clock import VirtualClock

Addr = namedtuple("Addr", "family address netmask broadcast ptp")
LOOPBACK = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]
RULES = pack.load(ROOT / "rules", set(BY_ID))
CASES = yaml.safe_load((Path(__file__).parent / "rule_cases" / "router.yaml").read_text())
HEALTHY_ROUTER = CASES["router-behind-nat"]["silent"]["router"]
SLACK_S = 0.3   # thread start-up and scheduling on a busy test machine


@pytest.fixture(autouse=True)
def no_multicast(monkeypatch):
    """The discard port on loopback unless a test names its own responder; the gateway's own
    SSDP port is closed."""
    monkeypatch.setattr(router, "SSDP_TARGET", (LOOPBACK, 9))
    monkeypatch.setattr(router, "SSDP_UNICAST_PORT", 9)


def ctx(gateway=LOOPBACK, netmask="255.0.0.0", device="lo", seconds=router.CHECK.timeout):
    route = CheckResult(Status.OK, {"gateway": gateway, "device": device, "has_default": True})
    addrs = {device: [Addr(socket.AF_INET, LOOPBACK, netmask, None, None),
                      Addr(socket.AF_INET6, "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                           None, None)]}
    return Context(profile={}, privileged=False, deadline=time.monotonic() + seconds,
                   results={"route": route}, if_addrs=lambda: addrs)


def check(monkeypatch, server, **kwargs):
    monkeypatch.setattr(router, "SSDP_TARGET", (LOOPBACK, server.ssdp_port))
    monkeypatch.setattr(router, "SSDP_UNICAST_PORT", server.ssdp_port)
    started = time.monotonic()
    result = router.run(ctx(**kwargs))
    return result, time.monotonic() - started


# ------------------------------------------------------------------------------ parsing
def test_ssdp_answer_headers_are_case_insensitive_and_only_200_counts():
    answer = b"HTTP/1.1 200 OK\r\nst: X\r\nLocation: http://10.0.0.1:1/d.xml\r\n\r\n"
    assert igd.parse_answer(answer) == {"st": "X", "location": "http://10.0.0.1:1/d.xml"}
    assert igd.parse_answer(b"HTTP/1.1 404 Not Found\r\n\r\n") is None
    assert igd.parse_answer(b"NOTIFY * HTTP/1.1\r\nNT: x\r\n\r\n") is None
    assert igd.parse_answer(b"\xff\xfe" * 5000) is None
    assert igd.parse_answer(b"") is None


@pytest.mark.parametrize("url, ok", [
    ("http://192.168.1.1:5000/rootDesc.xml", True),
    ("http://192.168.1.1/d.xml", True),
    ("https://192.168.1.1/d.xml", False),          # the device's own plain HTTP only
    ("http://192.168.1.2:5000/d.xml", False),      # another host
    ("http://203.0.113.80/d.xml", False),
    ("http://router.lan/d.xml", False),            # a name would be resolved elsewhere
    ("http://user:pw@192.168.1.1/d.xml", False),
    ("http://192.168.1.1:99999/d.xml", False),
    ("http://192.168.1.1/d\r\nX-Injected: 1", False),
    ("http://192.168.1.1/" + "a" * 600, False),
    ("file:///etc/passwd", False),
    (None, False),
])
def test_urls_must_stay_on_the_device(url, ok):
    assert (igd.same_device_url(url, "192.168.1.1") is not None) is ok


@pytest.mark.parametrize("text, expected", [
    ("203.0.113.7", ("203.0.113.7", "reserved")),    # TEST-NET: not public either
    ("116.228.1.1", ("116.228.1.1", "public")),
    ("100.64.0.1", ("100.64.0.1", "shared")),
    ("100.127.255.254", ("100.127.255.254", "shared")),
    ("100.128.0.1", ("100.128.0.1", "public")),
    ("10.1.2.3", ("10.1.2.3", "private")),
    ("172.31.0.1", ("172.31.0.1", "private")),
    ("192.168.0.2", ("192.168.0.2", "private")),
    ("0.0.0.0", ("0.0.0.0", "reserved")),
    ("", (None, None)), (None, (None, None)), ("::1", (None, None)), ("1.2.3", (None, None)),
    ("<script>", (None, None)),
])
def test_external_address_kinds(text, expected):
    assert igd.address_kind(text) == expected


def test_device_words_are_tokens_or_nothing():
    assert igd.token(" Connected ") == "Connected"
    assert igd.token("ERROR_NO_CARRIER") == "ERROR_NO_CARRIER"
    assert igd.token("Conn\x1b[31mected") is None
    assert igd.token("a" * 65) is None and igd.token(None) is None and igd.token("") is None
    assert igd.clean("Fritz\x00Box\n 7590 ") == "FritzBox\n 7590".replace("\n", "")
    assert len(igd.clean("x" * 1000)) == igd.MAX_TEXT
    assert igd.whole_number("12") == 12 and igd.whole_number("-1") is None
    assert igd.whole_number("9" * 40) is None


@pytest.mark.parametrize("document, problem", [
    (igd_server.BILLION_LAUGHS, "forbidden_xml"),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
     "forbidden_xml"),
    (b'<!DOCTYPE r SYSTEM "http://203.0.113.80/x.dtd"><r/>', "forbidden_xml"),
    (igd_server.MALFORMED, "bad_xml"),
    (b"", "bad_xml"),
    (b"\x00\x01\x02", "bad_xml"),
])
def test_hostile_xml_is_refused_not_expanded(document, problem):
    started = time.monotonic()
    assert igd.parse_xml(document) == (None, problem)
    assert time.monotonic() - started < 1.0


def test_deep_nesting_within_the_size_limit_does_not_crash():
    depth = igd.MAX_DOCUMENT // 8
    document = b"<a>" * depth + b"</a>" * depth
    root, problem = igd.parse_xml(document)
    assert (root is None) == (problem is not None)
    if root is not None:
        assert igd.read_description(root, "http://10.0.0.1/d.xml", "10.0.0.1")["services"] == []


def test_description_keeps_only_wan_services_on_the_device():
    document = b"""<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0">
      <URLBase>http://10.0.0.1:5000/</URLBase><device><friendlyName>R&#x85;</friendlyName>
      <serviceList>
       <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType>
        <controlURL>/ctl/IPConn</controlURL></service>
       <service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType>
        <controlURL>http://203.0.113.80/steal</controlURL></service>
       <service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
        <controlURL>/ctl/L3F</controlURL></service>
       <service><serviceType>urn:x"injected:WANIPConnection:1</serviceType>
        <controlURL>/x</controlURL></service>
      </serviceList></device></root>"""
    root, _ = igd.parse_xml(document)
    facts = igd.read_description(root, "http://10.0.0.1:5000/rootDesc.xml", "10.0.0.1")
    assert facts["services"] == [{"name": "WANIPConnection", "version": 2,
                                  "service_type": "urn:schemas-upnp-org:service:WANIPConnection:2",
                                  "control_url": "http://10.0.0.1:5000/ctl/IPConn"}]
    assert facts["ignored_services"] == 1 and facts["friendly_name"] == "R"


# --------------------------------------------------------------------------------- SSDP
def test_search_finds_the_gateway_and_stops_early(igd_factory):
    server = igd_factory()
    started = time.monotonic()
    found = igd.search(LOOPBACK, 2.0, lambda a: True, prefer=LOOPBACK, target=(LOOPBACK, server.ssdp_port))
    assert time.monotonic() - started < 0.5
    assert found["outcome"] == "found" and found["ignored"] == []
    assert found["devices"] == [{"address": LOOPBACK, "versions": [1], "server": "Linux/6 UPnP/1.1 LabIGD/1.0",
                                 "location": f"http://{LOOPBACK}:{server.http_port}/rootDesc.xml"}]


def search(server, wait, accept, **kwargs):
    """igd.search on a VirtualClock, against a test IGD whose SSDP answers without a thread:
    the whole wait passes without waiting. (server None: nothing answers.)"""
    clock = VirtualClock(serve=[server.ssdp.serve_pending] if server else [])
    started = clock.now
    found = igd.search(LOOPBACK, wait, accept, clock=clock, **kwargs)
    return found, clock.now - started


def test_search_ignores_noise_foreign_locations_and_strangers(igd_factory):
    noisy = igd_factory(hostile="ssdp-noise", ssdp_thread=False)
    found, elapsed = search(noisy, 0.3, lambda a: True, target=(LOOPBACK, noisy.ssdp_port))
    assert found["outcome"] == "found" and elapsed == pytest.approx(0.3)   # no gateway to prefer
    assert {i["why"] for i in found["ignored"]} == {"not an SSDP answer", "not an Internet Gateway Device"}
    foreign = igd_factory(hostile="foreign-location", ssdp_thread=False)
    found, _ = search(foreign, 0.3, lambda a: True, target=(LOOPBACK, foreign.ssdp_port))
    assert found["outcome"] == "none"
    assert found["ignored"] == [{"address": LOOPBACK, "why": "location is not on the answering device"}]
    found, _ = search(noisy, 0.3, lambda a: False, target=(LOOPBACK, noisy.ssdp_port))
    assert found["outcome"] == "none" and found["ignored"][0]["why"] == "outside the local network"


def test_search_without_answer_keeps_its_wait_and_asks_again():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((LOOPBACK, 0))
        found, elapsed = search(None, 0.3, lambda a: True, target=silent.getsockname())
        searches = [silent.recv(4096) for _ in range(2 * len(igd.SEARCH_TARGETS))]
    assert all(s.startswith(b"M-SEARCH * HTTP/1.1\r\n") for s in searches)   # sent, then again
    assert found == {"outcome": "none", "devices": [], "ignored": [], "error": None,
                     "gateway_port": None}
    assert elapsed == pytest.approx(0.3)


def test_a_gateway_without_ssdp_ends_the_search_after_a_short_grace():
    """Its port unreachable answers the unicast search: no waiting out the whole window."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as closed:
        closed.bind((LOOPBACK, 0))
        port = closed.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((LOOPBACK, 0))
        found, elapsed = search(None, 2.0, lambda a: True, prefer=LOOPBACK,
                                target=silent.getsockname(), unicast_port=port)
    assert found["gateway_port"] == "closed" and found["outcome"] == "none"
    assert elapsed <= 2.0 * ssdp.RESEND_FRACTION + ssdp.CLOSED_GRACE_S + 1e-9   # not the window


def test_the_gateway_answers_the_unicast_search(igd_factory):
    server = igd_factory()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind((LOOPBACK, 0))
        found = igd.search(LOOPBACK, 2.0, lambda a: True, prefer=LOOPBACK,
                           target=silent.getsockname(), unicast_port=server.ssdp_port)
    assert found["gateway_port"] == "answered" and found["outcome"] == "found"
    assert found["devices"][0]["address"] == LOOPBACK


def test_a_unicast_search_names_its_device_and_asks_for_no_delay():
    unicast = igd.search_message(igd.SEARCH_TARGETS[0], ("192.168.1.1", 1900))
    assert b"HOST: 192.168.1.1:1900\r\n" in unicast and b"MX:" not in unicast
    assert b"MX: 1\r\n" in igd.search_message(igd.SEARCH_TARGETS[0])


def test_search_from_an_address_not_here_is_an_error_not_a_crash():
    found = igd.search("192.0.2.77", 0.2, lambda a: True, target=(LOOPBACK, 9))
    assert found["outcome"] == "error" and found["error"] == "EADDRNOTAVAIL"


def test_a_flood_of_answers_cannot_keep_the_search_busy():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flood:
        flood.bind((LOOPBACK, 0))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.bind((LOOPBACK, 0))
            for _ in range(igd.MAX_DATAGRAMS * 2):
                flood.sendto(b"HTTP/1.1 200 OK\r\nST: junk\r\n\r\n", client.getsockname())
            devices, ignored = [], []
            for _ in range(igd.MAX_DATAGRAMS * 2):
                data, (address, _) = client.recvfrom(igd.MAX_DATAGRAM)
                igd._take(data, address, lambda a: True, devices, ignored)
    assert devices == [] and ignored == [{"address": LOOPBACK, "why": "not an Internet Gateway Device"}]


# -------------------------------------------------------------------------- description
DESCRIPTION_CUTOFF_S = 0.5


@pytest.mark.parametrize("hostile, outcome", [
    (None, "ok"),
    ("redirect-same", "ok"),
    ("huge", "too_large"),
    ("huge-length", "too_large"),
    ("bomb", "forbidden_xml"),
    ("malformed", "bad_xml"),
    ("gzip", "compressed"),
    ("redirect-away", "redirect"),
])   # routers that trickle or stall, which take the whole cutoff: tests/robustness/test_run_router_deadlines.py
def test_description_outcomes_within_the_cutoff(igd_factory, hostile, outcome):
    server = igd_factory(hostile=hostile)
    location = f"http://{LOOPBACK}:{server.http_port}/rootDesc.xml"
    started = time.monotonic()
    with igd.Cutoff(DESCRIPTION_CUTOFF_S) as cutoff:
        described = igd.describe(location, LOOPBACK, cutoff)
    assert described["outcome"] == outcome
    assert time.monotonic() - started < DESCRIPTION_CUTOFF_S + SLACK_S
    if outcome == "ok":
        assert [s["name"] for s in described["services"]] == ["WANCommonInterfaceConfig",
                                                              "WANPPPConnection"]


def test_nothing_listening_is_refused():
    with socket.socket() as unused:
        unused.bind((LOOPBACK, 0))
        port = unused.getsockname()[1]
    with igd.Cutoff(0.5) as cutoff:
        assert igd.describe(f"http://{LOOPBACK}:{port}/d.xml", LOOPBACK, cutoff)["outcome"] == "refused"


def test_an_expired_cutoff_sends_nothing():
    with igd.Cutoff(0, clock=lambda: 100.0) as cutoff:   # its moment has come: nothing moves
        assert igd.exchange(f"http://{LOOPBACK}:9/", cutoff)["outcome"] == "timeout"


# --------------------------------------------------------------------------------- SOAP
def _services(server):
    location = f"http://{LOOPBACK}:{server.http_port}/rootDesc.xml"
    with igd.Cutoff(1.0) as cutoff:
        return igd.describe(location, LOOPBACK, cutoff)["services"]


def test_soap_answers_faults_and_bombs(igd_factory):
    server = igd_factory(status="Disconnected", error="ERROR_NO_CARRIER", link="Down")
    with igd.Cutoff(1.0) as cutoff:
        answers = igd.query(_services(server), cutoff)
    status = answers["connections"][0]["status"]
    assert status["values"] == {"NewConnectionStatus": "Disconnected",
                                "NewLastConnectionError": "ERROR_NO_CARRIER", "NewUptime": "4242"}
    assert answers["link"]["values"]["NewPhysicalLinkStatus"] == "Down"
    for hostile, outcome in (("soap-fault", "fault"), ("soap-bomb", "forbidden_xml")):
        server = igd_factory(hostile=hostile)
        with igd.Cutoff(1.0) as cutoff:
            answers = igd.query(_services(server), cutoff)
        assert {answers["link"]["outcome"]} | {c["status"]["outcome"] for c in answers["connections"]} \
            == {outcome}
    assert answers["connections"][0]["status"].get("values") is None


# ---------------------------------------------------------------------------- the check
def test_check_connected_behind_carrier_grade_nat(monkeypatch, igd_factory):
    result, elapsed = check(monkeypatch, igd_factory(unused_service=True))
    assert result.status is Status.OK and result.reason is None
    facts = result.facts
    assert (facts["found"], facts["is_gateway"], facts["address"]) == (True, True, LOOPBACK)
    assert (facts["connection_status"], facts["connected"], facts["service"]) == (
        "Connected", True, "WANPPPConnection:1")   # the unused WANIPConnection does not speak
    assert (facts["external_ip"], facts["external_ip_kind"]) == ("100.64.12.34", "shared")
    assert facts["physical_link_status"] == "Up" and facts["uptime_s"] == 4242
    assert facts["link"]["max_bitrate_down"] == 100000000
    assert [c["status"] for c in facts["connections"]] == ["Connected", "Disconnected"]
    assert elapsed < 0.5   # the gateway answered: no waiting out the SSDP window
    assert set(facts) == set(HEALTHY_ROUTER)


@pytest.mark.parametrize("error", ["ERROR_AUTHENTICATION_FAILURE", "ERROR_NO_CARRIER"])
def test_check_router_says_disconnected(monkeypatch, igd_factory, error):
    result, _ = check(monkeypatch, igd_factory(status="Disconnected", error=error, uptime=0))
    assert result.status is Status.OK
    assert result.reason_args == {"status": "Disconnected", "error": error}
    assert result.facts["connected"] is False and result.facts["last_connection_error"] == error
    assert result.facts["external_ip"] is None   # only a connected router's address counts


def test_check_a_hostile_status_word_never_reaches_the_report(monkeypatch, igd_factory):
    result, _ = check(monkeypatch, igd_factory(status="Connected\x1b[2J", error="ERROR_NONE"))
    assert result.status is Status.ERROR and result.facts["connection_status"] is None


@pytest.mark.parametrize("hostile, status, problem", [
    ("huge", Status.ERROR, "too_large"),
    ("bomb", Status.ERROR, "forbidden_xml"),
    ("malformed", Status.ERROR, "bad_xml"),
    ("redirect-away", Status.ERROR, "redirect"),
    ("soap-bomb", Status.ERROR, "forbidden_xml"),
    ("soap-fault", Status.ERROR, "fault"),
])   # the endless ones time out: tests/robustness/test_run_router_deadlines.py
def test_check_hostile_router_is_an_error_with_reason_in_time(monkeypatch, igd_factory,
                                                              hostile, status, problem):
    result, elapsed = check(monkeypatch, igd_factory(hostile=hostile))
    assert result.status is status and result.reason
    assert result.reason_args.get("problem") == problem
    assert result.facts["found"] is True and result.facts["connected"] is None
    assert elapsed < router.CHECK.timeout


def search_on(monkeypatch, clock):
    """The router check's SSDP search waits on `clock`."""
    real = igd.search
    monkeypatch.setattr(igd, "search", lambda *a, **k: real(*a, clock=clock, **k))


def test_check_without_an_igd_concludes_nothing(monkeypatch):
    clock = VirtualClock()
    search_on(monkeypatch, clock)
    result = router.run(ctx())
    assert clock.now - 1000.0 <= router.SSDP_WAIT_S
    assert result.status is Status.OK and result.facts["found"] is False
    assert result.facts["connected"] is None and result.facts["devices"] == []


def test_check_does_not_ask_an_igd_that_is_not_the_gateway(monkeypatch, igd_factory):
    server = igd_factory(status="Disconnected", error="ERROR_AUTHENTICATION_FAILURE",
                         ssdp_thread=False)
    search_on(monkeypatch, VirtualClock(serve=[server.ssdp.serve_pending]))
    result, _ = check(monkeypatch, server, gateway="127.0.0.2")
    assert result.status is Status.OK and result.facts["is_gateway"] is False
    assert result.facts["description"] is None and result.facts["connected"] is None


@pytest.mark.parametrize("gateway, netmask, device, why", [
    (None, "255.0.0.0", "lo", "no default gateway"),
    ("10.64.0.1", "255.255.255.255", "lo", "not on a local network"),   # PPP: point-to-point
    ("10.0.0.1", "255.0.0.0", "lo", "not on a local network"),          # not our subnet
    (LOOPBACK, "255.0.0.0", "eth9", "not on a local network"),          # adapter has no address
])
def test_check_skips_without_a_lan(gateway, netmask, device, why):
    context = ctx(gateway=gateway, netmask=netmask)
    context.results["route"].facts["device"] = device
    result = router.run(context)
    assert result.status is Status.SKIPPED and why in result.reason


# --------------------------------------------------------------------------- the verdict
WAN_DOWN = {"internet": {"online": False, "any_target_reachable": False}, "dns": {"public_works": False}}


@pytest.mark.parametrize("router_says, code", [
    ({"last_connection_error": "ERROR_AUTHENTICATION_FAILURE"}, "A42"),
    ({"last_connection_error": "ERROR_ACCOUNT_EXPIRED"}, "A42"),
    ({"last_connection_error": "ERROR_NO_CARRIER"}, "L42"),
    ({"last_connection_error": "ERROR_AUTHENTICATION_FAILURE", "physical_link_status": "Down"}, "L42"),
    ({"last_connection_error": "ERROR_NONE"}, "L23"),          # Disconnected alone: wan-down
    ({"last_connection_error": "ERROR_NONE", "connection_status": "Connected",
      "connected": True}, "L23"),
])
def test_the_routers_word_is_the_root_cause_over_wan_down(router_says, code):
    facts = {"router": {**HEALTHY_ROUTER, "connection_status": "Disconnected", "connected": False,
                        **router_says}, **WAN_DOWN}
    findings, verdict = judge.judge(RULES, results(facts), privileged=True, lang="en", isp={})
    assert verdict.code == code
    wan_down = next(f for f in findings if f.rule == "wan-down")
    assert wan_down.consequence_of == (None if code == "L23" else verdict.rule)
    if code == "A42":
        assert "691" in verdict.title and "192.168.1.1" in verdict.title


def test_no_router_check_changes_no_verdict():
    for changes, code in (({}, "N23"), (WAN_DOWN, "L23")):
        _, verdict = judge.judge(RULES, results(changes), privileged=True, lang="en", isp={})
        assert verdict.code == code
