"""path_mtu: the system ping's words, the summary of the probes, hostile ICMP, and the rule."""
from __future__ import annotations

import errno
import os
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from diagnose.checks import path_mtu
from diagnose.context import Context
from diagnose.engine import pack
from diagnose.engine.conditions import evaluate
from diagnose.model import CheckResult, Status

from .facts import results

TARGET = "203.0.113.1"


def done(stdout="", stderr="", returncode=0):
    return subprocess.CompletedProcess(["ping"], returncode, stdout, stderr)


# Real outputs of iputils 20221126 `ping -n -M do -s N -c 2 -i 0.2 -W 1` (Debian 12, fault lab).
REPLY = done(
    "PING 203.0.113.1 (203.0.113.1) 1472(1500) bytes of data.\n"
    "1480 bytes from 203.0.113.1: icmp_seq=1 ttl=63 time=0.079 ms\n"
    "1480 bytes from 203.0.113.1: icmp_seq=2 ttl=63 time=0.066 ms\n\n"
    "--- 203.0.113.1 ping statistics ---\n"
    "2 packets transmitted, 2 received, 0% packet loss, time 202ms\n"
    "rtt min/avg/max/mdev = 0.066/0.072/0.079/0.006 ms\n")
HALF_LOST = done(
    "PING 203.0.113.1 (203.0.113.1) 1372(1400) bytes of data.\n"
    "1380 bytes from 203.0.113.1: icmp_seq=2 ttl=63 time=12.4 ms\n\n"
    "--- 203.0.113.1 ping statistics ---\n"
    "2 packets transmitted, 1 received, 50% packet loss, time 203ms\n"
    "rtt min/avg/max/mdev = 12.4/12.4/12.4/0.000 ms\n")
FRAG_NEEDED = done(
    "PING 203.0.113.1 (203.0.113.1) 1472(1500) bytes of data.\n"
    "From 192.168.77.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)\n\n"
    "--- 203.0.113.1 ping statistics ---\n"
    "2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 204ms\n\n",
    "ping: local error: message too long, mtu=1400\n", 1)
# The kernel remembers the path MTU it learnt: the next run is refused before it leaves.
LOCAL_TOO_BIG = done(
    "PING 203.0.113.1 (203.0.113.1) 1472(1500) bytes of data.\n\n"
    "--- 203.0.113.1 ping statistics ---\n"
    "2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 212ms\n\n",
    "ping: local error: message too long, mtu=1400\n"
    "ping: local error: message too long, mtu=1400\n", 1)
SILENT = done(
    "PING 203.0.113.1 (203.0.113.1) 1472(1500) bytes of data.\n\n"
    "--- 203.0.113.1 ping statistics ---\n"
    "2 packets transmitted, 0 received, 100% packet loss, time 207ms\n\n", "", 1)
HOST_UNREACHABLE = done(
    "PING 203.0.113.99 (203.0.113.99) 1472(1500) bytes of data.\n"
    "From 192.168.77.1 icmp_seq=1 Destination Host Unreachable\n"
    "From 192.168.77.1 icmp_seq=2 Destination Host Unreachable\n\n"
    "--- 203.0.113.99 ping statistics ---\n"
    "2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 202ms\n\n", "", 1)
PROHIBITED = done("", "ping: Do you want to ping broadcast? Then -b. If not, check your local "
                  "firewall rules\n", 2)
NO_SOCKET = done("", "ping: socket: Operation not permitted\n", 2)
BUSYBOX = done("", "ping: unrecognized option: M\nBusyBox v1.36.1 (2023-07-27) multi-call binary."
                   "\n\nUsage: ping [OPTIONS] HOST\n", 1)


