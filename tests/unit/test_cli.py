"""The command line end to end with stand-in checks: streams, exit codes, languages, Ctrl-C."""
from __future__ import annotations

import json
import re

import pytest

from diagnose import diagnosis
from diagnose.cli import main
from diagnose.model import CheckResult, CheckSpec, Status
from tests.schema import validate

from .facts import HEALTHY


def stand_ins(changes=None, raise_in=None):
    """The real check ids with given facts, so the real rule pack judges them."""
    facts = {check: dict(values) for check, values in HEALTHY.items()}
    for check, values in (changes or {}).items():
        facts[check].update(values)

    def make(check_id):
        def run(ctx):
            if check_id == raise_in:
                raise raise_in_exc
            return CheckResult(Status.OK, facts[check_id])
        return CheckSpec(check_id, "stand-in", run, needs=("route",) if check_id != "route" else ())
    return tuple(make(check_id) for check_id in facts)


raise_in_exc: BaseException = RuntimeError("boom")


@pytest.fixture
def run(monkeypatch, capsys, tmp_path):
    def invoke(args, changes=None, raise_in=None, env=None):
        monkeypatch.setattr(diagnosis, "ALL", stand_ins(changes, raise_in))
        for key, value in (env or {"LANG": "C.UTF-8"}).items():
            monkeypatch.setenv(key, value)
        code = main(args)
        out, err = capsys.readouterr()
        return code, out, err
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("DIAGNOSE_DATA_DIR", str(tmp_path / "data"))
    return invoke


def test_json_is_one_valid_document_and_stderr_is_quiet(run):
    code, out, err = run(["--json"])
    report = validate(json.loads(out))
    assert code == 0 and err == ""
    assert report["verdict"]["side"] == "none" and report["lang"] == "en"
    assert [c["id"] for c in report["checks"]][0] == "route"


@pytest.mark.parametrize("changes, side, code", [
    ({"interfaces": {"primary_admin_up": False}}, "user", 3),
    ({"interfaces": {"primary_carrier": False}}, "home", 3),
    ({"internet": {"online": False, "portal": True}}, "account", 4),
    ({"internet": {"online": False, "any_target_reachable": False}, "dns": {"public_works": False}}, "line", 4),
    ({"dns": {"configured_works": False, "gateway_works": False}, "internet": {"online": False}}, "isp", 4),
    ({"internet": {"online": False}}, "unknown", 5),
])
def test_exit_code_follows_the_side(run, changes, side, code):
    exit_code, out, _ = run(["--json"], changes)
    report = validate(json.loads(out))
    assert (report["verdict"]["side"], exit_code) == (side, code)


def test_text_puts_the_verdict_first_with_its_code(run):
    code, out, _ = run([], {"interfaces": {"primary_carrier": False}})
    first = out.splitlines()[0]
    assert code == 3 and first.startswith("[H22] ") and "\033[" not in out


def test_locale_chooses_chinese(run):
    code, out, _ = run([], env={"LANG": "zh_CN.UTF-8"})
    assert "宽带连接一切正常" in out.splitlines()[0] and "检查项目" in out


def test_lang_option_overrides_locale(run):
    _, out, _ = run(["--lang", "en"], env={"LANG": "zh_CN.UTF-8"})
    assert "works end to end" in out


@pytest.mark.parametrize("args", [["--bogus"], ["--lang", "fr"], ["--timeout", "abc"],
                                  ["--timeout", "0"], ["rules", "nope"]])
def test_usage_errors_exit_2_without_traceback(run, args):
    code, out, err = run(args)
    assert code == 2 and out == "" and "Traceback" not in err and "Error" in err


