"""A bad line, not a dead one: the relay itself, and the line_quality check against real hosts.

The verdicts of the four quality scenarios are in scenarios_quality.py (run by test_scenarios);
here: the relay drops and delays what it is told and carries bulk TCP intact, the check is quick
on a healthy network, falls back without privileges, survives a router that drops ping, keeps its
deadline when the router is dead, and places repeated lossy runs on the right side every time.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
import time

import pytest

from . import relay, scenarios  # noqa: F401  scenarios first: it gathers scenarios_quality
from .netlab import PING_TARGET, ROUTER_LAN_ADDR, WEB_ADDR
from .scenarios_quality import LOSS_EACH_WAY, several_ping_targets

pytestmark = [pytest.mark.lab, pytest.mark.timeout(120)]

BULK_BYTES = 2 * 1024 * 1024
BULK_PORT = 8099
REPEATS = 5
DEADLINE_SLACK_MS = 250   # thread wake-up and report building after the deadline


def ping_stats(lab, address, count, interval="0.01"):
    done = lab.exec_in("pc", ["ping", "-n", "-q", "-c", str(count), "-i", interval, "-W", "1",
                              address], timeout=60)
    received = int(re.search(r"(\d+) received", done.stdout).group(1))
    rtt = re.search(r"= [\d.]+/([\d.]+)/", done.stdout)
    return received, float(rtt.group(1)) if rtt else None


def line_quality(lab, *args, unprivileged=False):
    """Run diagnose with only line_quality (and route); the report and the check's entry."""
    done = lab.run_diagnose(["--json", "--only", "line_quality", "--profile", str(lab.profile_path),
                             *args], unprivileged=unprivileged)
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    check = next(c for c in report["checks"] if c["id"] == "line_quality")
    return report, check


# ------------------------------------------------------------------------ the relay
def test_relay_delays_each_direction(lab):
    relay.insert(lab, "wan", delay_ms=40)
    received, rtt = ping_stats(lab, PING_TARGET, 20)
    assert received == 20
    assert 78 <= rtt <= 100, rtt                     # 2 x 40 ms, plus a little
    _, gateway_rtt = ping_stats(lab, ROUTER_LAN_ADDR, 5)
    assert gateway_rtt < 10                          # the LAN is not behind the relay


def test_relay_drops_ip_in_the_direction_told(lab):
    running = relay.insert(lab, "lan", loss_in=0.5, loss_out=0.0)
    received, _ = ping_stats(lab, ROUTER_LAN_ADDR, 300, interval="0.005")
    # Binomial(300, 0.5): the standard deviation is 2.9 %; 35-65 % is over five of them.
    assert 105 <= received <= 195, received
    log = running.stop()
    assert "lan0->rq0" in log and "dropped=0," in log.split(";")[1], log   # nothing dropped back


