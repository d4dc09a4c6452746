"""The Windows build under Wine in a really broken home network: side, code and exit status.

Each scenario is the Linux lab's own (tests/lab/scenarios.py): the same break, the same verdict,
now seen by the Windows CPython through the Win32 APIs. Wine's stubs (admin state, DHCP flag,
metrics, RAS, WLAN, event log, firewall) are not what these prove: see docs/platforms.md.
"""
from __future__ import annotations

import json
import re
import shutil
import time

import pytest

from tests.lab.scenarios import SCENARIOS
from tests.schema import validate
from tests.wine.conftest import RUN_TIMEOUT

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
# Wine's sockets go through its server: under load a 1 ms handshake takes hundreds, so the
# delay and loss figures of line_quality say nothing about the network there (docs/platforms.md).
WINE_SKIPS = ("--skip", "line_quality")
# Where Windows must conclude differently from Linux, and why: (side, code, exit status).
WINDOWS_VERDICT = {
    # only a self-assigned address: whether the router's DHCP answers needs a DHCP probe, which
    # needs a packet driver Windows lacks by default; the report says so and stays inconclusive
    "apipa-while-dhcp-works": ("unknown", "X22", 5),
}
# healthy; adapter without an address; gateway dead; router WAN down; DNS dead; portal; and
# PC-side faults that Wine models from the namespace's state (its resolver, its route, its
# hosts file, read from Windows' own path).
WINE_SCENARIOS = ("healthy", "apipa-while-dhcp-works", "router-hung", "router-wan-down",
                  "operator-dns-dead", "portal-notice", "pc-dns-wrong", "no-default-route",
                  "hosts-file-to-loopback")


# The overall deadline counts from the Windows process's start: on a loaded two-core machine
# Wine's start and the imports took most of the default 10 s and the deadline cut checks short
# (the addressing check once reported nothing). Each check keeps its own timeout; what a loaded
# machine does to Wine's start-up is measured in benchmarks/wine_bench.py, not proven here.
WINE_DEADLINE = ("--timeout", "30")


def run_report(windows_install, lab, args=()):
    started = time.monotonic()
    done = windows_install.run(lab, ["D:\\diagnose.exe", "--json", "--profile", "L:\\profile.yaml",
                                     *WINE_DEADLINE, *WINE_SKIPS, *args])
    elapsed = time.monotonic() - started
    assert "Traceback" not in done.stderr, done.stderr
    return done, validate(json.loads(done.stdout)), elapsed


@pytest.mark.parametrize("name", WINE_SCENARIOS)
def test_scenario_under_wine(windows_install, wine_lab, name):
    scenario = BY_NAME[name]
    scenario.apply(wine_lab)
    done, report, elapsed = run_report(windows_install, wine_lab)
    verdict = report["verdict"]
    summary = {c["id"]: (c["status"], c["reason"]) for c in report["checks"]}
    expected = WINDOWS_VERDICT.get(name, (scenario.side, scenario.code, scenario.exit_code))
    assert (verdict["side"], verdict["code"], done.returncode) == expected, (verdict, summary)
    if name in WINDOWS_VERDICT:
        addressing = next(c for c in report["checks"] if c["id"] == "addressing")
        assert addressing["status"] == "ok" and addressing["reason"], addressing   # observed
        assert addressing["facts"]["dhcp_probe"] == {
            "outcome": "not_run", "reason": "packet probes need a packet driver this system lacks"}
    # Wine has no GetBestRoute2 (50): the paths check says so, not that an ip tool is missing
    paths = next(c for c in report["checks"] if c["id"] == "paths")
    assert (paths["status"], paths["reason"]) == (
        "skipped", "the route lookup is not available on this system (GetBestRoute2 failed (50))")
    windows_install.timings.setdefault("runs_s", []).append(round(elapsed, 1))


def test_windows_facts_come_from_win32_not_linux_files(windows_install, wine_lab):
    """Proof that this is Windows reading Win32 APIs: no Z: drive, sys.platform win32, and the
    backend's facts match the namespace's real state."""
    code = ("import sys, os, json; from diagnose.platform import windows as w; "
            "r = w.read_raw(); print(json.dumps({'platform': sys.platform, "
            "'z': os.path.exists('Z:\\\\'), 'errors': r['errors'], "
            "'routes': [x.__dict__ for x in w.map_default_routes(r)], "
            "'addresses': [x.__dict__ for x in w.map_addresses(r)], "
            "'dns': list(w.map_dns(r).servers), "
            "'neighbour': w.map_neighbour(r, '192.168.77.1').__dict__, "
            "'hosts': w.map_hosts_file(w.read_part('hosts_folder')[0]), "
            "'parts': {k: w.read_part(k)[1] for k in ('proxy_winhttp', 'firewall_registry', "
            "'ras_entries', 'ras_connections', 'wlan_interfaces')}, "
            "'firewall_current': w.read_part('firewall_current')}))")
    wine_lab.ping("192.168.77.1")    # a neighbour entry to read
    done = windows_install.run(wine_lab, ["D:\\python\\python.exe", "-c", code])
    facts = json.loads(done.stdout)
    assert facts["platform"] == "win32" and facts["z"] is False and facts["errors"] == {}
    assert [(r["adapter"], r["gateway"]) for r in facts["routes"] if r["family"] == 4] == [
        ("pc0", "192.168.77.1")]
    assert {"adapter": "pc0", "family": 4, "address": "192.168.77.10", "prefixlen": 24} .items() <= \
        next(a for a in facts["addresses"] if a["address"] == "192.168.77.10").items()
    assert facts["dns"] == ["192.168.77.1"]
    assert facts["neighbour"]["state"] in ("resolved", "incomplete", "absent")
    # Windows' own path, from Tcpip's DataBasePath; the other parts' calls work (Wine's answers
    # are stubs: no RAS entries, no WLAN interfaces, no firewall values; docs/platforms.md)
    assert facts["hosts"].lower() == r"c:\windows\system32\drivers\etc\hosts"
    assert facts["parts"] == dict.fromkeys(facts["parts"])
    # the firewall's profiles in force through IDispatch: Wine creates NetFwPolicy2 and finds
    # CurrentProfileTypes by name (GetIDsOfNames), but its getter is a stub: Invoke answers
    # DISP_E_EXCEPTION, so the profiles in force are not observed, with that reason
    value, error = facts["firewall_current"]
    assert value is None and "Invoke(CurrentProfileTypes) failed (0x80020009)" in error


