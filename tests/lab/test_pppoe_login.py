"""The opt-in PPPoE test login (--pppoe-login) against the lab's own access concentrator.

ppp_ac.py plays each mode: accept, refuse with a message, pads-error, lcp-timeout. For every
login the AC's event log must show the PADT for every session it opened (on success, on error
and on Ctrl-C), and the dialer's secrets (the canaries) must appear nowhere: not on stdout or
stderr, not in the JSON report, not in any file diagnose writes.
"""
from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from diagnose.cli import DEFAULT_TIMEOUT_S
from tests.schema import validate

from . import netlab
from .scenarios import CANARIES

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]

REFUSAL = "E=691 R=0 Account suspended: arrears"
# The login may take longer than a plain diagnosis (it says so: facts budget_s), but however the
# AC behaves the run keeps diagnose's overall deadline (its default --timeout). Speed itself is
# measured by benchmarks/bench.py, not asserted here.
DEADLINE_S = DEFAULT_TIMEOUT_S


def run_login(lab, *extra, unprivileged=False):
    output = lab.tmpdir / "report-out.json"
    output.unlink(missing_ok=True)
    started = time.monotonic()
    done = lab.run_diagnose(["--json", "--pppoe-login", "--profile", str(lab.profile_path),
                             *extra], unprivileged=unprivileged)
    elapsed = time.monotonic() - started
    assert "Traceback" not in done.stderr, done.stderr
    report = validate(json.loads(done.stdout))
    return done, report, elapsed


def pppoe_facts(report):
    """What the pppoe check saw."""
    return next(c for c in report["checks"] if c["id"] == "pppoe")["facts"]


def judged(report):
    """What the rules concluded about the dial-up (stage, windows_error, ...): the verdict's
    evidence, by pppoe fact."""
    return {path.split(".", 1)[1]: value for path, value in report["verdict"]["evidence"].items()
            if path.startswith("pppoe.")}


def assert_every_session_closed(lab):
    """Every session the AC opened got its PADT, after the PADS that opened it."""
    events = lab.ppp_ac_events()
    assert any(e["event"] == "padr" for e in events), events
    opened = [(i, e["session"]) for i, e in enumerate(events) if e["event"] == "pads"]
    for index, session in opened:
        assert any(e["event"] == "padt" and e["session"] == session and e["known"]
                   for e in events[index + 1:]), (session, events)
    return events


def written_files(lab):
    """What diagnose may have written: its data folder (HOME) and reports asked for."""
    for root in (lab.tmpdir / "root-home", lab.tmpdir / "home"):
        if root.exists():
            yield from (p for p in root.rglob("*") if p.is_file())
    yield from lab.tmpdir.glob("report-out*")


def assert_no_canary(lab, done):
    texts = {"stdout": done.stdout, "stderr": done.stderr}
    texts.update({str(p): p.read_text(errors="replace") for p in written_files(lab)})
    for where, text in texts.items():
        for canary in CANARIES:
            assert canary not in text, (canary, where)


@pytest.mark.parametrize("auth", ["pap", "chap"])
def test_login_accepted_then_padt(pppoe_lab, auth):
    pppoe_lab.start_ppp_ac("accept", auth=auth)
    done, report, elapsed = run_login(pppoe_lab)
    facts = pppoe_facts(report)
    login = facts["login"]
    assert login["outcome"] == "connected", login
    assert login["auth"] == {"protocol": "pap" if auth == "pap" else "chap-md5",
                             "outcome": "ok", "message": "Login ok"}
    assert login["ipcp"]["address"] == netlab.AC_REMOTE_ADDR
    assert login["padt_sent"] and login["credentials"] == "secrets"
    assert login["budget_s"] > 3 and "second session" in login["warning"]
    # The line and the account work: this PC just has no session up.
    assert (report["verdict"]["code"], done.returncode) == ("U26", 3)
    assert judged(report)["stage"] == "login_ok" and judged(report)["stage_source"] == "login"
    events = assert_every_session_closed(pppoe_lab)
    assert [e["event"] for e in events].count("pads") == 1
    assert any(e["event"] == "lcp_terminate" for e in events)   # an orderly close before the PADT
    assert any(e["event"] == auth and e["ok"] and e["user_ok"] for e in events)
    assert elapsed < DEADLINE_S, elapsed
    assert_no_canary(pppoe_lab, done)


