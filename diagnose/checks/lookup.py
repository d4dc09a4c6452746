"""lookup: names as applications resolve them (the system resolver), against the DNS answers.

Applications do not ask DNS servers themselves: they call the system (getaddrinfo: the hosts
file, nsswitch, systemd-resolved; on Windows the DNS Client with its hosts file). This check
asks the system for the profile's names and the connectivity URLs' hosts, reads the hosts file
and the nsswitch order, and sets each answer beside what the network's DNS says (the dns
check's answers from the router and the public resolvers). Where the two differ it tries the
system's address on ports 80 and 443, so a difference that breaks nothing is told apart.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from ..bounded import UNFINISHED, all_within
from ..i18n import N_
from ..model import CheckResult, CheckSpec, Status
from ..net import dnsquery, hostsfile, reach

# The system resolver asks the same servers as the dns check, which allows each 1 s.
SYSTEM_WAIT_S = 1.0
# When the configured DNS did not answer the dns check, only the hosts file or a cache can answer,
# and they answer at once: a short wait keeps a dead-DNS report fast.
DEAD_DNS_WAIT_S = 0.3
DNS_WAIT_S = 1.0        # own questions for URL hosts the dns check did not ask
CONNECT_WAIT_S = 1.0    # TCP to a differing address: a live web server accepts in milliseconds
WEB_PORTS = (80, 443)
_NOT_FOUND = {getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name)}


def system_lookups(names: list[str], wait: float) -> list[dict[str, Any]]:
    """getaddrinfo as an application calls it, all names at once, each waited for at most `wait`
    (glibc cannot be interrupted: diagnose.bounded)."""

    def ask(name: str) -> dict[str, Any]:
        box: dict[str, Any] = {}
        started = time.monotonic()
        try:
            infos = socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
            box["addresses"] = list(dict.fromkeys(info[4][0].split("%", 1)[0] for info in infos))
        except socket.gaierror as exc:
            box["gaierror"] = exc
        except (OSError, UnicodeError) as exc:
            box["error"] = exc
        box["ms"] = round((time.monotonic() - started) * 1000, 1)
        return box

    boxes = all_within([lambda name=name: ask(name) for name in names],
                       time.monotonic() + wait, "getaddrinfo")
    return [_outcome(name, {} if box is UNFINISHED else box) for name, box in zip(names, boxes)]


def _outcome(name: str, box: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"name": name, "outcome": "timeout", "addresses": [],
                              "ms": box.get("ms")}
    if "addresses" in box:
        result.update(outcome="answer" if box["addresses"] else "not_found",
                      addresses=box["addresses"][:8])
    elif "gaierror" in box:
        exc = box["gaierror"]
        result["outcome"] = ("not_found" if exc.errno in _NOT_FOUND
                             else "no_answer" if exc.errno == socket.EAI_AGAIN else "error")
        result["error"] = exc.strerror
    elif "error" in box:
        result.update(outcome="error", error=str(box["error"])[:200])
    return result


def _names(profile: dict) -> list[str]:
    """The profile's DNS names, then the connectivity URLs' hosts (IP literals need no lookup)."""
    names = list(profile["probes"]["dns_names"])
    for url in profile["probes"]["connectivity_urls"]:
        host = urlsplit(url).hostname
        try:
            ipaddress.ip_address(host or "")
        except ValueError:
            if host:
                names.append(host)
    return list(dict.fromkeys(name.lower().rstrip(".") for name in names))


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def network_answers(queries: list[dict], name: str, network: list[str],
                    configured: list[str]) -> list[str]:
    """What the network's DNS says for name: the router's and the public resolvers' answers,
    else the configured resolvers' (never a resolver on this machine: it is what is compared)."""
    def answers(servers):
        return list(dict.fromkeys(a for q in queries if q["name"].lower().rstrip(".") == name
                                  and q["server"] in servers and q["outcome"] == "answer"
                                  for a in q["answers"]))
    return answers(network) or answers([s for s in configured if not _is_loopback(s)])


