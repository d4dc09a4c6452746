"""pppoe: is this PC the PPPoE dialer, is a session up, how did its last dial-up end, does the
line answer (as administrator), and with --pppoe-login: how far does a test login with its account
get? Observations only: rules/access-line.yaml derives the stage, the Windows error and the verdict.

Without --pppoe-login no password is ever read: from the dialer's configuration only the lines
naming a plugin, an interface, a service, an access concentrator, a log file and the user name
(kept in memory, to scrub it from what servers say; facts show at most a hint of it).
"""
from __future__ import annotations

import dataclasses
import os
import re
import shlex
import time

from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net.ppp_secrets import (keyfile, networkmanager_account, peers_user, scrub_tree,
                                user_hint, words)
from ..net.pppoe_discovery import clean_text
from ..platform import NotObserved
from . import packet_probes

DIALER_PROCESSES = {"pppd", "pppoe", "pppoe-discovery"}
# An access concentrator answers a PADI within tens of milliseconds; three tries in 1.65 s ride
# over a lost frame, and the whole run, Python's start and scapy's import included, stays within 3 s.
PADI_WAIT_S = 0.55
PADI_ATTEMPTS = 3
# A PC that does not dial but has no working gateway is only asked "is this a bridged modem's
# PPPoE line?": an AC that is there answers within milliseconds, so two short tries suffice and
# the dead-gateway diagnosis still ends well inside 3 s.
PROBE_WAIT_S = 0.25
PROBE_ATTEMPTS = 2
# Everything but the test login keeps to the check's original 3 s: logs first (journalctl
# answers in milliseconds; a huge journal must not eat the discovery's time), then discovery.
BASE_BUDGET_S = 2.9
LOG_BUDGET_S = 0.5
# The test login: PADR, then LCP, authentication and IPCP at about 3 s each at worst; 6 s covers
# a live AC many times over and still reports a dead stage as a timeout.
LOGIN_BUDGET_S = 6.0
MIN_LOGIN_S = 1.0
MAX_CONFIG_BYTES = 64 * 1024
PID_DIRS = ("/run", "/var/run")
LOGIN_WARNING = ("A test login with your broadband account opens a second session: the operator "
                 "may refuse it while another device (such as the router) is online with the "
                 "same account. The test session is closed again at once.")
R_NO_SESSION = N_("this PC dials PPPoE but no session is up")
R_LAST_ATTEMPT = N_("this PC dials PPPoE but no session is up; the dialer's last attempt ended "
                    "with {outcome} at {step}: {server_message}")
R_LOGIN_RAN = N_("a test login ran and ended with {outcome} at {step}: {server_message}; a second "
                 "session may be refused while another device is online with this account")
_PLUGIN = re.compile(r"^plugin\s+\S*pppoe\S*\.so\b(.*)$")
_VLAN_NAME = re.compile(r"^(?P<parent>[^.\s]+)\.(?P<id>\d{1,4})$")


# ---------------------------------------------------------------- configuration