@pytest.mark.parametrize("auth", ["pap", "chap"])
def test_login_refused_names_the_account_and_the_message(pppoe_lab, auth):
    pppoe_lab.start_ppp_ac("refuse", auth=auth, message=REFUSAL)
    done, verdict_report, elapsed = run_login(pppoe_lab)
    facts = pppoe_facts(verdict_report)
    assert (verdict_report["verdict"]["side"], verdict_report["verdict"]["code"],
            done.returncode) == ("account", "A32", 4)
    assert facts["login"]["outcome"] == "auth_refused"
    assert judged(verdict_report)["server_message"] == REFUSAL
    assert judged(verdict_report)["windows_error"] == 691
    assert "691" in verdict_report["verdict"]["title"]
    evidence = json.dumps(verdict_report["verdict"]["evidence"])
    assert "691" in evidence and REFUSAL in evidence
    assert any("redial" in line for line in verdict_report["verdict"]["advice"])
    assert_every_session_closed(pppoe_lab)
    assert elapsed < DEADLINE_S, elapsed
    assert_no_canary(pppoe_lab, done)
    # The same in a report file (-o) and in the text report.
    output = pppoe_lab.tmpdir / "report-out.json"
    done = pppoe_lab.run_diagnose(["--json", "--pppoe-login", "--profile",
                                   str(pppoe_lab.profile_path), "-o", str(output)])
    assert done.returncode == 4 and REFUSAL in output.read_text()
    assert_no_canary(pppoe_lab, done)
    done = pppoe_lab.run_diagnose(["--pppoe-login", "--profile", str(pppoe_lab.profile_path)])
    assert done.returncode == 4 and "691" in done.stdout
    assert_no_canary(pppoe_lab, done)
    assert_every_session_closed(pppoe_lab)


def test_wrong_password_is_refused_by_the_ac(pppoe_lab):
    pppoe_lab.pppoe_password = "another-password"     # the AC's; the PC's secrets keep theirs
    pppoe_lab.start_ppp_ac("accept")
    done, report, _ = run_login(pppoe_lab)
    facts = pppoe_facts(report)
    assert (report["verdict"]["code"], facts["login"]["outcome"]) == ("A32", "auth_refused")
    assert judged(report)["server_message"] == "E=691 R=0 Authentication failed"
    assert any(e["event"] == "pap" and not e["ok"] and e["user_ok"]
               for e in pppoe_lab.ppp_ac_events())
    assert_every_session_closed(pppoe_lab)
    assert_no_canary(pppoe_lab, done)


def test_pads_error_is_the_line(pppoe_lab):
    pppoe_lab.start_ppp_ac("pads-error")
    done, report, elapsed = run_login(pppoe_lab)
    facts = pppoe_facts(report)
    assert (report["verdict"]["side"], report["verdict"]["code"], done.returncode) == (
        "line", "L32", 4)
    assert facts["login"]["outcome"] == "pads_error"
    assert judged(report)["server_message"] == "AC-System-Error: Too many sessions for this account"
    assert judged(report)["windows_error"] == 651 and "651" in report["verdict"]["title"]
    # The AC refused in its PADS (session id 0): it opened no session, so there is none to close.
    events = assert_every_session_closed(pppoe_lab)
    assert not any(e["event"] == "pads" for e in events)
    assert not facts["login"]["padt_sent"]
    assert elapsed < DEADLINE_S, elapsed
    assert_no_canary(pppoe_lab, done)


