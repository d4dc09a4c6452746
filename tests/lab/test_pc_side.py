"""Faults on the subscriber's own computer, in the lab: the facts behind the verdicts.

The verdicts themselves are in test_scenarios.py (scenarios_pc*.py); here: what the new checks
observed, and that the controls stay silent.
"""
from __future__ import annotations

import json

import pytest

from . import netlab
from .pc_faults import (HOSTS_AS_DNS, HOSTS_TO_LOOPBACK, VPN_IF, firewall_blocks_beyond_home,
                        firewall_drops_web, local_resolver_blocks, nsswitch_files_only,
                        router_deaf, router_drops_forwarded_tcp, vpn_policy_rule,
                        vpn_split_routes)

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]


def facts(lab, check, unprivileged=False):
    done = lab.run_diagnose(["--json", "--profile", str(lab.profile_path)],
                            unprivileged=unprivileged)
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    result = next(c for c in report["checks"] if c["id"] == check)
    return result, report


@pytest.mark.parametrize("unprivileged", [False, True], ids=["root", "unprivileged"])
def test_hosts_file_line_is_named_with_what_dns_says(lab, unprivileged):
    HOSTS_TO_LOOPBACK[0](lab, *HOSTS_TO_LOOPBACK[1:])
    lookup, report = facts(lab, "lookup", unprivileged)
    assert lookup["facts"]["hosts_override_lines"] == [f"127.0.0.1 {netlab.CONNECT_NAME}"]
    entry = next(n for n in lookup["facts"]["names"] if n["name"] == netlab.CONNECT_NAME)
    assert entry["dns"] == [netlab.WEB_ADDR] and entry["answers"] is False
    # the network itself is fine: the direct view of DNS and HTTP says so
    internet = next(c for c in report["checks"] if c["id"] == "internet")
    assert internet["facts"]["online"] is True
    assert "127.0.0.1" in report["verdict"]["title"]


def test_hosts_line_agreeing_with_dns_is_no_finding(lab):
    HOSTS_AS_DNS[0](lab, *HOSTS_AS_DNS[1:])
    lookup, report = facts(lab, "lookup")
    assert lookup["status"] == "ok" and lookup["facts"]["hosts_override"] is False
    assert all(n["matches_dns"] for n in lookup["facts"]["names"])
    assert not [f for f in report["findings"] if f["rule"].startswith(("hosts", "system-lookup"))]


def test_nsswitch_without_dns_is_read_and_every_lookup_fails(lab):
    nsswitch_files_only(lab)
    lookup, report = facts(lab, "lookup")
    assert lookup["facts"]["nsswitch_hosts"] == ["files"]
    assert {n["outcome"] for n in lookup["facts"]["names"]} == {"not_found"}
    dns = next(c for c in report["checks"] if c["id"] == "dns")
    assert dns["facts"]["configured_works"] is True


def test_local_resolver_answer_is_compared_with_the_routers(lab):
    local_resolver_blocks(lab)
    lookup, report = facts(lab, "lookup")
    entry = next(n for n in lookup["facts"]["names"] if n["name"] == netlab.CONNECT_NAME)
    assert entry["addresses"] == ["0.0.0.0"] and entry["dns"] == [netlab.WEB_ADDR]
    assert lookup["facts"]["differing"] == [netlab.CONNECT_NAME]
    assert lookup["facts"]["hosts_override"] is False


@pytest.mark.parametrize("unprivileged", [False, True], ids=["root", "unprivileged"])
def test_local_firewall_seen_by_refused_sends_and_ruleset_only_as_root(lab, unprivileged):
    firewall_blocks_beyond_home(lab)
    firewall, report = facts(lab, "firewall", unprivileged)
    assert firewall["facts"]["blocked"] is True and firewall["facts"]["blocks_gateway"] is False
    assert netlab.PING_TARGET in firewall["facts"]["blocked_to"]
    ruleset = firewall["facts"]["ruleset"]
    if unprivileged:   # not observed, never "no rules"
        assert ruleset["outcome"] == "not_permitted" and firewall["facts"]["ruleset_drops"] is None
        assert report["verdict"]["confidence"] != "high"
    else:
        assert ruleset["outcome"] == "read" and firewall["facts"]["ruleset_drops"] is True
        assert ruleset["output_chains"][0]["dropping_rules"] == 1


@pytest.mark.parametrize("unprivileged", [False, True], ids=["root", "unprivileged"])
def test_web_ports_dropped_on_the_pc_seen_by_the_handshakes_retry(lab, unprivileged):
    firewall_drops_web(lab)
    firewall, report = facts(lab, "firewall", unprivileged)
    seen = firewall["facts"]
    assert seen["blocked"] is False            # every UDP send left: only TCP tells
    [handshake] = seen["tcp_sends"]
    assert (handshake["to"], handshake["port"], handshake["connect"], handshake["retry"]) == (
        netlab.PING_TARGET, 443, "timeout", "stopped_here")
    assert seen["tcp_blocked"] is True and seen["stopped"] == [f"{netlab.PING_TARGET} (TCP 443)"]
    if unprivileged:   # the rule set is not observed, never "no rule"
        assert seen["ruleset_drops_tcp"] is None and seen["ruleset_tcp_ports"] is None
    else:
        assert seen["ruleset_drops_tcp"] is True and seen["ruleset_tcp_ports"] == [80, 443]
    verdict = report["verdict"]
    assert verdict["code"] == "U75" and f"{netlab.PING_TARGET} (TCP 443)" in verdict["title"]