def run(ctx) -> CheckResult:
    names = _names(ctx.profile)
    dns = ctx.facts("dns")
    configured_works = dns.get("configured_works")
    wait = ctx.budget(DEAD_DNS_WAIT_S if configured_works is False else SYSTEM_WAIT_S)
    network = [s for s in [dns.get("gateway"), *(dns.get("public") or [])] if s]
    configured = dns.get("configured") or ctx.system.configured_dns()["servers"][:3]
    queries = list(dns.get("queries") or [])
    asked = {q["name"].lower().rstrip(".") for q in queries}
    extra = [(server, name) for name in names if name not in asked
             for server in dict.fromkeys(network + configured)]
    with ThreadPoolExecutor(max_workers=len(extra) + 1) as pool:
        own = [pool.submit(dnsquery.query_a, server, name, ctx.budget(DNS_WAIT_S))
               for server, name in extra]
        system = system_lookups(names, wait)
        queries += [future.result() for future in own]
    hosts = hostsfile.hosts_entries(ctx, set(names), ctx.system.hosts_file())
    nsswitch = hostsfile.nsswitch_hosts(ctx)

    for entry in system:
        name = entry["name"]
        entry["hosts_file"] = hosts["entries"].get(name, [])
        entry["dns"] = network_answers(queries, name, network, configured)
        entry["matches_dns"] = (None if not entry["dns"] or not entry["addresses"]
                                else bool(set(entry["addresses"]) & set(entry["dns"])))
    differing = [e for e in system if e["matches_dns"] is False]
    _try_addresses(ctx, differing)
    overrides = [e for e in differing if set(e["addresses"]) & set(e["hosts_file"])]
    facts = {
        "names": system,
        "hosts_file": {k: hosts[k] for k in ("path", "readable", "error")},
        "nsswitch_hosts": nsswitch["sources"],
        "nsswitch_error": nsswitch["error"],
        "resolves": any(e["outcome"] == "answer" for e in system),
        # Every name failed through the system (a timeout counts: the system gave nothing).
        "all_fail": bool(system) and not any(e["outcome"] == "answer" for e in system),
        # ... and none of them merely ran out of time: the system itself said no.
        "definitive": bool(system) and all(e["outcome"] not in ("answer", "timeout")
                                           for e in system),
        "differs": bool(differing),
        "differing": [e["name"] for e in differing],
        "differing_addresses": list(dict.fromkeys(a for e in differing for a in e["addresses"])),
        "differs_unreachable": any(e["answers"] is False for e in differing),
        "hosts_override": bool(overrides) if hosts["readable"] else None,
        "hosts_override_names": [e["name"] for e in overrides],
        "hosts_override_lines": [f"{a} {e['name']}" for e in overrides for a in e["hosts_file"]],
    }
    if overrides:
        return CheckResult(Status.OK, facts, N_("the hosts file sends {names} elsewhere"),
                           reason_args={"names": facts["hosts_override_names"]})
    if differing:
        return CheckResult(Status.OK, facts,
                           N_("the system resolves {names} differently from DNS"),
                           reason_args={"names": facts["differing"]})
    if facts["all_fail"] and configured_works:
        return CheckResult(Status.OK, facts,
                           N_("the system resolver finds no name while DNS answers"))
    if facts["all_fail"]:
        return CheckResult(Status.OK, facts, N_("the system resolver finds no name"))
    return CheckResult(Status.OK, facts)


def _try_addresses(ctx, differing: list[dict]) -> None:
    """For each name the system resolves elsewhere: does its first address take a web connection?"""
    jobs = [(entry, port) for entry in differing for port in WEB_PORTS]
    if not jobs:
        return
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        outcomes = list(pool.map(lambda job: reach.tcp_connect(job[0]["addresses"][0], job[1],
                                                               ctx.budget(CONNECT_WAIT_S)), jobs))
    for entry in differing:
        entry["connects"] = [o for (e, _), o in zip(jobs, outcomes) if e is entry]
        entry["answers"] = any(o["outcome"] == "open" for o in entry["connects"])


CHECK = CheckSpec(id="lookup", summary="Names as applications resolve them: hosts file, system resolver",
                  run=run, needs=("dns",), timeout=2.5,
                  provides=("names", "hosts_file", "nsswitch_hosts", "nsswitch_error", "resolves",
                            "all_fail", "definitive", "differs", "differing", "differing_addresses",
                            "differs_unreachable", "hosts_override", "hosts_override_names",
                            "hosts_override_lines"),
                  name=N_("name lookup"), position=105, digest_slot=14)