def test_lcp_timeout_is_the_line_and_still_sends_padt(pppoe_lab):
    pppoe_lab.start_ppp_ac("lcp-timeout")
    done, report, elapsed = run_login(pppoe_lab)
    facts = pppoe_facts(report)
    assert (report["verdict"]["side"], report["verdict"]["code"], done.returncode) == (
        "line", "L33", 4)
    assert facts["login"]["outcome"] == "lcp_timeout" and judged(report)["step"] == "LCP"
    assert judged(report)["windows_error"] == 718 and "718" in report["verdict"]["title"]
    assert facts["login"]["padt_sent"]
    assert_every_session_closed(pppoe_lab)
    assert elapsed < DEADLINE_S, elapsed
    assert_no_canary(pppoe_lab, done)


def test_ctrl_c_during_the_login_still_sends_padt(pppoe_lab):
    pppoe_lab.start_ppp_ac("lcp-timeout")          # the login sits in LCP for about 3 s
    argv = [netlab.sys.executable, "-m", "diagnose", "--json", "--pppoe-login",
            "--profile", str(pppoe_lab.profile_path)]
    proc = subprocess.Popen(pppoe_lab._command("pc", argv, False), env=pppoe_lab._clean_env(),
                            cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not any(e["event"] == "pads" for e in pppoe_lab.ppp_ac_events()):
            assert time.monotonic() < deadline and proc.poll() is None, "no session opened"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    deadline = time.monotonic() + 2
    while not any(e["event"] == "padt" for e in pppoe_lab.ppp_ac_events()):
        assert time.monotonic() < deadline, pppoe_lab.ppp_ac_events()
        time.sleep(0.02)
    assert_every_session_closed(pppoe_lab)
    for canary in CANARIES:
        assert canary not in out + err


def test_no_login_without_administrator_rights(pppoe_lab):
    pppoe_lab.start_ppp_ac("accept")
    done, report, _ = run_login(pppoe_lab, unprivileged=True)
    login = pppoe_facts(report)["login"]
    assert login["outcome"] == "not_run" and login["reason"] == "needs administrator rights"
    assert not any(e["event"] == "padr" for e in pppoe_lab.ppp_ac_events())
    assert_no_canary(pppoe_lab, done)


def test_no_login_unless_asked(pppoe_lab):
    pppoe_lab.start_ppp_ac("accept")
    done = pppoe_lab.run_diagnose(["--json", "--profile", str(pppoe_lab.profile_path)])
    login = pppoe_facts(json.loads(done.stdout))["login"]
    assert login["outcome"] == "not_run"
    assert not any(e["event"] == "padr" for e in pppoe_lab.ppp_ac_events())


def test_dialer_log_is_read_and_judged(pppoe_lab):
    """The last log lines: pppd's logfile in the PC's /etc/ppp says PAP was refused."""
    pppoe_lab.write_ppp_log([
        "Plugin rp-pppoe.so loaded.", "PPP session is 4660", "Using interface ppp0",
        f"Remote message: {REFUSAL} for {pppoe_lab.pppoe_user}",
        "PAP authentication failed", "Connection terminated."])
    done = pppoe_lab.run_diagnose(["--json", "--profile", str(pppoe_lab.profile_path)])
    report = validate(json.loads(done.stdout))
    facts = pppoe_facts(report)
    assert (report["verdict"]["code"], done.returncode) == ("A32", 4)
    assert judged(report)["stage_source"] == "log"
    assert facts["log"]["source"] == "/etc/ppp/pppd.log"
    assert facts["log"]["outcome"] == "auth_refused" and judged(report)["step"] == "PAP"
    assert judged(report)["server_message"].startswith(REFUSAL + " for lab")   # user: a hint
    assert_no_canary(pppoe_lab, done)
    assert Path(pppoe_lab.netns_etc("pc") / "ppp" / "pppd.log").exists()
