"""The pppoe check (observations, reasons, budgets, secrets) with stand-ins for the network, and
the stage the rules derive from what it saw."""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from diagnose.checks import BY_ID, pppoe
from diagnose.context import Context
from diagnose.engine import derive, pack
from diagnose.model import CheckResult, Status
from diagnose.net import ppp_session, pppoe_discovery
from diagnose.report import _reason

USER, PASSWORD = "lab-user-CANARY-USER", "CANARY-PPPOE-PASSWORD-unit"
PEERS = f'plugin rp-pppoe.so\nnic-eth0\nuser "{USER}"\nlogfile /var/log/ppp-dsl.log\n'
ETH0 = {"name": "eth0", "kind": "ethernet", "admin_up": True, "carrier": True,
        "mac": "02:00:00:00:00:01", "operstate": "up"}


def write(root, path, text):
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def context(root, *, adapters=(ETH0,), gateway_ok=False, privileged=True, options=None,
            journal=""):
    results = {"interfaces": CheckResult(Status.OK, {"interfaces": list(adapters)}),
               "route": CheckResult(Status.OK, {"has_default": gateway_ok}),
               "gateway": CheckResult(Status.OK, {"reachable": gateway_ok})}
    return Context(profile={}, privileged=privileged, deadline=time.monotonic() + 10,
                   results=results, root=root, options=options or {},
                   run=lambda argv, timeout: subprocess.CompletedProcess(argv, 0, journal, ""),
                   if_addrs=lambda: {})


@pytest.fixture
def discovered(monkeypatch):
    """pppoe_discovery.discover stand-in: records its arguments, answers `outcome`."""
    calls = []

    def make(outcome="pado"):
        def discover(iface, **kwargs):
            calls.append({"iface": iface, **kwargs})
            ac = {"name": "BRAS-1", "mac": "02:00:00:00:00:02", "services": [""],
                  "has_cookie": True, "latency_ms": 2.0, "errors": []}
            acs = [ac] if outcome == "pado" else []
            return {"outcome": outcome, "interface": iface, "attempts": 1, "acs": acs,
                    "error": None}
        monkeypatch.setattr(pppoe_discovery, "discover", discover)
        return calls
    return make


# ---------------------------------------------------------------- stage (the rules) and reasons

PACK = pack.load(None, set(BY_ID))


def derived(facts: dict) -> dict:
    """The pppoe facts as the rules see them: what the check saw plus what rules derive."""
    return derive.apply(PACK.derivations, {"pppoe": CheckResult(Status.OK, facts)})["pppoe"].facts


def stage_of(**facts):
    base = {"is_dialer": True, "session_up": False, "dialer": {"interface": "eth0",
            "present": True, "admin_up": True}, "discovery": {"outcome": "pado"},
            "login": {"outcome": "not_run"}, "log": {"outcome": None}}
    base.update(facts)
    return derived(base)


@pytest.mark.parametrize("facts, stage, source, code", [
    ({"session_up": True}, "up", "interfaces", None),
    ({"is_dialer": False}, None, None, None),
    ({"dialer": {"interface": "eth7", "present": False}}, "adapter_missing", "interfaces", 814),
    ({"dialer": {"interface": "eth0", "present": True, "admin_up": False}},
     "adapter_disabled", "interfaces", 769),
    ({"discovery": {"outcome": "no_pado"}, "log": {"outcome": "auth_refused"}},
     "no_pado", "discovery", 651),
    ({"login": {"outcome": "auth_refused", "step": "PAP", "message": "E=691"},
      "log": {"outcome": "lcp_timeout"}}, "auth_refused", "login", 691),
    ({"login": {"outcome": "pads_error", "step": "PADS"}}, "pads_error", "login", 651),
    ({"login": {"outcome": "lcp_timeout", "step": "LCP"}}, "lcp_timeout", "login", 718),
    ({"login": {"outcome": "connected", "ipcp": {"address": "10.0.0.2"}}}, "login_ok", "login",
     None),
    ({"log": {"outcome": "auth_refused", "step": "CHAP", "message": "E=691"}},
     "auth_refused", "log", 691),
    # Windows reported its own number (a RasClient log of Windows XP, its test dial): that one
    ({"discovery": {"outcome": "not_run"}, "log": {"outcome": "no_pado", "step": "PADI",
                                                   "ras_error": 678}}, "no_pado", "log", 678),
    ({"login": {"outcome": "no_pado", "step": "ConnectDevice", "ras_error": 815}}, "no_pado",
     "login", 815),
    ({"log": {"outcome": "pads_timeout", "step": "PADR"}}, "pads_timeout", "log", 815),
    # discovery saw a PADO just now: an old "no PADO" in the log is history
    ({"log": {"outcome": "no_pado", "step": "PADI"}}, "pado", "discovery", None),
    ({"discovery": {"outcome": "not_run"}, "log": {"outcome": "no_pado", "step": "PADI"}},
     "no_pado", "log", 651),
    ({"log": {"outcome": "connected"}}, "pado", "discovery", None),
    ({"log": {"outcome": "terminated", "step": "LCP", "terminate_reason": "Admin reset"}},
     "terminated", "log", 734),
])
def test_the_rules_derive_the_stage(facts, stage, source, code):
    seen = stage_of(**facts)
    assert (seen["stage"], seen["stage_source"], seen["windows_error"]) == (stage, source, code)


