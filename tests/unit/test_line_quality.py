"""line_quality and probe_series: series logic on synthetic probes, TCP series on loopback, and
the check's facts with a fake measurement. No traffic leaves the machine."""
from __future__ import annotations

import dataclasses
import select
import socket
import struct
import time

import pytest

from diagnose.checks import BY_ID, line_quality
from diagnose.context import Context
from diagnose.engine import pack
from diagnose.engine.conditions import evaluate
from diagnose.model import CheckResult, Status
from diagnose.net import icmp, probe_series as ps

from .facts import results
from .virtual_clock import VirtualClock

PLAN = ps.Plan()
# The real schedule on loopback, 1 ms apart instead of 8: the same handshakes, a fraction of the time
LOOPBACK_PLAN = dataclasses.replace(PLAN, interval=0.001)


# ------------------------------------------------------------------ series logic, no sockets
def series(outcomes, *, method=ps.ICMP_METHOD, ports=(), plan=PLAN):
    """A series whose probes ended as given: a number (RTT ms), "lost", or None (in flight)."""
    one = ps._Series(ps.Host("192.0.2.1", ports), method, ports, plan, start=0.0)
    for index, outcome in enumerate(outcomes):
        probe = ps._Probe(index=index, sent_at=index * plan.interval,
                          port=ports[index % len(ports)] if ports else None)
        if outcome == "lost":
            probe.lost = True
        elif outcome is not None:
            probe.rtt_ms = float(outcome)
        one.probes.append(probe)
        one.update()
    return one


def test_a_clean_head_stops_the_series_and_leaves_what_is_in_flight_uncounted():
    one = series([1.0] * 20 + [None] * 5)
    assert one.stopped == "clean"
    result = one.result()
    assert (result["sent"], result["received"], result["loss_pct"]) == (20, 20, 0.0)


def test_a_silent_head_is_a_dead_host_not_a_lossy_one():
    one = series(["lost"] * 10 + [None] * 3)
    assert one.stopped == "dead"
    assert one.result()["loss_pct"] == 100.0


def test_partial_loss_runs_the_whole_series():
    outcomes = [1.0, "lost", 3.0] * 13 + [2.0]
    one = series(outcomes)
    assert one.stopped == "complete"
    result = one.result()
    assert (result["sent"], result["received"]) == (40, 27)
    assert result["loss_pct"] == pytest.approx(32.5)
    assert (result["min_rtt_ms"], result["max_rtt_ms"]) == (1.0, 3.0)


def test_jitter_is_the_mean_difference_of_successive_answers():
    result = series([10, 20, 10, "lost", 40] + ["lost"] * 35).result()
    # answers in order 10, 20, 10, 40: |10| + |10| + |30| over 3
    assert result["jitter_ms"] == pytest.approx(16.67, abs=0.01)
    assert result["avg_rtt_ms"] == 20.0


def test_nothing_resolved_is_not_observed():
    result = series([None] * 5).result()
    assert result["sent"] == 0 and result["loss_pct"] is None and result["avg_rtt_ms"] is None
    assert result["stopped"] == "deadline"


def test_a_tcp_port_that_never_answers_is_filtered_not_lossy():
    outcomes = [("lost" if index % 2 else 1.0) for index in range(40)]   # port 53 never answers
    result = series(outcomes, method=ps.TCP_METHOD, ports=(80, 53)).result()
    assert result["ports"] == {"80": {"sent": 20, "received": 20}, "53": {"sent": 20, "received": 0}}
    assert (result["sent"], result["loss_pct"]) == (20, 0.0)


