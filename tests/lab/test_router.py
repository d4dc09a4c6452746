"""The router check against real UPnP servers in the lab router's namespace.

test_scenarios.py proves the verdicts (scenarios_router.py); here the router check's own facts,
hostile replies and the time it takes. Hostile devices get a clean `error` or `timeout` with a
reason, never a traceback, and the whole run stays within the scenarios' 3 s.
"""
from __future__ import annotations

import json

import pytest

from tests.schema import validate

from . import igd_server, miniupnpd, netlab

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]
CGNAT_ADDRESS = igd_server.CGNAT_ADDRESS
ROUTER_BUDGET_MS = 2500       # the router check's own timeout: a hostile device never holds it longer


def diagnose(lab, *args, unprivileged=False):
    done = lab.run_diagnose(["--json", "--profile", str(lab.profile_path), *args],
                            unprivileged=unprivileged)
    assert "Traceback" not in done.stderr, done.stderr
    report = validate(json.loads(done.stdout))
    router = next(c for c in report["checks"] if c["id"] == "router")
    return done, report, router


def fired(report):
    return {f["rule"] for f in report["findings"]}


def test_miniupnpd_connected(lab):
    daemon = miniupnpd.start(lab)
    done, report, router = diagnose(lab)
    facts = router["facts"]
    assert router["status"] == "ok", (router, daemon.log()[-1500:])
    assert (facts["found"], facts["is_gateway"], facts["address"]) == (
        True, True, netlab.ROUTER_LAN_ADDR)
    assert facts["location"] == f"http://{netlab.ROUTER_LAN_ADDR}:{miniupnpd.HTTP_PORT}/rootDesc.xml"
    assert (facts["service"], facts["connection_status"], facts["last_connection_error"]) == (
        "WANIPConnection:2", "Connected", "ERROR_NONE")
    # miniupnpd will not name 198.51.100.2 (TEST-NET) as its external address.
    assert facts["external_ip"] is None and facts["connections"][0]["external_ip_outcome"] == "ok"
    assert facts["physical_link_status"] == "Up"
    assert "MiniUPnPd" in facts["devices"][0]["server"]
    assert report["verdict"]["code"] == "N23" and done.returncode == 0
    assert not {"router-login-refused", "router-line-dead", "router-behind-nat"} & fired(report)


def test_miniupnpd_disconnected_when_the_wan_loses_its_address(lab):
    miniupnpd.start_disconnected(lab)
    done, report, router = diagnose(lab)
    facts = router["facts"]
    assert router["status"] == "ok" and "Disconnected" in router["reason"]   # observed
    assert "L42" in router["cited_by"]       # the rule judges it: the verdict points at it
    assert (facts["connected"], facts["physical_link_status"]) == (False, "Down")
    verdict = report["verdict"]
    assert (verdict["code"], done.returncode) == ("L42", 4)
    wan_down = next(f for f in report["findings"] if f["rule"] == "wan-down")
    assert wan_down["consequence_of"] == "router-line-dead"


def test_no_igd_finds_nothing_and_costs_only_the_search(lab):
    done, report, router = diagnose(lab)
    assert router["status"] == "ok" and router["facts"]["found"] is False
    assert router["facts"]["devices"] == [] and router["facts"]["connected"] is None
    assert report["verdict"]["code"] == "N23" and done.returncode == 0


def test_login_refused_in_both_languages(lab):
    lab.wan_down()
    igd_server.start(lab, status="Disconnected", error="ERROR_AUTHENTICATION_FAILURE")
    done = lab.run_diagnose(["--profile", str(lab.profile_path), "--lang", "zh_CN"])
    first = done.stdout.splitlines()[0]
    assert first.startswith("[A42] ") and "691" in first and netlab.ROUTER_LAN_ADDR in first
    done = lab.run_diagnose(["--profile", str(lab.profile_path)])
    assert done.stdout.startswith("[A42] ") and "Windows error 691" in done.stdout
    assert "Lab Telecom (10000)" in done.stdout and done.returncode == 4


def test_cgnat_address_is_reported(lab):
    igd_server.start(lab, external_ip=CGNAT_ADDRESS, service="WANIPConnection")
    _, report, router = diagnose(lab)
    assert (router["facts"]["external_ip"], router["facts"]["external_ip_kind"]) == (
        CGNAT_ADDRESS, "shared")
    finding = next(f for f in report["findings"] if f["rule"] == "router-behind-nat")
    assert finding["severity"] == "info" and CGNAT_ADDRESS in finding["title"]


@pytest.mark.parametrize("hostile, status, problem", [
    ("huge", "error", "too_large"),
    ("bomb", "error", "forbidden_xml"),
    ("malformed", "error", "bad_xml"),
    ("endless", "timeout", None),
    ("endless-headers", "timeout", None),
    ("redirect-away", "error", "redirect"),
    ("soap-bomb", "error", "forbidden_xml"),
])
def test_hostile_igd_is_a_clean_error_within_the_budget(lab, hostile, status, problem):
    igd_server.start(lab, hostile=hostile)
    done, report, router = diagnose(lab)
    assert router["status"] == status and router["reason"], router
    if problem:
        assert problem in router["reason"]
    assert router["facts"]["found"] is True
    assert "router-answer-unusable" in {f["rule"] for f in report["findings"]}
    assert report["verdict"]["code"] == "N23" and done.returncode == 0
    assert router["duration_ms"] < ROUTER_BUDGET_MS


def test_hostile_igd_while_the_line_is_down_changes_no_verdict(lab):
    lab.wan_down()
    igd_server.start(lab, hostile="endless")
    done, report, router = diagnose(lab)
    assert router["status"] == "timeout"
    assert (report["verdict"]["code"], done.returncode) == ("L23", 4)


def test_an_answer_pointing_elsewhere_is_ignored(lab):
    igd_server.start(lab, hostile="foreign-location")
    _, report, router = diagnose(lab)
    assert router["status"] == "ok" and router["facts"]["found"] is False
    assert router["facts"]["ignored"] == [{"address": netlab.ROUTER_LAN_ADDR,
                                           "why": "location is not on the answering device"}]


def test_short_overall_deadline_still_reports(lab):
    lab.wan_down()
    igd_server.start(lab, hostile="stall")
    done = lab.run_diagnose(["--json", "--profile", str(lab.profile_path), "--timeout", "2"])
    report = validate(json.loads(done.stdout))
    assert report["duration_ms"] < 2000 and done.returncode in (4, 5)


def test_daemons_stop_with_the_lab(lab_factory):
    lab = lab_factory()
    daemons = [igd_server.start(lab), miniupnpd.start(lab)]
    lab.stop()
    assert [d.proc.poll() for d in daemons] == [0, 0]   # terminated and waited for