@pytest.mark.parametrize("place", ["lan", "wan"])
def test_bulk_tcp_crosses_the_relay_intact(lab, place):
    """Offloads off: segments of full size, checksums right; megabytes arrive byte for byte."""
    relay.insert(lab, place, delay_ms=2)
    server = (f"import socket\ns=socket.create_server(('{WEB_ADDR}',{BULK_PORT}))\n"
              f"c,_=s.accept()\nc.sendall(bytes(range(256))*{BULK_BYTES // 256})\nc.close()\n")
    lab.exec_in("isp", ["sh", "-c", f"{sys.executable} -c \"{server}\" >/dev/null 2>&1 &"])
    client = (
        "import hashlib,socket,sys,time\n"
        "deadline=time.monotonic()+10\n"
        "while True:\n"
        f"    try: c=socket.create_connection(('{WEB_ADDR}',{BULK_PORT}),timeout=5); break\n"
        "    except OSError:\n"
        "        if time.monotonic()>deadline: raise\n"
        "        time.sleep(0.05)\n"
        "data=bytearray()\n"
        "while (b:=c.recv(65536)): data+=b\n"
        "print(len(data), hashlib.sha256(data).hexdigest())\n")
    done = lab.run_python(client, timeout=30)
    expected = hashlib.sha256(bytes(range(256)) * (BULK_BYTES // 256)).hexdigest()
    assert done.stdout.split() == [str(BULK_BYTES), expected], done.stderr


def test_relay_ends_by_itself(lab_factory):
    lab = lab_factory()
    short = relay.insert(lab, "lan", lifetime=0.5)
    short.proc.wait(5)
    assert "lan0->rq0" in short.log.read_text()
    lab2 = lab_factory()
    running = relay.insert(lab2, "wan")
    lab2.stop()                                     # the lab's teardown ends it like a daemon
    running.proc.wait(5)


# ------------------------------------------------------------------------ the check
def test_healthy_is_clean_and_stops_early(lab):
    report, check = line_quality(lab)
    facts = check["facts"]
    assert check["status"] == "ok", check
    assert facts["gateway"]["stopped"] == "clean" and facts["gateway"]["sent"] == 20
    assert facts["gateway"]["method"] == "icmp-raw"
    assert facts["targets"][0]["loss_pct"] == 0.0
    assert report["verdict"]["code"] not in ("H52", "H53", "L52", "L53")


@pytest.mark.parametrize("ping_allowed, method", [(False, "tcp"), (True, "icmp")])
def test_unprivileged_falls_back(lab, ping_allowed, method):
    if ping_allowed:
        lab.set_ping_group_range(0, 2147483647)
    _, check = line_quality(lab, unprivileged=True)
    facts = check["facts"]
    assert check["status"] == "ok", check
    assert facts["gateway"]["method"] == method and facts["targets"][0]["method"] == method
    assert facts["gateway"]["loss_pct"] == 0.0 and facts["beyond"]["loss_pct"] == 0.0


def test_a_router_that_drops_ping_is_measured_over_tcp(lab):
    lab.gateway_drop_ping()
    _, check = line_quality(lab)
    gateway = check["facts"]["gateway"]
    assert gateway["method"] == "tcp" and gateway["icmp_answered"] is False
    assert gateway["loss_pct"] == 0.0 and gateway["stopped"] == "clean"
    assert check["status"] == "ok"


def test_a_dead_router_keeps_the_deadline(lab):
    lab.router_hang()
    report, check = line_quality(lab)
    gateway = check["facts"]["gateway"]
    # watched on after its first probes, to the deadline: still nothing
    assert gateway["loss_pct"] == 100.0 and gateway["stopped"] == "watched"
    assert gateway["watch"]["sent"] > 0 and gateway["watch"]["received"] == 0
    assert check["duration_ms"] < 2000 + DEADLINE_SLACK_MS
    # on but hung: every ARP request answered (the link is fine)
    assert check["facts"]["gateway_arp"]["received"] == check["facts"]["gateway_arp"]["sent"] > 10
    assert report["verdict"]["code"] not in ("H52", "H54", "L52")   # dead is not lossy


def test_a_short_overall_deadline_is_kept(lab):
    relay.insert(lab, "lan", loss=LOSS_EACH_WAY)
    started = time.monotonic()
    report, check = line_quality(lab, "--timeout", "0.6")
    assert report["duration_ms"] < 600 + DEADLINE_SLACK_MS   # the runner keeps --timeout
    assert check["status"] in ("ok", "timeout")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("place, rule", [("lan", "home-loss"), ("wan", "line-loss")])
def test_lossy_runs_land_on_the_right_side_every_time(lab, place, rule):
    several_ping_targets(lab)
    relay.insert(lab, place, loss=LOSS_EACH_WAY)
    for _ in range(REPEATS):
        report, check = line_quality(lab)
        assert report["verdict"]["rule"] == rule, (report["verdict"], check["facts"]["beyond"],
                                                  check["facts"]["gateway"])