def test_echo_request_and_reply_round_trip():
    request = icmp.echo_request(socket.AF_INET, 0x1234, 7, b"payload")
    assert icmp.checksum(request) == 0                   # a valid ICMP checksum sums to zero
    reply = bytes([0, 0]) + request[2:]
    assert icmp.parse_echo_reply(socket.AF_INET, reply, raw=False) == (0x1234, 7)
    ip_header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(reply), 0, 0, 64, 1, 0,
                            b"\x7f\0\0\1", b"\x7f\0\0\1")
    assert icmp.parse_echo_reply(socket.AF_INET, ip_header + reply, raw=True) == (0x1234, 7)
    assert icmp.parse_echo_reply(socket.AF_INET, request, raw=False) is None   # a request
    assert icmp.parse_echo_reply(socket.AF_INET, b"\0\0", raw=False) is None
    v6 = icmp.echo_request(socket.AF_INET6, 1, 2)
    assert icmp.parse_echo_reply(socket.AF_INET6, bytes([129, 0]) + v6[2:], raw=True) == (1, 2)


# ------------------------------------------------------------------ TCP series on loopback
@pytest.fixture
def listener():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield server.getsockname()[1]


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_tcp_series_on_loopback_stops_clean_and_counts_refusals(listener):
    refused = closed_port()
    started = time.monotonic()
    got = ps.measure([ps.Host("127.0.0.1", (listener,)), ps.Host("127.0.0.1", (refused,))],
                     LOOPBACK_PLAN, privileged=False, deadline=time.monotonic() + 2, icmp=False)
    elapsed = time.monotonic() - started
    assert [r["method"] for r in got] == ["tcp", "tcp"]
    assert all(r["stopped"] == "clean" and r["loss_pct"] == 0.0 and r["sent"] == 20 for r in got)
    assert elapsed < 0.5, elapsed   # 20 probes 1 ms apart, answered at once


def test_the_deadline_is_kept_and_what_is_in_flight_is_not_observed(listener):
    started = time.monotonic()
    got = ps.measure([ps.Host("127.0.0.1", (listener,))], PLAN, privileged=False,
                     deadline=started + 0.03, icmp=False)
    assert time.monotonic() - started < 0.2
    assert got[0]["stopped"] == "deadline" and got[0]["sent"] < 20


def test_measure_never_raises_on_a_strange_address():
    got = ps.measure([ps.Host("::1", (closed_port(),))], LOOPBACK_PLAN, privileged=False,
                     deadline=time.monotonic() + 1, icmp=False)
    assert got[0]["address"] == "::1" and got[0]["method"] == "tcp"


# ------------------------------------------------------------------ the check
def fake_series(address, *, sent=20, received=20, rtt=1.0, method="icmp"):
    return {"address": address, "method": method, "sent": sent, "received": received,
            "loss_pct": round(100.0 * (sent - received) / sent, 1) if sent else None,
            "min_rtt_ms": rtt if received else None, "avg_rtt_ms": rtt if received else None,
            "max_rtt_ms": rtt if received else None, "jitter_ms": 0.1 if received else None,
            "stopped": "clean", "ports": None, "errors": None}


def context(gateway="192.168.1.1", targets=("203.0.113.1",), privileged=False):
    route = CheckResult(Status.OK, {"gateway": gateway})
    return Context(profile={"probes": {"ping_targets": list(targets)}}, privileged=privileged,
                   deadline=time.monotonic() + 2, results={"route": route})


def test_no_gateway_is_skipped_with_its_reason():
    result = line_quality.run(context(gateway=None))
    assert result.status is Status.SKIPPED and result.reason == "no default gateway"


def test_the_check_probes_the_gateway_and_every_target_once(monkeypatch):
    seen = {}

    def measure(hosts, plan, *, privileged, deadline):
        seen["hosts"] = hosts
        seen["deadline"] = deadline
        return [fake_series(h.address, rtt=1.0 if i == 0 else 12.0) for i, h in enumerate(hosts)]
    monkeypatch.setattr(ps, "measure", measure)
    ctx = context(targets=("203.0.113.1", "192.168.1.1", "203.0.113.1", "198.51.100.9"))
    result = line_quality.run(ctx)
    assert [h.address for h in seen["hosts"]] == ["192.168.1.1", "203.0.113.1", "198.51.100.9"]
    assert seen["hosts"][0].backup_ports and not seen["hosts"][1].backup_ports
    assert seen["deadline"] < ctx.deadline
    assert result.status is Status.OK
    assert result.facts["beyond"]["added_rtt_ms"] == 11.0
    assert "0% lost" in result.reason.format(**result.reason_args)


