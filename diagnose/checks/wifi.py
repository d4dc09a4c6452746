"""wifi: signal and link quality of the Wi-Fi adapters (/proc/net/wireless, `iw dev IF link`)."""
from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status

PROC_WIRELESS = "/proc/net/wireless"
# cfg80211 (every current Linux Wi-Fi driver) reports link quality on a 0..70 scale, computed from
# the signal: quality = dBm + 110, clamped. Older drivers may use another scale; the raw value is
# kept as well.
CFG80211_MAX_QUALITY = 70
# A signal level in dBm is negative and no real receiver hears below -120 dBm; anything else
# (0, -256 "not available", positive relative units of old drivers) is no dBm reading.
DBM_RANGE = (-120, -1)
IW_WAIT_S = 0.8   # `iw` asks the kernel over netlink and answers in milliseconds

# "signal: -67 dBm"; drivers with several antennas may add the chains: "signal: -67 [-69, -71] dBm"
_IW_SIGNAL = re.compile(r"^\s*signal:\s*(-?\d+(?:\.\d+)?)\s*(?:\[[^\]\n]*\]\s*)?dBm", re.M)
_IW_TX = re.compile(r"^\s*tx bitrate:\s*([\d.]+)\s*MBit/s", re.M)
_IW_RX = re.compile(r"^\s*rx bitrate:\s*([\d.]+)\s*MBit/s", re.M)
_IW_FREQ = re.compile(r"^\s*freq:\s*([\d.]+)", re.M)


def _number(text: str) -> float | None:
    try:
        value = float(text.rstrip(".*"))   # "54." : the dot only says the value was updated
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _dbm(value: float | None) -> int | None:
    if value is None or not DBM_RANGE[0] <= value <= DBM_RANGE[1]:
        return None
    return int(value)


def parse_proc_wireless(text: str) -> dict[str, dict]:
    """name -> {link_quality, signal_dbm, noise_dbm}; the kernel lists associated adapters only."""
    found: dict[str, dict] = {}
    for line in text.splitlines()[2:]:   # two header lines
        name, colon, rest = line.partition(":")
        fields = rest.split()
        if not colon or len(fields) < 4 or not name.strip():
            continue
        link, level, noise = (_number(f) for f in fields[1:4])
        found[name.strip()] = {
            "link_quality": int(link) if link is not None and link >= 0 else None,
            "signal_dbm": _dbm(level),
            "noise_dbm": _dbm(noise),
        }
    return found


def parse_iw_link(text: str) -> dict | None:
    """`iw dev IF link`: connected, signal, bit rates, frequency. None when unrecognisable."""
    if re.search(r"^\s*Not connected", text, re.M):
        return {"connected": False, "signal_dbm": None, "tx_bitrate_mbps": None,
                "rx_bitrate_mbps": None, "freq_mhz": None}
    if not re.search(r"^\s*Connected to ", text, re.M):
        return None

    def first(pattern):
        match = pattern.search(text)
        return _number(match.group(1)) if match else None
    freq = first(_IW_FREQ)
    return {"connected": True, "signal_dbm": _dbm(first(_IW_SIGNAL)),
            "tx_bitrate_mbps": first(_IW_TX), "rx_bitrate_mbps": first(_IW_RX),
            "freq_mhz": int(freq) if freq else None}


def _iw_link(ctx, name: str) -> dict | None:
    done = ctx.run(["iw", "dev", name, "link"], ctx.budget(IW_WAIT_S))
    if done is None or done.returncode != 0:
        return None    # no iw here, or it did not answer
    return parse_iw_link(done.stdout or "")


def _observe(adapter: dict, proc: dict | None, iw: dict | None, primary: str | None) -> dict:
    proc = proc or {}
    quality = proc.get("link_quality")
    signal = (iw or {}).get("signal_dbm")
    if signal is None:
        signal = proc.get("signal_dbm")
    connected = iw["connected"] if iw is not None else adapter.get("carrier")
    return {
        "name": adapter["name"],
        "primary": adapter["name"] == primary,
        "connected": connected,
        "signal_dbm": signal,
        "link_quality": quality,
        "link_quality_pct": (min(100, round(quality * 100 / CFG80211_MAX_QUALITY))
                             if quality is not None else None),
        "noise_dbm": proc.get("noise_dbm"),
        "tx_bitrate_mbps": (iw or {}).get("tx_bitrate_mbps"),
        "rx_bitrate_mbps": (iw or {}).get("rx_bitrate_mbps"),
        "freq_mhz": (iw or {}).get("freq_mhz"),
        "sources": [source for source, seen in (("proc", bool(proc)), ("iw", iw is not None)) if seen],
    }


def run(ctx) -> CheckResult:
    interfaces = ctx.facts("interfaces")
    facts = {"wifi_adapters": None, "adapters": [], "primary": None, "primary_is_wifi": None,
             "connected": None, "signal_dbm": None, "link_quality_pct": None,
             "tx_bitrate_mbps": None}
    if "interfaces" not in interfaces:
        return CheckResult(Status.SKIPPED, facts, N_("no adapter to look at"))
    wifi = [a for a in interfaces["interfaces"] if a.get("kind") == "wifi"]
    primary = interfaces.get("primary")
    primary_is_wifi = interfaces.get("primary_kind") == "wifi" if primary else False
    facts.update(wifi_adapters=len(wifi), primary_is_wifi=primary_is_wifi,
                 primary=primary if primary_is_wifi else None)
    if not wifi:
        return CheckResult(Status.SKIPPED, facts, N_("no Wi-Fi adapter"))
    try:
        proc = parse_proc_wireless(ctx.path(PROC_WIRELESS).read_text(errors="replace"))
    except OSError:
        proc = {}   # no wireless extensions in this kernel: `iw` alone
    with ThreadPoolExecutor(max_workers=len(wifi)) as pool:
        iw = list(pool.map(lambda adapter: _iw_link(ctx, adapter["name"]), wifi))
    observed = [_observe(adapter, proc.get(adapter["name"]), link, primary)
                for adapter, link in zip(wifi, iw)]
    facts["adapters"] = observed
    main = next((a for a in observed if a["primary"]), None)
    if main is not None:
        facts.update({key: main[key] for key in ("connected", "signal_dbm", "link_quality_pct",
                                                  "tx_bitrate_mbps")})
    if not any(a["sources"] for a in observed) and not any(a["connected"] is False for a in observed):
        return CheckResult(Status.SKIPPED, facts, N_("cannot read the Wi-Fi signal"))
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="wifi", summary="Wi-Fi: signal strength and link quality", run=run,
                  needs=("interfaces",), timeout=1.5,
                  provides=("wifi_adapters", "adapters", "primary", "primary_is_wifi",
                            "connected", "signal_dbm", "link_quality_pct", "tx_bitrate_mbps"),
                  name=N_("Wi-Fi"), position=20, digest_slot=10)