def peers_entry(name: str, text: str, adapters: set[str]) -> dict | None:
    """A pppd peers file set up to dial PPPoE: its interface and method; None for other peers.

    The interface is a `nic-X` option, a word after the plugin, `pty "pppoe -I X"`, or a bare
    line naming an adapter this machine has (or a VLAN of one, e.g. eth0.100). A file without a
    `user` line is a template (Debian's pppoe package ships one), not a dialer.
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
            pty = _pty_words(line)
            if "-I" in pty[:-1]:
                interface = pty[pty.index("-I") + 1]
        elif line.startswith("nic-"):
            interface = line[4:].split()[0] if line[4:].split() else interface
        elif line in adapters or (_VLAN_NAME.match(line) and
                                  _VLAN_NAME.match(line).group("parent") in adapters):
            interface = interface or line
        elif line.split(None, 1)[:1] == ["user"]:
            has_user = True
    return {"file": name, "method": method, "interface": interface} if method and has_user else None


def _pty_words(line: str) -> list[str]:
    try:
        return shlex.split(line[3:].strip().strip('"'))
    except ValueError:
        return []


def peers_options(text: str) -> dict:
    """The options of a peers file the diagnosis uses: service, AC name, remote name, log files."""
    found: dict = {"service": None, "ac_name": None, "remotename": None, "logfile": []}
    for line in text.splitlines():
        parts = words(line)
        if len(parts) >= 2 and parts[0] in ("rp_pppoe_service", "pppoe-service"):
            found["service"] = parts[1]
        elif len(parts) >= 2 and parts[0] in ("rp_pppoe_ac", "pppoe-ac-name"):
            found["ac_name"] = parts[1]
        elif len(parts) >= 2 and parts[0] == "remotename":
            found["remotename"] = parts[1]
        elif len(parts) >= 2 and parts[0] == "logfile" and parts[1].startswith("/"):
            found["logfile"].append(parts[1])
        elif parts[:1] == ["pty"] and len(parts) >= 2:
            pty = _pty_words("pty " + " ".join(parts[1:]))
            for flag, key in (("-S", "service"), ("-C", "ac_name")):
                if flag in pty[:-1]:
                    found[key] = pty[pty.index(flag) + 1]
    return found


def networkmanager_entry(name: str, text: str) -> dict | None:
    """A NetworkManager pppoe connection and the adapter it dials on ([pppoe] parent wins)."""
    groups = keyfile(text)
    connection = groups.get("connection", {})
    if connection.get("type") != "pppoe":
        return None
    return {"file": name,
            "interface": groups.get("pppoe", {}).get("parent") or connection.get("interface-name")
            or None}


def vlans(nm_texts: list[tuple[str, str]], proc_config: str | None) -> dict[str, dict]:
    """VLAN interfaces: name -> {parent, id}, from /proc/net/vlan/config and NetworkManager."""
    found: dict[str, dict] = {}
    for line in (proc_config or "").splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[1].isdigit():
            found[parts[0]] = {"parent": parts[2], "id": int(parts[1])}
    for _, text in nm_texts:
        groups = keyfile(text)
        vlan, connection = groups.get("vlan", {}), groups.get("connection", {})
        if connection.get("type") == "vlan" and vlan.get("id", "").isdigit():
            name = connection.get("interface-name") or f"{vlan.get('parent')}.{vlan['id']}"
            found.setdefault(name, {"parent": vlan.get("parent") or None, "id": int(vlan["id"])})
    return found


def vlan_of(interface: str | None, known: dict[str, dict]) -> dict:
    if not interface:
        return {"parent": None, "id": None}
    if interface in known:
        return known[interface]
    match = _VLAN_NAME.match(interface)
    if match:
        return {"parent": match.group("parent"), "id": int(match.group("id"))}
    return {"parent": None, "id": None}


def _read_dir(directory) -> list[tuple[str, str]]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    found = []
    for name in names:
        text = _read(directory / name)
        if text is not None:
            found.append((name, text))
    return found


def _read(path) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_CONFIG_BYTES).decode("utf-8", "replace")
    except OSError:
        return None


def _processes() -> list[str] | None:
    """Dialer processes running; None when the process list cannot be read (Wine, sandboxes)."""
    import psutil
    names = set()
    try:
        for process in psutil.process_iter(["name"]):
            if process.info.get("name") in DIALER_PROCESSES:
                names.add(process.info["name"])
    except (psutil.Error, OSError):
        return None
    return sorted(names)


class _Account:
    """The dialer's account as far as the check knows it; never part of the facts."""

    def __init__(self, user: str | None = None, nm_password: str | None = None,
                 remotename: str | None = None):
        self.user, self.nm_password, self.remotename = user, nm_password, remotename


def _dialer(peers_texts, peers, nm_texts, nm, by_name, known_vlans):
    """The dialer the diagnosis follows (the first whose adapter exists), and its account."""
    choices = []
    for entry in peers:
        text = dict(peers_texts)[entry["file"]]
        options = peers_options(text)
        choices.append((f"peers/{entry['file']}", entry["interface"], options,
                        _Account(peers_user(text), None, options["remotename"])))
    for entry in nm:
        text = dict(nm_texts)[entry["file"]]
        user, password = networkmanager_account(text)
        service = keyfile(text).get("pppoe", {}).get("service") or None
        options = {"service": service, "ac_name": None,
                   "remotename": None, "logfile": []}
        choices.append((f"networkmanager/{entry['file']}", entry["interface"], options,
                        _Account(user, password)))
    if not choices:
        return None, _Account()
    source, interface, options, account = next(
        (c for c in choices if c[1] in by_name), choices[0])
    adapter = by_name.get(interface) if interface else None
    vlan = vlan_of(interface, known_vlans)
    return {
        "source": source,
        "interface": interface,
        "vlan": vlan["id"],
        "parent": vlan["parent"],
        "present": adapter is not None if interface else None,
        "admin_up": adapter["admin_up"] if adapter else None,
        "carrier": adapter["carrier"] if adapter else None,
        "service": clean_text(options["service"].encode()) if options["service"] else None,
        "ac_name": clean_text(options["ac_name"].encode()) if options["ac_name"] else None,
        "logfile": options["logfile"],
    }, account


