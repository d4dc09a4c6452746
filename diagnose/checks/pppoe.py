"""pppoe: is this PC the PPPoE dialer, is a session up, and (as administrator) does the line answer?

Credentials are never read: only the lines naming a plugin, an interface or a connection type.
"""
from __future__ import annotations

import os
import re
import shlex

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status

DIALER_PROCESSES = {"pppd", "pppoe", "pppoe-discovery"}
# An access concentrator answers a PADI within tens of milliseconds; three tries a second apart
# ride over a lost frame and still fit a phone call.
PADI_WAIT_S = 0.7
PADI_ATTEMPTS = 3
_PLUGIN = re.compile(r"^plugin\s+\S*pppoe\S*\.so\b(.*)$")


def peers_entry(name: str, text: str, adapters: set[str]) -> dict | None:
    """A pppd peers file set up to dial PPPoE: its interface and method; None for other peers.

    The interface is a `nic-X` option, a word after the plugin, `pty "pppoe -I X"`, or a bare
    line naming an adapter this machine has. A file without a `user` line is a template (Debian's
    pppoe package ships one), not a dialer; the user name itself is never kept.
    """
    method, interface, has_user = None, None, False
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        plugin = _PLUGIN.match(line)
        if plugin:
            method = "plugin"
            rest = plugin.group(1).split()
            interface = interface or (rest[0].removeprefix("nic-") if rest else None)
        elif line.startswith("pty") and "pppoe" in line:
            method = "pty"
            try:
                words = shlex.split(line[3:].strip().strip('"'))
            except ValueError:
                words = []
            if "-I" in words[:-1]:
                interface = words[words.index("-I") + 1]
        elif line.startswith("nic-"):
            interface = line[4:].split()[0] if line[4:].split() else interface
        elif line in adapters:
            interface = interface or line
        elif line.split(None, 1)[:1] == ["user"]:
            has_user = True
    return {"file": name, "method": method, "interface": interface} if method and has_user else None


def networkmanager_entry(name: str, text: str) -> dict | None:
    kind, interface = None, None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        key = key.strip()
        if key == "type":
            kind = value.strip()
        elif key in ("interface-name", "parent") and value.strip():
            interface = interface or value.strip()
    return {"file": name, "interface": interface} if kind == "pppoe" else None


def _scan(directory, parse) -> list[dict]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    found = []
    for name in names:
        try:
            entry = parse(name, (directory / name).read_text(errors="replace"))
        except OSError:
            continue
        if entry:
            found.append(entry)
    return found


def _processes() -> list[str]:
    import psutil
    names = set()
    for process in psutil.process_iter(["name"]):
        if process.info.get("name") in DIALER_PROCESSES:
            names.add(process.info["name"])
    return sorted(names)


def run(ctx) -> CheckResult:
    adapters = ctx.facts("interfaces").get("interfaces", [])
    names = {a["name"] for a in adapters}
    peers = _scan(ctx.path("/etc/ppp/peers"), lambda n, text: peers_entry(n, text, names))
    nm = _scan(ctx.path("/etc/NetworkManager/system-connections"), networkmanager_entry)
    ppp = [a for a in adapters if a["kind"] == "ppp"]
    processes = _processes()
    session_up = any(a["admin_up"] and a["operstate"] in ("up", "unknown") for a in ppp)
    facts = {
        "is_dialer": bool(peers or nm or ppp or "pppd" in processes),
        "peers": peers,
        "networkmanager": nm,
        "ppp_interfaces": [a["name"] for a in ppp],
        "processes": processes,
        "session_up": session_up,
    }
    facts["discovery"] = _discovery(ctx, facts, adapters, peers + nm)
    facts["access_concentrator"] = next(
        (ac["name"] for ac in facts["discovery"].get("acs", []) if ac.get("name")), None)
    if facts["is_dialer"] and not session_up:
        return CheckResult(Status.PROBLEM, facts, N_("this PC dials PPPoE but no session is up"))
    return CheckResult(Status.OK, facts)


def _discovery(ctx, facts: dict, adapters: list[dict], dialers: list[dict]) -> dict:
    route, gateway = ctx.facts("route"), ctx.facts("gateway")
    working_route = route.get("has_default") and gateway.get("reachable")
    if facts["session_up"] or (not facts["is_dialer"] and working_route):
        return {"outcome": "not_run", "reason": "not needed"}
    if not ctx.privileged:
        return {"outcome": "not_run", "reason": "needs administrator rights"}
    wired = {a["name"]: a for a in adapters if a["kind"] == "ethernet"}
    named = [d["interface"] for d in dialers if d.get("interface") in wired]
    candidates = named or sorted(wired, key=lambda n: not wired[n]["carrier"])
    interface = next((n for n in candidates if wired[n]["admin_up"] and wired[n]["carrier"]), None)
    if interface is None:
        return {"outcome": "not_run", "reason": "no wired adapter with link"}
    from ..net import pppoe_discovery
    budget = ctx.budget(PADI_WAIT_S * PADI_ATTEMPTS)
    return pppoe_discovery.discover(interface, timeout=min(PADI_WAIT_S, budget / PADI_ATTEMPTS),
                                    attempts=PADI_ATTEMPTS, budget=budget,
                                    src_mac=wired[interface]["mac"])


CHECK = CheckSpec(id="pppoe", summary="PPPoE dialer, session and line discovery (PADI/PADO)",
                  run=run, needs=("interfaces", "route", "gateway"), timeout=3.0,
                  privilege="optional")