@pytest.mark.parametrize("output, expected", [
    (REPLY, {"size": 1500, "outcome": "reply", "rtt_ms": 0.079, "tries": 1}),
    (HALF_LOST, {"size": 1500, "outcome": "reply", "rtt_ms": 12.4, "tries": 2}),
    (FRAG_NEEDED, {"size": 1500, "outcome": "frag_needed", "mtu": 1400, "router": None}),
    (LOCAL_TOO_BIG, {"size": 1500, "outcome": "too_big_local", "mtu": 1400}),
    (SILENT, {"size": 1500, "outcome": "no_reply"}),
    (HOST_UNREACHABLE, {"size": 1500, "outcome": "unreachable", "router": None}),
    (PROHIBITED, {"size": 1500, "outcome": "error", "error": PROHIBITED.stderr.strip()}),
    (NO_SOCKET, None),   # not allowed here: the check says it needs administrator rights
])
def test_parse_ping_real_outputs(output, expected):
    assert path_mtu.parse_ping(1500, output) == expected


@pytest.mark.parametrize("output", [
    done(), done(None, None, 0), BUSYBOX, done("\x00\xff" * 500, "garbage", 3),
    done("9999999999999999999999 received", ""), done("time=abc ms 1 received", ""),
    done("1 received time=1.2.3 ms", ""), done("time=9" + "9" * 400 + " ms 1 received", ""),
    done("Frag needed and DF set (mtu = )", ""), done("", "x" * 10_000, 1),
])
def test_parse_ping_odd_output_never_crashes(output):
    result = path_mtu.parse_ping(1400, output)
    assert result is None or result["size"] == 1400 and result["outcome"] in (
        "reply", "frag_needed", "too_big_local", "unreachable", "no_reply", "error")
    if result and result.get("error"):
        assert len(result["error"]) <= 200


def probes(**outcomes):
    """probes(s1500="no_reply", ...) in the check's order; unnamed sizes answered."""
    found = []
    for size in path_mtu.SIZES:
        outcome = outcomes.get(f"s{size}", "reply")
        entry = {"size": size, "outcome": outcome}
        if isinstance(outcome, tuple):
            entry = {"size": size, "outcome": outcome[0], **outcome[1]}
        if entry["outcome"] == "reply":
            entry.setdefault("tries", 1)
        found.append(entry)
    return found


def test_summarise_healthy_path():
    assert path_mtu.summarise(probes()) == {
        "largest_answered": 1500, "smallest_answered": 576, "silent_sizes": [],
        "silent_above": False, "frag_needed_mtu": None, "loss_seen": False}


def test_summarise_black_hole():
    summary = path_mtu.summarise(probes(s1500="no_reply", s1492="no_reply", s1480="no_reply",
                                        s1472="no_reply", s1460="no_reply"))
    assert summary["largest_answered"] == 1400
    assert summary["silent_sizes"] == [1460, 1472, 1480, 1492, 1500]
    assert summary["silent_above"] is True and summary["loss_seen"] is False


def test_summarise_path_mtu_discovery_works():
    frag = ("frag_needed", {"mtu": 1400, "router": "192.168.77.1"})
    summary = path_mtu.summarise(probes(s1500=frag, s1492=frag, s1480=frag, s1472=frag,
                                        s1460=frag))
    assert (summary["silent_above"], summary["frag_needed_mtu"]) == (False, 1400)


def test_summarise_rate_limited_frag_needed_is_no_black_hole():
    """A router that reports the MTU but rate-limits its messages: the later sizes go silent."""
    frag = ("frag_needed", {"mtu": 1400, "router": "192.168.1.1"})
    summary = path_mtu.summarise(probes(s1500=frag, s1492=frag, s1480="no_reply",
                                        s1472="no_reply", s1460="no_reply"))
    assert (summary["silent_above"], summary["silent_sizes"]) == (False, [])