def _sessions(ctx, ppp: list[dict]) -> list[dict]:
    """Each ppp adapter with its IPCP addresses and how long it has been up (pppd's pid file)."""
    if not ppp:
        return []
    try:
        addrs = ctx.if_addrs()
    except Exception:  # noqa: BLE001 - addresses are a detail; the session list still stands
        addrs = {}
    sessions = []
    for adapter in ppp:
        inet = next((a for a in addrs.get(adapter["name"], [])
                     if getattr(a, "family", None) == 2), None)   # AF_INET
        uptime = None
        for directory in PID_DIRS:
            try:
                uptime = max(0, int(time.time() - os.stat(
                    ctx.path(f"{directory}/{adapter['name']}.pid")).st_mtime))
                break
            except OSError:
                continue
        sessions.append({"interface": adapter["name"],
                         "up": adapter["admin_up"] and adapter["operstate"] in ("up", "unknown"),
                         "local": getattr(inet, "address", None),
                         "peer": getattr(inet, "ptp", None), "uptime_s": uptime})
    return sessions


# ---------------------------------------------------------------- the check

def run(ctx) -> CheckResult:
    started = time.monotonic()
    base_deadline = min(ctx.deadline, started + BASE_BUDGET_S)
    adapters = ctx.facts("interfaces").get("interfaces", [])
    by_name = {a["name"]: a for a in adapters}
    peers_texts = _read_dir(ctx.path("/etc/ppp/peers"))
    peers = [e for n, text in peers_texts if (e := peers_entry(n, text, set(by_name)))]
    nm_texts = _read_dir(ctx.path("/etc/NetworkManager/system-connections"))
    nm = [e for n, text in nm_texts if (e := networkmanager_entry(n, text))]
    ppp = [a for a in adapters if a["kind"] == "ppp"]
    processes = _processes()
    system_dialer = ctx.system.dialer()   # the OS's own dialer (Windows: RAS); Linux: not observed
    system = _system_dialer(system_dialer)
    session_up = (any(a["admin_up"] and a["operstate"] in ("up", "unknown") for a in ppp)
                  or any(c["state"] == "connected" and c["pppoe"] for c in system["connections"]))
    dialer, account = _dialer(peers_texts, peers, nm_texts, nm, by_name,
                              vlans(nm_texts, _read(ctx.path("/proc/net/vlan/config"))))
    facts = {
        "is_dialer": bool(peers or nm or ppp or "pppd" in (processes or ())
                          or any(e["kind"] == "pppoe" for e in system["entries"])),
        "peers": peers,
        "networkmanager": nm,
        "ppp_interfaces": [a["name"] for a in ppp],
        "processes": processes,
        "session_up": session_up,
        "dialer": dialer,
        "sessions": _sessions(ctx, ppp),
        "system_dialer": system,
    }
    facts["log"] = _log(ctx, facts, dialer, account, base_deadline, system_dialer)
    facts["discovery"] = _discovery(ctx, facts, adapters, dialer, base_deadline)
    facts["access_concentrator"] = next(
        (ac["name"] for ac in facts["discovery"].get("acs", []) if ac.get("name")), None)
    if isinstance(system_dialer, NotObserved):
        facts["login"] = _login(ctx, facts, dialer, account, by_name)
    else:   # the OS's own dialer dials (Windows: RasDial of its broadband entry)
        facts["login"], dial_user = _system_test_dial(ctx, facts)
        account.user = account.user or dial_user
    secrets = tuple(s for s in (account.nm_password, ctx.options.get("pppoe_password")) if s)
    facts = scrub_tree(facts, account.user, secrets)
    # The account name may also turn up in other checks' facts (a portal URL naming it).
    sensitive = {"secrets": secrets, "pppoe_users": (account.user,) if account.user else ()}
    return dataclasses.replace(_result(facts), sensitive=sensitive)


