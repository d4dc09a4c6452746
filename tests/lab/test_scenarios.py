"""diagnose in a really broken home network: each scenario's side, code and exit status."""
from __future__ import annotations

import json

import pytest

from tests.schema import validate

from .scenarios import CANARIES, SCENARIOS

SCENARIOS_BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]


def run_json(lab, scenario):
    done = lab.run_diagnose(["--json", "--profile", str(lab.profile_path)],
                            unprivileged=scenario.unprivileged, env=scenario.env)
    assert "Traceback" not in done.stderr, done.stderr
    report = validate(json.loads(done.stdout))   # stdout is exactly one JSON document
    return done, report


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario(lab, scenario):
    scenario.apply(lab)
    done, report = run_json(lab, scenario)
    verdict = report["verdict"]
    summary = {c["id"]: (c["status"], c["reason"]) for c in report["checks"]}
    assert (verdict["side"], verdict["code"], done.returncode) == (
        scenario.side, scenario.code, scenario.exit_code), (verdict, summary)
    assert verdict["ticket"] == (scenario.side in ("line", "isp"))
    assert report["privileged"] is (not scenario.unprivileged)
    fired = {f["rule"] for f in report["findings"]}
    assert set(scenario.also) <= fired, fired
    assert not set(scenario.never) & fired, fired
    for finding in report["findings"]:
        if finding["severity"] == "fault" and finding["rule"] != verdict["rule"]:
            assert finding["consequence_of"] in (None, verdict["rule"])
    # A status says only whether the check could observe; the findings point at the checks.
    assert {status for status, _ in summary.values()} <= {"ok", "skipped", "error", "timeout"}, summary
    if verdict["rule"] in fired:
        assert any(verdict["code"] in c["cited_by"] for c in report["checks"]), summary
    for canary in CANARIES:
        assert canary not in done.stdout + done.stderr


def test_pppoe_verdict_names_the_access_concentrator(pppoe_lab):
    pppoe_lab.make_pc_pppoe_dialer(True)
    for args in (["--json"], [], ["--lang", "zh_CN"]):
        done = pppoe_lab.run_diagnose([*args, "--profile", str(pppoe_lab.profile_path)])
        assert "LAB-BRAS" in done.stdout
        for canary in CANARIES:
            assert canary not in done.stdout + done.stderr


def test_text_report_for_a_person(lab):
    lab.wan_down()
    done = lab.run_diagnose(["--profile", str(lab.profile_path), "--lang", "zh_CN"])
    lines = done.stdout.splitlines()
    assert done.returncode == 4 and lines[0].startswith("[L23] ") and "宽带线路中断" in lines[0]
    assert "建议操作" in done.stdout and "\033[" not in done.stdout
    assert "Lab Telecom (10000)" in done.stdout
    assert done.stderr == ""


def test_text_report_marks_the_checks_the_verdict_cites(lab):
    """The line down: the text names, after the verdict's code, exactly the checks whose facts
    its finding cites (checks[].cited_by of the same fault's JSON report), though every check
    observed (ok)."""
    from diagnose.i18n import check_name
    lab.wan_down()
    done = lab.run_diagnose(["--profile", str(lab.profile_path), "--lang", "en"])
    assert done.returncode == 4 and done.stdout.startswith("[L23] "), done.stdout
    checks = done.stdout.split("\nChecks:\n", 1)[1].splitlines()
    marked = next(line for line in checks if line.startswith("  [L23] "))
    names = {name.split(" (")[0] for name in marked[len("  [L23] "):].strip().split(", ")}
    _, report = run_json(lab, SCENARIOS_BY_NAME["router-wan-down"])
    assert report["verdict"]["code"] == "L23"
    cited = {check_name("en", c["id"]) for c in report["checks"] if "L23" in c["cited_by"]}
    assert names == cited and {"gateway", "internet"} <= names, (marked, cited)
    assert "problem" not in done.stdout
    ok_line = next(line for line in checks if line.startswith("  ok "))
    assert not names & set(ok_line[len("  ok "):].strip().split(", "))


def test_dead_network_still_reports_within_the_deadline(lab):
    lab.wan_down()
    lab.operator_dns_dead()
    done = lab.run_diagnose(["--json", "--profile", str(lab.profile_path), "--timeout", "2"])
    report = validate(json.loads(done.stdout))
    assert report["duration_ms"] < 2000
    assert done.returncode in (4, 5)


def test_bad_profile_in_the_lab_is_78(lab, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("probes:\n  ping_targets: [not-an-ip]\n")
    bad.chmod(0o644)
    done = lab.run_diagnose(["--json", "--profile", str(bad)])
    assert done.returncode == 78 and done.stdout == "" and "ping_targets" in done.stderr
