"""dns_hijack: the probe name, the verdict logic, and the check with stand-in resolvers."""
from __future__ import annotations

import re
import time

import pytest

from diagnose.checks import dns_hijack
from diagnose.context import Context
from diagnose.model import Status
from diagnose.net import dnsquery

from .dns_stub import StubResolver

RANDOM = r"nx[0-9a-f]{12}\."


@pytest.mark.parametrize("names, domain", [
    (["www.example.com"], "example.com"),
    (["connect.lab.test", "www.lab.test"], "lab.test"),
    (["example.com"], "example.com"),
    (["www.example.com."], "example.com"),
    (["a.b.c.example.com.cn"], "b.c.example.com.cn"),
    (["WWW.Example.COM"], "Example.COM"),
])
def test_probe_name_is_random_under_the_first_names_domain(names, domain):
    first, second = dns_hijack.probe_name(names), dns_hijack.probe_name(names)
    assert re.fullmatch(RANDOM + re.escape(domain), first)
    assert first != second


@pytest.mark.parametrize("names", [
    [], [""], ["."], ["com"], ["localhost"], ["a..b.com"], [".example.com"], [None], [42],
    ["x" * 64 + ".example.com.cn"], [("a" * 60 + ".") * 5 + "com"],
])
def test_probe_name_without_a_usable_domain(names):
    assert dns_hijack.probe_name(names) is None


def q(server, outcome, answers=()):
    return {"server": server, "name": "nx.example.com", "outcome": outcome,
            "answers": list(answers)}


@pytest.mark.parametrize("queries, rewrites", [
    ([q("192.168.1.1", "answer", ["203.0.113.81"])], True),
    ([q("192.168.1.1", "nxdomain"), q("192.168.1.2", "answer", ["203.0.113.81"])], True),
    ([q("192.168.1.1", "nxdomain")], False),
    ([q("192.168.1.1", "nodata")], False),
    ([q("192.168.1.1", "timeout"), q("192.168.1.2", "nxdomain")], False),
    ([q("192.168.1.1", "timeout"), q("192.168.1.2", "servfail")], None),
    ([q("192.168.1.1", "bad_reply")], None),
    ([], None),
])
def test_configured_verdict(queries, rewrites):
    assert dns_hijack._verdict_of(queries) is rewrites


@pytest.mark.parametrize("queries, nxdomain", [
    ([q("223.5.5.5", "nxdomain")], True),
    ([q("223.5.5.5", "nxdomain"), q("119.29.29.29", "timeout")], True),
    # a wildcard domain: the public resolver knows the name too
    ([q("223.5.5.5", "answer", ["198.18.0.1"])], False),
    ([q("223.5.5.5", "nxdomain"), q("119.29.29.29", "answer", ["198.18.0.1"])], False),
    ([q("223.5.5.5", "nodata")], False),
    ([q("223.5.5.5", "timeout")], None),
    ([q("223.5.5.5", "bad_reply"), q("119.29.29.29", "refused")], None),
    ([], None),
])
def test_reference_verdict(queries, nxdomain):
    assert dns_hijack._nxdomain(queries) is nxdomain


# --- the check with stand-ins ----------------------------------------------------------------------
def context(tmp_path, nameservers=("192.168.1.1",), public=("223.5.5.5",),
            names=("www.example.com",)):
    etc = tmp_path / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "resolv.conf").write_text("".join(f"nameserver {s}\n" for s in nameservers))
    return Context(profile={"probes": {"dns_names": list(names), "public_resolvers": list(public)}},
                   privileged=False, deadline=time.monotonic() + 1.5, root=tmp_path)


@pytest.fixture
def resolvers(monkeypatch):
    """server -> (outcome, answers); what each stand-in resolver says to the random name."""
    said: dict[str, tuple] = {}
    asked: list[tuple] = []

    def query_a(server, name, timeout, port=53):
        asked.append((server, name, timeout))
        outcome, answers = said.get(server, ("timeout", []))
        return {"server": server, "name": name, "outcome": outcome, "rcode": None,
                "latency_ms": 1.0, "answers": list(answers)}
    monkeypatch.setattr(dnsquery, "query_a", query_a)
    said["asked"] = asked
    return said