def test_summarise_black_hole_beyond_a_router_that_reports_its_own_mtu():
    """The home router says 1492 (PPPoE); a hop beyond drops 1461..1492 without a word."""
    frag = ("frag_needed", {"mtu": 1492, "router": "192.168.1.1"})
    summary = path_mtu.summarise(probes(s1500=frag, s1492="no_reply", s1480="no_reply",
                                        s1472="no_reply"))
    assert summary["largest_answered"] == 1460
    assert (summary["silent_above"], summary["silent_sizes"]) == (True, [1472, 1480, 1492])


def test_summarise_local_mtu_and_loss():
    summary = path_mtu.summarise(probes(s1500=("too_big_local", {"mtu": 1492}),
                                        s1400=("reply", {"tries": 3})))
    assert summary["largest_answered"] == 1492 and summary["silent_above"] is False
    assert summary["loss_seen"] is True


def test_summarise_nothing_answered_concludes_nothing():
    summary = path_mtu.summarise([{"size": s, "outcome": "no_reply"} for s in path_mtu.SIZES])
    assert summary["silent_above"] is None and summary["loss_seen"] is None
    assert path_mtu.summarise([])["largest_answered"] is None


def test_summarise_odd_entries():
    odd = [{"size": 1500, "outcome": "frag_needed", "mtu": "1400"},  # not a number: ignored
           {"size": 1492, "outcome": "frag_needed", "mtu": 0},
           {"size": 1480},                                          # no outcome at all
           {"size": 1400, "outcome": "reply", "tries": None}]
    summary = path_mtu.summarise(odd)
    assert summary["frag_needed_mtu"] is None and summary["largest_answered"] == 1400
    assert summary["loss_seen"] is False and summary["silent_above"] is False


# --- the rule -------------------------------------------------------------------------------------
RULE = next(r for r in pack.load(Path(__file__).resolve().parents[2] / "rules" / "path-mtu.yaml",
                                 {"path_mtu", "route"}) if r.id == "path-mtu-black-hole")
HOLE = {"silent_sizes": [1460, 1472, 1480, 1492, 1500], "silent_above": True,
        "largest_answered": 1400, "frag_needed_mtu": None, "loss_seen": False}


@pytest.mark.parametrize("changes, fires", [
    ({}, True),
    ({"loss_seen": True}, False),          # a lossy line: a silent size may be plain loss
    ({"loss_seen": None}, False),
    ({"largest_answered": 1500, "silent_sizes": [], "silent_above": False}, False),
    ({"largest_answered": None, "silent_above": None}, False),   # nothing answered: a dead line
])
def test_rule(changes, fires):
    observed = results({"path_mtu": {**HOLE, **changes}})
    assert (evaluate(RULE.when, observed, {}) is True) is fires


# --- hostile ICMP ---------------------------------------------------------------------------------
def bare_probe(raw=True):
    """A _Probe without its socket: only the parsing is exercised."""
    probe = object.__new__(path_mtu._Probe)
    probe.target, probe.sizes, probe.raw = TARGET, path_mtu.SIZES, raw
    probe.ident, probe.token, probe.sent, probe.results = 0x1234, b"tok3n!!!", {}, {}
    return probe


def ip_header(src, dst, proto=1, ihl=5):
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 0, 0, 0, 64, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst)) + b"\0" * (ihl * 4 - 20)


def frag_needed(seq, mtu=1400, ident=0x1234, target=TARGET):
    quoted = ip_header("192.168.77.10", target) + struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 3, 4, 0, 0, mtu) + quoted


def test_probe_reads_replies_and_frag_needed():
    probe = bare_probe()
    probe._icmp(struct.pack("!BBHHH", 0, 0, 0, 0x1234, 5 * path_mtu.TRIES + 1) + probe.token,
                TARGET)
    probe._icmp(frag_needed(0), "192.168.77.1")
    assert probe.results[1400] == {"size": 1400, "outcome": "reply", "rtt_ms": None, "tries": 2}
    assert probe.results[1500] == {"size": 1500, "outcome": "frag_needed", "mtu": 1400,
                                   "router": "192.168.77.1"}


