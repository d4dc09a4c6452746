"""The condition language (three-valued) and root-cause selection."""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from diagnose.checks import BY_ID
from diagnose.engine import judge, pack
from diagnose.engine.conditions import ConditionError, evaluate, parse, unobserved_basis
from diagnose.render import text

from .facts import results

KNOWN = set(BY_ID)
RULES = pack.load(Path(__file__).resolve().parents[2] / "rules", KNOWN)


def ev(cond, observed=None):
    return evaluate(parse(cond, KNOWN), observed or results(), {})


def test_operators():
    assert ev({"fact": "gateway.reachable", "is": True}) is True
    assert ev({"fact": "route.gateway", "in": ["10.0.0.1", "192.168.1.1"]}) is True
    assert ev({"fact": "interfaces.physical_count", "ge": 1}) is True
    assert ev({"fact": "interfaces.physical_count", "lt": 1}) is False
    assert ev({"fact": "internet.portal_location", "exists": False}) is True
    assert ev({"check": "dns", "status": ["ok", "timeout"]}) is True
    assert ev({"fact": "interfaces.physical_count", "is": True}) is False  # 1 is not true


def test_unobserved_is_unknown_and_logic_is_kleene():
    gone = results(statuses={"gateway": "timeout"})
    unknown = {"fact": "gateway.reachable", "is": True}
    true, false = {"always": True}, {"fact": "route.has_default", "is": False}
    assert ev(unknown, gone) is None
    assert ev({"not": unknown}, gone) is None
    assert ev({"all": [unknown, false]}, gone) is False
    assert ev({"all": [unknown, true]}, gone) is None
    assert ev({"any": [unknown, true]}, gone) is True
    assert ev({"any": [unknown, false]}, gone) is None
    assert ev({"fact": "gateway.reachable", "exists": False}, gone) is True
    assert ev({"fact": "nothing.here.at_all", "is": 1} if False else
              {"fact": "dns.no_such_fact", "is": True}) is None


@pytest.mark.parametrize("bad", [
    [], {"all": []}, {"fact": "gateway"}, {"fact": "nope.x", "is": 1},
    {"fact": "gateway.reachable", "is": True, "in": [True]}, {"fact": "gateway.reachable", "lt": "a"},
    {"check": "dns", "status": "fine"}, {"always": False}, {"eval": "1"},
])
def test_bad_conditions_are_refused(bad):
    with pytest.raises(ConditionError):
        parse(bad, KNOWN)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) |
                    st.dictionaries(st.sampled_from(["all", "any", "not", "fact", "is", "in",
                                                     "check", "status", "always", "lt"]),
                                    inner, max_size=3), max_leaves=8))
def test_parser_never_crashes(raw):
    try:
        node = parse(raw, KNOWN)
    except ConditionError:
        return
    assert evaluate(node, results(), {}) in (True, False, None)


def verdict_for(changes, statuses=None, privileged=True, lang="en"):
    return judge.judge(RULES, results(changes, statuses), privileged=privileged, lang=lang,
                       isp={"name": "Lab Telecom", "hotline": "10000"})


def test_healthy_home_is_all_clear():
    findings, verdict = verdict_for({})
    assert (verdict.side, verdict.rule, verdict.ticket) == ("none", "all-clear", False)
    assert findings == []


def test_lowest_layer_is_the_root_cause_and_the_rest_are_consequences():
    findings, verdict = verdict_for({
        "interfaces": {"primary_carrier": False},
        "gateway": {"reachable": False, "answers_ping": False, "answers_tcp": False},
        "line_quality": {"gateway": {"received": 0, "loss_pct": 100.0}},
        "internet": {"online": False, "any_target_reachable": False},
        "dns": {"configured_works": False, "gateway_works": False, "public_works": False}})
    assert verdict.rule == "cable-unplugged" and verdict.side == "home"
    by_rule = {f.rule: f for f in findings}
    assert by_rule["gateway-unreachable"].consequence_of == "cable-unplugged"
    assert by_rule["cable-unplugged"].consequence_of is None
    assert verdict.evidence["interfaces.primary_carrier"] is False


def test_line_fault_asks_for_a_ticket_and_names_the_hotline():
    _, verdict = verdict_for({"internet": {"online": False, "any_target_reachable": False},
                              "dns": {"public_works": False, "configured_works": False,
                                      "gateway_works": False}})
    assert (verdict.side, verdict.code, verdict.ticket) == ("line", "L23", True)
    assert any("10000" in line and "L23" in line for line in verdict.advice)


def test_nothing_matches_gives_inconclusive():
    _, verdict = verdict_for({"internet": {"online": False}})
    assert (verdict.side, verdict.rule, verdict.confidence) == ("unknown", "inconclusive", "low")


def test_no_rules_at_all_still_gives_a_verdict():
    _, verdict = judge.judge([], results(), privileged=True, lang="zh_CN", isp={})
    assert verdict.side == "unknown" and verdict.code == judge.FALLBACK_CODE
    assert "原因" in verdict.title


