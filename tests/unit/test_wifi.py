"""wifi: real /proc/net/wireless and `iw dev IF link` outputs, hostile ones, the check and its rule.

The fault lab cannot have a Wi-Fi adapter (no mac80211_hwsim in its kernel), so these outputs of
real adapters stand in for it.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from diagnose.checks import wifi
from diagnose.platform import linux
from diagnose.context import Context
from diagnose.engine import pack
from diagnose.engine.conditions import evaluate
from diagnose.model import CheckResult, Status

from .facts import results

HEADER = ("Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n"
          " face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n")
# cfg80211 drivers (iwlwifi, ath9k/ath10k, mt76, rtw88): quality 0..70, level in dBm, no noise.
PROC_GOOD = HEADER + "wlp3s0: 0000   58.  -52.  -256        0      0      0      0     52        0\n"
PROC_WEAK = HEADER + " wlan0: 0000   25.  -85.  -256        0      0      0     12    310        0\n"
# Broadcom's wl: no "updated" dots, and a real noise floor.
PROC_WL = HEADER + "  eth1: 0000     0   -67   -92        0      0      0      0      0        0\n"
# An old driver in relative units (no dBm at all) and one reporting "no value".
PROC_RELATIVE = HEADER + "  ath0: 0000   30.  226.  161.       0      0      0      0      0        0\n"
PROC_NONE = HEADER + " wlan1: 0000    0     0     0        0      0      0      0      0        0\n"
PROC_EMPTY = HEADER   # no associated adapter

IW_GOOD = """Connected to 00:1a:2b:3c:4d:5e (on wlp3s0)
\tSSID: HomeNet-5G
\tfreq: 5180
\tRX: 43812340 bytes (45123 packets)
\tTX: 3123456 bytes (14025 packets)
\tsignal: -52 dBm
\trx bitrate: 433.3 MBit/s VHT-MCS 9 80MHz short GI VHT-NSS 1
\ttx bitrate: 390.0 MBit/s VHT-MCS 9 80MHz VHT-NSS 1

\tbss flags:\tshort-slot-time
\tdtim period:\t1
\tbeacon int:\t100
"""
IW_WEAK = """Connected to 74:ac:b9:11:22:33 (on wlan0)
\tSSID: \\xe5\\xae\\xb6\\xe9\\x87\\x8c
\tfreq: 2437
\tRX: 123456 bytes (980 packets)
\tTX: 45678 bytes (310 packets)
\tsignal: -85 dBm
\trx bitrate: 6.5 MBit/s MCS 0
\ttx bitrate: 1.0 MBit/s