def test_tcp_dropped_by_the_router_left_the_pc(lab):
    """Control: the same silence, but the SYN's retry left this computer: no PC firewall."""
    router_drops_forwarded_tcp(lab)
    firewall, report = facts(lab, "firewall")
    [handshake] = firewall["facts"]["tcp_sends"]
    assert (handshake["connect"], handshake["outcome"], handshake["retry"]) == (
        "timeout", "sent", "left")
    assert firewall["facts"]["tcp_blocked"] is False and firewall["facts"]["stopped"] == []
    assert firewall["facts"]["ruleset"]["outcome"] == "not_run"   # nothing to explain
    assert report["verdict"]["code"] != "U75"
    assert report["verdict"]["ticket"] is False


def test_healthy_pc_has_no_block_and_no_tunnel(lab):
    firewall, report = facts(lab, "firewall")
    paths = next(c for c in report["checks"] if c["id"] == "paths")
    assert firewall["facts"]["blocked"] is False and firewall["facts"]["ruleset"]["outcome"] == "not_run"
    assert paths["facts"]["beyond_via_tunnel"] is False and paths["facts"]["tunnel_adapters"] == []
    assert paths["facts"]["ip_tool"] == "not_needed"     # one adapter, no tunnel: no process


def test_second_adapter_makes_the_kernel_be_asked(lab):
    """A second routed adapter (here a tun with its own subnet, unused by the targets) means the
    paths are asked of the kernel: all through pc0, no policy rule."""
    from .pc_faults import _dead_vpn
    _dead_vpn(lab)
    paths, _ = facts(lab, "paths")
    assert paths["facts"]["ip_tool"] == "ok" and paths["facts"]["beyond_via_tunnel"] is False
    assert {p["dev"] for p in paths["facts"]["paths"]} == {netlab.PC_IF}
    assert paths["facts"]["policy_rules"] == [] and paths["facts"]["tunnel_adapters"] == [VPN_IF]


@pytest.mark.parametrize("fault, split, rules", [(vpn_split_routes, True, 0),
                                                 (vpn_policy_rule, False, 1)])
def test_the_kernels_own_path_names_the_tunnel(lab, fault, split, rules):
    fault(lab)
    paths, report = facts(lab, "paths", unprivileged=True)
    assert paths["facts"]["split_default"] is split
    assert len(paths["facts"]["policy_rules"]) == rules
    assert paths["facts"]["tunnel_devices"] == [VPN_IF]
    gateway = next(p for p in paths["facts"]["paths"] if p["target"] == netlab.ROUTER_LAN_ADDR)
    assert gateway["dev"] == netlab.PC_IF   # the router itself is still reached directly
    beyond = next(p for p in paths["facts"]["paths"] if p["target"] == netlab.PING_TARGET)
    assert beyond["dev"] == VPN_IF and beyond["tunnel"] is True
    assert report["verdict"]["code"] == "U76"


# ------------------------------------------------------------------ class 6: lossy link, dead router
def test_a_link_losing_most_frames_loses_arp_too_and_answers_now_and_then(lab):
    from .scenarios_pc_link import COLD
    for step, *args in COLD:
        step(lab, *args)
    quality, report = facts(lab, "line_quality")
    arp, gateway = quality["facts"]["gateway_arp"], quality["facts"]["gateway"]
    assert arp["sent"] >= 10 and 0 < arp["received"] < arp["sent"]
    assert 20 <= arp["loss_pct"] < 100
    assert gateway["received"] > 0 and gateway["sent"] >= 20       # watched on if need be
    assert report["verdict"]["code"] == "H54" and report["verdict"]["ticket"] is False


def test_a_router_deaf_to_everything_answers_no_arp(lab):
    """A router switched off behind a switch (router_deaf): nothing answers, ARP included: H25.
    Unprivileged, ARP is not watched and the PC never resolved the router: H26 (scenarios)."""
    router_deaf(lab)
    quality, report = facts(lab, "line_quality")
    arp = quality["facts"]["gateway_arp"]
    assert arp["sent"] >= 10 and arp["received"] == 0
    assert quality["facts"]["gateway"]["received"] == 0
    assert report["verdict"]["code"] == "H25"


def test_unprivileged_on_a_lossy_link_with_a_cold_arp_cache_is_never_a_confident_dead_router(lab):
    """The kernel asks for the router's address about twice in the run and the link loses 70 %
    of the exchanges: about half the runs resolve it and count answers (H52), the rest see
    nothing at all, as from a router that is off. Those must say both, unsure (H26), never
    H25's "restart the router"."""
    from .scenarios_pc_link import COLD
    for step, *args in COLD:
        step(lab, *args)
    _, report = facts(lab, "line_quality", unprivileged=True)
    verdict = report["verdict"]
    assert verdict["code"] in ("H52", "H26"), verdict
    if verdict["code"] == "H26":
        assert verdict["confidence"] == "low"
        assert "line_quality.gateway_arp" in verdict["not_observed"]
    assert "gateway-unreachable" not in {f["rule"] for f in report["findings"]}


# ------------------------------------------------------------------ class 7: every TCP connection taken
@pytest.mark.parametrize("unprivileged", [False, True], ids=["root", "unprivileged"])
def test_connections_to_nowhere_are_accepted_only_where_the_network_intercepts(lab, unprivileged):
    internet, report = facts(lab, "internet", unprivileged)
    assert internet["facts"]["intercept"]["accepted"] == 0          # an ordinary network
    assert internet["facts"]["intercept"]["probed"] == 3
    from .pc_faults import network_intercepts_tcp
    network_intercepts_tcp(lab)
    internet, report = facts(lab, "internet", unprivileged)
    caught = internet["facts"]["intercept"]
    assert caught["accepted"] >= 2 and caught["slowest_accept_ms"] < 300
    assert report["verdict"]["code"] == "X73" and report["verdict"]["ticket"] is False