def test_the_stage_carries_its_observations_details():
    seen = stage_of(login={"outcome": "auth_refused", "step": "PAP", "message": "E=691"})
    assert (seen["step"], seen["server_message"], seen["address"]) == ("PAP", "E=691", None)
    seen = stage_of(login={"outcome": "connected", "step": "IPCP", "ipcp": {"address": "10.0.0.2"}})
    assert (seen["stage"], seen["address"]) == ("login_ok", "10.0.0.2")
    seen = stage_of(log={"outcome": "terminated", "step": "LCP", "terminate_reason": "Admin reset"})
    assert seen["server_message"] == "Admin reset"
    assert stage_of(is_dialer=False) == {**stage_of(is_dialer=False), "stage": None, "step": None}


@pytest.mark.parametrize("stage_facts", [
    {"dialer": {"interface": "eth7", "present": False}},
    {"discovery": {"outcome": "no_pado", "interface": "eth0"}},
    {"login": {"outcome": "auth_refused", "step": "PAP", "message": "E=691 {0} {x}"}},
    {"login": {"outcome": "connected", "ipcp": {"address": "10.0.0.2"}}},
    {"log": {"outcome": "pads_error", "step": "PADS", "message": "AC-System-Error: full"}},
    {"session_up": True},
    {"is_dialer": False},
    {},
])
@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_the_status_says_it_observed_and_every_reason_renders(stage_facts, lang):
    """A check reports what it saw: a refused or a successful login alike are observations."""
    facts = {"is_dialer": True, "session_up": False, "discovery": {"outcome": "pado"},
             "dialer": {"interface": "eth0", "present": True, "admin_up": True},
             "login": {"outcome": "not_run"}, "log": {"outcome": None}}
    facts.update(stage_facts)
    result = pppoe._result(facts)
    assert result.status is Status.OK
    if result.reason:
        text = _reason(result, lang)          # no argument may clash with t()'s own parameters
        assert text and "{" not in text.replace("{0} {x}", "")
    assert "stage" not in result.facts and "windows_error" not in result.facts


# ---------------------------------------------------------------- run()

def test_dialer_log_judged_and_account_scrubbed(tmp_path, discovered):
    discovered("pado")
    write(tmp_path, "/etc/ppp/peers/dsl-provider", PEERS)
    write(tmp_path, "/etc/ppp/pap-secrets", f'"{USER}" * "{PASSWORD}"\n')
    write(tmp_path, "/var/log/ppp-dsl.log", f"Remote message: {USER} is suspended\n"
                                             "PAP authentication failed\n")
    result = pppoe.run(context(tmp_path))
    facts = derived(result.facts)
    assert (facts["stage"], facts["stage_source"], facts["step"]) == ("auth_refused", "log", "PAP")
    assert facts["server_message"] == "lab…ER is suspended" and facts["windows_error"] == 691
    assert facts["log"]["source"] == "/var/log/ppp-dsl.log"
    # the server's words stay on the PPPoE line, which the rule's advice points to
    assert result.reason == pppoe.R_LAST_ATTEMPT
    assert result.reason_args["server_message"] == "lab…ER is suspended"
    dumped = json.dumps(facts) + repr(result.reason_args)
    assert USER not in dumped and PASSWORD not in dumped


def test_discovery_budget_is_short_when_this_pc_does_not_dial(tmp_path, discovered):
    calls = discovered("no_pado")
    result = pppoe.run(context(tmp_path))
    assert result.facts["is_dialer"] is False and result.status is Status.OK
    (call,) = calls
    assert call["attempts"] == pppoe.PROBE_ATTEMPTS and call["budget"] <= 0.7
    assert call["timeout"] <= pppoe.PROBE_WAIT_S