@pytest.mark.parametrize("packet, source", [
    (b"", TARGET), (b"\x00", TARGET), (os.urandom(7), TARGET),
    # a reply from elsewhere, without our token, for another program, or with a huge sequence
    (struct.pack("!BBHHH", 0, 0, 0, 0x1234, 0) + b"tok3n!!!", "198.51.100.9"),
    (struct.pack("!BBHHH", 0, 0, 0, 0x1234, 0) + b"other!!!", TARGET),
    (struct.pack("!BBHHH", 0, 0, 0, 0x9999, 0) + b"tok3n!!!", TARGET),
    (struct.pack("!BBHHH", 0, 0, 0, 0x1234, 65535) + b"tok3n!!!", TARGET),
    # errors that quote too little, another protocol, another target, another program
    (struct.pack("!BBHHH", 3, 4, 0, 0, 1400), "192.168.77.1"),
    (struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + b"\x45" + b"\0" * 10, "192.168.77.1"),
    (struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + ip_header("192.168.77.10", TARGET, proto=17)
     + b"\0" * 8, "192.168.77.1"),
    (frag_needed(0, target="198.51.100.7"), "192.168.77.1"),
    (frag_needed(0, ident=0x4321), "192.168.77.1"),
    (frag_needed(0)[:30], "192.168.77.1"),
    (frag_needed(65535), "192.168.77.1"),
    # a header length field that lies
    (struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + b"\x4f" + b"\0" * 40, "192.168.77.1"),
    (struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + b"\x40" + b"\0" * 40, "192.168.77.1"),
])
def test_probe_ignores_hostile_or_foreign_icmp(packet, source):
    probe = bare_probe()
    probe._icmp(packet, source)
    assert probe.results == {}


def test_probe_ignores_random_garbage():
    probe = bare_probe()
    for _ in range(2000):
        probe._icmp(os.urandom(int.from_bytes(os.urandom(1), "big")), "192.168.77.1")
    assert all(r["outcome"] in ("frag_needed", "unreachable") for r in probe.results.values())


# --- the check, with stand-ins --------------------------------------------------------------------
def context(run=None, privileged=False):
    return Context(profile={"probes": {"ping_targets": ["2001:db8::1", TARGET]}},
                   privileged=privileged, deadline=time.monotonic() + 1.5,
                   results={"route": CheckResult(Status.OK, {"has_default": True})},
                   run=run or (lambda argv, timeout: None))


@pytest.fixture
def no_sockets(monkeypatch):
    monkeypatch.setattr(path_mtu, "socket_probe", lambda *a, **k: None)


def test_system_ping_fallback(no_sockets):
    def ping(argv, timeout):
        assert argv[:4] == ["ping", "-n", "-M", "do"] and argv[-1] == TARGET and timeout <= 1.5
        size = int(argv[argv.index("-s") + 1]) + path_mtu.HEADERS
        return REPLY if size <= 1400 else SILENT
    result = path_mtu.run(context(ping))
    assert result.status is Status.OK and result.facts["method"] == "ping"
    assert result.facts["silent_sizes"] == [1460, 1472, 1480, 1492, 1500]
    assert result.facts["silent_above"] is True and result.facts["loss_seen"] is False
    assert result.reason == "no reply and no error at {sizes} bytes, {largest} bytes answered"
    assert result.reason_args == {"sizes": "1460, 1472, 1480, 1492, 1500", "largest": 1400}


def test_silence_on_a_lossy_line_says_answers_needed_a_resend(no_sockets):
    def ping(argv, timeout):
        size = int(argv[argv.index("-s") + 1]) + path_mtu.HEADERS
        return HALF_LOST if size <= 1400 else SILENT
    result = path_mtu.run(context(ping))
    assert result.status is Status.OK and result.facts["loss_seen"] is True
    assert "needed a resend" in result.reason and result.reason_args["largest"] == 1400