def test_the_launcher_speaks_the_verdict_in_text(windows_install, wine_lab):
    wine_lab.wan_down()
    done = windows_install.run(wine_lab, ["D:\\diagnose.exe", "--profile", "L:\\profile.yaml",
                                          "--lang", "zh_CN", *WINE_DEADLINE, *WINE_SKIPS])
    assert done.returncode == 4, done.stderr
    assert done.stdout.splitlines()[0].startswith("[L23] ") and "宽带线路中断" in done.stdout


def test_a_chinese_report_piped_on_a_western_code_page(windows_install, wine_lab):
    """`python -m diagnose --lang zh_CN | ...` on a Western Windows (ANSI code page 1252, which
    cannot hold Chinese): the report arrives whole, in UTF-8."""
    western = {"LANG": "en_US.UTF-8"}
    code_page = windows_install.run(wine_lab, ["D:\\python\\python.exe", "-c",
                                               "import ctypes; print(ctypes.windll.kernel32.GetACP())"],
                                    env=western)
    assert code_page.stdout.strip() == "1252"
    done = windows_install.run(wine_lab, ["D:\\python\\python.exe", "-m", "diagnose", "--lang",
                                          "zh_CN", "--profile", "L:\\profile.yaml", *WINE_SKIPS],
                               env=western)
    assert "Traceback" not in done.stderr, done.stderr
    # whatever the verdict on a loaded machine, the Chinese report is readable, not escaped
    assert re.match(r"\[[A-Z]\d\d\] ", done.stdout) and "检查项目：" in done.stdout, done.stdout
    assert "\\u" not in done.stdout


def test_a_double_click_shows_the_verdict_and_waits_for_a_key(windows_install, wine_lab):
    """diagnose.exe on a console of its own, no arguments (the operator's profile where its
    installer puts it, %ProgramData%): the verdict in the system's language (English here), then
    the window stays until a key is pressed."""
    from tests.wine.conftest import ConsoleRun
    operator_profile = (windows_install.prefix / "drive_c" / "ProgramData" / "broadband-diagnose"
                        / "profile.yaml")
    operator_profile.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(wine_lab.tmpdir / "profile.yaml", operator_profile)
    console = ConsoleRun(windows_install, wine_lab, ["D:\\diagnose.exe"])
    try:
        assert console.read_until("Press any key to close this window...", RUN_TIMEOUT), console.seen
        assert re.search(r"\[[A-Z]\d\d\] ", console.seen), console.seen
        time.sleep(1.0)
        assert console.proc.poll() is None, "closed without waiting for a key"
        console.press_a_key()
    finally:
        code = console.close()
        operator_profile.unlink()
    assert code in (0, 3, 4, 5), console.seen


def test_the_test_dial_against_wines_own_rasapi32(windows_install, wine_lab):
    """The Windows CPython loads the real rasapi32.dll, declares ras.h's signatures on its
    exports and dials: Wine's RAS is a stub, so this proves the structures' Win64 sizes under a
    Windows interpreter and that the dial survives the DLL's answer (no crash, not observed
    with its reason, no hang-up owed), not a real dial (docs/platforms.md)."""
    code = ("import ctypes, json; from diagnose.platform import ras_api, ras_dial; "
            "sizes = {n: ctypes.sizeof(getattr(ras_api, n)) for n in "
            "('RASDIALPARAMSW', 'RASCONNW', 'RASCONNSTATUSW', 'RASENTRYNAMEW')}; "
            "attempt = ras_dial.dial('\\u5bbd\\u5e26\\u8fde\\u63a5', password='CANARY-WINE-DIAL', "
            "budget=2.0); print(json.dumps({'sizes': sizes, 'facts': attempt.facts}))")
    done = windows_install.run(wine_lab, ["D:\\python\\python.exe", "-c", code])
    assert "Traceback" not in done.stderr, done.stderr
    seen = json.loads(done.stdout)
    assert seen["sizes"] == {"RASDIALPARAMSW": 2108, "RASCONNW": 1388, "RASCONNSTATUSW": 564,
                             "RASENTRYNAMEW": 1048}
    # Wine 8's RasDialW answers 1 at once and gives no connection handle: nothing to hang up
    facts = seen["facts"]
    assert (facts["outcome"], facts["ras_error"], facts["states"]) == ("failed", 1, [])
    assert facts["credentials"] == "typed" and facts["hung_up"] is None
    assert "CANARY-WINE-DIAL" not in done.stdout + done.stderr
