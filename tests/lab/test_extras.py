"""The extra checks (path_mtu, dns_hijack, ipv6) in the lab: their facts, the controls, the time.

test_scenarios.py proves the verdicts and findings (scenarios_extras.py); here what the scenarios
cannot say: that the controls raise no finding, that the rest of the home is still judged healthy
around each fault, how the checks observe without administrator rights, and the time they take.
"""
from __future__ import annotations

import json

import pytest

from tests.schema import validate

from . import netlab
from . import extra_faults as extras

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]


def diagnose(lab, *, unprivileged=False):
    done = lab.run_diagnose(["--json", "--profile", str(lab.profile_path)],
                            unprivileged=unprivileged)
    assert "Traceback" not in done.stderr, done.stderr
    report = validate(json.loads(done.stdout))
    checks = {c["id"]: c for c in report["checks"]}
    return done, report, checks


def fired(report):
    return {f["rule"] for f in report["findings"]}


def healthy_around(done, report, checks):
    """Everything but the extra check's own finding is as in a healthy home."""
    assert (report["verdict"]["code"], done.returncode) == ("N23", 0), report["verdict"]
    for check in ("gateway", "dns", "internet", "line_quality"):
        assert checks[check]["status"] == "ok", checks[check]


def by_size(path_mtu):
    return {p["size"]: p for p in path_mtu["facts"]["probes"]}


# --- path MTU -------------------------------------------------------------------------------------
@pytest.mark.parametrize("unprivileged", [False, True], ids=["root", "unprivileged"])
def test_black_hole_facts_and_healthy_tcp(lab, unprivileged):
    if unprivileged:
        extras.allow_unprivileged_ping(lab)
    extras.narrow_wan(lab)
    extras.drop_frag_needed(lab)
    done, report, checks = diagnose(lab, unprivileged=unprivileged)
    path_mtu = checks["path_mtu"]
    facts = path_mtu["facts"]
    assert path_mtu["status"] == "ok"            # it observed; rule H63 judges
    assert facts["method"] == ("icmp" if unprivileged else "icmp-raw")
    assert (facts["largest_answered"], facts["silent_sizes"], facts["frag_needed_mtu"],
            facts["loss_seen"]) == (extras.WAN_MTU, [1460, 1472, 1480, 1492, 1500], None, False)
    assert report["verdict"]["code"] == "H63" and done.returncode == 3
    # The small requests of the internet check cross the narrow link unharmed.
    assert checks["internet"]["status"] == "ok" and checks["internet"]["facts"]["online"] is True
    assert checks["gateway"]["status"] == "ok" and checks["dns"]["status"] == "ok"


@pytest.mark.parametrize("unprivileged", [False, True], ids=["root", "unprivileged"])
def test_narrow_link_that_says_so_is_no_black_hole(lab, unprivileged):
    if unprivileged:
        extras.allow_unprivileged_ping(lab)
    extras.narrow_wan(lab)
    done, report, checks = diagnose(lab, unprivileged=unprivileged)
    facts = checks["path_mtu"]["facts"]
    assert checks["path_mtu"]["status"] == "ok"
    sizes = by_size(checks["path_mtu"])
    for size in (1460, 1472, 1480, 1492, 1500):
        assert sizes[size]["outcome"] == "frag_needed" and sizes[size]["mtu"] == extras.WAN_MTU
        assert sizes[size]["router"] == netlab.ROUTER_LAN_ADDR
    assert (facts["largest_answered"], facts["silent_above"]) == (extras.WAN_MTU, False)
    assert "path-mtu-black-hole" not in fired(report)
    healthy_around(done, report, checks)


def test_unprivileged_without_icmp_says_it_cannot_probe(lab):
    """ping_group_range "1 0" and a ping without its capabilities: nothing is sent, and the
    check says why instead of guessing."""
    extras.narrow_wan(lab)
    extras.drop_frag_needed(lab)
    done, report, checks = diagnose(lab, unprivileged=True)
    assert (checks["path_mtu"]["status"], checks["path_mtu"]["reason"]) == (
        "skipped", "needs administrator rights")
    assert "path-mtu-black-hole" not in fired(report)


