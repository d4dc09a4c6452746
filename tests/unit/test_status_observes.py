"""A check's status says whether it could observe (ok, skipped, error, timeout), never whether the
network is good: every registered check runs, for real, on fake machines whose network is broken,
and each fault it sees comes back as an observation (status ok, with its reason and facts)."""
from __future__ import annotations

import copy
import errno
import os
import socket
import time

import pytest

from diagnose import profile as profiles
from diagnose.checks import ALL
from diagnose.context import Context
from diagnose.model import CheckResult, Status
from diagnose.net import probe_series
from diagnose.runner import order

from .test_checks import adapter, write
from .virtual_clock import VirtualClock

OBSERVED = {"ok", "skipped", "error", "timeout"}
ROUTE_HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
DEFAULT_VIA_ROUTER = "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"


def no_network(monkeypatch, error: int) -> None:
    """Every internet socket and name lookup of this process fails at once with `error`
    (ENETUNREACH: no way out; EPERM: this computer's own firewall refuses): nothing waits."""
    real = socket.socket

    class Refused(real):
        def __init__(self, family=socket.AF_INET, *args, **kwargs):
            if family not in (socket.AF_UNIX,):
                raise OSError(error, os.strerror(error))
            super().__init__(family, *args, **kwargs)

    def no_lookup(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "socket", Refused)
    # The probe series waits on its clock for answers that cannot come: a virtual one.
    monkeypatch.setattr(probe_series, "SYSTEM", VirtualClock(start=time.monotonic()))
    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    monkeypatch.setattr(socket, "gethostbyname", no_lookup)


def run_all(root, *, env=None, addresses=None) -> dict[str, CheckResult]:
    """Every registered check, in the order of its needs, called directly (a crash fails the
    test here instead of becoming an `error` in the runner)."""
    profile = copy.deepcopy(profiles.DEFAULT_PROFILE)
    results: dict[str, CheckResult] = {}
    for spec in order(ALL):
        ctx = Context(profile=profile, privileged=False, deadline=time.monotonic() + spec.timeout,
                      results=dict(results), root=root, env=env or {},
                      run=lambda argv, timeout: None, if_addrs=lambda: addresses or {},
                      driver=lambda name: None)
        results[spec.id] = spec.run(ctx)
    return results


def assert_only_observations(results):
    for check_id, result in results.items():
        assert isinstance(result.status, Status) and result.status.value in OBSERVED, \
            f"{check_id} returned {result.status!r}: a status says only whether it could observe"


def test_an_unplugged_computer_is_observed_not_judged(tmp_path, monkeypatch):
    no_network(monkeypatch, errno.ENETUNREACH)
    adapter(tmp_path, "eth0", carrier="0")
    write(tmp_path, "/proc/net/route", ROUTE_HEADER)
    write(tmp_path, "/proc/net/ipv6_route", "")
    started = time.monotonic()
    results = run_all(tmp_path)
    assert time.monotonic() - started < 10   # nothing waited for an answer
    assert_only_observations(results)
    seen = {check_id: (r.status.value, r.reason) for check_id, r in results.items()}
    # What these checks used to flag as "problem" themselves: now observations with a reason.
    assert seen["route"] == ("ok", "no IPv4 default route")
    assert seen["interfaces"] == ("ok", "{interface} has no link (cable or Wi-Fi)")
    assert results["interfaces"].facts["primary_carrier"] is False
    assert seen["addressing"][0] == "ok" and results["addressing"].facts["has_ipv4"] is False
    assert seen["dns"][0] == "ok" and results["dns"].facts["configured"] == []
    assert seen["internet"][0] == "ok" and results["internet"].facts["online"] is False
    assert seen["internet"][1] == "no connectivity URL answered 204 ({outcomes})"
    assert seen["lookup"][0] == "ok" and results["lookup"].facts["all_fail"] is True


def test_a_firewall_refusing_everything_is_observed_not_judged(tmp_path, monkeypatch):
    no_network(monkeypatch, errno.EPERM)
    adapter(tmp_path, "eth0")
    write(tmp_path, "/proc/net/route", ROUTE_HEADER + DEFAULT_VIA_ROUTER)
    write(tmp_path, "/proc/net/ipv6_route", "")
    write(tmp_path, "/etc/resolv.conf", "nameserver 192.168.1.1\n")
    env = {"https_proxy": "http://127.0.0.1:9", "no_proxy": "x"}
    addresses = {"eth0": [type("A", (), {"family": socket.AF_INET, "address": "192.168.1.10",
                                         "netmask": "255.255.255.0", "broadcast": None,
                                         "ptp": None})()]}
    started = time.monotonic()
    results = run_all(tmp_path, env=env, addresses=addresses)
    assert time.monotonic() - started < 10
    assert_only_observations(results)
    seen = {check_id: (r.status.value, r.reason) for check_id, r in results.items()}
    assert seen["route"] == ("ok", None) and results["route"].facts["gateway"] == "192.168.1.1"
    assert seen["gateway"] == ("ok", "gateway {gateway} does not answer")
    assert results["gateway"].facts["reachable"] is False
    assert seen["dns"] == ("ok", "configured DNS ({servers}) does not resolve")
    assert seen["proxy"] == ("ok", "proxy does not accept connections: {proxies}")
    assert seen["firewall"][0] == "ok" and results["firewall"].facts["blocked"] is True
    assert seen["internet"][0] == "ok" and results["internet"].facts["online"] is False


def test_no_status_says_the_network_is_bad():
    assert {status.value for status in Status} == OBSERVED
    with pytest.raises(ValueError):
        Status("problem")
