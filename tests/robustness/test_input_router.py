"""A hostile router's numbers: non-ASCII digits, thousands of digits. Parsed strictly (ASCII
digits, at most igd.MAX_DIGITS), they make the answer malformed: the check reports an unusable
answer (status error, which rule N43 turns into "nothing concluded"), never a crash."""
from __future__ import annotations

import socket
import time
from collections import namedtuple
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from diagnose.checks import BY_ID, router
from diagnose.context import Context
from diagnose.engine import judge, pack
from diagnose.model import CheckResult, Status
from diagnose.net import igd
from tests.unit.facts import results

Addr = namedtuple("Addr", "family address netmask broadcast ptp")
LOOPBACK = "127.0.0.1"
RULES = pack.load(Path(__file__).resolve().parents[2] / "rules", set(BY_ID))
HOSTILE_NUMBERS = ["٤٠١", "４０１", "²", "9" * 5000, "-1", "4e3", "0x10", "1 000", "१२३"]


def run_check(monkeypatch, server):
    monkeypatch.setattr(router, "SSDP_TARGET", (LOOPBACK, server.ssdp_port))
    monkeypatch.setattr(router, "SSDP_UNICAST_PORT", server.ssdp_port)
    route = CheckResult(Status.OK, {"gateway": LOOPBACK, "device": "lo", "has_default": True})
    addrs = {"lo": [Addr(socket.AF_INET, LOOPBACK, "255.0.0.0", None, None)]}
    ctx = Context(profile={}, privileged=False, deadline=time.monotonic() + router.CHECK.timeout,
                  results={"route": route}, if_addrs=lambda: addrs)
    started = time.monotonic()
    result = router.run(ctx)
    return result, time.monotonic() - started


def assert_n43(result):
    checks = results(statuses={"router": result.status.value})
    checks["router"] = result
    findings, _ = judge.judge(RULES, checks, privileged=True, lang="en", isp={})
    assert "N43" in {finding.code for finding in findings}


@pytest.mark.parametrize("code", HOSTILE_NUMBERS)
def test_a_hostile_fault_code_is_a_malformed_answer(monkeypatch, igd_factory, code):
    result, elapsed = run_check(monkeypatch, igd_factory(hostile="soap-fault", fault_code=code))
    assert result.status is Status.ERROR
    assert result.reason_args["problem"] == "bad_reply"
    assert elapsed < router.CHECK.timeout
    assert_n43(result)


@pytest.mark.parametrize("uptime", HOSTILE_NUMBERS)
def test_a_hostile_uptime_is_a_malformed_answer(monkeypatch, igd_factory, uptime):
    result, elapsed = run_check(monkeypatch, igd_factory(uptime=uptime))
    assert result.status is Status.ERROR
    assert result.reason_args["problem"] == "bad_reply"
    assert result.facts["uptime_s"] is None and result.facts["connected"] is None
    assert elapsed < router.CHECK.timeout


def test_an_honest_router_still_counts(monkeypatch, igd_factory):
    result, _ = run_check(monkeypatch, igd_factory(uptime=4242))
    assert result.status is Status.OK and result.facts["uptime_s"] == 4242


@given(st.text(max_size=30) | st.integers(0, 10**30).map(str) | st.none())
def test_whole_number_is_ascii_digits_or_none(text):
    value = igd.whole_number(text)
    if value is not None:
        stripped = text.strip()
        assert stripped.isascii() and stripped.isdigit() and len(stripped) <= igd.MAX_DIGITS
        assert value == int(stripped)
    assert igd.malformed_number(text) == (isinstance(text, str) and bool(text.strip())
                                          and value is None)