def test_rewriting_resolver(tmp_path, resolvers):
    resolvers.update({"192.168.1.1": ("answer", ["203.0.113.81", "203.0.113.82"]),
                      "223.5.5.5": ("nxdomain", [])})
    result = dns_hijack.run(context(tmp_path))
    facts = result.facts
    assert result.status is Status.OK
    assert (facts["configured_rewrites"], facts["reference_nxdomain"]) == (True, True)
    assert facts["rewriting"] == ["192.168.1.1"]
    assert facts["rewritten_to"] == ["203.0.113.81", "203.0.113.82"]
    asked = resolvers["asked"]
    assert {server for server, _, _ in asked} == {"192.168.1.1", "223.5.5.5"}
    assert len({name for _, name, _ in asked}) == 1 and all(t <= 1.0 for _, _, t in asked)


def test_honest_resolver(tmp_path, resolvers):
    resolvers.update({"192.168.1.1": ("nxdomain", []), "223.5.5.5": ("nxdomain", [])})
    facts = dns_hijack.run(context(tmp_path)).facts
    assert (facts["configured_rewrites"], facts["reference_nxdomain"]) == (False, True)
    assert facts["rewriting"] == [] and facts["rewritten_to"] == []


def test_a_public_resolver_that_is_also_configured_is_no_reference(tmp_path, resolvers):
    resolvers.update({"223.5.5.5": ("answer", ["203.0.113.81"])})
    facts = dns_hijack.run(context(tmp_path, nameservers=["223.5.5.5"])).facts
    assert facts["configured_rewrites"] is True and facts["reference_nxdomain"] is None
    assert [q["server"] for q in facts["queries"]] == ["223.5.5.5"]


def test_at_most_three_configured_resolvers(tmp_path, resolvers):
    servers = [f"192.168.1.{i}" for i in range(1, 6)]
    facts = dns_hijack.run(context(tmp_path, nameservers=servers)).facts
    assert facts["configured"] == servers[:3]


@pytest.mark.parametrize("kwargs, said, reason", [
    ({"nameservers": ()}, {}, "no DNS server configured"),
    ({"names": ("localhost",)}, {}, "no DNS name in the profile"),
    ({}, {"192.168.1.1": ("timeout", [])}, "no configured DNS server answered"),
    ({}, {"192.168.1.1": ("bad_reply", [])}, "no configured DNS server answered"),
])
def test_skipped_when_nothing_can_be_said(tmp_path, resolvers, kwargs, said, reason):
    resolvers.update(said)
    result = dns_hijack.run(context(tmp_path, **kwargs))
    assert (result.status, result.reason) == (Status.SKIPPED, reason)


# --- real DNS over loopback: a resolver that rewrites, and one that sends garbage -------------------
def rewriting(query: bytes) -> bytes:
    import dns.message
    import dns.rrset
    message = dns.message.from_wire(query)
    response = dns.message.make_response(message)
    response.answer.append(dns.rrset.from_text(message.question[0].name, 60, "IN", "A",
                                               "203.0.113.81"))
    return response.to_wire()


def nxdomain(query: bytes) -> bytes:
    import dns.message
    import dns.rcode
    response = dns.message.make_response(dns.message.from_wire(query))
    response.set_rcode(dns.rcode.NXDOMAIN)
    return response.to_wire()


@pytest.mark.parametrize("configured_reply, public_reply, rewrites, reference", [
    (rewriting, nxdomain, True, True),
    (nxdomain, nxdomain, False, True),
    (lambda query: query[:2] + b"\x81\x80garbage", nxdomain, None, True),
    (lambda query: b"\xff" * 600, lambda query: query[:2] + b"\x00" * 3, None, None),
])
def test_real_replies_over_loopback(tmp_path, monkeypatch, configured_reply, public_reply,
                                    rewrites, reference):
    configured, public = StubResolver(configured_reply), StubResolver(public_reply)
    ports = {"127.0.0.1": configured.port, "127.0.0.2": public.port}
    real = dnsquery.query_a

    def query_a(server, name, timeout, port=53):
        return real("127.0.0.1", name, timeout, port=ports[server]) | {"server": server}
    monkeypatch.setattr(dnsquery, "query_a", query_a)
    try:
        result = dns_hijack.run(context(tmp_path, nameservers=["127.0.0.1"], public=["127.0.0.2"]))
    finally:
        configured.close()
        public.close()
    assert result.facts["configured_rewrites"] is rewrites
    assert result.facts["reference_nxdomain"] is reference
    if rewrites:
        assert result.facts["rewritten_to"] == ["203.0.113.81"]