def _system_dialer(seen) -> dict:
    """The OS dialer's entries and connections as facts (Windows: RAS phonebook entries such as
    宽带连接, and their connections); empty lists with the reason where it is not observed."""
    if isinstance(seen, NotObserved):
        return {"entries": [], "connections": [], "reason": seen.reason}
    def listed(part, shape):
        return [] if isinstance(part, NotObserved) else [shape(item) for item in part]
    return {
        "entries": listed(seen.entries, lambda e: {"name": e.name, "kind": e.kind}),
        "connections": listed(seen.connections, lambda c: {
            "name": c.name, "state": c.state, "error": c.error,
            "pppoe": (c.device_type or "").lower() == "pppoe"}),
        "reason": next((part.reason for part in (seen.entries, seen.connections)
                        if isinstance(part, NotObserved)), None)}


def _log(ctx, facts, dialer, account, deadline, system_dialer=None) -> dict:
    if facts["session_up"] or not facts["is_dialer"]:
        return {"outcome": None, "source": None, "reason": "not needed"}
    if system_dialer is not None and not isinstance(system_dialer, NotObserved):
        from ..net import ras_log   # the OS dialer's own log (Windows: RasClient events)
        return ras_log.read(system_dialer)
    from ..net import ppp_logs
    return ppp_logs.read(run=ctx.run, path=ctx.path, logfiles=(dialer or {}).get("logfile", []),
                         budget=max(0.05, min(LOG_BUDGET_S, deadline - time.monotonic() - 0.05)),
                         user=account.user, secrets=(account.nm_password,))


def _discovery(ctx, facts: dict, adapters: list[dict], dialer: dict | None,
               deadline: float) -> dict:
    route, gateway = ctx.facts("route"), ctx.facts("gateway")
    working_route = route.get("has_default") and gateway.get("reachable")
    if facts["session_up"] or (not facts["is_dialer"] and working_route):
        return {"outcome": "not_run", "reason": "not needed"}
    if not ctx.privileged:
        return {"outcome": "not_run", "reason": "needs administrator rights"}
    by_name = {a["name"]: a for a in adapters}
    wired = {a["name"]: a for a in adapters if a["kind"] == "ethernet"}
    named = (dialer or {}).get("interface")
    if named in by_name and by_name[named]["kind"] not in ("loopback", "ppp"):
        candidates = [named]   # the dialer's own adapter (a VLAN of one too), whatever its kind
    else:
        candidates = sorted(wired, key=lambda n: not wired[n]["carrier"])
    interface = next((n for n in candidates
                      if by_name[n]["admin_up"] and by_name[n]["carrier"]), None)
    if interface is None:
        return {"outcome": "not_run", "reason": "no wired adapter with link"}
    from ..net import pppoe_discovery
    if facts["is_dialer"]:
        wait, attempts, wanted = PADI_WAIT_S, PADI_ATTEMPTS, PADI_WAIT_S * PADI_ATTEMPTS
    else:   # the retry waits x1.5 (backoff): 0.25 + 0.375 s
        wait, attempts = PROBE_WAIT_S, PROBE_ATTEMPTS
        wanted = sum(wait * pppoe_discovery.BACKOFF ** i for i in range(attempts))
    until = deadline - 0.05
    budget = max(0.05, min(wanted, until - packet_probes.HAND_OVER_S - time.monotonic()))
    return packet_probes.bounded(
        lambda cut: pppoe_discovery.discover(interface, timeout=min(wait, budget / attempts),
                                             attempts=attempts, budget=budget, deadline=cut,
                                             src_mac=by_name[interface]["mac"],
                                             service_name=(dialer or {}).get("service") or ""),
        until, "pppoe-discovery")