@pytest.mark.parametrize("answered_up_to", [1400, None])
def test_silence_is_observed_not_judged(no_sockets, answered_up_to):
    """A black hole, or no answer at all: the check could observe (ok); rule H63 judges."""
    def ping(argv, timeout):
        size = int(argv[argv.index("-s") + 1]) + path_mtu.HEADERS
        return REPLY if answered_up_to and size <= answered_up_to else SILENT
    result = path_mtu.run(context(ping))
    assert result.status is Status.OK
    assert (result.reason is None) == (answered_up_to is None)   # measured silence is named
    assert result.facts["largest_answered"] == answered_up_to


@pytest.mark.parametrize("output, reason", [
    (None, "needs administrator rights"),            # no ping, or not allowed to run it
    (NO_SOCKET, "needs administrator rights"),
    (BUSYBOX, "the DF probes could not be sent"),   # a ping without -M
])
def test_without_any_way_to_probe_it_says_so(no_sockets, output, reason):
    result = path_mtu.run(context(lambda argv, timeout: output))
    assert (result.status, result.reason) == (Status.SKIPPED, reason)


def test_skipped_without_a_route_or_an_ipv4_target(no_sockets):
    ctx = context()
    ctx.results = {"route": CheckResult(Status.OK, {"has_default": False})}
    assert path_mtu.run(ctx).status is Status.SKIPPED
    ctx = context()
    ctx.profile = {"probes": {"ping_targets": ["2001:db8::1"]}}
    assert path_mtu.run(ctx).reason == "no ping target in the profile"


def _icmp_socket_allowed(raw: bool) -> bool:
    if raw:
        from diagnose.context import has_raw_socket_privilege
        return has_raw_socket_privilege()
    low, high = map(int, open("/proc/sys/net/ipv4/ping_group_range").read().split())
    return any(low <= group <= high for group in {os.getgid(), *os.getgroups()})


@pytest.mark.parametrize("raw", [True, False])
def test_socket_probe_on_loopback(raw):
    """The real sockets against this machine's loopback (MTU 65536): every size answers."""
    found = path_mtu.socket_probe("127.0.0.1", (1500, 576), raw=raw, window=1.0,
                                  deadline=time.monotonic() + 1.0)
    # None exactly when the kernel refuses that socket: raw needs CAP_NET_RAW, a datagram ICMP
    # socket a group inside net.ipv4.ping_group_range.
    assert (found is None) == (not _icmp_socket_allowed(raw))
    if found is None:
        return
    assert [(p["size"], p["outcome"], p["tries"]) for p in found] == [(1500, "reply", 1),
                                                                      (576, "reply", 1)]


class FakeSocket:
    """sendto fails with the errors given, in turn, then sends."""

    def __init__(self, *errors):
        self.errors, self.sent = list(errors), []

    def getsockopt(self, level, option):
        return 0

    def sendto(self, packet, address):
        if self.errors:
            code = self.errors.pop(0)
            raise OSError(code, os.strerror(code))
        self.sent.append(len(packet) + 20)


@pytest.mark.parametrize("errors, sent, outcome", [
    ((), [1500], None),
    # a pending "fragmentation needed" fails one send: it is sent again at once
    ((errno.EMSGSIZE,), [1500], None),
    ((errno.EMSGSIZE, errno.EMSGSIZE), [], "too_big_local"),   # twice: this computer's own MTU
    ((errno.EPERM, errno.EPERM), [], "error"),                 # a local firewall
    ((errno.EAGAIN, errno.EAGAIN), [], None),                  # the next round sends it
])
def test_send_clears_a_pending_error_first(errors, sent, outcome):
    probe = bare_probe()
    probe.sizes = (1500,)
    probe.sock = FakeSocket(*errors)
    probe.send_round(0)
    assert probe.sock.sent == sent
    assert probe.results.get(1500, {}).get("outcome") == outcome
