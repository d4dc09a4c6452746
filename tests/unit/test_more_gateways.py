"""The dns check's summary of the router's answers, and the gateway check's other default routes."""
from __future__ import annotations

import time

from diagnose.checks import dns, gateway
from diagnose.context import Context
from diagnose.model import CheckResult, Status
from diagnose.platform import NotObserved


def test_shared_outcome_of_the_router_s_dns():
    asked = [{"server": "192.168.1.1", "outcome": "refused"},
             {"server": "192.168.1.1", "outcome": "refused"},
             {"server": "223.5.5.5", "outcome": "answer"}]
    assert dns.shared_outcome(asked, "192.168.1.1") == "refused"
    assert dns.shared_outcome(asked + [{"server": "192.168.1.1", "outcome": "answer"}],
                              "192.168.1.1") == "mixed"
    assert dns.shared_outcome(asked, "192.168.9.9") is None   # not asked: not observed
    assert dns.shared_outcome(asked, None) is None


def _route(*gateways):
    return CheckResult(Status.OK, {"gateway": gateways[0], "default_routes": [
        {"family": 4, "device": "eth0", "metric": 50 * (i + 1), "gateway": g}
        for i, g in enumerate(gateways)]})


def _run(tmp_path, monkeypatch, route, alive):
    asked = []

    def host_answers(address, ports, **kwargs):
        asked.append(address)
        return {"address": address, "icmp": {}, "tcp": [], "answers_ping": address in alive,
                "answers_tcp": False, "reachable": address in alive}
    monkeypatch.setattr(gateway.reach, "host_answers", host_answers)
    context = Context(profile={"probes": {}}, privileged=False, deadline=time.monotonic() + 5,
                      results={"route": route}, root=tmp_path, env={}, driver={}.get)
    monkeypatch.setattr(context.system, "neighbour", lambda address: NotObserved("no table"))
    return gateway.run(context).facts, asked


def test_the_gateways_of_other_default_routes_are_asked_too(tmp_path, monkeypatch):
    facts, asked = _run(tmp_path, monkeypatch, _route("192.168.1.254", "192.168.1.1"),
                        alive={"192.168.1.1"})
    assert sorted(asked) == ["192.168.1.1", "192.168.1.254"]
    assert facts["reachable"] is False and facts["address"] == "192.168.1.254"
    assert facts["other_gateways"] == ["192.168.1.1"]
    assert facts["other_gateways_answering"] == ["192.168.1.1"] and facts["other_answers"] is True


def test_one_default_route_asks_nothing_more(tmp_path, monkeypatch):
    facts, asked = _run(tmp_path, monkeypatch, _route("192.168.1.1"), alive={"192.168.1.1"})
    assert asked == ["192.168.1.1"]
    assert facts["other_gateways"] == [] and facts["other_answers"] is None
