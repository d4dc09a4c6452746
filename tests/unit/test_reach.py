"""Reachability probes: ICMP is tri-state, the system ping is parsed, TCP refusals prove life."""
from __future__ import annotations

import socket
import subprocess

import pytest

from diagnose.net import icmp, probe_series, reach

PING_OK = """PING 192.168.1.1 (192.168.1.1) 56(84) bytes of data.

--- 192.168.1.1 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 201ms
rtt min/avg/max/mdev = 0.412/0.533/0.654/0.121 ms
"""
PING_LOST = """--- 10.0.0.9 ping statistics ---
2 packets transmitted, 0 received, 100% packet loss, time 1010ms
"""


def done(stdout="", stderr="", code=0):
    return subprocess.CompletedProcess([], code, stdout, stderr)


def no_icmp_socket(monkeypatch):
    monkeypatch.setattr(probe_series, "open_echo_socket", lambda family, privileged: None)


def test_system_ping_parsed(monkeypatch):
    no_icmp_socket(monkeypatch)
    ok = reach.icmp_echo("192.168.1.1", privileged=False, run=lambda argv, t: done(PING_OK))
    assert (ok["answered"], ok["received"], ok["rtt_ms"], ok["method"]) == (True, 2, 0.533, "ping")
    lost = reach.icmp_echo("10.0.0.9", privileged=False, run=lambda argv, t: done(PING_LOST, code=1))
    assert (lost["answered"], lost["received"]) == (False, 0)


def test_no_icmp_method_is_not_observed(monkeypatch):
    no_icmp_socket(monkeypatch)
    denied = reach.icmp_echo("10.0.0.9", privileged=False,
                             run=lambda argv, t: done(stderr="ping: socket: Operation not permitted", code=2))
    missing = reach.icmp_echo("10.0.0.9", privileged=False, run=lambda argv, t: None)
    assert denied["answered"] is None and missing["answered"] is None
    assert "no ICMP method" in missing["error"]


def test_host_answers_keeps_ping_unknown_and_counts_a_refusal(monkeypatch):
    no_icmp_socket(monkeypatch)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = reach.host_answers("127.0.0.1", (port,), privileged=False, run=lambda a, t: None,
                                timeout=0.5)
    assert result["answers_ping"] is None
    assert result["tcp"][0]["outcome"] == "refused" and result["reachable"] is True


def test_own_socket_echoes_come_first_and_keep_the_shape(monkeypatch):
    series = {"method": "icmp", "sent": 2, "received": 1, "avg_rtt_ms": 0.7,
              "errors": {"EHOSTUNREACH": 1}}
    monkeypatch.setattr(probe_series, "echo", lambda address, **kw: series)
    never = reach.icmp_echo("10.0.0.1", privileged=False, run=lambda argv, t: pytest.fail("ping ran"))
    assert never == {"answered": True, "method": "icmp", "sent": 2, "received": 1, "rtt_ms": 0.7,
                     "error": "EHOSTUNREACH x1"}


def test_echo_on_loopback_through_the_one_socket_opener():
    opened = icmp.open_echo_socket(socket.AF_INET, privileged=True)
    if opened is None:
        pytest.skip("no ICMP socket allowed here (neither ping_group_range nor root)")
    opened[1].close()
    result = probe_series.echo("127.0.0.1", count=3, wait=2.0, privileged=True)
    assert result["method"] == opened[0] and (result["sent"], result["received"]) == (3, 3)
    assert result["stopped"] == "clean"
