"""ipv6: which addresses count, which targets are tried, hostile AAAA replies, the check."""
from __future__ import annotations

import time

import pytest

from diagnose.checks import ipv6
from diagnose.context import Context
from diagnose.model import CheckResult, Status
from diagnose.net import reach

from .dns_stub import StubResolver
from .virtual_clock import VirtualClock


@pytest.mark.parametrize("address, counts", [
    ("2001:db8:77::10", True),          # documentation space, inside 2000::/3
    ("2409:8a1e:6f60:1b0::5", True),    # a Chinese operator's prefix
    ("3fff:ffff::1", True),
    ("fd00:1::10", False),              # unique local: systems prefer IPv4 over it
    ("fe80::1", False), ("fe80::1%eth0", False), ("::1", False), ("::", False),
    ("ff02::1", False), ("::ffff:192.0.2.1", False), ("64:ff9b::c000:201", False),
    ("192.168.1.10", False), ("not-an-address", False), ("", False),
])
def test_global_unicast(address, counts):
    assert ipv6.global_unicast([{"address": address, "scope": "global"}]) == (
        [address] if counts else [])


def test_global_unicast_keeps_order_and_ignores_odd_entries():
    entries = [{"address": "2001:db8::2"}, {"scope": "global"}, "2001:db8::3", None, 7,
               {"address": None}, {"address": 42}, {"address": ["2001:db8::4"]},
               {"address": "2001:db8::1"}]
    assert ipv6.global_unicast(entries) == ["2001:db8::2", "2001:db8::1"]


def lookup(name, *answers, server="192.168.1.1"):
    return {"server": server, "name": name, "outcome": "answer" if answers else "nodata",
            "answers": list(answers)}


def test_pick_targets_one_per_name_first():
    lookups = [lookup("www.a.test", "2001:db8:a::1", "2001:db8:a::2", "2001:db8:a::3"),
               lookup("www.b.test", "2001:db8:b::1"),
               lookup("www.c.test", "2001:db8:c::1", "2001:db8:c::2")]
    assert ipv6.pick_targets(lookups) == ["2001:db8:a::1", "2001:db8:b::1", "2001:db8:c::1"]
    assert ipv6.pick_targets(lookups, limit=5) == ["2001:db8:a::1", "2001:db8:b::1",
                                                   "2001:db8:c::1", "2001:db8:a::2",
                                                   "2001:db8:c::2"]


def test_pick_targets_merges_resolvers_and_drops_duplicates():
    lookups = [lookup("www.a.test", "2001:db8:a::1", server="192.168.1.1"),
               lookup("www.a.test", "2001:db8:a::1", "2001:db8:a::2", server="192.168.1.2"),
               lookup("www.b.test", "2001:db8:a::1")]     # the same host behind two names
    assert ipv6.pick_targets(lookups) == ["2001:db8:a::1", "2001:db8:a::2"]


def test_pick_targets_only_global_unicast_and_survives_garbage():
    lookups = [lookup("www.a.test", "fe80::1", "fd00::1", "::1", "192.0.2.1", "garbage"),
               {"name": "www.b.test"}, {"answers": None}, {"answers": "2001:db8::1"},
               None, "lookup", {"name": None, "answers": [None, 5, b"2001:db8::1",
                                                          "2001:db8:e::1"]},
               lookup("www.d.test")]
    assert ipv6.pick_targets(lookups) == ["2001:db8:e::1"]
    assert ipv6.pick_targets([]) == []


# --- AAAA queries against real (hostile) servers on loopback ---------------------------------------
def aaaa(*addresses):
    def reply(query):
        import dns.message
        import dns.rrset
        message = dns.message.from_wire(query)
        response = dns.message.make_response(message)
        if addresses:
            response.answer.append(dns.rrset.from_text(message.question[0].name, 60, "IN",
                                                       "AAAA", *addresses))
        return response.to_wire()
    return reply


def a_record_instead(query):
    import dns.message
    import dns.rrset
    message = dns.message.from_wire(query)
    response = dns.message.make_response(message)
    response.answer.append(dns.rrset.from_text(message.question[0].name, 60, "IN", "A",
                                               "192.0.2.1"))
    return response.to_wire()


@pytest.mark.parametrize("reply, outcome, answers", [
    (aaaa("2001:db8::80", "2001:db8::81"), "answer", ["2001:db8::80", "2001:db8::81"]),
    (aaaa(), "nodata", []),
    (a_record_instead, "nodata", []),
    (lambda query: query[:2] + b"\x81\x83" + query[4:], "nxdomain", []),
    (lambda query: query[:2] + b"\x81\x80" + b"\xff" * 40, "bad_reply", []),
    (lambda query: b"\x00", "bad_reply", []),        # not even a header
    (lambda query: None, "timeout", []),
])
def test_query_aaaa_observes_and_never_raises(reply, outcome, answers):
    stub = StubResolver(reply, threaded=False)
    try:
        result = ipv6.query_aaaa("127.0.0.1", "www.a.test", 2.0, port=stub.port,
                                  clock=VirtualClock(serve=[stub.serve_pending]))
    finally:
        stub.sock.close()
    assert (result["outcome"], sorted(result["answers"])) == (outcome, answers)