# --- NXDOMAIN rewriting ---------------------------------------------------------------------------
def test_rewriting_router_facts(lab):
    extras.router_rewrites_nxdomain(lab)
    done, report, checks = diagnose(lab)
    facts = checks["dns_hijack"]["facts"]
    assert facts["name"].endswith("." + netlab.LAB_ZONE)
    assert (facts["configured_rewrites"], facts["reference_nxdomain"]) == (True, True)
    assert (facts["rewriting"], facts["rewritten_to"]) == (
        [netlab.ROUTER_LAN_ADDR], [extras.SEARCH_PAGE_ADDR])
    finding = next(f for f in report["findings"] if f["rule"] == "dns-nxdomain-rewritten")
    assert finding["severity"] == "info" and extras.SEARCH_PAGE_ADDR in finding["title"]
    healthy_around(done, report, checks)   # the real names still resolve to the real hosts


def test_wildcard_domain_is_no_rewriting(lab):
    """The public resolver answers the random name too: the domain has a wildcard record."""
    extras.router_rewrites_nxdomain(lab)
    argv = lab._resolver_argv("public", netlab.PUBLIC_DNS)
    argv.append(f"--address=/{netlab.LAB_ZONE}/{extras.SEARCH_PAGE_ADDR}")
    extras._restart(lab, "isp-dns-public", "isp", argv)
    lab._wait_tcp("isp-dns-public", netlab.PUBLIC_DNS, netlab.DNS_PORT)
    done, report, checks = diagnose(lab)
    facts = checks["dns_hijack"]["facts"]
    assert (facts["configured_rewrites"], facts["reference_nxdomain"]) == (True, False)
    assert "dns-nxdomain-rewritten" not in fired(report)


def test_honest_resolvers(lab):
    done, report, checks = diagnose(lab)
    facts = checks["dns_hijack"]["facts"]
    assert (facts["configured_rewrites"], facts["reference_nxdomain"]) == (False, True)
    assert [q["outcome"] for q in facts["queries"]] == ["nxdomain", "nxdomain"]


# --- IPv6 -----------------------------------------------------------------------------------------
def test_ipv6_working_is_no_finding(lab):
    extras.ipv6_home(lab)
    done, report, checks = diagnose(lab)
    ipv6 = checks["ipv6"]
    assert ipv6["status"] == "ok", ipv6
    assert ipv6["facts"]["addresses"] == [extras.PC_ADDR6]
    assert ipv6["facts"]["targets"] == [extras.WEB_ADDR6]
    assert {c["outcome"] for c in ipv6["facts"]["connects"]} == {"refused"}
    assert "ipv6-unreachable" not in fired(report)
    healthy_around(done, report, checks)


@pytest.mark.parametrize("unprivileged", [False, True], ids=["root", "unprivileged"])
def test_ipv6_unreachable_facts(lab, unprivileged):
    extras.ipv6_home(lab)
    extras.router_drops_ipv6(lab)
    done, report, checks = diagnose(lab, unprivileged=unprivileged)
    ipv6 = checks["ipv6"]
    assert ipv6["status"] == "ok" and ipv6["reason"]   # observed: the rules judge it
    assert "N63" in ipv6["cited_by"]   # the ipv6-unreachable finding points at it
    assert (ipv6["facts"]["has_global_unicast"], ipv6["facts"]["has_default"],
            ipv6["facts"]["any_answered"]) == (True, True, False)
    assert {c["outcome"] for c in ipv6["facts"]["connects"]} == {"timeout"}
    assert "ipv6-unreachable" in fired(report)
    healthy_around(done, report, checks)   # IPv4 carries on: the verdict stays healthy


def test_no_ipv6_in_the_healthy_home(lab):
    done, report, checks = diagnose(lab)
    assert (checks["ipv6"]["status"], checks["ipv6"]["reason"]) == (
        "skipped", "no global IPv6 address with a default route")