def test_discovery_keeps_its_budget_for_the_dialer(tmp_path, discovered):
    calls = discovered("no_pado")
    write(tmp_path, "/etc/ppp/peers/dsl-provider", PEERS + "rp_pppoe_service lab-internet\n")
    result = pppoe.run(context(tmp_path))
    (call,) = calls
    assert call["attempts"] == pppoe.PADI_ATTEMPTS
    assert call["budget"] == pytest.approx(pppoe.PADI_WAIT_S * pppoe.PADI_ATTEMPTS, abs=0.01)
    assert call["service_name"] == "lab-internet"
    assert derived(result.facts)["stage"] == "no_pado"
    assert derived(result.facts)["windows_error"] == 651


def test_no_discovery_with_a_working_gateway_unless_dialer(tmp_path, discovered):
    calls = discovered("pado")
    pppoe.run(context(tmp_path, gateway_ok=True))
    assert calls == []


def test_login_asked_for_uses_the_secrets_and_shows_none(tmp_path, discovered, monkeypatch):
    discovered("pado")
    write(tmp_path, "/etc/ppp/peers/dsl-provider", PEERS)
    write(tmp_path, "/etc/ppp/chap-secrets", f'"{USER}" * "{PASSWORD}"\n')
    seen = {}

    def login(iface, *, creds, budget, **kwargs):
        seen.update(iface=iface, creds=creds, budget=budget)
        return {"outcome": "auth_refused", "step": "CHAP",
                "message": f"{USER} / {PASSWORD} refused", "ipcp": None}
    monkeypatch.setattr(ppp_session, "login", login)
    result = pppoe.run(context(tmp_path, options={"pppoe_login": True}))
    assert seen["creds"].chap == PASSWORD and seen["iface"] == "eth0"
    assert seen["budget"] <= pppoe.LOGIN_BUDGET_S
    facts = derived(result.facts)
    assert (facts["stage"], facts["stage_source"]) == ("auth_refused", "login")
    assert facts["login"]["credentials"] == "secrets" and facts["login"]["user_hint"] == "lab…ER"
    dumped = json.dumps(facts) + repr(result.reason_args)
    assert USER not in dumped and PASSWORD not in dumped and "***" in dumped


def test_login_password_from_the_options_is_scrubbed(tmp_path, discovered, monkeypatch):
    discovered("pado")
    write(tmp_path, "/etc/ppp/peers/dsl-provider", PEERS)
    monkeypatch.setattr(ppp_session, "login", lambda iface, *, creds, budget, **kw: {
        "outcome": "connected", "message": f"hello {creds.pap}", "ipcp": {"address": "10.0.0.2"}})
    result = pppoe.run(context(tmp_path, options={"pppoe_login": True,
                                                  "pppoe_password": "typed-secret"}))
    assert derived(result.facts)["stage"] == "login_ok" and result.status is Status.OK
    assert "typed-secret" not in json.dumps(result.facts)


@pytest.mark.parametrize("kwargs, reason", [
    ({"privileged": False}, "needs administrator rights"),
    ({"options": {}}, "not asked for (--pppoe-login)"),
])
def test_login_not_run(tmp_path, discovered, monkeypatch, kwargs, reason):
    discovered("pado")
    write(tmp_path, "/etc/ppp/peers/dsl-provider", PEERS)
    monkeypatch.setattr(ppp_session, "login", lambda *a, **k: pytest.fail("no login"))
    kwargs.setdefault("options", {"pppoe_login": True})
    result = pppoe.run(context(tmp_path, **kwargs))
    assert result.facts["login"]["outcome"] == "not_run"
    assert result.facts["login"]["reason"] == reason


def test_login_without_a_password_is_not_run(tmp_path, discovered, monkeypatch):
    discovered("pado")
    write(tmp_path, "/etc/ppp/peers/dsl-provider", PEERS)
    monkeypatch.setattr(ppp_session, "login", lambda *a, **k: pytest.fail("no login"))
    result = pppoe.run(context(tmp_path, options={"pppoe_login": True}))
    assert result.facts["login"]["reason"].startswith("no password")
    assert derived(result.facts)["stage"] == "pado"


def test_missing_adapter_of_the_dialer(tmp_path, discovered):
    discovered("pado")
    write(tmp_path, "/etc/ppp/peers/dsl-provider", PEERS.replace("nic-eth0", "nic-eth7"))
    result = pppoe.run(context(tmp_path))
    assert (derived(result.facts)["stage"], derived(result.facts)["windows_error"]) == (
        "adapter_missing", 814)
    assert result.status is Status.OK and result.reason == pppoe.R_NO_SESSION
    assert result.facts["dialer"]["interface"] == "eth7"