def test_query_aaaa_caps_the_answers():
    stub = StubResolver(aaaa(*[f"2001:db8::{i:x}" for i in range(1, 40)]), threaded=False)
    try:
        result = ipv6.query_aaaa("127.0.0.1", "www.a.test", 0.5, port=stub.port,
                                  clock=VirtualClock(serve=[stub.serve_pending]))
    finally:
        stub.sock.close()
    assert len(result["answers"]) == 8


# --- the check with stand-ins ----------------------------------------------------------------------
def context(tmp_path, *, addresses=("2001:db8:77::10",), has_default=True):
    (tmp_path / "etc").mkdir(exist_ok=True)
    (tmp_path / "etc" / "resolv.conf").write_text("nameserver 192.168.1.1\n")
    observed = [{"address": a, "scope": "global"} for a in addresses] + [
        {"address": "fe80::10", "scope": "link"}]
    return Context(
        profile={"probes": {"dns_names": ["www.a.test", "www.b.test"]}}, privileged=False,
        deadline=time.monotonic() + 1.5, root=tmp_path,
        results={"addressing": CheckResult(Status.OK, {"interface": "eth0", "ipv6": observed}),
                 "route": CheckResult(Status.OK, {"has_ipv6_default": has_default})})


@pytest.fixture
def network(monkeypatch):
    """names -> AAAA answers, and (address, port) -> connect outcome, as stand-ins."""
    world = {"aaaa": {}, "tcp": {}, "asked": []}

    def query_aaaa(server, name, timeout, port=53):
        world["asked"].append((server, name))
        answers = world["aaaa"].get(name, [])
        return {"server": server, "name": name, "outcome": "answer" if answers else "nodata",
                "answers": answers}

    def tcp_connect(address, port, timeout):
        assert timeout <= ipv6.CONNECT_WAIT_S
        return {"port": port, "outcome": world["tcp"].get((address, port), "timeout"), "ms": 1.0}
    monkeypatch.setattr(ipv6, "query_aaaa", query_aaaa)
    monkeypatch.setattr(reach, "tcp_connect", tcp_connect)
    return world


def test_nothing_answers_over_ipv6(tmp_path, network):
    network["aaaa"] = {"www.a.test": ["2001:db8:a::1"], "www.b.test": ["2001:db8:b::1"]}
    result = ipv6.run(context(tmp_path))
    assert result.status is Status.OK
    assert result.facts["any_answered"] is False
    assert result.facts["targets"] == ["2001:db8:a::1", "2001:db8:b::1"]
    assert len(result.facts["connects"]) == 4
    assert result.reason_args == {"addresses": "2001:db8:a::1, 2001:db8:b::1"}


@pytest.mark.parametrize("outcome, answered", [("open", True), ("refused", True),
                                               ("unreachable", False), ("error", False)])
def test_one_answer_is_enough(tmp_path, network, outcome, answered):
    network["aaaa"] = {"www.a.test": ["2001:db8:a::1"], "www.b.test": ["2001:db8:b::1"]}
    network["tcp"] = {("2001:db8:b::1", 80): outcome}
    result = ipv6.run(context(tmp_path))
    assert result.facts["any_answered"] is answered
    assert result.status is Status.OK   # observed either way: the facts say which


@pytest.mark.parametrize("kwargs, reason", [
    ({"addresses": ()}, "no global IPv6 address with a default route"),
    ({"addresses": ("fd00::10",)}, "no global IPv6 address with a default route"),
    ({"has_default": False}, "no global IPv6 address with a default route"),
])
def test_skipped_without_ipv6(tmp_path, network, kwargs, reason):
    result = ipv6.run(context(tmp_path, **kwargs))
    assert (result.status, result.reason) == (Status.SKIPPED, reason)
    assert network["asked"] == []


def test_skipped_without_aaaa_records(tmp_path, network):
    network["aaaa"] = {"www.a.test": ["fe80::1", "fd00::1"]}
    result = ipv6.run(context(tmp_path))
    assert result.status is Status.SKIPPED and result.facts["any_answered"] is None
    assert result.reason_args == {"names": "www.a.test, www.b.test"}


def test_unobserved_addressing_is_no_answer_either_way(tmp_path, network):
    ctx = context(tmp_path)
    ctx.results = {}
    result = ipv6.run(ctx)
    assert result.status is Status.SKIPPED and result.facts["has_global_unicast"] is None