def _login(ctx, facts: dict, dialer: dict | None, account: _Account, by_name: dict) -> dict:
    if not ctx.options.get("pppoe_login"):
        return {"outcome": "not_run", "reason": "not asked for (--pppoe-login)"}
    base = {"warning": LOGIN_WARNING, "budget_s": LOGIN_BUDGET_S}

    def not_run(reason: str) -> dict:
        return {"outcome": "not_run", "reason": reason, **base}

    discovery = facts["discovery"]
    if facts["session_up"]:
        return not_run("a PPPoE session is already up")
    if not ctx.privileged:
        return not_run("needs administrator rights")
    if discovery.get("outcome") != "pado":
        return not_run("no access concentrator answered the discovery")
    from ..net import ppp_secrets, ppp_session
    creds, why = ppp_secrets.load(
        lambda path: _read(ctx.path(path)), user=account.user,
        password=ctx.options.get("pppoe_password"), nm_password=account.nm_password,
        remote=account.remotename)
    if creds is None:
        return not_run(why)
    budget = min(LOGIN_BUDGET_S, ctx.remaining() - 0.1)
    if budget < MIN_LOGIN_S:
        return not_run("not enough time left for a test login (raise --timeout)")
    result = ppp_session.login(discovery["interface"], creds=creds, budget=budget,
                               service=(dialer or {}).get("service") or "",
                               ac_name=(dialer or {}).get("ac_name"))
    result.update(base, user_hint=user_hint(creds.user), credentials=creds.source)
    return ppp_secrets.scrub_tree(result, creds.user, [creds.pap, creds.chap])


def _system_test_dial(ctx, facts: dict) -> tuple[dict, str | None]:
    """--pppoe-login where the OS dials (Windows): its broadband entry dialed once and hung up
    (platform/ras_dial.py); no administrator rights needed. Returns the facts and the account
    name the dial used (kept out of the facts, to redact it everywhere)."""
    if not ctx.options.get("pppoe_login"):
        return {"outcome": "not_run", "reason": "not asked for (--pppoe-login)"}, None
    base = {"warning": LOGIN_WARNING, "budget_s": LOGIN_BUDGET_S}
    entries = [e["name"] for e in facts["system_dialer"]["entries"] if e["kind"] == "pppoe"]
    failed_entry = (facts.get("log") or {}).get("entry")
    if facts["session_up"]:
        return {"outcome": "not_run", "reason": "a PPPoE session is already up", **base}, None
    if not entries:
        unread = facts["system_dialer"]["reason"]
        return {"outcome": "not_run", "reason": f"the dialer's entries were not read: {unread}"
                if unread else "no broadband (PPPoE) connection is configured", **base}, None
    budget = min(LOGIN_BUDGET_S, ctx.remaining() - 0.1)
    if budget < MIN_LOGIN_S:
        return {"outcome": "not_run", "reason": "not enough time left for a test login "
                                                "(raise --timeout)", **base}, None
    attempt = ctx.system.test_dial(failed_entry if failed_entry in entries else entries[0],
                                   ctx.options.get("pppoe_password"), budget)
    if isinstance(attempt, NotObserved):
        return {"outcome": "not_run", "reason": attempt.reason, **base}, None
    return {**attempt.facts, **base}, attempt.user


def _result(facts: dict) -> CheckResult:
    """What was seen, never what it means: rules/access-line.yaml weighs it (pppoe.stage)."""
    login, log = facts["login"], facts.get("log") or {}

    def seen(attempt: dict) -> dict:   # the server's own words stay on the PPPoE line
        return {"outcome": attempt["outcome"], "step": attempt.get("step") or "—",
                "server_message": attempt.get("message") or attempt.get("terminate_reason")
                or "—"}
    if login.get("outcome") not in (None, "not_run"):
        return CheckResult(Status.OK, facts, R_LOGIN_RAN, reason_args=seen(login))
    if facts["is_dialer"] and not facts["session_up"]:
        if log.get("outcome"):
            return CheckResult(Status.OK, facts, R_LAST_ATTEMPT, reason_args=seen(log))
        return CheckResult(Status.OK, facts, R_NO_SESSION)
    return CheckResult(Status.OK, facts)


CHECK = CheckSpec(id="pppoe", summary="PPPoE dialer, session, dialer log, line discovery "
                                      "(PADI/PADO) and the opt-in test login",
                  run=run, needs=("interfaces", "route", "gateway"),
                  timeout=BASE_BUDGET_S + 0.1 + LOGIN_BUDGET_S, privilege="optional",
                  provides=("is_dialer", "peers", "networkmanager", "ppp_interfaces", "processes",
                            "session_up", "dialer", "sessions", "log", "discovery",
                            "access_concentrator", "login", "system_dialer"),
                  name=N_("PPPoE"), position=80, digest_slot=7)