def test_beyond_is_the_typical_target_not_the_worst():
    gateway = fake_series("192.168.1.1")
    targets = [fake_series("a", sent=40, received=40, rtt=10),      # clean, near
               fake_series("b", sent=40, received=20, rtt=250),     # far and lossy on its own
               fake_series("c", sent=40, received=38, rtt=20),
               fake_series("d", sent=10, received=0)]               # dead: not counted
    beyond = line_quality.summarise(gateway, targets)
    assert (beyond["answering"], beyond["targets"]) == (3, 4)
    assert beyond["loss_pct"] == 5.0 and beyond["avg_rtt_ms"] == 20
    assert beyond["added_loss_pct"] == 5.0 and beyond["added_rtt_ms"] == 19.0
    dead = line_quality.summarise(gateway, [fake_series("d", sent=10, received=0)])
    assert dead["loss_pct"] == 100.0 and dead["added_loss_pct"] is None
    unobserved = line_quality.summarise(fake_series("g", sent=0, received=0), [])
    assert unobserved["loss_pct"] is None and unobserved["added_rtt_ms"] is None


def test_lost_probes_are_an_observation_not_a_problem(monkeypatch):
    """The status says whether the check could measure; the rules weigh the loss."""
    monkeypatch.setattr(ps, "measure", lambda hosts, plan, **kw: [
        fake_series(hosts[0].address, sent=40, received=30),
        *[fake_series(h.address) for h in hosts[1:]]])
    result = line_quality.run(context())
    assert result.status is Status.OK
    assert result.reason_args["gateway_loss"] == "25"


def test_a_silent_gateway_is_watched_on_and_counted_with_its_first_probes(monkeypatch):
    calls = []

    def measure(hosts, plan, **kw):
        calls.append(plan)
        if plan is line_quality.WATCH_PLAN:        # the watch: the gateway alone, some answers
            assert [h.address for h in hosts] == ["192.168.1.1"]
            return [{**fake_series(hosts[0].address, sent=40, received=8, rtt=3.0),
                     "stopped": "deadline"}]
        return [{**fake_series(hosts[0].address, sent=10, received=0), "stopped": "dead"},
                *[fake_series(h.address) for h in hosts[1:]]]
    monkeypatch.setattr(ps, "measure", measure)
    gateway = line_quality.run(context()).facts["gateway"]
    assert calls == [line_quality.PLAN, line_quality.WATCH_PLAN]
    assert (gateway["sent"], gateway["received"], gateway["loss_pct"]) == (50, 8, 84.0)
    assert gateway["stopped"] == "watched" and gateway["avg_rtt_ms"] == 3.0
    assert gateway["watch"] == {"first_sent": 10, "first_received": 0, "first_method": "icmp",
                                "sent": 40, "received": 8, "method": "icmp"}


def test_a_gateway_that_answered_is_not_watched(monkeypatch):
    calls = []

    def measure(hosts, plan, **kw):
        calls.append(plan)
        return [fake_series(hosts[0].address, sent=40, received=12),
                *[fake_series(h.address) for h in hosts[1:]]]
    monkeypatch.setattr(ps, "measure", measure)
    facts = line_quality.run(context()).facts
    assert calls == [line_quality.PLAN] and facts["gateway"]["watch"] is None
    assert facts["gateway_arp"] is None          # not root, no device: not observed


def test_watched_counts_both_parts_and_weighs_round_trips_by_answers():
    first = {**fake_series("g", sent=16, received=6, rtt=2.0), "stopped": "dead"}
    watch = fake_series("g", sent=30, received=3, rtt=8.0, method="tcp")
    merged = line_quality.watched(first, watch)
    assert (merged["sent"], merged["received"]) == (46, 9)
    assert merged["avg_rtt_ms"] == 4.0 and merged["min_rtt_ms"] == 2.0 and merged["max_rtt_ms"] == 8.0
    assert merged["method"] == "tcp" and merged["watch"]["first_method"] == "icmp"
    nothing = line_quality.watched(fake_series("g", sent=10, received=0),
                                   fake_series("g", sent=26, received=0))
    assert nothing["loss_pct"] == 100.0 and nothing["avg_rtt_ms"] is None