def test_unprivileged_lowers_confidence_and_says_so():
    _, verdict = verdict_for({"interfaces": {"primary_admin_up": False}}, privileged=False)
    assert verdict.rule == "adapter-disabled" and verdict.confidence == "medium"
    assert any("administrator" in line for line in verdict.advice)
    _, healthy = verdict_for({}, privileged=False)
    assert healthy.confidence == "high"


def test_chinese_verdict_is_chinese():
    _, verdict = verdict_for({"internet": {"online": False, "portal": True,
                                           "portal_location": "http://p/notice"}}, lang="zh_CN")
    assert verdict.side == "account" and "重定向" in verdict.title
    assert any("http://p/notice" in line for line in verdict.advice)
    assert any("Lab Telecom" in line and "A22" in line for line in verdict.advice)


# ------------------------------------------------------------------ not observed lowers confidence
DEAD_ROUTER = {"gateway": {"reachable": False, "answers_ping": False, "answers_tcp": False},
               "internet": {"online": False, "any_target_reachable": False},
               "dns": {"gateway_works": False},
               "line_quality": {"gateway": {"sent": 36, "received": 0, "loss_pct": 100.0},
                                "gateway_arp": {"sent": 30, "received": 30, "loss_pct": 0.0}}}


def test_a_verdict_resting_only_on_observed_facts_keeps_its_confidence():
    _, verdict = verdict_for(DEAD_ROUTER)
    assert verdict.rule == "gateway-unreachable"
    assert verdict.not_observed == [] and verdict.confidence == "high"


def test_a_verdict_that_assumes_a_fact_absent_because_it_was_not_seen_says_so():
    """line_quality timed out: H25 still stands (nothing answered), but it assumed what the
    series would have shown; the verdict names it and is one step less sure."""
    _, verdict = verdict_for(DEAD_ROUTER, {"line_quality": "timeout"})
    assert verdict.rule == "gateway-unreachable" and verdict.confidence == "medium"
    assert verdict.not_observed == ["line_quality.gateway.received",
                                    "line_quality.gateway_arp.loss_pct"]


def test_an_unreadable_fact_counts_as_not_observed():
    """As without the rights to send ARP: null is not 'none lost'."""
    changes = copy.deepcopy(DEAD_ROUTER)
    changes["line_quality"]["gateway_arp"] = None
    _, verdict = verdict_for(changes)
    assert verdict.not_observed == ["line_quality.gateway_arp.loss_pct"]
    assert verdict.confidence == "medium"


def test_a_secondary_finding_names_what_it_assumed_absent_too():
    """Settings by hand explain the silent gateway (U79 is the root); H25 follows from it and,
    like the verdict, says that the series it assumed silent was never seen."""
    changes = copy.deepcopy(DEAD_ROUTER)
    changes["ip_settings"] = {"origin": "static", "gateway_arp": "incomplete"}
    findings, verdict = verdict_for(changes, {"line_quality": "timeout"})
    assert verdict.rule == "static-settings-no-router"
    assert verdict.not_observed == ["line_quality.gateway.received"]
    dead = next(f for f in findings if f.rule == "gateway-unreachable")
    assert dead.consequence_of == "static-settings-no-router"
    assert dead.not_observed == ["line_quality.gateway.received",
                                 "line_quality.gateway_arp.loss_pct"]
    assert all(f.not_observed == [] for f in verdict_for(DEAD_ROUTER)[0])


@pytest.mark.parametrize("lang, words", [("en", "Not observed, so assumed absent"),
                                          ("zh_CN", "未能观察到，按不存在处理")])
def test_the_text_report_prints_what_a_finding_assumed_under_it(lang, words):
    changes = copy.deepcopy(DEAD_ROUTER)
    changes["ip_settings"] = {"origin": "static", "gateway_arp": "incomplete"}
    findings, verdict = verdict_for(changes, {"line_quality": "timeout"}, lang=lang)
    report = {"lang": lang, "digest": "X", "checks": [],
              "findings": [dataclasses.asdict(f) for f in findings],
              "verdict": dataclasses.asdict(verdict) | {"ticket": verdict.ticket}}
    lines = text.render(report).splitlines()
    h25 = next(n for n, line in enumerate(lines) if line.startswith("  [H25] "))
    assert words in lines[h25 + 1] and "line_quality.gateway_arp.loss_pct" in lines[h25 + 1]


def test_unprivileged_and_unobserved_lower_confidence_once():
    _, verdict = verdict_for(DEAD_ROUTER, {"line_quality": "timeout"}, privileged=False)
    assert verdict.confidence == "medium"


@pytest.mark.parametrize("state, rule", [("resolved", "gateway-unreachable"),
                                         ("incomplete", "gateway-unreachable-unconfirmed"),
                                         ("unknown", "gateway-unreachable-unconfirmed")])