\tbss flags:\tshort-preamble short-slot-time
\tdtim period:\t3
\tbeacon int:\t100
"""
# iw 6.x prints the frequency with a decimal; some drivers give per-antenna signals.
IW_NEWER = """Connected to 3c:84:6a:aa:bb:cc (on wlan0)
\tSSID: Office
\tfreq: 5745.0
\tRX: 901 bytes (7 packets)
\tTX: 1200 bytes (9 packets)
\tsignal: -77 [-79, -80] dBm
\trx bitrate: 24.0 MBit/s
\ttx bitrate: 18.0 MBit/s
"""
IW_NOT_CONNECTED = "Not connected.\n"


@pytest.mark.parametrize("text, expected", [
    (PROC_GOOD, {"wlp3s0": {"link_quality": 58, "signal_dbm": -52, "noise_dbm": None}}),
    (PROC_WEAK, {"wlan0": {"link_quality": 25, "signal_dbm": -85, "noise_dbm": None}}),
    (PROC_WL, {"eth1": {"link_quality": 0, "signal_dbm": -67, "noise_dbm": -92}}),
    (PROC_RELATIVE, {"ath0": {"link_quality": 30, "signal_dbm": None, "noise_dbm": None}}),
    (PROC_NONE, {"wlan1": {"link_quality": 0, "signal_dbm": None, "noise_dbm": None}}),
    (PROC_EMPTY, {}),
    (PROC_GOOD + PROC_WEAK.split("\n", 2)[2],
     {"wlp3s0": {"link_quality": 58, "signal_dbm": -52, "noise_dbm": None},
      "wlan0": {"link_quality": 25, "signal_dbm": -85, "noise_dbm": None}}),
])
def test_parse_proc_wireless(text, expected):
    assert linux.parse_proc_wireless(text) == expected


@pytest.mark.parametrize("text", [
    "", "\n\n\n", HEADER + "garbage\n", HEADER + "wlan0:\n", HEADER + ": 0000 1. -50. 0.\n",
    HEADER + "wlan0: 0000 abc def ghi\n", HEADER + "wlan0: 0000 -5. 99999. -99999.\n",
    HEADER + "wlan0: 0000 nan inf -inf\n", HEADER + "wlan0: 0000 inf -50. 1e999\n", "\x00\xff" * 300, HEADER + "w" * 10_000 + ": 1 2 3 4\n",
])
def test_parse_proc_wireless_garbage_never_crashes(text):
    for entry in linux.parse_proc_wireless(text).values():
        assert entry["signal_dbm"] is None or -120 <= entry["signal_dbm"] <= -1
        assert entry["link_quality"] is None or entry["link_quality"] >= 0


@pytest.mark.parametrize("text, expected", [
    (IW_GOOD, {"connected": True, "signal_dbm": -52, "tx_bitrate_mbps": 390.0,
               "rx_bitrate_mbps": 433.3, "freq_mhz": 5180}),
    (IW_WEAK, {"connected": True, "signal_dbm": -85, "tx_bitrate_mbps": 1.0,
               "rx_bitrate_mbps": 6.5, "freq_mhz": 2437}),
    (IW_NEWER, {"connected": True, "signal_dbm": -77, "tx_bitrate_mbps": 18.0,
                "rx_bitrate_mbps": 24.0, "freq_mhz": 5745}),
    (IW_NOT_CONNECTED, {"connected": False, "signal_dbm": None, "tx_bitrate_mbps": None,
                        "rx_bitrate_mbps": None, "freq_mhz": None}),
    # connected, but the driver reports no signal yet
    ("Connected to 00:11:22:33:44:55 (on wlan0)\n\tSSID: x\n\tfreq: 2412\n",
     {"connected": True, "signal_dbm": None, "tx_bitrate_mbps": None, "rx_bitrate_mbps": None,
      "freq_mhz": 2412}),
])
def test_parse_iw_link(text, expected):
    assert linux.parse_iw_link(text) == expected


@pytest.mark.parametrize("text", [
    "", "command failed: No such device (-19)\n", "garbage", "\x00" * 100,
    # an SSID that reads like iw's own words stays an SSID
    "Connected to 00:11:22:33:44:55 (on wlan0)\n\tSSID: Not connected\n\tsignal: -60 dBm\n",
    "Connected to x\n\tsignal: 0 dBm\n\ttx bitrate: lots MBit/s\n\tfreq: \n",
    "Connected to x\n\tsignal: -9999999999999999999 dBm\n\tfreq: 0\n",
    "Connected to x\n\tsignal: -50 dBm\n\tfreq: 1e999\n\ttx bitrate: 1e999 MBit/s\n",
    "Connected to x\n" + "\tsignal: -50 [" + "-1, " * 5000 + "] dBm\n",
])
def test_parse_iw_link_odd_output_never_crashes(text):
    parsed = linux.parse_iw_link(text)
    assert parsed is None or parsed["signal_dbm"] is None or -120 <= parsed["signal_dbm"] <= -1
    if parsed and "SSID: Not connected" in text:
        assert parsed["connected"] is True and parsed["signal_dbm"] == -60


# --- the check with stand-ins ----------------------------------------------------------------------
def adapter(name, kind="wifi", carrier=True):
    return {"name": name, "kind": kind, "admin_up": True, "carrier": carrier}


def context(tmp_path, adapters, primary, *, proc=None, iw=None):
    """iw: adapter name -> `iw dev NAME link` output (None: no iw here)."""
    if proc is not None:
        (tmp_path / "proc" / "net").mkdir(parents=True, exist_ok=True)
        (tmp_path / "proc" / "net" / "wireless").write_text(proc)
    kinds = {a["name"]: a["kind"] for a in adapters}
    facts = {"interfaces": adapters, "primary": primary, "primary_kind": kinds.get(primary)}

    def run(argv, timeout):
        assert argv[:2] == ["iw", "dev"] and argv[3] == "link" and timeout <= linux.IW_WAIT_S
        if iw is None:
            return None
        if argv[2] not in iw:
            return subprocess.CompletedProcess(argv, 237, "", "command failed: No such device")
        return subprocess.CompletedProcess(argv, 0, iw[argv[2]], "")
    return Context(profile={"probes": {}}, privileged=False, deadline=time.monotonic() + 1.5,
                   root=tmp_path, run=run,
                   results={"interfaces": CheckResult(Status.OK, facts)})


def test_weak_signal_on_the_primary_adapter(tmp_path):
    ctx = context(tmp_path, [adapter("eth0", "ethernet", carrier=False), adapter("wlan0")],
                  "wlan0", proc=PROC_WEAK, iw={"wlan0": IW_WEAK})
    result = wifi.run(ctx)
    assert result.status is Status.OK
    facts = result.facts
    assert (facts["wifi_adapters"], facts["primary"], facts["primary_is_wifi"]) == (1, "wlan0", True)
    assert (facts["connected"], facts["signal_dbm"], facts["link_quality_pct"],
            facts["tx_bitrate_mbps"]) == (True, -85, 36, 1.0)
    assert facts["adapters"][0]["sources"] == ["proc", "iw"]
    assert facts["adapters"][0]["freq_mhz"] == 2437


def test_iw_is_preferred_and_proc_alone_is_enough(tmp_path):
    both = wifi.run(context(tmp_path, [adapter("wlp3s0")], "wlp3s0", proc=PROC_GOOD,
                            iw={"wlp3s0": IW_NEWER}))
    assert both.facts["signal_dbm"] == -77        # iw's reading, not /proc's -52
    alone = wifi.run(context(tmp_path, [adapter("wlp3s0")], "wlp3s0", proc=PROC_GOOD, iw=None))
    assert (alone.facts["signal_dbm"], alone.facts["link_quality_pct"]) == (-52, 83)
    assert alone.facts["adapters"][0]["sources"] == ["proc"]


def test_iw_alone_without_wireless_extensions(tmp_path):
    result = wifi.run(context(tmp_path, [adapter("wlan0")], "wlan0", proc=None,
                              iw={"wlan0": IW_GOOD}))
    assert result.status is Status.OK
    assert (result.facts["signal_dbm"], result.facts["link_quality_pct"]) == (-52, None)


def test_not_connected(tmp_path):
    result = wifi.run(context(tmp_path, [adapter("wlan0", carrier=False)], "wlan0",
                              proc=PROC_EMPTY, iw={"wlan0": IW_NOT_CONNECTED}))
    assert result.status is Status.OK
    assert (result.facts["connected"], result.facts["signal_dbm"]) == (False, None)


def test_wired_primary_with_a_weak_wifi_on_the_side(tmp_path):
    result = wifi.run(context(tmp_path, [adapter("eth0", "ethernet"), adapter("wlan0")], "eth0",
                              proc=PROC_WEAK, iw={"wlan0": IW_WEAK}))
    facts = result.facts
    assert (facts["primary_is_wifi"], facts["primary"], facts["signal_dbm"]) == (False, None, None)
    assert facts["adapters"][0]["signal_dbm"] == -85 and not facts["adapters"][0]["primary"]


@pytest.mark.parametrize("adapters, primary, proc, iw, reason", [
    ([adapter("eth0", "ethernet")], "eth0", PROC_EMPTY, {}, "no Wi-Fi adapter"),
    ([adapter("wlan0")], "wlan0", PROC_EMPTY, None, "cannot read the Wi-Fi signal"),
    ([adapter("wlan0")], "wlan0", None, {}, "cannot read the Wi-Fi signal"),
])
def test_skipped_when_nothing_can_be_read(tmp_path, adapters, primary, proc, iw, reason):
    result = wifi.run(context(tmp_path, adapters, primary, proc=proc, iw=iw))
    assert (result.status, result.reason) == (Status.SKIPPED, reason)


def test_skipped_without_the_interfaces_check(tmp_path):
    ctx = context(tmp_path, [], None)
    ctx.results = {}
    assert wifi.run(ctx).reason == "no adapter to look at"


def test_garbage_from_both_sources(tmp_path):
    result = wifi.run(context(tmp_path, [adapter("wlan0")], "wlan0", proc="\x00\xff" * 100,
                              iw={"wlan0": "\x00garbage"}))
    assert result.status in (Status.OK, Status.SKIPPED) and result.facts["signal_dbm"] is None


# --- the rule, from what the check really reports --------------------------------------------------
RULE = next(r for r in pack.load(Path(__file__).resolve().parents[2] / "rules" / "wifi.yaml",
                                 {"wifi", "internet", "gateway"}) if r.id == "wifi-weak-signal")


@pytest.mark.parametrize("proc, iw, changes, fires", [
    (PROC_WEAK, IW_WEAK, {}, True),                                       # works, but slowly
    (PROC_WEAK, IW_WEAK, {"internet": {"online": False},
                          "gateway": {"reachable": False}}, True),         # the router is lost
    (PROC_WEAK, IW_WEAK, {"internet": {"online": False}}, False),         # the fault is beyond
    (PROC_GOOD, IW_GOOD, {}, False),
    (PROC_GOOD, IW_NEWER, {}, True),                                      # -77 dBm
    (PROC_EMPTY, IW_NOT_CONNECTED, {}, False),
])
def test_rule_on_real_readings(tmp_path, proc, iw, changes, fires):
    name = "wlan0"
    observed = wifi.run(context(tmp_path, [adapter(name)], name, proc=proc.replace("wlp3s0", name),
                                iw={name: iw}))
    checks = results(changes)
    checks["wifi"] = observed
    assert (evaluate(RULE.when, checks, {}) is True) is fires