# ------------------------------------------------------------------ rules against the check
RULES = {rule.id: rule for rule in pack.load(None, set(BY_ID))
         if rule.source.rsplit(":", 1)[0].endswith("line-quality.yaml")}


def facts_for(gateway, targets):
    return {"line_quality": {"gateway": gateway, "targets": targets,
                             "beyond": line_quality.summarise(gateway, targets)}}


def fired(facts):
    return {rule_id for rule_id, rule in RULES.items()
            if evaluate(rule.when, results(facts), {}) is True}


def test_the_pack_has_the_five_rules():
    assert set(RULES) == {"home-link-arp-loss", "home-loss", "line-loss", "home-latency",
                          "line-latency"}


@pytest.mark.parametrize("gateway, targets, expected", [
    (fake_series("g"), [fake_series("t", rtt=12)], set()),                              # healthy
    (fake_series("g", sent=40, received=26), [fake_series("t", sent=40, received=20)],
     {"home-loss"}),                                                                   # loss at home
    (fake_series("g"), [fake_series("t", sent=40, received=26)], {"line-loss"}),       # beyond only
    (fake_series("g", sent=40, received=39), [fake_series("t", sent=40, received=38)], set()),
    (fake_series("g", sent=10, received=0), [fake_series("t", sent=10, received=0)], set()),  # dead
    (fake_series("g"), [fake_series("t", sent=10, received=0)], set()),                # wan down
    (fake_series("g", rtt=300), [fake_series("t", rtt=310)], {"home-latency"}),
    (fake_series("g", rtt=1), [fake_series("t", rtt=301)], {"line-latency"}),
    (fake_series("g", rtt=1), [fake_series("t", rtt=150)], set()),
    (fake_series("g", sent=40, received=14), [fake_series("t", sent=40, received=8)], {"home-loss"}),
])
def test_rules_place_the_fault_where_it_starts(gateway, targets, expected):
    assert fired(facts_for(gateway, targets)) == expected


def test_a_missing_check_fires_nothing():
    for status in ("timeout", "error"):
        facts = facts_for(fake_series("g", sent=40, received=20), [fake_series("t", rtt=400)])
        observed = results(facts, {"line_quality": status})
        assert not {r for r, rule in RULES.items() if evaluate(rule.when, observed, {}) is True}