def test_a_silent_router_without_arp_watched_is_h25_only_if_it_once_answered_arp(state, rule):
    """Unprivileged no ARP series runs: a router the PC resolved is on (hung, H25); one it never
    resolved may be off or behind a link that loses everything (H26), and the verdict is unsure."""
    changes = copy.deepcopy(DEAD_ROUTER)
    changes["line_quality"]["gateway_arp"] = None
    changes["gateway"]["neighbour"] = {"state": state}
    findings, verdict = verdict_for(changes, privileged=False)
    assert verdict.rule == rule and verdict.side == "home"
    assert {f.rule for f in findings} & {"gateway-unreachable", "gateway-unreachable-unconfirmed"} \
        == {rule}
    if rule == "gateway-unreachable-unconfirmed":
        assert verdict.confidence == "low" and "line_quality.gateway_arp" in verdict.not_observed


def test_a_router_that_answered_dns_is_not_dead():
    """Only TCP stopped on this computer (a filter refuses no TCP send): the router answered
    the DNS question over UDP, so it is on; no H25, nor H26."""
    changes = copy.deepcopy(DEAD_ROUTER)
    changes["dns"]["gateway_works"] = True
    for privileged in (True, False):
        findings, verdict = verdict_for(changes, privileged=privileged)
        assert not {f.rule for f in findings} & {"gateway-unreachable",
                                                 "gateway-unreachable-unconfirmed"}


def test_a_default_route_into_a_dead_tunnel_is_the_tunnel_not_the_router():
    """A full-tunnel VPN's default route goes via the tunnel's far end: its silence is the
    tunnel's (U76), not a dead router's (H25) nor wrong settings (U79, unprivileged)."""
    changes = copy.deepcopy(DEAD_ROUTER)
    changes["paths"] = {"default_via_tunnel": True, "beyond_via_tunnel": True,
                        "tunnel_devices": ["vpn0"]}
    changes["ip_settings"] = {"origin": "static", "gateway_arp": "absent"}
    for privileged in (True, False):
        findings, verdict = verdict_for(changes, privileged=privileged)
        assert verdict.rule == "tunnel-captures-traffic", verdict
        assert {f.rule for f in findings} == {"tunnel-captures-traffic"}
    changes["paths"]["default_via_tunnel"] = False      # split routes: the router is the gateway
    assert verdict_for(changes)[1].rule == "static-settings-no-router"


@pytest.mark.parametrize("cond, basis", [
    ({"fact": "internet.portal_location", "exists": False}, {"internet.portal_location"}),
    ({"not": {"fact": "internet.portal_location", "exists": True}}, {"internet.portal_location"}),
    # decided as well by an observed fact: rests on nothing unobserved
    ({"any": [{"fact": "internet.portal_location", "exists": False},
              {"fact": "route.has_default", "is": True}]}, set()),
    ({"all": [{"fact": "internet.portal_location", "exists": False},
              {"fact": "route.has_default", "is": True}]}, {"internet.portal_location"}),
    ({"fact": "route.gateway", "exists": True}, set()),                     # observed
    ({"fact": "gateway.reachable", "is": True}, set()),                     # not about absence
])
def test_unobserved_basis(cond, basis):
    assert unobserved_basis(parse(cond, KNOWN), results()) == basis


def test_the_report_marks_the_checks_each_finding_cites():
    """checks[].cited_by is derived once from the findings' evidence; the screen lists each
    finding's checks (the verdict's first) and the digest reads them as cited, whatever their
    status says about observing (line_quality timed out: it stays timeout)."""
    import datetime
    from diagnose import digest
    from diagnose.checks import ALL
    from diagnose.report import build
    from diagnose.runner import order
    changes = copy.deepcopy(DEAD_ROUTER)
    changes["ip_settings"] = {"origin": "static", "gateway_arp": "incomplete"}
    observed = results(changes, {"line_quality": "timeout"})
    findings, verdict = judge.judge(RULES, observed, privileged=True, lang="en", isp={})
    assert [f.code for f in findings] == ["H25", "U79"] and verdict.code == "U79"
    report = build(specs=order(ALL), results=observed, findings=findings, verdict=verdict,
                   started=datetime.datetime.now(datetime.timezone.utc), duration_ms=1,
                   privileged=True, lang="en", profile_name="test")
    cited = {c["id"]: c["cited_by"] for c in report["checks"] if c["cited_by"]}
    assert cited["ip_settings"] == ["U79"] and cited["internet"] == ["H25"]
    assert cited["gateway"] == ["H25", "U79"] and "wifi" not in cited
    for finding in report["findings"]:       # every check a finding's evidence names, no other
        named = {path.split(".")[0] for path in finding["evidence"]}
        assert named == {c for c, codes in cited.items() if finding["code"] in codes}
    assert all(c["status"] in ("ok", "timeout") for c in report["checks"])
    lines = text.render(report).splitlines()
    checks = lines[lines.index("Checks:") + 1:]
    assert checks[0].startswith("  [U79]    gateway, IP settings") and "line quality (timeout)" in checks[0]
    assert checks[1].startswith("  [H25]    path to the internet, gateway") and "internet" in checks[1]
    assert checks[2].startswith("  ok ") and "gateway" not in checks[2] and "Wi-Fi" in checks[2]
    decoded = digest.decode(report["digest"])["checks"]
    assert decoded["ip_settings"] == decoded["internet"] == "cited"
    assert decoded["line_quality"] == "timeout" and decoded["wifi"] == "ok"
