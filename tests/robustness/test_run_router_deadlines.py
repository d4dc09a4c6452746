"""A router that trickles or stalls cannot keep the router check past its cutoffs: real sockets,
real time. tests/unit/test_igd.py covers every answer that comes at once."""
from __future__ import annotations

import time

import pytest

from diagnose.checks import router
from diagnose.model import Status
from diagnose.net import igd
from tests.unit.test_igd import (DESCRIPTION_CUTOFF_S, LOOPBACK, SLACK_S, check,
                                 no_multicast)  # noqa: F401  (the fixture)


@pytest.mark.parametrize("hostile", [
    "endless",            # one byte at a time: every read succeeds, none finishes
    "endless-headers",
    "stall",
])
def test_description_of_a_slow_router_ends_at_the_cutoff(igd_factory, hostile):
    server = igd_factory(hostile=hostile)
    location = f"http://{LOOPBACK}:{server.http_port}/rootDesc.xml"
    started = time.monotonic()
    with igd.Cutoff(DESCRIPTION_CUTOFF_S) as cutoff:
        described = igd.describe(location, LOOPBACK, cutoff)
    assert described["outcome"] == "timeout"
    assert time.monotonic() - started < DESCRIPTION_CUTOFF_S + SLACK_S


@pytest.mark.parametrize("hostile", ["endless", "endless-headers"])
def test_check_of_an_endless_router_is_a_timeout_with_reason_in_time(monkeypatch, igd_factory,
                                                                      hostile):
    result, elapsed = check(monkeypatch, igd_factory(hostile=hostile))
    assert result.status is Status.TIMEOUT and result.reason
    assert result.reason_args.get("problem") is None
    assert result.facts["found"] is True and result.facts["connected"] is None
    assert elapsed < router.CHECK.timeout


def test_check_respects_a_short_deadline(monkeypatch, igd_factory):
    result, elapsed = check(monkeypatch, igd_factory(hostile="stall"), seconds=0.9)
    assert result.status is Status.TIMEOUT and elapsed < 0.9