@pytest.fixture
def silent_port():
    """A port whose SYNs are dropped: its listener's accept queue is full."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        select.select([], fillers, [], 1.0)   # the first is in: the accept queue is full
        yield port
        for filler in fillers:
            filler.close()


def test_a_silent_host_is_dead_after_its_first_probes_without_waiting_for_them(silent_port):
    clock = VirtualClock(start=500.0)
    started = time.monotonic()
    got = ps.measure([ps.Host("127.0.0.1", (silent_port,))], PLAN, privileged=False,
                     deadline=clock.now + 5, icmp=False, clock=clock)
    assert got[0]["stopped"] == "dead" and got[0]["received"] == 0, got
    assert got[0]["sent"] >= PLAN.dead_after
    assert PLAN.wait <= clock.now - 500.0 < 2.0       # the probes' waits passed on the clock
    assert time.monotonic() - started < 1.0            # and not in real time


def test_the_deadline_is_kept_on_the_series_clock(silent_port):
    clock = VirtualClock(start=500.0)
    got = ps.measure([ps.Host("127.0.0.1", (silent_port,))], PLAN, privileged=False,
                     deadline=clock.now + 0.03, icmp=False, clock=clock)
    assert got[0]["stopped"] == "deadline" and got[0]["sent"] == 0   # in flight: not observed
    assert clock.now == pytest.approx(500.03, abs=0.06)   # woke at the deadline, no later


# ------------------------------------------------------------------ ARP series and the dead router
def test_arp_request_frame_and_reply_recognition():
    from diagnose.net import arp_series
    mac = bytes.fromhex("02aabbccddee")
    frame = arp_series.request_frame(mac, "192.168.1.10", "192.168.1.1")
    assert len(frame) == 42 and frame[:6] == b"\xff" * 6 and frame[12:14] == b"\x08\x06"
    router = bytes.fromhex("0211223344ff")
    reply = (mac + router + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + router
             + socket.inet_aton("192.168.1.1") + mac + socket.inet_aton("192.168.1.10"))
    assert arp_series.is_reply(reply, "192.168.1.1", "192.168.1.10")
    assert not arp_series.is_reply(reply, "192.168.1.2", "192.168.1.10")   # someone else
    assert not arp_series.is_reply(frame, "192.168.1.1", "192.168.1.10")   # a request
    assert not arp_series.is_reply(reply[:30], "192.168.1.1", "192.168.1.10")


def test_arp_series_is_not_observed_without_root_device_or_ipv4():
    from diagnose.net import arp_series
    deadline = time.monotonic() + 1
    assert arp_series.start("eth0", "192.168.1.1", privileged=False, deadline=deadline) is None
    assert arp_series.start(None, "192.168.1.1", privileged=True, deadline=deadline) is None
    assert arp_series.start("eth0", "fe80::1", privileged=True, deadline=deadline) is None


def test_arp_replies_are_matched_one_to_one_and_recent_requests_left_out():
    from diagnose.net import arp_series
    one = arp_series.Series("eth0", "192.168.1.1", deadline=0)
    # requests every 25 ms; replies 1 ms after the 1st, 3rd and 4th; ended 75 ms after the last
    one._sent = [0.0, 0.025, 0.05, 0.075, 0.1, 0.125]
    one._replies, one._ended_at = [0.001, 0.051, 0.076], 0.2
    result = one.result()
    assert (result["sent"], result["received"]) == (5, 3)   # 0.125 is still young: left out
    assert result["loss_pct"] == 40.0


def test_a_slow_link_is_not_taken_for_lost_arp():
    """Replies 300 ms late: matched with the link's round trip, none is lost."""
    from diagnose.net import arp_series
    one = arp_series.Series("eth0", "192.168.1.1", deadline=0)
    one._sent = [i * 0.025 for i in range(20)]
    one._replies = [at + 0.3 for at in one._sent[:8]]     # the rest still on its way
    one._ended_at = one._sent[7] + 0.3
    assert one.result(round_trip_s=0.3)["loss_pct"] == 0.0
    unmatched = one.result()          # without the round trip, replies meet the wrong requests
    assert unmatched["received"] == 8 and unmatched["loss_pct"] > 50


GATEWAY_RULES = {rule.id: rule for rule in pack.load(None, set(BY_ID))}


@pytest.mark.parametrize("arp, expected", [
    ({"sent": 37, "received": 37, "loss_pct": 0.0}, {"gateway-unreachable"}),   # on but hung
    ({"sent": 30, "received": 0, "loss_pct": 100.0}, {"gateway-unreachable"}),  # off
    (None, {"gateway-unreachable"}),                                             # not observed
    ({"sent": 19, "received": 6, "loss_pct": 68.4}, {"home-link-arp-loss"}),   # a lossy link
])
def test_a_dead_router_is_not_a_lossy_link(arp, expected):
    facts = {"gateway": {"reachable": False, "answers_ping": False, "answers_tcp": False},
             "internet": {"online": False, "any_target_reachable": False},
             "dns": {"gateway_works": False},
             "line_quality": {"gateway": fake_series("g", sent=36, received=0),
                              "gateway_arp": arp}}
    rules = [GATEWAY_RULES[r] for r in ("gateway-unreachable", "home-link-arp-loss")]
    assert {r.id for r in rules if evaluate(r.when, results(facts), {}) is True} == expected