def test_bad_profile_exits_78_before_any_probe(run, tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("name: x\nprobes:\n  dns_name: [a.b]\n")
    code, out, err = run(["--json", "--profile", str(bad)], raise_in="route")
    assert code == 78 and out == ""
    assert f"{bad}:3" in err and "probes.dns_name" in err


def test_internal_error_exits_1_and_shows_traceback_only_with_debug(run, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("renderer fell over")
    monkeypatch.setattr(diagnosis.text, "render", broken)
    code, _, err = run([])
    assert code == 1 and "renderer fell over" in err and "Traceback" not in err
    code, _, err = run(["--debug"])
    assert code == 1 and "Traceback" in err


def test_a_crashing_check_is_reported_not_fatal(run):
    code, out, _ = run(["--json"], raise_in="proxy")
    report = validate(json.loads(out))
    proxy = next(c for c in report["checks"] if c["id"] == "proxy")
    assert proxy["status"] == "error" and "boom" in proxy["reason"]
    assert code == 0


def test_ctrl_c_prints_a_partial_valid_report_and_exits_130(run, monkeypatch):
    def interrupt(self):
        self.results["route"] = CheckResult(Status.OK, HEALTHY["route"])
        raise KeyboardInterrupt
    monkeypatch.setattr(diagnosis.Runner, "run", interrupt)
    code, out, _ = run(["--json"])
    report = validate(json.loads(out))
    assert code == 130 and report["interrupted"] is True
    assert {c["status"] for c in report["checks"] if c["id"] != "route"} == {"skipped"}


def test_help_and_version(run):
    assert run(["--help"])[0] == 0
    code, out, _ = run(["--version"])
    assert code == 0 and "diagnose" in out


def columns(text: str) -> int:
    """The referee for alignment, independent of the renderer's: East Asian wide characters
    take two columns (UAX #11)."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_chinese_check_lines_align_by_display_width(run):
    from diagnose.i18n import check_name
    _, out, _ = run(["--lang", "zh_CN", "-v"], {"internet": {"online": False}})
    names = [check_name("zh_CN", check) for check in HEALTHY]
    lines = [line for line in out.split("检查项目：\n", 1)[1].splitlines()
             if not line.startswith("      ")]                   # facts are indented further
    assert re.search(r"[\u4e00-\u9fff]", names[0]) and len(lines) == len(names)
    assert not any(line.endswith(" ") for line in lines)
    assert len({columns(line[:line.index(name)]) for line, name in zip(lines, names)}) == 1


def test_digest_from_the_text_round_trips_through_decode(run):
    changes = {"internet": {"online": False, "any_target_reachable": False}, "dns": {"public_works": False}}
    _, out, _ = run(["--json"], changes)
    report = json.loads(out)
    _, text, _ = run([], changes)
    digest = re.search(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{1,4})+\b", text).group()
    assert len(digest.replace("-", "")) <= 16
    code, decoded, _ = run(["decode", digest.lower().replace("-", " ")])
    assert code == 0 and decoded.startswith("[L23] ")
    for check in report["checks"]:
        assert f"{check['status']}" in decoded
    assert report["digest"].split("-")[0][0] == digest[0]


def test_mistyped_digest_is_said_so(run):
    _, out, _ = run(["--json"])
    digest = json.loads(out)["digest"]
    wrong = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    code, _, err = run(["decode", wrong])
    assert code == 2 and "mistyped" in err and "Traceback" not in err


@pytest.mark.parametrize("lang, words", [("en", "How to confirm"), ("zh_CN", "确认方法")])
def test_explain_a_code(run, lang, words):
    code, out, _ = run(["--lang", lang, "explain", "l22"])
    assert code == 0 and out.startswith("[L22] ") and words in out and "{" not in out


def test_explain_an_unknown_code(run):
    code, _, err = run(["explain", "Q99"])
    assert code == 2 and "Q99" in err


def test_only_brings_its_needs_and_marks_the_rest(run):
    code, out, _ = run(["--json", "--only", "dns"])
    statuses = {c["id"]: (c["status"], c["reason"]) for c in json.loads(out)["checks"]}
    assert statuses["dns"][0] == "ok" and statuses["route"][0] == "ok"   # dns needs route
    assert statuses["pppoe"] == ("skipped", "not selected")


def test_skip_and_unknown_check_names(run):
    _, out, _ = run(["--json", "--skip", "proxy,pppoe"])
    statuses = {c["id"]: c["status"] for c in json.loads(out)["checks"]}
    assert statuses["proxy"] == statuses["pppoe"] == "skipped" and statuses["dns"] == "ok"
    code, out, err = run(["--only", "dnss"])
    assert code == 2 and out == "" and "dnss" in err and "dns" in err


def test_quiet_and_verbose(run):
    _, quiet, _ = run(["-q"])
    assert quiet.count("\n") == 1 and quiet.startswith("[N23] ")
    _, verbose, _ = run(["-v"])
    assert 'gateway: "192.168.1.1"' in verbose


MAC, PUBLIC = "3c:52:82:a1:b2:c3", "58.62.111.23"


def test_reports_are_redacted_unless_asked_not_to(run):
    changes = {"interfaces": {"primary_mac": MAC}, "internet": {"urls": [{"address": PUBLIC}]}}
    _, out, _ = run(["--json"], changes)
    assert MAC not in out and PUBLIC not in out and "3c:52:82:" in out
    validate(json.loads(out))
    _, out, _ = run(["--json", "--no-redact"], changes)
    assert MAC in out and PUBLIC in out



@pytest.mark.parametrize("terminal", [True, False])
def test_pppoe_login_warns_and_asks_for_the_password_on_a_terminal(
        run, monkeypatch, capsys, terminal):
    """A password typed at the prompt reaches the checks and never any output."""
    import sys

    import click
    canary = "CANARY-TYPED-PASSWORD"
    seen = {}

    def spy(ctx):
        seen.update(ctx.options)
        return CheckResult(Status.OK, {**HEALTHY["pppoe"], "said": f"server said {canary}"})

    run([])  # the fixture's environment and stand-in checks
    monkeypatch.setattr(diagnosis, "ALL", tuple(
        CheckSpec("pppoe", "spy", spy, needs=("route",)) if spec.id == "pppoe" else spec
        for spec in diagnosis.ALL))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: terminal, raising=False)
    monkeypatch.setattr(click, "prompt", lambda *args, **kwargs: canary)
    code = main(["--json", "--pppoe-login"])
    out, err = capsys.readouterr()
    assert code == 0 and "second session" in err
    assert (canary not in out + err) if terminal else "server said" in out
    assert seen == ({"pppoe_login": True, "pppoe_password": canary} if terminal
                    else {"pppoe_login": True})



def test_an_account_name_a_check_saw_is_redacted_wherever_it_appears(run, monkeypatch, capsys):
    """The pppoe check hands the account name to redaction: a portal URL naming it (another
    check's facts) keeps only a hint in what leaves the machine."""
    account = "07551234567@163.gd"
    portal = {"internet": {"online": False, "portal": True,
                           "portal_location": f"http://10.0.0.1/auth?user={account}"}}
    run([])  # the fixture's environment

    def pppoe(ctx):
        return CheckResult(Status.OK, HEALTHY["pppoe"], sensitive={"pppoe_users": (account,)})
    monkeypatch.setattr(diagnosis, "ALL", tuple(
        CheckSpec("pppoe", "saw", pppoe, needs=("route",)) if spec.id == "pppoe" else spec
        for spec in stand_ins(portal)))
    main(["--json"])
    out = capsys.readouterr().out
    assert account not in out and "07551234567" not in out and "<pppoe-user-1>" in out
    main(["--json", "--no-redact"])
    assert account in capsys.readouterr().out


def test_decode_table_aligns_in_chinese(run):
    _, out, _ = run(["--json"], {"internet": {"online": False}})
    digest = json.loads(out)["digest"]
    code, decoded, _ = run(["--lang", "zh_CN", "decode", digest])
    rows = decoded.split("检查项目：\n", 1)[1].splitlines()
    names = [re.split(r"\s{2,}", row.strip())[1] for row in rows]
    starts = {columns(row[:row.index(name)]) for row, name in zip(rows, names)}
    assert code == 0 and len(rows) > 10 and len(starts) == 1, decoded
